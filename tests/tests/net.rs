//! bocker-net end to end: real bridges, veths, namespaces and iptables rules.
//! Traffic goes only to 127.0.0.1 and to addresses on each test's own bridge.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bocker_e2e::net::{Sandbox, TestNet};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ping(from: &Sandbox, to: &str) -> bool {
    from.exec(&["ping", "-c", "1", "-W", "2", to])
        .status
        .success()
}

fn curl(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-s", "-m", "5", url])
        .output()
        .expect("running curl");
    out.status.success().then(|| text(&out.stdout))
}

fn serve(sb: &mut Sandbox, dir: &std::path::Path, body: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("index.html"), body).unwrap();
    sb.spawn(
        &[
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            dir.to_str().unwrap(),
        ],
        Stdio::null(),
    );
    sb.wait_listening(80);
}

#[test]
fn setup_twice_is_harmless_and_teardown_removes_everything() {
    let net = TestNet::new();
    net.ok(&["setup"]);
    let rules = net.iptables_lines();
    assert!(net.bridge_exists());
    assert!(
        rules
            .iter()
            .any(|l| l.contains("MASQUERADE") && l.contains(&net.subnet)),
        "{rules:#?}"
    );
    assert!(
        rules
            .iter()
            .any(|l| l.contains("-A FORWARD") && l.contains("BOCKER-FWD-")),
        "{rules:#?}"
    );

    net.ok(&["setup"]);
    assert_eq!(
        net.iptables_lines(),
        rules,
        "a second setup must not add or drop rules"
    );
    let status = net.status_json();
    assert!(
        status.contains(&format!("\"addresses\":[\"{}/24\"]", net.gateway())),
        "{status}"
    );
    assert!(status.contains("\"up\":true"), "{status}");

    net.ok(&["teardown"]);
    assert!(!net.bridge_exists(), "teardown left the bridge");
    assert_eq!(
        net.iptables_lines(),
        Vec::<String>::new(),
        "teardown left rules"
    );
    assert!(!net.state_dir().exists(), "teardown left state");

    // ...and the network comes back whole.
    net.ok(&["setup"]);
    let sb = Sandbox::new();
    net.ok(&["attach", &sb.pid_arg()]);
    assert!(
        ping(&sb, &net.gateway()),
        "no route to the bridge after teardown + setup"
    );
}

#[test]
fn attached_namespaces_reach_the_bridge_and_each_other() {
    let net = TestNet::new();
    // attach sets the network up itself when the bridge is missing.
    assert!(!net.bridge_exists());
    let a = Sandbox::new();
    let mut b = Sandbox::new();
    let ip_a = net.ok(&["attach", &a.pid_arg()]);
    let ip_b = net.ok(&["attach", &b.pid_arg(), "--owner", "ctr-b"]);
    assert!(ip_a.starts_with(&format!("{}.", net.prefix)), "{ip_a}");
    assert_ne!(ip_a, ip_b);

    // Inside: lo and eth0 with the leased address, a derived MAC, default route.
    let addrs = text(&a.exec(&["ip", "-o", "addr"]).stdout);
    assert!(
        addrs.contains("lo ") && addrs.contains("127.0.0.1/8"),
        "{addrs}"
    );
    assert!(
        addrs.contains(&format!("eth0    inet {ip_a}/24")),
        "{addrs}"
    );
    let link = text(&a.exec(&["ip", "-o", "link", "show", "eth0"]).stdout);
    let octets: Vec<u8> = ip_a.split('.').map(|o| o.parse().unwrap()).collect();
    let mac = format!(
        "02:42:{:02x}:{:02x}:{:02x}:{:02x}",
        octets[0], octets[1], octets[2], octets[3]
    );
    assert!(link.contains(&mac), "{link} should carry {mac}");
    assert!(link.contains("UP"), "{link}");
    let routes = text(&a.exec(&["ip", "route"]).stdout);
    assert!(
        routes.contains(&format!("default via {}", net.gateway())),
        "{routes}"
    );

    assert!(ping(&a, &net.gateway()), "a cannot ping the bridge");
    assert!(ping(&a, &ip_b), "a cannot ping b");
    assert!(ping(&b, &ip_a), "b cannot ping a");

    // TCP between them with busybox nc: b serves a line, a reads it.
    b.spawn(
        &[
            "busybox",
            "nc",
            "-l",
            "-p",
            "9000",
            "-e",
            "/bin/echo",
            "hello-from-b",
        ],
        Stdio::null(),
    );
    b.wait_listening(9000);
    let got = a.exec(&["busybox", "nc", "-w", "3", &ip_b, "9000"]);
    assert_eq!(
        text(&got.stdout).trim(),
        "hello-from-b",
        "nc: {}",
        text(&got.stderr)
    );

    let status = net.status_json();
    assert!(
        status.contains(&format!("\"ip\":\"{ip_b}\",\"owner\":\"ctr-b\"")),
        "{status}"
    );
    net.ok(&["detach", "ctr-b"]);
    net.ok(&["detach", &a.pid_arg()]);
    assert!(net.status_json().contains("\"leases\":[]"));
    assert_eq!(
        net.bridge_ports(),
        Vec::<String>::new(),
        "detach leaves no veth"
    );
}

