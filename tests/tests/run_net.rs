//! `bocker run` with networking: bridge (default), none, host, and published ports.
//! Traffic goes only to 127.0.0.1 and to addresses on this test's own bridge.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use bocker_e2e::TestRoot;

fn leases(t: &TestRoot) -> usize {
    std::fs::read_dir(bocker_e2e::net::state_dir(&t.bridge).join("leases"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

fn veths_on_bridge(t: &TestRoot) -> usize {
    std::fs::read_dir(Path::new("/sys/class/net").join(&t.bridge).join("brif"))
        .map(|rd| rd.count())
        .unwrap_or(0)
}

fn prefix(t: &TestRoot) -> String {
    t.subnet.rsplit_once('.').unwrap().0.to_string()
}

/// Waits until container `name` is running and returns its address.
fn address_of(t: &TestRoot, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = t.run("inspect", &[name]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        if let Some(ip) = v[0]["NetworkSettings"]["IPAddress"]
            .as_str()
            .filter(|ip| !ip.is_empty())
        {
            return ip.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "container {name} never got an address"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn_run(t: &TestRoot, args: &[&str]) -> Child {
    t.cmd("run")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn bridged_container_has_lo_and_eth0_and_reaches_the_bridge() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    assert!(!Path::new("/sys/class/net").join(&t.bridge).exists());
    let gw = format!("{}.1", prefix(&t));
    let out = t.ok(
        "run",
        &[
            "--rm",
            &img,
            "sh",
            "-c",
            &format!("ip -o -4 addr; ping -c1 -W2 {gw}"),
        ],
    );
    assert!(out.contains(" lo ") && out.contains("127.0.0.1/8"), "{out}");
    let eth0 = out
        .lines()
        .find(|l| l.contains("eth0"))
        .unwrap_or_else(|| panic!("no eth0:\n{out}"));
    assert!(eth0.contains(&format!("{}.", prefix(&t))), "{eth0}");
    assert!(out.contains("1 packets received"), "{out}");
    assert!(
        Path::new("/sys/class/net").join(&t.bridge).exists(),
        "run must set the bridge up itself"
    );
    assert_eq!(leases(&t), 0, "lease not given back after exit");
}

#[test]
fn containers_reach_each_other_over_tcp_and_by_ping() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let mut server = spawn_run(
        &t,
        &[
            "--rm",
            "--name",
            "srv",
            &img,
            "sh",
            "-c",
            "echo bocker-tcp | nc -l -p 7000",
        ],
    );
    let ip = address_of(&t, "srv");
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        let o = t.run(
            "run",
            &[
                "--rm",
                &img,
                "sh",
                "-c",
                &format!("ping -c1 -W2 {ip} >/dev/null && nc {ip} 7000"),
            ],
        );
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        if s.contains("bocker-tcp") || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(got.contains("bocker-tcp"), "client got {got:?}");
    let st = server.wait().unwrap();
    assert!(st.success(), "server exit {st}");
    assert_eq!(leases(&t), 0);
    // /etc/hosts names the container's own address.
    let hosts = t.ok(
        "run",
        &[
            "--rm",
            "--hostname",
            "web",
            &img,
            "sh",
            "-c",
            "cat /etc/hosts; ip -o -4 addr show eth0",
        ],
    );
    let own = hosts
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .nth(3)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(hosts.lines().any(|l| l == format!("{own}\tweb")), "{hosts}");
}

#[test]
fn published_port_answers_on_localhost_and_is_removed_after_exit() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let www = t.base.join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.html"), "published-by-bocker\n").unwrap();
    let vol = format!("{}:/www:ro", www.display());
    let publish = format!("{port}:80");
    // httpd daemonises; the container lives for the sleep, then exits by itself.
    let mut ctr = spawn_run(
        &t,
        &[
            "--rm",
            "-p",
            &publish,
            "-v",
            &vol,
            &img,
            "sh",
            "-c",
            "httpd -p 80 -h /www; sleep 4",
        ],
    );
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = Instant::now() + Duration::from_secs(4);
    let body = loop {
        let o = std::process::Command::new("curl")
            .args(["-s", "-m", "1", &url])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        if s.contains("published-by-bocker") || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        body.contains("published-by-bocker"),
        "curl {url} got {body:?}"
    );
    assert!(ctr.wait().unwrap().success());
    let rules = std::process::Command::new("iptables")
        .args(["-t", "nat", "-S"])
        .output()
        .unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(
        !rules.contains(&format!("--dport {port} ")),
        "DNAT rule left after exit:\n{rules}"
    );
    assert_eq!(leases(&t), 0);
}

#[test]
fn network_none_has_only_lo_and_host_sees_the_host() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let none = t.ok(
        "run",
        &["--rm", "--network", "none", &img, "ip", "-o", "link"],
    );
    let names: Vec<&str> = none.lines().filter_map(|l| l.split(": ").nth(1)).collect();
    assert_eq!(names, ["lo"], "{none}");
    let host = t.ok(
        "run",
        &["--rm", "--network", "host", &img, "ip", "-o", "link"],
    );
    let ours = std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .unwrap();
    let ours = String::from_utf8_lossy(&ours.stdout);
    let first_host_if = ours
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .find(|n| *n != "lo")
        .unwrap();
    assert!(
        host.contains(first_host_if.split('@').next().unwrap()),
        "host mode does not see {first_host_if}:\n{host}"
    );
    let err = t.fails(
        "run",
        &["--rm", "--network", "none", "-p", "8080:80", &img, "true"],
    );
    assert!(err.contains("-p"), "{err}");
    let err = t.fails("run", &["--rm", "--network", "bogus", &img, "true"]);
    assert!(err.contains("unknown network mode"), "{err}");
}

#[test]
fn fifty_concurrent_containers_get_distinct_addresses_and_leave_nothing() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("run", &["--rm", &img, "true"]); // the bridge exists before the rush
    let children: Vec<Child> = (0..50)
        .map(|_| spawn_run(&t, &["--rm", &img, "sh", "-c", "ip -o -4 addr show eth0"]))
        .collect();
    let mut ips = HashSet::new();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s = String::from_utf8_lossy(&o.stdout);
        let ip = s
            .split_whitespace()
            .nth(3)
            .unwrap_or_else(|| panic!("no address: {s}"))
            .to_string();
        assert!(ips.insert(ip.clone()), "address {ip} given twice");
    }
    assert_eq!(ips.len(), 50);
    assert_eq!(leases(&t), 0, "leases left");
    let deadline = Instant::now() + Duration::from_secs(10);
    while veths_on_bridge(&t) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50)); // veths die with their namespaces
    }
    assert_eq!(veths_on_bridge(&t), 0, "veths left on the bridge");
}

