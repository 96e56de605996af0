//! `linux.sysctl` (runtime spec config-linux.md "Sysctl"): kernel parameters set inside
//! the container's namespaces. Only namespaced parameters are accepted, as runc's
//! validation does: `kernel.msgmax`/`msgmnb`/`msgmni`/`sem`/`shmall`/`shmmax`/`shmmni`/
//! `shm_rmid_forced` and `fs.mqueue.*` need the container's own IPC namespace,
//! `net.*` its own network namespace, `kernel.hostname`/`kernel.domainname` its own UTS
//! namespace. Anything else would change the host for everyone, and is refused.
//!
//! The values are written by the container's init through `/proc/sys` before its root is
//! built: a sysctl file acts on the namespace of the process that opens it, so the host's
//! procfs, opened from inside the new namespaces, sets the container's values (and
//! `readonlyPaths`' read-only `/proc/sys` cannot be in the way yet).

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;

/// IPC-namespaced parameters outside `fs.mqueue.` (kernel's ipc/ipc_sysctl.c).
const IPC_KERNEL: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// One sysctl to write: its file under `/proc/sys` and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    pub path: PathBuf,
    pub value: String,
}

/// The namespace a parameter belongs to, `None` when it is not namespaced.
fn namespace_of(name: &str) -> Option<LinuxNamespaceType> {
    if name.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if name.starts_with("fs.mqueue.") || IPC_KERNEL.contains(&name) {
        Some(LinuxNamespaceType::Ipc)
    } else if matches!(name, "kernel.hostname" | "kernel.domainname") {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

/// The `/proc/self/ns` name of a namespace type sysctls can belong to.
fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Ipc => "ipc",
        _ => "uts",
    }
}

/// Whether the container has a namespace of type `t` other than the runtime's: one it
/// creates, or one it joins by a path that is not the runtime's own namespace (runc's
/// "sysctl not allowed in host network namespace" rule, for every type here).
fn owns_namespace(spec: &Spec, t: LinuxNamespaceType) -> bool {
    let list = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    let Some(ns) = list.into_iter().flatten().find(|n| n.typ() == t) else {
        return false;
    };
    let Some(path) = ns.path() else {
        return true;
    };
    use std::os::unix::fs::MetadataExt;
    let own = format!("/proc/self/ns/{}", proc_name(t));
    match (std::fs::metadata(path), std::fs::metadata(own)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) != (b.dev(), b.ino()),
        // Unknown: refuse rather than risk writing the host's value.
        _ => false,
    }
}

/// The spec's `linux.sysctl` as files to write, in name order. Errors (one line naming
/// the parameter): a name that is not a dotted path (`..`, `/`, empty parts), a
/// parameter that is not namespaced, or one whose namespace the container does not have.
pub fn plan(spec: &Spec) -> Result<Vec<Sysctl>, String> {
    let empty = HashMap::new();
    let map = spec
        .linux()
        .as_ref()
        .and_then(|l| l.sysctl().as_ref())
        .unwrap_or(&empty);
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        // runc accepts "net/ipv4/ip_forward" too: normalize to dots first.
        let dotted = name.replace('/', ".");
        let parts: Vec<&str> = dotted.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(format!("linux.sysctl {name:?}: not a parameter name"));
        }
        let Some(ns) = namespace_of(&dotted) else {
            return Err(format!(
                "linux.sysctl {name:?}: not a namespaced parameter (it would change the host)"
            ));
        };
        if !owns_namespace(spec, ns) {
            return Err(format!(
                "linux.sysctl {name:?}: needs the container's own {ns:?} namespace"
            ));
        }
        let mut path = PathBuf::from("/proc/sys");
        path.extend(parts);
        out.push(Sysctl {
            path,
            value: map[name].clone(),
        });
    }
    Ok(out)
}

/// Write each of `sysctls` (from the container's init, in its namespaces).
pub fn apply(sysctls: &[Sysctl]) -> io::Result<()> {
    for s in sysctls {
        std::fs::write(&s.path, s.value.as_bytes()).map_err(|e| {
            io::Error::new(e.kind(), format!("linux.sysctl {}: {e}", s.path.display()))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxNamespaceBuilder, SpecBuilder};

    fn spec(sysctl: &[(&str, &str)], ns: &[LinuxNamespaceType]) -> Spec {
        let namespaces = ns
            .iter()
            .map(|t| LinuxNamespaceBuilder::default().typ(*t).build().unwrap())
            .collect::<Vec<_>>();
        let linux = LinuxBuilder::default()
            .namespaces(namespaces)
            .sysctl(
                sysctl
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>(),
            )
            .build()
            .unwrap();
        SpecBuilder::default().linux(linux).build().unwrap()
    }

    #[test]
    fn namespaced_parameters_map_to_proc_sys_files() {
        use LinuxNamespaceType::*;
        let s = spec(
            &[
                ("net.ipv4.ip_forward", "1"),
                ("kernel.shmmax", "100000"),
                ("fs/mqueue/msg_max", "20"),
            ],
            &[Network, Ipc, Mount],
        );
        let plan = plan(&s).unwrap();
        let paths: Vec<_> = plan.iter().map(|s| s.path.clone()).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("/proc/sys/fs/mqueue/msg_max"),
                PathBuf::from("/proc/sys/kernel/shmmax"),
                PathBuf::from("/proc/sys/net/ipv4/ip_forward"),
            ]
        );
        assert_eq!(plan[2].value, "1");
    }

    #[test]
    fn host_wide_or_foreign_namespace_parameters_are_refused() {
        use LinuxNamespaceType::*;
        // Not namespaced: would change the host.
        assert!(plan(&spec(&[("kernel.panic", "1")], &[Mount])).is_err());
        assert!(plan(&spec(&[("vm.swappiness", "1")], &[Mount])).is_err());
        // Namespaced, but the container shares the host's network namespace.
        assert!(plan(&spec(&[("net.ipv4.ip_forward", "1")], &[Mount, Ipc])).is_err());
        assert!(plan(&spec(&[("kernel.hostname", "x")], &[Mount])).is_err());
        // Joining the runtime's own (the host's) namespace by path is not a namespace
        // of the container's.
        let mut joined = spec(&[("net.ipv4.ip_forward", "1")], &[Mount]);
        let host = LinuxNamespaceBuilder::default()
            .typ(Network)
            .path("/proc/self/ns/net")
            .build()
            .unwrap();
        let linux = joined.linux().clone().unwrap();
        let mut list = linux.namespaces().clone().unwrap();
        list.push(host);
        let mut linux = linux;
        linux.set_namespaces(Some(list));
        joined.set_linux(Some(linux));
        assert!(plan(&joined).is_err());
        // No climbing out of /proc/sys.
        assert!(plan(&spec(&[("net...x", "1")], &[Network])).is_err());
        assert!(plan(&spec(&[("net/../../etc", "1")], &[Network])).is_err());
    }
}
