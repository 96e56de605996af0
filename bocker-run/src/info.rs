//! `bocker info`: the host and store facts Docker's `docker info` reports, with Docker's
//! field names (`Containers`, `ContainersRunning`, `Images`, `Driver`, `CgroupVersion`,
//! `KernelVersion`, `DockerRootDir`, `RegistryConfig`, …) so `--format '{{.Driver}}'`
//! reads as against Docker 20.10, plus bocker's own (`Bridge`, `Subnet`,
//! `CgroupControllers`, `CgroupParent`, `StoreId`).

use std::fs;

use bocker_store::{liveness, Store};
use serde_json::{json, Value};

/// Every fact, as a JSON object (the `--format` template's `.`).
pub fn collect(store: &Store) -> Value {
    let containers = store.list_containers().unwrap_or_default();
    let running = containers
        .iter()
        .filter(|c| liveness::is_running(c))
        .count();
    let images = store.list_images().map(|i| i.len()).unwrap_or(0);
    let hierarchy = bocker_cgroups::Hierarchy::detect().ok();
    let net = bocker_net::NetConfig::from_env().ok();
    let proc = |p: &str| {
        fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    json!({
        "ID": store.id().unwrap_or_default(),
        "StoreId": store.id().unwrap_or_default(),
        "Containers": containers.len(),
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": containers.len() - running,
        "Images": images,
        "Driver": store.driver().name(),
        "DockerRootDir": store.root(),
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": hierarchy.as_ref().map(|h| h.version().to_string()).unwrap_or_default(),
        "CgroupControllers": hierarchy.as_ref().map(controllers).unwrap_or_default(),
        "CgroupParent": crate::cgroup_step::store_parent(store).unwrap_or_default(),
        "KernelVersion": proc("/proc/sys/kernel/osrelease"),
        "OperatingSystem": os_name(),
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "MemTotal": mem_total(),
        "Name": proc("/proc/sys/kernel/hostname"),
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Bridge": net.as_ref().map(|n| n.bridge.clone()).unwrap_or_default(),
        "Subnet": net.as_ref().map(|n| n.subnet.to_string()).unwrap_or_default(),
        "RegistryConfig": {
            // bocker pull: plain HTTP to loopback registries without --insecure, as Docker.
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true}},
            "Mirrors": [],
        },
    })
}

/// Controllers of the hierarchy: v2's `cgroup.controllers`; v1's mounted, enabled ones
/// (/proc/cgroups, whose second column is the hierarchy, 0 when unmounted).
fn controllers(h: &bocker_cgroups::Hierarchy) -> Vec<String> {
    match h {
        bocker_cgroups::Hierarchy::V2 { root } => {
            fs::read_to_string(root.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect()
        }
        bocker_cgroups::Hierarchy::V1 { .. } => fs::read_to_string("/proc/cgroups")
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 4 && f[1] != "0" && f[3] == "1").then(|| f[0].to_string())
            })
            .collect(),
    }
}

/// `PRETTY_NAME` of /etc/os-release.
fn os_name() -> String {
    fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default()
}

/// Bytes of RAM (/proc/meminfo `MemTotal`, in kB).
fn mem_total() -> u64 {
    fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Docker's plain `docker info` text (the Server part) for `info`.
pub fn text(v: &Value) -> String {
    let s = |k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let list = |k: &str| {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    let mem = v["MemTotal"].as_u64().unwrap_or(0) as f64 / (1u64 << 30) as f64;
    format!(
        "Containers: {}\n Running: {}\n Paused: {}\n Stopped: {}\nImages: {}\n\
         Server Version: {}\nStorage Driver: {}\nCgroup Driver: {}\nCgroup Version: {}\n\
         Cgroup Controllers: {}\nCgroup Parent: {}\nKernel Version: {}\n\
         Operating System: {}\nOSType: {}\nArchitecture: {}\nCPUs: {}\n\
         Total Memory: {mem:.2}GiB\nName: {}\nID: {}\nBocker Root Dir: {}\n\
         Bridge: {} ({})\nInsecure Registries:\n {}\n",
        s("Containers"),
        s("ContainersRunning"),
        s("ContainersPaused"),
        s("ContainersStopped"),
        s("Images"),
        s("ServerVersion"),
        s("Driver"),
        s("CgroupDriver"),
        s("CgroupVersion"),
        list("CgroupControllers"),
        s("CgroupParent"),
        s("KernelVersion"),
        s("OperatingSystem"),
        s("OSType"),
        s("Architecture"),
        s("NCPU"),
        s("Name"),
        s("ID"),
        s("DockerRootDir"),
        s("Bridge"),
        s("Subnet"),
        v["RegistryConfig"]["InsecureRegistryCIDRs"][0]
            .as_str()
            .unwrap_or_default(),
    )
}