#[test]
fn rm_of_a_container_whose_supervisor_was_killed_gives_its_address_back() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let mut run = spawn_run(&t, &["--name", "victim", &img, "sleep", "60"]);
    let ip = address_of(&t, "victim");
    run.kill().unwrap(); // SIGKILL to our own child: the supervisor dies, `sleep` lives on
    run.wait().unwrap();
    assert_eq!(leases(&t), 1, "the lease of {ip} should still be held");
    let out = t.ok("rm", &["-f", "victim"]);
    assert!(out.starts_with("Removed: ps_"), "{out}");
    assert_eq!(leases(&t), 0, "rm must give the address back");
    assert_eq!(t.ok("ps", &["-q"]).trim(), "");
}

#[test]
fn ps_shows_status_image_command_and_start_and_finish_times() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let o = t.run(
        "run",
        &[
            "--name",
            "done",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "exit 3",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let ps = t.ok("ps", &[]);
    let header: Vec<&str> = ps.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "CONTAINER_ID",
            "COMMAND",
            "STATUS",
            "IMAGE",
            "PORTS",
            "IP",
            "NAMES"
        ]
    );
    let row = ps
        .lines()
        .find(|l| l.ends_with(" done"))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(
        row.contains("sh -c 'exit 3'") && row.contains("Exited (3)") && row.contains(&img),
        "{row}"
    );
    // Docker's STATUS carries the finish ("Exited (3) 2 seconds ago"), `.RunningFor`
    // the creation (docs/CLI.md).
    assert!(row.contains(" ago"), "finished: {row}");
    let created = t.ok(
        "ps",
        &["--filter", "name=done", "--format", "{{.RunningFor}}"],
    );
    assert!(created.ends_with(" ago\n"), "created: {created}");
}