#[test]
fn fifty_concurrent_attaches_get_fifty_distinct_addresses() {
    // No setup: the 50 first attaches race to set the network up.
    let net = Arc::new(TestNet::new());
    let sandboxes: Vec<Sandbox> = (0..50).map(|_| Sandbox::new()).collect();
    let pids: Vec<String> = sandboxes.iter().map(|s| s.pid_arg()).collect();
    let threads: Vec<_> = pids
        .iter()
        .cloned()
        .map(|pid| {
            let net = Arc::clone(&net);
            std::thread::spawn(move || net.ok(&["attach", &pid]))
        })
        .collect();
    let ips: Vec<String> = threads
        .into_iter()
        .map(|t| t.join().expect("attach thread"))
        .collect();
    let distinct: HashSet<&String> = ips.iter().collect();
    assert_eq!(distinct.len(), 50, "duplicate addresses: {ips:?}");
    assert!(ips
        .iter()
        .all(|ip| ip.starts_with(&format!("{}.", net.prefix))));
    assert!(!distinct.contains(&net.gateway()));
    assert_eq!(net.bridge_ports().len(), 50);
    let hooks = net
        .iptables_lines()
        .into_iter()
        .filter(|l| l.contains("-A FORWARD") || l.contains("-A POSTROUTING"))
        .count();
    assert_eq!(
        hooks, 2,
        "concurrent first use set the network up more than once"
    );

    // Half exit (their veths die with their namespaces and `gc` reclaims the
    // leases), half are detached while still running.
    let mut sandboxes = sandboxes;
    for sb in &mut sandboxes[..25] {
        sb.kill();
    }
    net.ok(&["gc"]);
    let status = net.status_json();
    assert_eq!(
        status.matches("\"owner\":").count(),
        25,
        "gc must release exactly the exited ones: {status}"
    );
    for pid in &pids[25..] {
        net.ok(&["detach", pid]);
    }
    assert!(
        net.status_json().contains("\"leases\":[]"),
        "{}",
        net.status_json()
    );
    let left = net.wait_no_ports(Duration::from_secs(10));
    assert!(left.is_empty(), "veths left on the bridge: {left:?}");
}

