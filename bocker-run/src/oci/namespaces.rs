//! `linux.namespaces` for the OCI runtime (runtime spec config-linux.md "Namespaces"):
//! an entry without `path` is a namespace the init is cloned into; an entry with `path`
//! is an existing namespace (an nsfs file such as `/proc/<pid>/ns/net`) the init joins
//! with `setns(2)`; a type with no entry is inherited from the runtime.
//!
//! Joining happens in two places, by the kernel's rules: a PID namespace only applies to
//! children, so the runtime enters it (`pid_for_children`) right before it clones the
//! init and returns to its own right after ([`PidJoin`]); the others the init joins
//! itself, first thing ([`join_in_child`]): mount (its rootfs is then built in that
//! namespace, as runc), network, IPC, UTS, cgroup. Every file is opened by the runtime
//! before the clone, so a path is resolved where the caller named it. User and time
//! namespaces are refused (no id mappings yet), and a mount namespace is required
//! (created or joined): without one the rootfs would be built in the host's mounts.

use crate::sys;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// A namespace to join: its type's `CLONE_NEW*` flag and the open nsfs file.
#[derive(Debug)]
pub struct Join {
    pub flag: libc::c_int,
    pub file: OwnedFd,
}

/// The namespaces of the spec: the clone flags of those to create, and those to join.
#[derive(Debug, Default)]
pub struct Plan {
    pub clone_flags: u64,
    pub joins: Vec<Join>,
}

/// The `CLONE_NEW*` flag of a type, and whether it is created at clone time (a new
/// cgroup namespace is unshared later, once the init is in its cgroup).
pub fn flag(t: LinuxNamespaceType) -> Result<(libc::c_int, bool), String> {
    Ok(match t {
        LinuxNamespaceType::Mount => (libc::CLONE_NEWNS, true),
        LinuxNamespaceType::Uts => (libc::CLONE_NEWUTS, true),
        LinuxNamespaceType::Ipc => (libc::CLONE_NEWIPC, true),
        LinuxNamespaceType::Pid => (libc::CLONE_NEWPID, true),
        LinuxNamespaceType::Network => (libc::CLONE_NEWNET, true),
        LinuxNamespaceType::Cgroup => (libc::CLONE_NEWCGROUP, false),
        other => return Err(format!("linux.namespaces: {other:?}")),
    })
}

/// Which namespaces to create and which to join (type, path), without opening anything.
/// Errors: an unsupported type, a type listed twice, no mount namespace.
pub fn classify(spec: &Spec) -> Result<(u64, Vec<(libc::c_int, std::path::PathBuf)>), String> {
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let mut seen = 0;
    let mut clone_flags = 0u64;
    let mut joins = Vec::new();
    for ns in &list {
        let (f, at_clone) = flag(ns.typ())?;
        if seen & f != 0 {
            return Err(format!("linux.namespaces: {:?} listed twice", ns.typ()));
        }
        seen |= f;
        match ns.path() {
            Some(p) => joins.push((f, p.clone())),
            None if at_clone => clone_flags |= f as u64,
            None => {}
        }
    }
    if seen & libc::CLONE_NEWNS == 0 {
        return Err(
            "linux.namespaces: running without a mount namespace (the rootfs would be built in the host's mounts)"
                .into(),
        );
    }
    Ok((clone_flags, joins))
}

/// [`classify`], then open every path to join (read-only, close-on-exec).
pub fn plan(spec: &Spec) -> Result<Plan, String> {
    let (clone_flags, paths) = classify(spec)?;
    let mut joins = Vec::new();
    for (flag, path) in paths {
        let c = sys::cpath(&path).map_err(|e| e.to_string())?;
        let file = sys::open(&c, libc::O_RDONLY | libc::O_CLOEXEC)
            .map_err(|e| format!("linux.namespaces path {}: {e}", path.display()))?;
        joins.push(Join { flag, file });
    }
    Ok(Plan { clone_flags, joins })
}

/// Whether the spec joins a namespace of `flag`'s type by path.
pub fn joins(plan: &Plan, flag: libc::c_int) -> bool {
    plan.joins.iter().any(|j| j.flag == flag)
}