/// Issue 8: two stores (two BOCKER_ROOTs) on one bridge share its lease table (it is
/// host-wide, not per store): they never hand out one address twice, and removing a
/// container in one store never gives back the other's lease.
#[test]
fn two_stores_on_one_bridge_never_share_or_release_each_others_addresses() {
    let a = TestRoot::overlay();
    let mut b = TestRoot::overlay();
    b.env("BOCKER_BRIDGE", &a.bridge.clone())
        .env("BOCKER_SUBNET", &a.subnet.clone());
    let (img_a, img_b) = (a.busybox_image(), b.busybox_image());
    let mut run_a = spawn_run(&a, &["--name", "one", &img_a, "sleep", "60"]);
    let ip_a = address_of(&a, "one");
    let mut run_b = spawn_run(&b, &["--name", "one", &img_b, "sleep", "60"]);
    let ip_b = address_of(&b, "one");
    assert_ne!(ip_a, ip_b, "two stores on one bridge got the same address");
    assert_eq!(leases(&a), 2);

    // Store b's supervisor dies; b removes its container: only b's lease goes.
    run_b.kill().unwrap();
    run_b.wait().unwrap();
    b.ok("rm", &["-f", "one"]);
    assert_eq!(
        leases(&a),
        1,
        "rm in store b must leave store a's lease alone"
    );
    // And a's container still answers on its address.
    let pinged = std::process::Command::new("ping")
        .args(["-c", "1", "-W", "2", &ip_a])
        .output()
        .unwrap();
    assert!(
        pinged.status.success(),
        "store a's container lost its address"
    );
    run_a.kill().unwrap();
    run_a.wait().unwrap();
    a.ok("rm", &["-f", "one"]);
    assert_eq!(leases(&a), 0);
}

/// Issue 10.4: a published port owns its host port. With a host process listening on
/// it, `run -p` fails clearly with status 125 instead of silently taking its traffic
/// (Docker 20.10: "address already in use"); and a port published on one bocker bridge
/// is refused on another ("port is already allocated").
#[test]
fn a_published_port_owns_its_host_port_across_bridges_and_host_listeners() {
    let a = TestRoot::overlay();
    let b = TestRoot::overlay();
    let (img_a, img_b) = (a.busybox_image(), b.busybox_image());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = listener.local_addr().unwrap().port();
    let out = a.run(
        "run",
        &["--rm", "-p", &format!("{busy}:80"), &img_a, "true"],
    );
    assert_eq!(
        out.status.code(),
        Some(125),
        "a port a host process listens on was published"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("address already in use"), "{err}");
    assert_eq!(leases(&a), 0, "the refused run left its lease");
    drop(listener);

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let publish = format!("{port}:80");
    let mut first = spawn_run(
        &a,
        &["--name", "holder", "-p", &publish, &img_a, "sleep", "60"],
    );
    address_of(&a, "holder");
    // Held, as docker-proxy holds it: a host process cannot take it while it is published.
    let taken = std::net::TcpListener::bind(("127.0.0.1", port));
    assert!(taken.is_err(), "a host process could bind a published port");
    let out = b.run("run", &["--rm", "-p", &publish, &img_b, "true"]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "one host port published on two bridges"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already allocated"), "{err}");
    first.kill().unwrap();
    first.wait().unwrap();
    a.ok("rm", &["-f", "holder"]);
    // Given back: b may publish it now.
    b.ok("run", &["--rm", "-p", &publish, &img_b, "true"]);
}

fn gateway(t: &TestRoot) -> String {
    format!("{}.1", prefix(t))
}

/// Issue 10.10: resolv.conf as Docker 20.10 writes it: `--dns`, `--dns-search` and
/// `--dns-option` replace the host's parts.
#[test]
fn resolv_conf_flags_replace_the_hosts_parts() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let got = t.ok(
        "run",
        &[
            "--rm",
            "--dns",
            "192.0.2.9",
            "--dns-search",
            "a.example",
            "--dns-option",
            "ndots:3",
            &img,
            "cat",
            "/etc/resolv.conf",
        ],
    );
    assert_eq!(
        got,
        "search a.example\nnameserver 192.0.2.9\noptions ndots:3\n"
    );
    let err = t.fails("run", &["--rm", "--dns", "banana", &img, "true"]);
    assert!(err.contains("not an IP address"), "{err}");
}

