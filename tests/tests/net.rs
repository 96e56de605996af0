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
    assert!(err.contains("already allocated"), "{err}");
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
        (vec!["attach", "1", "-p", "80:"], "ports are numbers"),
        (
            vec!["attach", "1", "-p", "1:2/sctp"],
            "sctp is not supported",
        ),
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

    wire(&net, &host, &remote);
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

/// Runs `ip ARGS` in our namespace (test scaffolding, not bocker) and insists on success.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
}

/// Runs `ARGS` inside `sb` and insists on success.
fn must(sb: &Sandbox, args: &[&str]) {
    let out = sb.exec(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
}

/// A wire between "host" H and "remote" R in the upper half (.128/25) of `net`'s /24:
/// H is .129, R is .130. Returns (H's address, R's address).
fn wire(net: &TestNet, host: &Sandbox, remote: &Sandbox) -> (String, String) {
    let (h_ip, r_ip) = (format!("{}.129", net.prefix), format!("{}.130", net.prefix));
    let wire = format!("bkw{}", net.bridge.trim_start_matches("bkt"));
    let peer = format!("{wire}p");
    ip(&[
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
    for (sb, dev, ip) in [(host, wire.as_str(), &h_ip), (remote, peer.as_str(), &r_ip)] {
        must(sb, &["ip", "addr", "add", &format!("{ip}/25"), "dev", dev]);
        must(sb, &["ip", "link", "set", dev, "up"]);
    }
    (h_ip, r_ip)
}

/// A UDP socket bound to `addr` inside `sb`'s network namespace (made on a thread that
/// joined it; the socket stays in that namespace).
fn udp_socket_in(sb: &Sandbox, addr: &str) -> std::net::UdpSocket {
    use std::os::fd::AsRawFd;
    let ns = std::fs::File::open(format!("/proc/{}/ns/net", sb.pid())).expect("netns");
    let addr = addr.to_string();
    std::thread::spawn(move || {
        // SAFETY: setns on an open nsfs fd; it moves only this short-lived thread.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let sock = std::net::UdpSocket::bind(&addr).expect("binding the listener");
        sock.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("read timeout");
        sock
    })
    .join()
    .expect("listener thread")
}

/// Issue 10.1 (CVE-2020-8558 class): the bridge has route_localnet=1 for 127.0.0.1
/// DNAT, so without a rule a container that routes 127.0.0.1 via the gateway reaches
/// the host's loopback-only services. A listener on the host's 127.0.0.1 must hear
/// nothing. (H is a namespace of our own standing in for the host.)
#[test]
fn the_hosts_loopback_services_are_out_of_a_containers_reach() {
    let net = TestNet::new();
    let host = Sandbox::new();
    let ctr = Sandbox::new();
    must(&host, &["ip", "link", "set", "lo", "up"]);
    net.ok_in(&host, &["attach", &ctr.pid_arg()]);
    let (port, _) = net.host_ports();
    let listener = udp_socket_in(&host, &format!("127.0.0.1:{port}"));
    let send = format!("echo hello > /dev/udp/127.0.0.1/{port}");
    // The listener works: the host itself is heard.
    must(&host, &["bash", "-c", &send]);
    let mut buf = [0u8; 64];
    assert!(listener.recv_from(&mut buf).is_ok(), "the listener is deaf");

    // The attack: frames to the gateway's MAC addressed to 127.0.0.1 (a container with
    // NET_RAW can forge them; here the sandbox simply routes 127.0.0.1 that way).
    must(
        &ctr,
        &[
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.route_localnet=1",
            "net.ipv4.conf.eth0.route_localnet=1",
        ],
    );
    must(
        &ctr,
        &[
            "ip",
            "route",
            "del",
            "table",
            "local",
            "local",
            "127.0.0.0/8",
            "dev",
            "lo",
        ],
    );
    must(
        &ctr,
        &[
            "ip",
            "route",
            "del",
            "table",
            "local",
            "local",
            "127.0.0.1",
            "dev",
            "lo",
        ],
    );
    must(
        &ctr,
        &[
            "ip",
            "route",
            "add",
            "127.0.0.1/32",
            "via",
            &net.gateway(),
            "dev",
            "eth0",
        ],
    );
    for _ in 0..3 {
        must(&ctr, &["bash", "-c", &send]);
    }
    let heard = listener.recv_from(&mut buf);
    assert!(
        heard.is_err(),
        "the host's 127.0.0.1 listener heard the container: {heard:?}"
    );
}

/// Issue 10.2: on a host whose FORWARD policy is ACCEPT (a fresh namespace, like any
/// host without Docker), a neighbour that routes the bridge subnet via the host must
/// reach only published ports, never the container directly (Docker 20.10 drops it).
#[test]
fn unpublished_ports_stay_private_on_a_forward_accept_host() {
    let net = TestNet::with_prefix_len(25);
    let host = Sandbox::new();
    let remote = Sandbox::new();
    let mut ctr = Sandbox::new();
    let (h_ip, _) = wire(&net, &host, &remote);
    let ip = net.ok_in(&host, &["attach", &ctr.pid_arg(), "-p", "8080:80"]);
    serve(&mut ctr, &net.root.join("www"), "published\n");
    must(&remote, &["ip", "route", "add", &net.subnet, "via", &h_ip]);

    let published = remote.exec(&["curl", "-s", "-m", "5", &format!("http://{h_ip}:8080/")]);
    assert_eq!(
        text(&published.stdout),
        "published\n",
        "{}",
        text(&published.stderr)
    );
    let direct = remote.exec(&["curl", "-s", "-m", "3", &format!("http://{ip}:80/")]);
    assert!(
        !direct.status.success(),
        "a neighbour reached the container's unpublished port 80 directly"
    );
    assert!(
        !ping(&remote, &ip),
        "a neighbour pinged the container directly"
    );
}

/// Issue 10.3: a container on one bocker bridge must not reach containers on another
/// bocker bridge, nor a Docker container's unpublished port on docker0 (simulated: a
/// bridge of our own named docker0, inside our own "host" namespace).
#[test]
fn bridges_are_isolated_from_each_other_and_from_docker0() {
    let net1 = TestNet::with_prefix_len(25); // docker0 gets the upper half of this /24
    let net2 = TestNet::new();
    let host = Sandbox::new();
    let ctr1 = Sandbox::new();
    let mut ctr2 = Sandbox::new();
    let mut docker_ctr = Sandbox::new();
    net1.ok_in(&host, &["attach", &ctr1.pid_arg()]);
    let ip2 = net2.ok_in(&host, &["attach", &ctr2.pid_arg()]);
    serve(&mut ctr2, &net2.root.join("www"), "bridge two\n");

    // docker0 as Docker makes it: a bridge, .129/25, a container at .130 behind a veth.
    let (d_gw, d_ip) = (
        format!("{}.129", net1.prefix),
        format!("{}.130", net1.prefix),
    );
    let veth = format!("bkd{}", net1.bridge.trim_start_matches("bkt"));
    must(&host, &["ip", "link", "add", "docker0", "type", "bridge"]);
    must(
        &host,
        &["ip", "addr", "add", &format!("{d_gw}/25"), "dev", "docker0"],
    );
    must(&host, &["ip", "link", "set", "docker0", "up"]);
    ip(&[
        "link",
        "add",
        &veth,
        "netns",
        &host.pid_arg(),
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &docker_ctr.pid_arg(),
    ]);
    must(
        &host,
        &["ip", "link", "set", &veth, "master", "docker0", "up"],
    );
    must(
        &docker_ctr,
        &["ip", "addr", "add", &format!("{d_ip}/25"), "dev", "eth0"],
    );
    must(&docker_ctr, &["ip", "link", "set", "eth0", "up"]);
    must(
        &docker_ctr,
        &["ip", "route", "add", "default", "via", &d_gw],
    );
    serve(&mut docker_ctr, &net1.root.join("www-docker"), "docker\n");

    // Both servers answer their own host...
    for url in [format!("http://{ip2}/"), format!("http://{d_ip}/")] {
        let got = host.exec(&["curl", "-s", "-m", "5", &url]);
        assert!(got.status.success(), "{url} does not answer the host");
    }
    // ...but not a container on another bridge.
    for url in [format!("http://{ip2}/"), format!("http://{d_ip}/")] {
        let got = ctr1.exec(&["curl", "-s", "-m", "3", &url]);
        assert!(
            !got.status.success(),
            "a container on {} reached {url} on another bridge",
            net1.bridge
        );
    }
}

/// Issue 10.9: a subnet that overlaps a running bridge's, or any address or route of
/// the host, is refused as Docker refuses it ("Pool overlaps with other one on this
/// address space"), and the running network keeps working. In a "host" namespace of
/// our own, so its routes are ours.
#[test]
fn overlapping_subnets_are_refused() {
    let net = TestNet::new();
    let other = TestNet::new();
    let host = Sandbox::new();
    let ctr = Sandbox::new();
    let ip = net.ok_in(&host, &["attach", &ctr.pid_arg()]);
    let setup_in = |subnet: &str| {
        Command::new("nsenter")
            .args(["-t", &host.pid_arg(), "-n"])
            .arg(bocker_e2e::bin("net"))
            .args(["--bridge", &other.bridge, "--subnet", subnet, "setup"])
            .env("BOCKER_ROOT", &other.root)
            .output()
            .expect("bocker-net")
    };
    let inside = setup_in(&format!("{}.128/26", net.prefix));
    assert!(
        !inside.status.success(),
        "a subnet inside a running bridge's was accepted"
    );
    let err = text(&inside.stderr);
    assert!(err.contains("overlaps"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Nothing was made, and the running container still reaches its gateway.
    assert!(text(&host.exec(&["ip", "-o", "link"]).stdout)
        .find(&other.bridge)
        .is_none());
    assert!(ping(&ctr, &net.gateway()), "the running network broke");
    assert!(ip.starts_with(&format!("{}.", net.prefix)));

    // Not only bocker's bridges: an address on any interface of the host counts.
    must(
        &host,
        &[
            "ip", "link", "add", "bkdummy0", "type", "veth", "peer", "name", "bkdummy1",
        ],
    );
    must(
        &host,
        &[
            "ip",
            "addr",
            "add",
            &format!("{}.9/29", other.prefix),
            "dev",
            "bkdummy0",
        ],
    );
    let err = text(&setup_in(&other.subnet).stderr);
    assert!(err.contains("overlaps"), "{err}");
}

/// Issue 10.8: the bridge's MAC is pinned (Docker pins docker0's): a bridge otherwise
/// takes the lowest MAC of its ports as containers come and go, and containers that
/// cached the gateway's MAC lose it.
#[test]
fn the_bridge_mac_is_pinned_while_containers_come_and_go() {
    let net = TestNet::new();
    net.ok(&["setup"]);
    let read = |file: &str| {
        let path = format!("/sys/class/net/{}/{file}", net.bridge);
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let octets: Vec<u8> = net
        .gateway()
        .split('.')
        .map(|o| o.parse().unwrap())
        .collect();
    let want = format!(
        "02:42:{:02x}:{:02x}:{:02x}:{:02x}",
        octets[0], octets[1], octets[2], octets[3]
    );
    assert_eq!(read("address"), want);
    assert_eq!(
        read("addr_assign_type"),
        "3",
        "the bridge MAC is not set explicitly"
    );
    let mut ctrs: Vec<Sandbox> = (0..8).map(|_| Sandbox::new()).collect();
    for c in &ctrs {
        net.ok(&["attach", &c.pid_arg()]);
        assert_eq!(read("address"), want, "a new port changed the bridge MAC");
    }
    for c in &mut ctrs {
        net.ok(&["detach", &c.pid_arg()]);
        c.kill();
        assert_eq!(
            read("address"),
            want,
            "a leaving port changed the bridge MAC"
        );
    }
}

/// Issue 10.5: hairpin. A container reaching its *own* published port through a host
/// address (the gateway) gets an answer, as in Docker 20.10 (hairpin mode on the
/// bridge port, plus the masquerade that sends the answer back through the host).
#[test]
fn a_container_reaches_its_own_published_port_through_the_host() {
    let net = TestNet::new();
    let mut sb = Sandbox::new();
    let (port, _) = net.host_ports();
    net.ok(&["attach", &sb.pid_arg(), "-p", &format!("{port}:80")]);
    serve(&mut sb, &net.root.join("www"), "hairpin\n");
    let url = format!("http://{}:{port}/", net.gateway());
    let got = sb.exec(&["curl", "-s", "-m", "5", &url]);
    assert_eq!(
        text(&got.stdout),
        "hairpin\n",
        "container -> own published port"
    );
}

/// Issue 10.5 (the sibling half): a container reaches a *sibling's* published port
/// through a host address (the gateway), as in Docker 20.10, also on a host where
/// br_netfilter does not run bridged frames through iptables (set so in a "host"
/// namespace of the test's own: the sysctl is per namespace; this machine has it on,
/// which un-DNATs the bridged answer by itself). The answer must come back through
/// the host to be un-DNATed.
#[test]
fn a_container_reaches_a_siblings_published_port_without_br_netfilter() {
    let net = TestNet::new();
    let host = Sandbox::new();
    must(
        &host,
        &["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0"],
    );
    let mut ctr = Sandbox::new();
    let sib = Sandbox::new();
    let (port, _) = net.host_ports();
    net.ok_in(
        &host,
        &["attach", &ctr.pid_arg(), "-p", &format!("{port}:80")],
    );
    net.ok_in(&host, &["attach", &sib.pid_arg()]);
    serve(&mut ctr, &net.root.join("www"), "sibling\n");
    let url = format!("http://{}:{port}/", net.gateway());
    let got = sib.exec(&["curl", "-s", "-m", "5", &url]);
    assert_eq!(
        text(&got.stdout),
        "sibling\n",
        "container -> sibling's published port {url}: {}",
        text(&got.stderr)
    );
}
