//! The library as the runtime calls it, against the real kernel (needs root):
//! a namespace held by an fd, attach, publish, release, reclaim.

use std::fs::{self, File, OpenOptions};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bocker_net::{NetConfig, NetError, PortMapping};

/// A private network (bridge, subnet from the tests' shared reservations,
/// state root), torn down on drop.
struct Net {
    cfg: NetConfig,
    reservation: PathBuf,
}

impl Net {
    fn new() -> Net {
        let dir = PathBuf::from("/run/bocker-test-subnets");
        fs::create_dir_all(&dir).unwrap();
        let seed = u64::from(std::process::id());
        for i in 0..10_000u64 {
            let n = (seed.wrapping_mul(2654435761).wrapping_add(i * 7919)) % (51 * 256);
            let (x, y) = (200 + n / 256, n % 256);
            let reservation = dir.join(format!("{x}.{y}"));
            if OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&reservation)
                .is_ok()
            {
                let root = std::env::temp_dir().join(format!("bocker-net-lib-{x}-{y}"));
                let _ = fs::remove_dir_all(&root);
                let cfg =
                    NetConfig::new(&root, &format!("bkl{x}x{y}"), &format!("10.{x}.{y}.0/24"))
                        .unwrap();
                return Net { cfg, reservation };
            }
        }
        panic!("no free test subnet");
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = bocker_net::teardown(&self.cfg, true);
        // state_dir is <root>/<bridge>: remove <root> (never anything above it).
        if let Some(root) = self.cfg.state_dir.parent() {
            if root.starts_with(std::env::temp_dir()) && root != std::env::temp_dir() {
                let _ = fs::remove_dir_all(root);
            }
        }
        let _ = fs::remove_file(&self.reservation);
    }
}

fn new_netns() -> OwnedFd {
    std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
        File::open("/proc/thread-self/ns/net")
            .expect("netns")
            .into()
    })
    .join()
    .unwrap()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn veth_exists(name: &str) -> bool {
    PathBuf::from("/sys/class/net").join(name).exists()
}

#[test]
fn attach_publish_release_reclaim_through_the_library() {
    if !is_root() {
        assert!(
            std::env::var_os("BOCKER_TEST_ALLOW_SKIP").is_some(),
            "cannot run: needs root (set BOCKER_TEST_ALLOW_SKIP=1 to skip)"
        );
        return;
    }
    let net = Net::new();
    let cfg = &net.cfg;
    assert!(matches!(
        bocker_net::attach(cfg, "ps_000000000001", new_netns().as_fd(), "eth0"),
        Err(NetError::NoBridge(_))
    ));
    bocker_net::ensure_setup(cfg).unwrap();
    bocker_net::ensure_setup(cfg).unwrap();

    let ns = new_netns();
    let att = bocker_net::attach(cfg, "ps_000000000001", ns.as_fd(), "eth0").unwrap();
    assert!(cfg.subnet.contains(&att.ip));
    assert_eq!(att.gateway, cfg.gateway());
    assert_eq!(att.prefix_len, 24);
    assert_eq!(att.mac, bocker_net::mac_for(att.ip));
    assert!(veth_exists(&att.host_veth));
    let again = bocker_net::attach(cfg, "ps_000000000001", ns.as_fd(), "eth1");
    assert!(matches!(again, Err(NetError::AlreadyAttached { .. })));

    let ports: Vec<PortMapping> = vec![
        "127.0.0.1:1:80".parse().unwrap(),
        "2:53/udp".parse().unwrap(),
    ];
    bocker_net::publish(cfg, "ps_000000000001", att.ip, &ports).unwrap();
    let st = bocker_net::status(cfg).unwrap();
    assert_eq!(st.leases.len(), 1);
    assert_eq!(st.leases[0].ports, vec!["127.0.0.1:1:80/tcp", "2:53/udp"]);
    assert_eq!(
        st.rules.iter().filter(|r| r.contains("-j DNAT")).count(),
        2,
        "{:#?}",
        st.rules
    );

    // release: files and rules only, and fast; the veth goes with the namespace.
    let t = Instant::now();
    bocker_net::release(cfg, "ps_000000000001").unwrap();
    let took = t.elapsed();
    let st = bocker_net::status(cfg).unwrap();
    assert!(st.leases.is_empty());
    assert!(
        !st.rules.iter().any(|r| r.contains("-j DNAT")),
        "{:#?}",
        st.rules
    );
    assert!(took < Duration::from_secs(5), "release hung: {took:?}");
    // release left the veth to the namespace (it did not delete it, ~30 ms, itself).
    assert!(
        veth_exists(&att.host_veth),
        "release deleted the veth instead of leaving it to the namespace"
    );
    drop(ns);
    let start = Instant::now();
    while veth_exists(&att.host_veth) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !veth_exists(&att.host_veth),
        "the veth outlived its namespace"
    );
    bocker_net::release(cfg, "ps_000000000001").unwrap(); // idempotent

    // reclaim: an owner the runtime no longer knows is released.
    let ns2 = new_netns();
    let a2 = bocker_net::attach(cfg, "ps_000000000002", ns2.as_fd(), "eth0").unwrap();
    let a3 = bocker_net::attach(cfg, "ps_000000000003", new_netns().as_fd(), "eth0").unwrap();
    assert_ne!(a2.ip, a3.ip);
    bocker_net::reclaim(cfg, &|owner| owner == "ps_000000000003").unwrap();
    let owners: Vec<String> = bocker_net::status(cfg)
        .unwrap()
        .leases
        .into_iter()
        .map(|l| l.owner)
        .collect();
    assert_eq!(owners, vec!["ps_000000000003"]);

    // --network none
    let lone = new_netns();
    bocker_net::loopback_up(lone.as_fd()).unwrap();
}