/// Issue 10.10 without flags: host mode copies the host's resolv.conf, and a host whose
/// resolv.conf names only systemd-resolved's stub gives the container the real upstreams
/// (loopback and IPv6 ones dropped; `search` and `options` kept), as Docker 20.10:
/// shown in a private mount namespace whose /etc/resolv.conf and /run/systemd are the
/// test's own.
#[test]
fn resolv_conf_in_host_mode_and_behind_systemd_resolved() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let host = t.ok(
        "run",
        &["--rm", "--network", "host", &img, "cat", "/etc/resolv.conf"],
    );
    assert_eq!(host, std::fs::read_to_string("/etc/resolv.conf").unwrap());

    let stub = t.base.join("stub-resolv.conf");
    std::fs::write(
        &stub,
        "nameserver 127.0.0.53\noptions edns0\nsearch home.example\n",
    )
    .unwrap();
    let upstream = t.base.join("upstream-resolv.conf");
    std::fs::write(&upstream, "nameserver 192.0.2.53\nnameserver ::1\n").unwrap();
    let run = t.cmd("run");
    let mut cmd = std::process::Command::new("unshare");
    for (k, v) in run.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = cmd
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount --bind \"$1\" /etc/resolv.conf && mount -t tmpfs none /run/systemd && \
             mkdir /run/systemd/resolve && cp \"$2\" /run/systemd/resolve/resolv.conf && \
             exec \"$3\" --rm \"$4\" cat /etc/resolv.conf",
        )
        .arg("sh")
        .arg(&stub)
        .arg(&upstream)
        .arg(run.get_program())
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "search home.example\nnameserver 192.0.2.53\noptions edns0\n"
    );
}

/// Issue 10.11: /etc/hosts as Docker 20.10 writes it: `--hostname web.example` also
/// gets the short alias `web`; `--add-host NAME:IP` and `NAME:host-gateway` (the bridge's
/// gateway) are appended.
#[test]
fn hosts_file_has_the_short_alias_and_added_hosts() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let hosts = t.ok(
        "run",
        &[
            "--rm",
            "--hostname",
            "web.example",
            "--add-host",
            "db:192.0.2.7",
            "--add-host",
            "gw:host-gateway",
            &img,
            "cat",
            "/etc/hosts",
        ],
    );
    let lines: Vec<&str> = hosts.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("\tweb.example web") && !l.starts_with("127.")),
        "{hosts}"
    );
    assert!(lines.contains(&"192.0.2.7\tdb"), "{hosts}");
    assert!(
        lines.contains(&format!("{}\tgw", gateway(&t)).as_str()),
        "{hosts}"
    );
    let err = t.fails("run", &["--rm", "--add-host", "nocolon", &img, "true"]);
    assert!(err.contains("--add-host"), "{err}");
}

/// Issue 10.11 without flags: in host mode the container sees the host's own
/// /etc/hosts and hostname (Docker 20.10).
#[test]
fn host_mode_sees_the_hosts_own_hosts_file_and_hostname() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let host = t.ok(
        "run",
        &["--rm", "--network", "host", &img, "cat", "/etc/hosts"],
    );
    assert_eq!(host, std::fs::read_to_string("/etc/hosts").unwrap());
    let name = t.ok("run", &["--rm", "--network", "host", &img, "hostname"]);
    let ours = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        name.trim(),
        ours.trim(),
        "host mode must see the host's hostname"
    );
}

