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
//! before the clone, so a path is resolved where the caller named it. A mount namespace
//! is required (created or joined): without one the rootfs would be built in the host's
//! mounts. Time namespaces are refused.
//!
//! A user namespace ([`UserNs`]) changes the order, as runc's `nsexec` does: a helper
//! process joins the namespaces given by path while it is still the host's root, then
//! joins the user namespace by path or creates one (its `uidMappings`/`gidMappings`
//! written by the runtime, see [`id_map`]), and only then clones the init into the
//! namespaces to create, so that they are owned by the container's user namespace
//! (`super::create`). The spec's rules, in runc's words: a new user namespace needs
//! both mappings, a joined one takes none, mappings without a user namespace are an
//! error.

use crate::sys;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};
use std::io;
use std::os::fd::{AsFd, OwnedFd};

/// A namespace to join: its type's `CLONE_NEW*` flag and the open nsfs file.
#[derive(Debug)]
pub struct Join {
    pub flag: libc::c_int,
    pub file: OwnedFd,
}

/// The container's user namespace.
#[derive(Debug, Default)]
pub enum UserNs {
    /// None of its own: the runtime's.
    #[default]
    None,
    /// A new one, with the contents of its `uid_map` and `gid_map` files.
    New { uid_map: String, gid_map: String },
    /// An existing one, by its open nsfs file.
    Join(OwnedFd),
}

/// The namespaces of the spec: the clone flags of those to create (never
/// `CLONE_NEWUSER`: see [`UserNs`]), those to join, and the user namespace.
#[derive(Debug, Default)]
pub struct Plan {
    pub clone_flags: u64,
    pub joins: Vec<Join>,
    pub user: UserNs,
}

/// How the spec's user namespace is given (see [`classify`]).
#[derive(Debug, PartialEq, Eq)]
pub enum UserPlan {
    None,
    New { uid_map: String, gid_map: String },
    Join(std::path::PathBuf),
}

/// The text of a `uid_map`/`gid_map` file for `mappings` (user_namespaces(7): one line
/// `inside outside count` each, all written at once). Errors: a mapping of size 0.
pub fn id_map(mappings: &[LinuxIdMapping], what: &str) -> Result<String, String> {
    let mut out = String::new();
    for m in mappings {
        if m.size() == 0 {
            return Err(format!("linux.{what}: a mapping of size 0"));
        }
        out.push_str(&format!(
            "{} {} {}\n",
            m.container_id(),
            m.host_id(),
            m.size()
        ));
    }
    Ok(out)
}

/// The user namespace of `spec` by runc's rules (its validator's messages).
pub fn user_plan(spec: &Spec) -> Result<UserPlan, String> {
    let Some(linux) = spec.linux() else {
        return Ok(UserPlan::None);
    };
    let uids = linux.uid_mappings().clone().unwrap_or_default();
    let gids = linux.gid_mappings().clone().unwrap_or_default();
    let user = linux
        .namespaces()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::User);
    match user {
        None if uids.is_empty() && gids.is_empty() => Ok(UserPlan::None),
        None => Err("linux.uidMappings/gidMappings: user namespaces not enabled in config".into()),
        Some(n) => match n.path() {
            Some(p) if uids.is_empty() && gids.is_empty() => Ok(UserPlan::Join(p.clone())),
            Some(_) => Err(
                "linux.uidMappings/gidMappings: not allowed with a user namespace path (the namespace has its mappings)"
                    .into(),
            ),
            None if uids.is_empty() => {
                Err("linux.uidMappings: user namespaces enabled, but no uid mappings found".into())
            }
            None if gids.is_empty() => {
                Err("linux.gidMappings: user namespaces enabled, but no gid mappings found".into())
            }
            None => Ok(UserPlan::New {
                uid_map: id_map(&uids, "uidMappings")?,
                gid_map: id_map(&gids, "gidMappings")?,
            }),
        },
    }
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
        // Created or joined by the helper before the clone (see `UserNs`).
        LinuxNamespaceType::User => (libc::CLONE_NEWUSER, false),
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
            Some(_) if f == libc::CLONE_NEWUSER => {}
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

fn open_ns(path: &std::path::Path) -> Result<OwnedFd, String> {
    let c = sys::cpath(path).map_err(|e| e.to_string())?;
    sys::open(&c, libc::O_RDONLY | libc::O_CLOEXEC)
        .map_err(|e| format!("linux.namespaces path {}: {e}", path.display()))
}

/// [`classify`] and [`user_plan`], then open every path to join (read-only,
/// close-on-exec).
pub fn plan(spec: &Spec) -> Result<Plan, String> {
    let (clone_flags, paths) = classify(spec)?;
    let mut joins = Vec::new();
    for (flag, path) in paths {
        let file = open_ns(&path)?;
        joins.push(Join { flag, file });
    }
    let user = match user_plan(spec)? {
        UserPlan::None => UserNs::None,
        UserPlan::New { uid_map, gid_map } => UserNs::New { uid_map, gid_map },
        UserPlan::Join(path) => UserNs::Join(open_ns(&path)?),
    };
    Ok(Plan {
        clone_flags,
        joins,
        user,
    })
}