#[test]
fn published_port_answers_on_localhost_and_goes_away_with_the_container() {
    let net = TestNet::new();
    let mut sb = Sandbox::new();
    let pid = sb.pid_arg();
    let (port, port2) = net.host_ports();
    let (local, any) = (format!("127.0.0.1:{port}:80"), format!("{port2}:80/tcp"));
    let ip = net.ok(&["attach", &pid, "-p", &local, "-p", &any]);
    serve(&mut sb, &net.root.join("www"), "hello from the namespace\n");

    assert_eq!(
        curl(&format!("http://{ip}/")).as_deref(),
        Some("hello from the namespace\n")
    );
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/")).as_deref(),
        Some("hello from the namespace\n")
    );
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port2}/")).as_deref(),
        Some("hello from the namespace\n")
    );
    let rules = net.iptables_lines();
    assert!(
        rules
            .iter()
            .any(|l| l.contains(&format!("--dport {port}")) && l.contains(&format!("{ip}:80"))),
        "{rules:#?}"
    );

    // Another container reaches the published port on the bridge's address.
    let peer = Sandbox::new();
    net.ok(&["attach", &peer.pid_arg()]);
    let url = format!("http://{}:{port2}/", net.gateway());
    let got = peer.exec(&["curl", "-s", "-m", "5", &url]);
    assert_eq!(
        text(&got.stdout),
        "hello from the namespace\n",
        "container -> published port"
    );
    net.ok(&["detach", &peer.pid_arg()]);

    // A second owner cannot take the same host port; its attachment is undone.
    let other = Sandbox::new();
    let err = net.fails(&["attach", &other.pid_arg(), "-p", &format!("{port}:80")]);
    assert!(err.contains("already published"), "{err}");
    assert_eq!(net.status_json().matches("\"owner\":").count(), 1);

    // The container exits: gc (what the next bocker command runs) drops the rules.
    sb.kill();
    net.ok(&["gc"]);
    let rules = net.iptables_lines();
    assert!(
        !rules.iter().any(|l| l.contains("-j DNAT")),
        "port rules left: {rules:#?}"
    );
    assert!(net.status_json().contains("\"leases\":[]"));
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/")), None);
}

#[test]
fn detach_removes_published_ports() {
    let net = TestNet::new();
    let mut sb = Sandbox::new();
    let (port, _) = net.host_ports();
    net.ok(&[
        "attach",
        &sb.pid_arg(),
        "--owner",
        "web",
        "-p",
        &format!("{port}:80"),
    ]);
    serve(&mut sb, &net.root.join("www"), "up\n");
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/")).as_deref(),
        Some("up\n")
    );
    net.ok(&["detach", "web"]);
    assert!(!net
        .iptables_lines()
        .iter()
        .any(|l| l.contains(&format!("--dport {port}"))));
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/")), None);
    assert!(
        sb.exec(&["ip", "-o", "link", "show", "eth0"])
            .stdout
            .is_empty(),
        "eth0 survived detach"
    );
}

#[test]
fn a_full_subnet_is_a_clear_error_and_addresses_are_reused() {
    // A /29 has five container addresses (.2 to .6).
    let net = TestNet::with_prefix_len(29);
    let sandboxes: Vec<Sandbox> = (0..6).map(|_| Sandbox::new()).collect();
    let mut ips = Vec::new();
    for sb in &sandboxes[..5] {
        ips.push(net.ok(&["attach", &sb.pid_arg()]));
    }
    let err = net.fails(&["attach", &sandboxes[5].pid_arg()]);
    assert!(err.contains("no free address"), "{err}");
    assert_eq!(err.lines().count(), 1, "one-line error: {err}");
    // The failed attach left nothing behind in the namespace.
    assert!(sandboxes[5]
        .exec(&["ip", "-o", "link", "show", "eth0"])
        .stdout
        .is_empty());

    net.ok(&["detach", &sandboxes[2].pid_arg()]);
    let again = net.ok(&["attach", &sandboxes[5].pid_arg()]);
    assert_eq!(again, ips[2], "the released address is the only free one");
    assert!(ping(&sandboxes[5], &net.gateway()));
}

#[test]
fn bad_input_is_refused_with_one_line() {
    let net = TestNet::new();
    for (args, needle) in [
        (vec!["--subnet", "10.300.0.0/24", "status"], "subnet"),
        (
            vec!["--bridge", "this-name-is-too-long", "status"],
            "bridge name",
        ),
        (vec!["attach", "1", "-p", "80"], "host port"),
        (vec!["attach", "1", "-p", "1:2/sctp"], "tcp or udp"),
        (vec!["detach", "nobody"], "no network attachment"),
        (vec!["attach", "999999999"], "999999999"),
    ] {
        let err = net.fails(&args);
        // One line of error (clap adds a "try --help" hint after a blank line).
        let first = err.lines().next().unwrap_or_default();
        assert!(first.contains(needle), "{args:?}: {err}");
        assert!(
            err.lines().filter(|l| !l.is_empty()).count() <= 2,
            "{args:?}: {err}"
        );
    }
    // Our own namespace (the host's) is never plumbed.
    let me = std::process::id().to_string();
    let err = net.fails(&["attach", &me]);
    assert!(err.contains("host's network namespace"), "{err}");
    assert!(!std::path::Path::new("/sys/class/net")
        .join(&net.bridge)
        .join("brif")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some()));
}