fn setns(fd: &OwnedFd, flag: libc::c_int) -> io::Result<()> {
    // SAFETY: setns on an fd we own, with one CLONE_NEW* type the kernel checks it against.
    if unsafe { libc::setns(fd.as_raw_fd(), flag) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The runtime inside a joined PID namespace for its next child; dropping it returns to
/// the runtime's own (`pid_for_children` as before).
pub struct PidJoin {
    own: Option<OwnedFd>,
}

impl PidJoin {
    /// Enter the plan's PID namespace for children, if it joins one (the caller must be
    /// single-threaded, as for any clone of a container init).
    pub fn enter(plan: &Plan) -> io::Result<PidJoin> {
        let Some(j) = plan.joins.iter().find(|j| j.flag == libc::CLONE_NEWPID) else {
            return Ok(PidJoin { own: None });
        };
        let own = sys::open(
            c"/proc/self/ns/pid_for_children",
            libc::O_RDONLY | libc::O_CLOEXEC,
        )?;
        setns(&j.file, libc::CLONE_NEWPID)?;
        Ok(PidJoin { own: Some(own) })
    }
}

impl Drop for PidJoin {
    fn drop(&mut self) {
        if let Some(own) = &self.own {
            // Best effort: the runtime exits soon after create; a failure only affects
            // children it would fork later (hooks), which is logged nowhere else.
            let _ = setns(own, libc::CLONE_NEWPID);
        }
    }
}

/// In the init: join every namespace of the plan but PID (done by [`PidJoin`]), mount
/// first (the others' files were opened before, so they stay reachable).
pub fn join_in_child(plan: &Plan) -> io::Result<()> {
    let mut order: Vec<&Join> = plan
        .joins
        .iter()
        .filter(|j| j.flag != libc::CLONE_NEWPID)
        .collect();
    order.sort_by_key(|j| j.flag != libc::CLONE_NEWNS);
    for j in order {
        setns(&j.file, j.flag)
            .map_err(|e| io::Error::new(e.kind(), format!("joining namespace: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxNamespaceBuilder, SpecBuilder};

    fn spec(ns: &[(LinuxNamespaceType, Option<&str>)]) -> Spec {
        let list = ns
            .iter()
            .map(|(t, p)| {
                let mut b = LinuxNamespaceBuilder::default().typ(*t);
                if let Some(p) = p {
                    b = b.path(*p);
                }
                b.build().unwrap()
            })
            .collect::<Vec<_>>();
        let linux = LinuxBuilder::default().namespaces(list).build().unwrap();
        SpecBuilder::default().linux(linux).build().unwrap()
    }

    #[test]
    fn paths_are_joined_and_the_rest_created() {
        use LinuxNamespaceType::*;
        let s = spec(&[
            (Mount, None),
            (Network, Some("/proc/1/ns/net")),
            (Pid, Some("/proc/1/ns/pid")),
            (Uts, None),
            (Cgroup, None),
        ]);
        let (flags, joins) = classify(&s).unwrap();
        assert_eq!(flags, (libc::CLONE_NEWNS | libc::CLONE_NEWUTS) as u64);
        let joined: Vec<_> = joins.iter().map(|(f, _)| *f).collect();
        assert_eq!(joined, [libc::CLONE_NEWNET, libc::CLONE_NEWPID]);
    }

    #[test]
    fn a_joined_mount_namespace_counts_and_none_is_refused() {
        use LinuxNamespaceType::*;
        let s = spec(&[(Mount, Some("/proc/1/ns/mnt"))]);
        assert_eq!(classify(&s).unwrap().0, 0);
        assert!(classify(&spec(&[(Network, None)])).is_err());
        assert!(classify(&spec(&[(Mount, None), (User, None)])).is_err());
        assert!(classify(&spec(&[(Mount, None), (Mount, None)])).is_err());
    }

    #[test]
    fn plan_opens_the_files_and_names_a_missing_one() {
        use LinuxNamespaceType::*;
        let p = plan(&spec(&[
            (Mount, None),
            (Network, Some("/proc/self/ns/net")),
        ]))
        .unwrap();
        assert!(joins(&p, libc::CLONE_NEWNET));
        assert!(!joins(&p, libc::CLONE_NEWNS));
        let e = plan(&spec(&[(Mount, None), (Ipc, Some("/nonexistent/ns"))])).unwrap_err();
        assert!(e.contains("/nonexistent/ns"), "{e}");
    }
}