impl Plan {
    /// Whether the container has a user namespace of its own (new or joined).
    pub fn has_user(&self) -> bool {
        !matches!(self.user, UserNs::None)
    }
}

/// Write `/proc/<pid>/uid_map` and `gid_map` of the process that just created its user
/// namespace (the runtime, privileged in the parent namespace, so `setgroups` stays
/// `allow`: the container's root may set its supplementary groups, as with runc).
pub fn write_id_maps(pid: libc::pid_t, uid_map: &str, gid_map: &str) -> io::Result<()> {
    for (file, map) in [("uid_map", uid_map), ("gid_map", gid_map)] {
        let path = format!("/proc/{pid}/{file}");
        // One write(2) of the whole map: the kernel takes the file only once.
        std::fs::write(&path, map)
            .map_err(|e| io::Error::new(e.kind(), format!("writing {path}: {e}")))?;
    }
    Ok(())
}

/// In the helper, after [`join_in_child`] (as the host's root): join the user namespace
/// given by path. (A new user namespace is unshared by the caller, which needs the
/// runtime to write its maps.)
pub fn join_user(plan: &Plan) -> io::Result<()> {
    if let UserNs::Join(fd) = &plan.user {
        setns(fd, libc::CLONE_NEWUSER)
            .map_err(|e| io::Error::new(e.kind(), format!("joining the user namespace: {e}")))?;
    }
    Ok(())
}

/// In the init of a container with a user namespace: become its root (uid and gid 0
/// inside, `setgroups` emptied where the namespace allows it: `EPERM` when its
/// `setgroups` file says `deny`), as runc's init does once the maps are written.
pub fn become_root() -> io::Result<()> {
    match sys::setgroups(&[]) {
        Err(e) if e.raw_os_error() != Some(libc::EPERM) => return Err(e),
        _ => {}
    }
    sys::setresgid(0)?;
    sys::setresuid(0)
}

/// Whether the spec joins a namespace of `flag`'s type by path.
pub fn joins(plan: &Plan, flag: libc::c_int) -> bool {
    plan.joins.iter().any(|j| j.flag == flag)
}

fn setns(fd: &OwnedFd, flag: libc::c_int) -> io::Result<()> {
    crate::sys::setns(fd.as_fd(), flag)
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
        assert!(classify(&spec(&[(Mount, None), (Time, None)])).is_err());
        assert!(classify(&spec(&[(Mount, None), (Mount, None)])).is_err());
    }

    fn with_maps(mut s: Spec, uids: bool, gids: bool) -> Spec {
        use oci_spec::runtime::LinuxIdMappingBuilder;
        let m = |c: u32, h: u32, n: u32| {
            vec![LinuxIdMappingBuilder::default()
                .container_id(c)
                .host_id(h)
                .size(n)
                .build()
                .unwrap()]
        };
        let mut linux = s.linux().clone().unwrap();
        if uids {
            linux.set_uid_mappings(Some(m(0, 100000, 65536)));
        }
        if gids {
            linux.set_gid_mappings(Some(m(0, 200000, 1000)));
        }
        s.set_linux(Some(linux));
        s
    }

    #[test]
    fn a_new_user_namespace_takes_its_mappings_by_runcs_rules() {
        use LinuxNamespaceType::*;
        let s = with_maps(
            spec(&[(Mount, None), (User, None), (Pid, None)]),
            true,
            true,
        );
        assert_eq!(
            user_plan(&s).unwrap(),
            UserPlan::New {
                uid_map: "0 100000 65536\n".into(),
                gid_map: "0 200000 1000\n".into()
            }
        );
        // The user namespace is never a clone flag: the helper makes it first.
        assert_eq!(
            classify(&s).unwrap().0,
            (libc::CLONE_NEWNS | libc::CLONE_NEWPID) as u64
        );
        let e = user_plan(&with_maps(
            spec(&[(Mount, None), (User, None)]),
            false,
            true,
        ));
        assert!(e.unwrap_err().contains("no uid mappings found"));
        let e = user_plan(&with_maps(
            spec(&[(Mount, None), (User, None)]),
            true,
            false,
        ));
        assert!(e.unwrap_err().contains("no gid mappings found"));
        let e = user_plan(&with_maps(spec(&[(Mount, None)]), true, true));
        assert!(e
            .unwrap_err()
            .contains("user namespaces not enabled in config"));
    }

    #[test]
    fn a_user_namespace_path_is_joined_and_takes_no_mappings() {
        use LinuxNamespaceType::*;
        let s = spec(&[(Mount, None), (User, Some("/proc/self/ns/user"))]);
        assert_eq!(
            user_plan(&s).unwrap(),
            UserPlan::Join("/proc/self/ns/user".into())
        );
        assert!(classify(&s).unwrap().1.is_empty(), "joined by the helper");
        assert!(matches!(plan(&s).unwrap().user, UserNs::Join(_)));
        let e = user_plan(&with_maps(s, true, true)).unwrap_err();
        assert!(e.contains("not allowed with a user namespace path"), "{e}");
        assert_eq!(user_plan(&spec(&[(Mount, None)])).unwrap(), UserPlan::None);
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