#[test]
fn gc_deletes_veths_that_no_lease_accounts_for() {
    let net = TestNet::new();
    let sb = Sandbox::new();
    let ip = net.ok(&["attach", &sb.pid_arg(), "--owner", "lost"]);
    assert_eq!(net.bridge_ports().len(), 1);
    // A crash lost the books: the veth is there, the lease and record are not.
    std::fs::remove_file(net.state_dir().join("leases").join(&ip)).unwrap();
    std::fs::remove_file(net.state_dir().join("endpoints/lost.json")).unwrap();
    net.ok(&["gc"]);
    assert_eq!(
        net.bridge_ports(),
        Vec::<String>::new(),
        "gc left the orphan veth"
    );
    assert!(sb
        .exec(&["ip", "-o", "link", "show", "eth0"])
        .stdout
        .is_empty());
}

/// A whole host of our own: a namespace H with its FORWARD policy DROP (as
/// Docker leaves it), a "remote" namespace R wired to H, and a container C on
/// H's bridge. C reaches R only through H's masquerade; R reaches C's
/// published port through H's DNAT. Every address is in namespaces made here.
#[test]
fn forwarding_nat_and_published_ports_work_for_other_hosts_with_forward_drop() {
    let net = TestNet::with_prefix_len(25); // containers in .0/25; the wire between H and R in .128/25
    let host = Sandbox::new();
    let remote = Sandbox::new();
    let mut ctr = Sandbox::new();
    let (h_ip, r_ip) = (format!("{}.129", net.prefix), format!("{}.130", net.prefix));

    // The wire H <-> R, built with ip(8): test scaffolding, not bocker.
    let wire = format!("bkw{}", net.bridge.trim_start_matches("bkt"));
    let sh = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().expect("ip");
        assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
    };
    let peer = format!("{wire}p");
    sh(&[
        "link",
        "add",
        &wire,
        "netns",
        &host.pid_arg(),
        "type",
        "veth",
        "peer",
        "name",
        &peer,
        "netns",
        &remote.pid_arg(),
    ]);
    for (sb, dev, ip) in [
        (&host, wire.as_str(), &h_ip),
        (&remote, peer.as_str(), &r_ip),
    ] {
        for args in [
            vec!["ip", "addr", "add", &format!("{ip}/25"), "dev", dev],
            vec!["ip", "link", "set", dev, "up"],
        ] {
            let out = sb.exec(&args);
            assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        }
    }
    let policy = host.exec(&["iptables", "-P", "FORWARD", "DROP"]);
    assert!(policy.status.success(), "{}", text(&policy.stderr));

    let ip = net.ok_in(&host, &["attach", &ctr.pid_arg(), "-p", "8080:80"]);
    serve(&mut ctr, &net.root.join("www"), "served through H\n");

    // C -> R: forwarded by H and masqueraded (R has no route back to C's subnet).
    assert!(
        ping(&ctr, &r_ip),
        "the container cannot reach the remote host through H"
    );
    // R -> H:8080 -> C:80: DNAT, and the FORWARD DROP policy does not stop it.
    let got = remote.exec(&["curl", "-s", "-m", "5", &format!("http://{h_ip}:8080/")]);
    assert_eq!(
        text(&got.stdout),
        "served through H\n",
        "curl: {}",
        text(&got.stderr)
    );
    assert!(!text(&remote.exec(&["ip", "route"]).stdout).contains(&format!("{}.0/25", net.prefix)));

    // Release in H removes the rules again: R is refused.
    net.ok_in(&host, &["detach", &ctr.pid_arg()]);
    let after = remote.exec(&["curl", "-s", "-m", "3", &format!("http://{h_ip}:8080/")]);
    assert!(
        !after.status.success(),
        "the published port outlived its container"
    );
    assert!(ip.starts_with(&format!("{}.", net.prefix)));
    // Everything else dies with the namespaces when the sandboxes drop.
}
