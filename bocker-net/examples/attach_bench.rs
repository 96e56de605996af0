//! What bridge networking costs a container start, measured in-process the
//! way the runtime calls the library (scripts/bench/net.sh runs this).
//!
//! usage: attach_bench [ITERATIONS] [BRIDGE] [SUBNET]   (as root)

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sched::{unshare, CloneFlags};

/// A fresh network namespace held by an fd (made on a throwaway thread, as a
/// runtime's clone(CLONE_NEWNET) child would have one).
fn new_netns() -> OwnedFd {
    std::thread::spawn(|| {
        unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET): run as root");
        OwnedFd::from(File::open("/proc/thread-self/ns/net").expect("opening the new netns"))
    })
    .join()
    .expect("netns thread")
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<34} median {:>7.3} ms   p90 {:>7.3} ms   min {:>7.3} ms   (n={})",
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(v[0]),
        v.len()
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(200);
    let bridge = args.get(2).cloned().unwrap_or_else(|| "bkbench0".into());
    let subnet = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "10.254.0.0/24".into());
    let root = PathBuf::from(
        std::env::var("BOCKER_ROOT").unwrap_or_else(|_| "/tmp/bocker-net-bench".into()),
    );
    let cfg = bocker_net::NetConfig::new(&root, &bridge, &subnet)?;
    bocker_net::setup(&cfg)?;

    let t = Instant::now();
    bocker_net::ensure_setup(&cfg)?;
    let ensure = t.elapsed();

    // PAUSE_MS between rounds lets the kernel finish destroying the previous
    // namespace first (a steady trickle of starts rather than a burst).
    let pause = Duration::from_millis(
        std::env::var("PAUSE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    let (mut netns, mut attach, mut release, mut total) = (vec![], vec![], vec![], vec![]);
    let (mut publish, mut detach) = (vec![], vec![]);
    for i in 0..n {
        let owner = format!("bench-{i}");
        let t0 = Instant::now();
        let ns = new_netns();
        let t1 = Instant::now();
        let att = bocker_net::attach(&cfg, &owner, ns.as_fd(), "eth0")?;
        let t2 = Instant::now();
        bocker_net::release(&cfg, &owner)?;
        let t3 = Instant::now();
        drop(ns); // the namespace, and the veth with it, go away in the kernel's own time
        netns.push(t1 - t0);
        attach.push(t2 - t1);
        release.push(t3 - t2);
        total.push(t3 - t1);
        let _ = att;
        std::thread::sleep(pause);
    }
    // Publishing forks iptables-restore: measured apart, on fewer rounds.
    for i in 0..n.min(50) {
        let owner = format!("bench-p{i}");
        let ns = new_netns();
        let att = bocker_net::attach(&cfg, &owner, ns.as_fd(), "eth0")?;
        let ports = [format!("127.0.0.1:{}:80", 29000 + i).parse()?];
        let t = Instant::now();
        bocker_net::publish(&cfg, &owner, att.ip, &ports)?;
        bocker_net::release(&cfg, &owner)?;
        publish.push(t.elapsed());
    }
    // Publishing on [::1] only: no iptables fork, the relay thread and its socket.
    let mut relay = vec![];
    for i in 0..n.min(50) {
        let owner = format!("bench-r{i}");
        let ns = new_netns();
        let att = bocker_net::attach(&cfg, &owner, ns.as_fd(), "eth0")?;
        let ports = [format!("[::1]:{}:80", 29100 + i).parse()?];
        let t = Instant::now();
        drop(bocker_net::publish_held(&cfg, &owner, att.ip, &ports)?);
        bocker_net::release(&cfg, &owner)?;
        relay.push(t.elapsed());
    }
    // For reference: tearing the veth down synchronously (what release avoids).
    for i in 0..n.min(20) {
        let owner = format!("bench-d{i}");
        let ns = new_netns();
        bocker_net::attach(&cfg, &owner, ns.as_fd(), "eth0")?;
        let t = Instant::now();
        bocker_net::detach(&cfg, &owner)?;
        detach.push(t.elapsed());
    }

    println!(
        "ensure_setup (bridge up)           {:>7.3} ms",
        ensure.as_secs_f64() * 1000.0
    );
    summary("new netns alone", netns);
    summary("attach", attach);
    summary("release", release);
    summary("attach + release", total);
    summary("publish 1 port + its release", publish);
    summary("publish [::1] (relay) + release", relay);
    summary("detach (sync veth delete, ref.)", detach);
    bocker_net::teardown(&cfg, true)?;
    Ok(())
}