/// UDP datagrams that reached the network namespace of `pid` (delivered or not).
fn udp_seen(pid: &str) -> u64 {
    let snmp = std::fs::read_to_string(format!("/proc/{pid}/net/snmp")).unwrap_or_default();
    let udp: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Udp:")).collect();
    let (Some(names), Some(values)) = (udp.first(), udp.get(1)) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter(|(n, _)| *n == "InDatagrams" || *n == "NoPorts")
        .map(|(_, v)| v.parse::<u64>().unwrap_or(0))
        .sum()
}

fn pid_of(t: &TestRoot, name: &str) -> String {
    let o = t.run("inspect", &[name]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    v[0]["State"]["Pid"].to_string()
}

/// Waits (bounded) until `pid`'s namespace has seen more than `than` UDP datagrams.
fn udp_arrives(pid: &str, than: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if udp_seen(pid) > than {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Issue 10.7: a container that replaces another on the same published UDP port gets
/// the traffic of a client that keeps sending (the kernel's flow for that client still
/// pointed at the old container; Docker flushes it when it publishes the port).
#[test]
fn a_replacement_container_gets_the_udp_traffic_of_its_published_port() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("{port}:80/udp");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let stop = std::sync::Arc::clone(&stop);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = sock.send_to(b"ping", ("127.0.0.1", port));
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let mut first = spawn_run(
        &t,
        &["--name", "first", "-p", &publish, &img, "sleep", "60"],
    );
    address_of(&t, "first");
    let pid = pid_of(&t, "first");
    let reached_first = udp_arrives(&pid, 0);
    first.kill().unwrap();
    first.wait().unwrap();
    t.ok("rm", &["-f", "first"]);

    let mut second = spawn_run(
        &t,
        &["--name", "second", "-p", &publish, &img, "sleep", "60"],
    );
    address_of(&t, "second");
    let pid = pid_of(&t, "second");
    let reached_second = udp_arrives(&pid, udp_seen(&pid));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    second.kill().unwrap();
    second.wait().unwrap();
    t.ok("rm", &["-f", "second"]);
    assert!(reached_first, "the first container never got the datagrams");
    assert!(
        reached_second,
        "the replacement container gets none of the datagrams"
    );
}

/// Issue 10.6 (the parsing half): every form of `-p` Docker accepts is recognised:
/// ranges publish every port of the range; a malformed bracketed IPv6 host and `/sctp`
/// are refused with what is wrong (not "too many ':'"), status 125.
#[test]
fn publish_accepts_dockers_forms_and_refuses_bad_ipv6_and_sctp_clearly() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let base = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let range = format!("127.0.0.1:{}-{}:80-81", base, base + 1);
    let mut run = spawn_run(&t, &["--name", "ranged", "-p", &range, &img, "sleep", "30"]);
    address_of(&t, "ranged");
    let o = t.run("inspect", &["ranged"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let ports = v[0]["Bocker"]["config"]["network"]["ports"].to_string();
    run.kill().unwrap();
    run.wait().unwrap();
    t.ok("rm", &["-f", "ranged"]);
    assert!(
        ports.contains(&format!("127.0.0.1:{base}:80/tcp"))
            && ports.contains(&format!("127.0.0.1:{}:81/tcp", base + 1)),
        "{ports}"
    );

    for (flag, want) in [
        ("[::1:8080:80", "unclosed '['"),
        ("[10.0.0.1]:8080:80", "not an IPv6 address"),
        ("8080:80/sctp", "sctp is not supported"),
    ] {
        let out = t.run("run", &["--rm", "-p", flag, &img, "true"]);
        assert_eq!(out.status.code(), Some(125), "-p {flag}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "-p {flag}: {err}");
    }
}

/// A port free on every address of both families (a dual-stack bind of `[::]:0`).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("[::]:0").unwrap();
    let u = std::net::UdpSocket::bind(("::", l.local_addr().unwrap().port()));
    match u {
        Ok(_) => l.local_addr().unwrap().port(),
        Err(_) => free_port(),
    }
}

/// `curl -g` of `url`: its body, or None when it fails (refused, timed out).
fn curl(url: &str) -> Option<String> {
    let o = std::process::Command::new("curl")
        .args(["-g", "-s", "-m", "2", url])
        .output()
        .unwrap();
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `curl` until the body has `want` (the container's httpd may still be starting).
fn curl_until(url: &str, want: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = curl(url);
        if body.as_deref().is_some_and(|b| b.contains(want)) || Instant::now() > deadline {
            return body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A directory with an index page, as a `-v` argument for `/www`.
fn www(t: &TestRoot, page: &str) -> String {
    let www = t.base.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), page).unwrap();
    format!("{}:/www:ro", www.display())
}

/// Waits for a `bocker run` to end; kills it and fails if it does not within 30 s.
fn exits(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: bocker run did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Issue 10.6: a plain `-p P:80` answers on the host's IPv6 loopback too, and
/// `-p [::1]:Q:80` only there (Docker 20.10: docker-proxy listens on `[::]:P` beside
/// `0.0.0.0:P`, and on `[::1]:Q` alone). UDP alike. Everything held goes away with the
/// container: the ports can be bound again after `rm`.
#[test]
fn a_published_port_answers_on_ipv6_loopback_and_a_bracketed_one_only_there() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let vol = www(&t, "served-over-ipv6\n");
    let (p, q, pu, qu) = (free_port(), free_port(), free_port(), free_port());
    let ports = [
        format!("{p}:80"),
        format!("[::1]:{q}:80"),
        format!("{pu}:80/udp"),
        format!("[::1]:{qu}:81/udp"),
    ];
    let mut args = vec!["--name", "six", "-v", &vol];
    for port in &ports {
        args.extend(["-p", port.as_str()]);
    }
    args.extend([img.as_str(), "sh", "-c", "httpd -p 80 -h /www; sleep 60"]);
    let mut run = spawn_run(&t, &args);
    address_of(&t, "six");

    let plain6 = curl_until(&format!("http://[::1]:{p}/"), "served-over-ipv6");
    let plain4 = curl(&format!("http://127.0.0.1:{p}/"));
    let only6 = curl_until(&format!("http://[::1]:{q}/"), "served-over-ipv6");
    let only6_on_v4 = curl(&format!("http://127.0.0.1:{q}/"));
    // `[::1]:Q` holds no IPv4 port: a host process may bind 127.0.0.1:Q meanwhile.
    let v4_free = std::net::TcpListener::bind(("127.0.0.1", q)).is_ok()
        && std::net::UdpSocket::bind(("127.0.0.1", qu)).is_ok();
    let inspect = t.ok("inspect", &["six"]);
    // `bocker-net status` shows bocker's rules (issue 10: "status shows them") and the
    // lease's ports; the IPv6-only mapping has no DNAT rule.
    let status = t.ok("net", &["status"]);

    // UDP: datagrams sent to [::1] reach the container's namespace.
    let pid = pid_of(&t, "six");
    let client = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let mut udp = Vec::new();
    for port in [pu, qu] {
        let seen = udp_seen(&pid);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut arrived = false;
        while !arrived && Instant::now() < deadline {
            let _ = client.send_to(b"ping", ("::1", port));
            arrived = udp_arrives_within(&pid, seen, Duration::from_millis(200));
        }
        udp.push(arrived);
    }

    t.ok("rm", &["-f", "six"]);
    exits(&mut run, "rm -f");
    let freed: Vec<bool> = vec![
        std::net::TcpListener::bind(("::1", p)).is_ok(),
        std::net::TcpListener::bind(("::1", q)).is_ok(),
        std::net::UdpSocket::bind(("::1", pu)).is_ok(),
        std::net::UdpSocket::bind(("::1", qu)).is_ok(),
    ];

    assert!(
        plain6
            .as_deref()
            .is_some_and(|b| b.contains("served-over-ipv6")),
        "-p {p}:80 does not answer on [::1]: {plain6:?}"
    );
    assert!(
        plain4
            .as_deref()
            .is_some_and(|b| b.contains("served-over-ipv6")),
        "-p {p}:80 no longer answers on 127.0.0.1: {plain4:?}"
    );
    assert!(
        only6
            .as_deref()
            .is_some_and(|b| b.contains("served-over-ipv6")),
        "-p [::1]:{q}:80 does not answer on [::1]: {only6:?}"
    );
    assert_eq!(only6_on_v4, None, "-p [::1]:{q}:80 answers on 127.0.0.1");
    assert!(v4_free, "-p [::1]:... holds an IPv4 port");
    assert!(inspect.contains(&format!("[::1]:{q}:80/tcp")), "{inspect}");
    let dnat = |port: u16| {
        status
            .lines()
            .any(|l| l.contains("-j DNAT") && l.contains(&format!("--dport {port} ")))
    };
    assert!(
        status.contains(&format!("-d 127.0.0.0/8 -i {} -j DROP", t.bridge))
            && status.contains(&format!("-o {} -j DROP", t.bridge))
            && dnat(p)
            && !dnat(q)
            && status.contains(&format!("[::1]:{q}:80/tcp")),
        "{status}"
    );
    assert_eq!(udp, [true, true], "UDP over [::1] (plain, bracketed)");
    assert_eq!(
        freed, [true; 4],
        "ports still held after rm (tcp p, tcp q, udp p, udp q)"
    );
    assert_eq!(leases(&t), 0);
}

/// Waits up to `within` until `pid`'s namespace has seen more than `than` UDP datagrams.
fn udp_arrives_within(pid: &str, than: u64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if udp_seen(pid) > than {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Issue 10.6: IPv6 clients are relayed by the supervisor's process, so they must not
/// be able to keep it alive or steal its signals. Connections to `[::1]:P` that stall
/// (idle, half a request, a large page never read) are open when SIGTERM reaches
/// `bocker run`: it is forwarded to the container, whose status comes back (7, from its
/// trap; a relay thread that took the signal would kill the supervisor instead), the
/// stalled clients are disconnected and the port is free.
#[test]
fn stalled_ipv6_clients_keep_neither_the_supervisor_nor_its_port() {
    use std::io::{Read, Write};
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let vol = www(&t, "relay-up\n");
    std::fs::write(t.base.join("www/big"), vec![b'x'; 8 << 20]).unwrap();
    let p = free_port();
    let publish = format!("{p}:80");
    let script = "trap 'exit 7' TERM; httpd -p 80 -h /www; while true; do sleep 0.2; done";
    let mut run = spawn_run(
        &t,
        &[
            "--rm", "--name", "slow", "-p", &publish, "-v", &vol, &img, "sh", "-c", script,
        ],
    );
    address_of(&t, "slow");
    let up = curl_until(&format!("http://[::1]:{p}/"), "relay-up");
    assert!(
        up.as_deref().is_some_and(|b| b.contains("relay-up")),
        "[::1]:{p}: {up:?}"
    );
    let connect = || std::net::TcpStream::connect(("::1", p)).unwrap();
    let idle = connect();
    let mut half = connect();
    half.write_all(b"GET / HTTP/1.0\r\n").unwrap();
    let mut unread = connect();
    unread.write_all(b"GET /big HTTP/1.0\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));

    // SAFETY: kill(2) on our own child, which has not been waited for.
    unsafe { libc::kill(run.id() as i32, libc::SIGTERM) };
    let status = exits(&mut run, "SIGTERM with stalled IPv6 clients");
    let closed = |mut s: std::net::TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut sink = Vec::new();
        match s.read_to_end(&mut sink) {
            Ok(_) => true,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    };
    let all_closed = closed(idle) && closed(half) && closed(unread);
    let free = std::net::TcpListener::bind(("::1", p)).is_ok();
    assert_eq!(status.code(), Some(7), "bocker run ended with {status}");
    assert!(all_closed, "a stalled client was never disconnected");
    assert!(free, "[::1]:{p} still held after the container exited");
    assert_eq!(leases(&t), 0);
}

/// Issue 10.5 (the sibling half): a container reaches a sibling's published port
/// through a host address (the gateway), as in Docker 20.10; the answer must come back
/// through the host to be un-DNATed.
#[test]
fn a_container_reaches_a_siblings_published_port_through_the_host() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let vol = www(&t, "sibling-served\n");
    let p = free_port();
    let publish = format!("{p}:80");
    let mut server = spawn_run(
        &t,
        &[
            "--name",
            "server",
            "-p",
            &publish,
            "-v",
            &vol,
            &img,
            "sh",
            "-c",
            "httpd -p 80 -h /www; sleep 60",
        ],
    );
    address_of(&t, "server");
    let ready = curl_until(&format!("http://127.0.0.1:{p}/"), "sibling-served");
    // busybox `nc` (this Debian busybox's `wget` crashes on any URL).
    let gw = gateway(&t);
    let port = p.to_string();
    let got = t.run(
        "run",
        &[
            "--rm",
            &img,
            "sh",
            "-c",
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 \"$1\" \"$2\"",
            "sh",
            &gw,
            &port,
        ],
    );
    t.ok("rm", &["-f", "server"]);
    exits(&mut server, "rm -f");
    assert!(
        ready
            .as_deref()
            .is_some_and(|b| b.contains("sibling-served")),
        "{ready:?}"
    );
    assert!(
        String::from_utf8_lossy(&got.stdout).ends_with("\r\n\r\nsibling-served\n"),
        "container -> sibling's published port via {gw}:{p} ({}): {}",
        got.status,
        String::from_utf8_lossy(&got.stderr)
    );
}

/// Issue 10.6 (the rest of Docker's `-p` forms): an empty host port (`-p 80`,
/// `-p 127.0.0.1::80`, `-p [::1]::80`) publishes on a free host port picked at start,
/// which `inspect` shows (Docker 20.10 picks one from its ephemeral range the same way).
#[test]
fn an_empty_host_port_publishes_on_a_free_one() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let vol = www(&t, "any-port\n");
    let mut run = spawn_run(
        &t,
        &[
            "--name",
            "any",
            "-v",
            &vol,
            "-p",
            "80",
            "-p",
            "127.0.0.1::80",
            "-p",
            "[::1]::80",
            &img,
            "sh",
            "-c",
            "httpd -p 80 -h /www; sleep 60",
        ],
    );
    address_of(&t, "any");
    let o = t.run("inspect", &["any"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let ports: Vec<String> = v[0]["Bocker"]["config"]["network"]["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // "P:80/tcp", "127.0.0.1:P:80/tcp", "[::1]:P:80/tcp": P is the next-to-last field.
    let host_port = |p: &str| -> u16 {
        let fields: Vec<&str> = p.trim_end_matches("/tcp").rsplit(':').collect();
        fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0)
    };
    let urls: Vec<String> = ports
        .iter()
        .map(|p| match p.split_once("]:") {
            Some(_) => format!("http://[::1]:{}/", host_port(p)),
            None => format!("http://127.0.0.1:{}/", host_port(p)),
        })
        .collect();
    let bodies: Vec<Option<String>> = urls.iter().map(|u| curl_until(u, "any-port")).collect();
    t.ok("rm", &["-f", "any"]);
    exits(&mut run, "rm -f");
    assert_eq!(ports.len(), 3, "{ports:?}");
    assert!(ports.iter().all(|p| host_port(p) > 0), "{ports:?}");
    for (url, body) in urls.iter().zip(&bodies) {
        assert!(
            body.as_deref().is_some_and(|b| b.contains("any-port")),
            "{url}: {body:?} ({ports:?})"
        );
    }
}
