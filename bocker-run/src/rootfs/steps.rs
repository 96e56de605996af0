//! Mounts as data: the ordered list of [`MountStep`]s that builds a container's filesystem,
//! computed from the OCI spec alone (no syscalls, testable without root), then applied by
//! [`super::apply`]. Order: the spec's mounts in spec order (the OCI rule), with the
//! default devices and /dev symlinks right after a tmpfs /dev (OCI "Default Devices"),
//! then `linux.devices`, `linux.maskedPaths`, `linux.readonlyPaths`, and `root.readonly`
//! last. In a user namespace `mknod` of a device is not allowed (user_namespaces(7)), so
//! every device node becomes a bind of the host's node at the same path, as runc does.

use oci_spec::runtime::{LinuxDeviceType, Mount, Spec};
use std::path::PathBuf;
use thiserror::Error;

/// The devices every container gets in its /dev (OCI runtime spec, "Default Devices"):
/// (name, major, minor), mode 0666.
pub const DEFAULT_DEVICES: &[(&str, u32, u32)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// The target of /dev/core, made only where the host has it (see `apply`).
pub const KCORE: &str = "/proc/kcore";

/// The /dev symlinks (link under /dev, target) of OCI's "Dev symbolic links", plus
/// `ptmx` to the devpts instance and runc's `core` (applied only where the host has
/// [`KCORE`]).
pub const DEV_SYMLINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
    ("core", KCORE),
];

/// One step of building the container's filesystem. Paths are inside the container
/// (resolved under its root at apply time); `source` of a bind is a host path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountStep {
    /// Mount a fresh filesystem (`proc`, `tmpfs`, `devpts`, `mqueue`, `sysfs`, …).
    Filesystem {
        fstype: String,
        source: String,
        dest: String,
        flags: libc::c_ulong,
        data: String,
    },
    /// Bind `source` at `dest` (created as a directory or a file, like the source).
    Bind {
        source: PathBuf,
        dest: String,
        recursive: bool,
    },
    /// Copy the image's tree at `dest` into the empty host directory `volume` (a new
    /// volume's first mount, Docker's behaviour); comes right before the volume's bind.
    CopyUp { volume: PathBuf, dest: String },
    /// Remount the bind at `dest` with `flags` (`MS_RDONLY` for `ro`, …).
    Remount { dest: String, flags: libc::c_ulong },
    /// A character device node under /dev, mode 0666.
    Device {
        name: String,
        major: u32,
        minor: u32,
    },
    /// A node of `linux.devices` directly under /dev: `kind` is `S_IFCHR`, `S_IFBLK` or
    /// `S_IFIFO`, `mode` its permission bits (`fileMode`, default 0666), owned by
    /// `uid`:`gid` (default 0).
    Node {
        name: String,
        kind: libc::mode_t,
        major: u32,
        minor: u32,
        mode: libc::mode_t,
        uid: u32,
        gid: u32,
    },
    /// A symlink `/dev/<link>` → `target`.
    Symlink { link: String, target: String },
    /// Hide a path: /dev/null over a file, an empty read-only tmpfs over a directory.
    Mask { path: String },
    /// Bind a path onto itself read-only (missing paths are skipped).
    ReadOnlyPath { path: String },
    /// Remount the root read-only (`root.readonly`, `--read-only`).
    ReadOnlyRoot,
    /// The container's own cgroups at `dest` (a spec mount of type `cgroup`), as
    /// [`super::cgroupfs`] mounts them; `flags` from the mount's options.
    Cgroup { dest: String, flags: libc::c_ulong },
}

/// A spec the steps cannot be computed from: what was refused and why.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StepError {
    #[error("mount at {0}: no type and no bind option")]
    NoType(String),
    #[error("mount at {0}: the destination must be an absolute path")]
    RelativeDestination(String),
    #[error("device {0}: only character, block and fifo nodes directly under /dev are supported")]
    Device(String),
}

/// Flag-like mount options (mount(8) names): (name, sets it, flag).
const FLAGS: &[(&str, bool, libc::c_ulong)] = &[
    ("ro", true, libc::MS_RDONLY),
    ("rw", false, libc::MS_RDONLY),
    ("nosuid", true, libc::MS_NOSUID),
    ("suid", false, libc::MS_NOSUID),
    ("nodev", true, libc::MS_NODEV),
    ("dev", false, libc::MS_NODEV),
    ("noexec", true, libc::MS_NOEXEC),
    ("exec", false, libc::MS_NOEXEC),
    ("sync", true, libc::MS_SYNCHRONOUS),
    ("async", false, libc::MS_SYNCHRONOUS),
    ("noatime", true, libc::MS_NOATIME),
    ("atime", false, libc::MS_NOATIME),
    ("nodiratime", true, libc::MS_NODIRATIME),
    ("relatime", true, libc::MS_RELATIME),
    ("strictatime", true, libc::MS_STRICTATIME),
    ("bind", true, libc::MS_BIND),
    ("rbind", true, libc::MS_BIND | libc::MS_REC),
];

/// bocker's own bind option (as crun's `tmpcopyup` is crun's): before the bind, copy
/// the image's content at the destination into the source when the source is empty.
pub const COPY_UP: &str = "copyup";

/// Propagation options: every mount in the container's namespace is private already
/// ([`super::make_private`]), so these add nothing.
const PROPAGATION: &[&str] = &[
    "private", "rprivate", "slave", "rslave", "shared", "rshared",
];

/// Mount flags and the filesystem data string (`mode=755,size=65536k`) of `options`.
pub fn parse_options(options: &[String]) -> (libc::c_ulong, String) {
    let mut flags = 0;
    let mut data = Vec::new();
    for o in options {
        if PROPAGATION.contains(&o.as_str()) {
            continue;
        }
        match FLAGS.iter().find(|(name, _, _)| name == o) {
            Some(&(_, true, f)) => flags |= f,
            Some(&(_, false, f)) => flags &= !f,
            None => data.push(o.as_str()),
        }
    }
    (flags, data.join(","))
}

/// The steps of one spec mount.
fn mount_steps(m: &Mount, out: &mut Vec<MountStep>) -> Result<(), StepError> {
    let dest = m.destination().to_string_lossy().into_owned();
    if !dest.starts_with('/') {
        return Err(StepError::RelativeDestination(dest));
    }
    let (flags, data) = parse_options(m.options().as_deref().unwrap_or_default());
    let source = m.source().clone().unwrap_or_default();
    if flags & libc::MS_BIND != 0 || m.typ().as_deref() == Some("bind") {
        if data.split(',').any(|o| o == COPY_UP) {
            out.push(MountStep::CopyUp {
                volume: source.clone(),
                dest: dest.clone(),
            });
        }
        out.push(MountStep::Bind {
            source,
            dest: dest.clone(),
            recursive: flags & libc::MS_REC != 0,
        });
        // A bind takes no other flag on its first mount: they need a remount.
        let rest = flags & !(libc::MS_BIND | libc::MS_REC);
        if rest != 0 {
            out.push(MountStep::Remount { dest, flags: rest });
        }
        return Ok(());
    }
    let fstype = m.typ().clone().ok_or(StepError::NoType(dest.clone()))?;
    if fstype == "cgroup" {
        out.push(MountStep::Cgroup { dest, flags });
        return Ok(());
    }
    let fresh_dev = dest == "/dev" && fstype == "tmpfs";
    out.push(MountStep::Filesystem {
        source: source.to_string_lossy().into_owned(),
        fstype,
        dest,
        flags,
        data,
    });
    if fresh_dev {
        dev_contents(out);
    }
    Ok(())
}

/// The default devices and symlinks of a fresh /dev.
fn dev_contents(out: &mut Vec<MountStep>) {
    out.extend(
        DEFAULT_DEVICES
            .iter()
            .map(|&(name, major, minor)| MountStep::Device {
                name: name.to_string(),
                major,
                minor,
            }),
    );
    out.extend(
        DEV_SYMLINKS
            .iter()
            .map(|&(link, target)| MountStep::Symlink {
                link: link.to_string(),
                target: target.to_string(),
            }),
    );
}

/// `linux.devices`: extra character, block and fifo nodes directly under /dev (type
/// `u`, unbuffered character, is a character node; `a` is no node and is refused).
fn spec_devices(spec: &Spec, out: &mut Vec<MountStep>) -> Result<(), StepError> {
    let devices = spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    for d in devices.into_iter().flatten() {
        let path = d.path().to_string_lossy().into_owned();
        let refused = || StepError::Device(path.clone());
        let name = path
            .strip_prefix("/dev/")
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or_else(refused)?;
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => return Err(refused()),
        };
        let major = u32::try_from(d.major()).map_err(|_| refused())?;
        let minor = u32::try_from(d.minor()).map_err(|_| refused())?;
        out.push(MountStep::Node {
            name: name.to_string(),
            kind,
            major,
            minor,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    Ok(())
}

/// The ordered steps that build the filesystem `spec` describes.
pub fn plan(spec: &Spec) -> Result<Vec<MountStep>, StepError> {
    let mut out = Vec::new();
    for m in spec.mounts().as_deref().unwrap_or_default() {
        mount_steps(m, &mut out)?;
    }
    spec_devices(spec, &mut out)?;
    if let Some(linux) = spec.linux() {
        for p in linux.masked_paths().as_deref().unwrap_or_default() {
            out.push(MountStep::Mask { path: p.clone() });
        }
        for p in linux.readonly_paths().as_deref().unwrap_or_default() {
            out.push(MountStep::ReadOnlyPath { path: p.clone() });
        }
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        out.push(MountStep::ReadOnlyRoot);
    }
    if crate::process::has_namespace(spec, oci_spec::runtime::LinuxNamespaceType::User) {
        out = out.into_iter().map(device_as_bind).collect();
    }
    Ok(out)
}

/// A device node as a bind of the host's `/dev/<name>` (see the module doc).
fn device_as_bind(step: MountStep) -> MountStep {
    match step {
        MountStep::Device { name, .. } | MountStep::Node { name, .. } => MountStep::Bind {
            source: PathBuf::from("/dev").join(&name),
            dest: format!("/dev/{name}"),
            recursive: false,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::MountStep::{self, *};
    use crate::cli::Args;
    use crate::spec::{self, EtcFiles};
    use bocker_store::record::ImageConfig;
    use clap::Parser;
    use std::path::{Path, PathBuf};

    /// The steps of `bocker run <flags> img true`, for a container `c1` whose generated
    /// /etc files live in /ctr.
    fn steps_of(flags: &[&str]) -> Vec<MountStep> {
        let argv = ["bocker-run"].iter().chain(flags).chain(&["img", "true"]);
        let args = Args::parse_from(argv);
        let mut b = spec::plan(&args, &ImageConfig::default()).unwrap();
        let etc = EtcFiles {
            hostname: "/ctr/hostname".into(),
            hosts: "/ctr/hosts".into(),
            resolv_conf: "/ctr/resolv.conf".into(),
        };
        b.finish("c1", Path::new("/ctr/rootfs"), etc, Path::new("bocker/c1"));
        super::plan(&b.spec).unwrap()
    }

    fn binds_at<'a>(steps: &'a [MountStep], at: &str) -> Vec<&'a PathBuf> {
        steps
            .iter()
            .filter_map(|s| match s {
                Bind { source, dest, .. } if dest == at => Some(source),
                _ => None,
            })
            .collect()
    }

    fn position(steps: &[MountStep], f: impl Fn(&MountStep) -> bool) -> usize {
        steps.iter().position(f).expect("step present")
    }

    fn fs_at(steps: &[MountStep], at: &str, typ: &str) -> usize {
        position(
            steps,
            |x| matches!(x, Filesystem { dest, fstype, .. } if dest == at && fstype == typ),
        )
    }

    #[test]
    fn generated_etc_files_are_bound_when_no_volume_covers_them() {
        let s = steps_of(&[]);
        for (dest, src) in [
            ("/etc/hosts", "/ctr/hosts"),
            ("/etc/hostname", "/ctr/hostname"),
            ("/etc/resolv.conf", "/ctr/resolv.conf"),
        ] {
            assert_eq!(binds_at(&s, dest), vec![&PathBuf::from(src)]);
        }
        // Writable, as Docker's: no remount follows them.
        assert!(!s.iter().any(|x| matches!(x, Remount { .. })));
    }

    #[test]
    fn a_user_volume_over_an_etc_file_wins_and_keeps_its_ro() {
        // Docker 20.10: `-v /h:/etc/hosts:ro` replaces the generated hosts file.
        let s = steps_of(&["-v", "/h:/etc/hosts:ro", "-v", "/r:/etc/resolv.conf"]);
        assert_eq!(binds_at(&s, "/etc/hosts"), vec![&PathBuf::from("/h")]);
        assert_eq!(binds_at(&s, "/etc/resolv.conf"), vec![&PathBuf::from("/r")]);
        assert_eq!(
            binds_at(&s, "/etc/hostname"),
            vec![&PathBuf::from("/ctr/hostname")]
        );
        let bind = position(
            &s,
            |x| matches!(x, Bind { dest, .. } if dest == "/etc/hosts"),
        );
        match &s[bind + 1] {
            Remount { dest, flags } => {
                assert_eq!(dest, "/etc/hosts");
                assert_ne!(flags & libc::MS_RDONLY, 0, "ro kept");
            }
            other => panic!("expected the ro remount, got {other:?}"),
        }
        // The rw resolv.conf volume is not remounted.
        assert!(!s
            .iter()
            .any(|x| matches!(x, Remount { dest, .. } if dest == "/etc/resolv.conf")));
    }

    #[test]
    fn read_only_volumes_and_root() {
        let s = steps_of(&["--read-only", "-v", "/d:/data:ro", "-v", "/w:/work"]);
        assert_eq!(s.last(), Some(&ReadOnlyRoot));
        let ro = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV;
        assert!(s.contains(&Remount {
            dest: "/data".into(),
            flags: ro
        }));
        assert!(!s
            .iter()
            .any(|x| matches!(x, Remount { dest, .. } if dest == "/work")));
        assert!(!steps_of(&[]).contains(&ReadOnlyRoot));
    }

    #[test]
    fn sys_is_read_only_and_proc_paths_are_masked_or_read_only() {
        let s = steps_of(&[]);
        let sys = fs_at(&s, "/sys", "sysfs");
        let Filesystem { flags, .. } = &s[sys] else {
            unreachable!()
        };
        assert_ne!(flags & libc::MS_RDONLY, 0);
        for p in [
            "/proc/kcore",
            "/proc/keys",
            "/proc/timer_list",
            "/sys/firmware",
        ] {
            assert!(s.contains(&Mask { path: p.into() }), "{p} masked");
        }
        for p in ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus"] {
            assert!(
                s.contains(&ReadOnlyPath { path: p.into() }),
                "{p} read-only"
            );
        }
        // Masks come after /proc, /sys and /dev/null exist.
        assert!(position(&s, |x| matches!(x, Mask { .. })) > sys);
    }

    #[test]
    fn dev_is_a_tmpfs_with_the_default_devices_then_pts_shm_mqueue() {
        let s = steps_of(&[]);
        let dev = fs_at(&s, "/dev", "tmpfs");
        assert!(fs_at(&s, "/proc", "proc") < dev);
        let names: Vec<&str> = s
            .iter()
            .filter_map(|x| match x {
                Device { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["null", "zero", "full", "random", "urandom", "tty"]);
        let null = Device {
            name: "null".into(),
            major: 1,
            minor: 3,
        };
        assert_eq!(s[dev + 1], null, "devices right after the /dev tmpfs");
        let fd = Symlink {
            link: "fd".into(),
            target: "/proc/self/fd".into(),
        };
        assert!(s.contains(&fd));
        for (d, t) in [
            ("/dev/pts", "devpts"),
            ("/dev/shm", "tmpfs"),
            ("/dev/mqueue", "mqueue"),
        ] {
            assert!(fs_at(&s, d, t) > dev, "{d} after /dev");
        }
    }

    #[test]
    fn a_volume_with_copyup_copies_before_its_bind_and_tmpfs_keeps_its_options() {
        let mut b = {
            let argv = ["bocker-run", "--tmpfs", "/t:size=1m", "img", "true"];
            spec::plan(&Args::parse_from(argv), &ImageConfig::default()).unwrap()
        };
        let vol = crate::spec::defaults::mount(
            "/data",
            "bind",
            "/store/volumes/v1/_data",
            &["rbind", "rprivate", "ro", super::COPY_UP],
        );
        b.spec.mounts_mut().as_mut().unwrap().push(vol);
        let s = super::plan(&b.spec).unwrap();
        let copy = position(&s, |x| matches!(x, CopyUp { dest, .. } if dest == "/data"));
        assert_eq!(
            s[copy],
            CopyUp {
                volume: "/store/volumes/v1/_data".into(),
                dest: "/data".into()
            }
        );
        assert!(matches!(&s[copy + 1], Bind { dest, recursive: true, .. } if dest == "/data"));
        assert!(matches!(&s[copy + 2], Remount { flags, .. } if flags & libc::MS_RDONLY != 0));
        let t = fs_at(&s, "/t", "tmpfs");
        let Filesystem { flags, data, .. } = &s[t] else {
            unreachable!()
        };
        // Docker's --tmpfs defaults: noexec, nosuid, nodev.
        assert_eq!(*flags, libc::MS_NOEXEC | libc::MS_NOSUID | libc::MS_NODEV);
        assert_eq!(data, "size=1m");
        // A bind without copyup copies nothing.
        assert_eq!(
            steps_of(&["-v", "/h:/h"])
                .iter()
                .filter(|x| matches!(x, CopyUp { .. }))
                .count(),
            0
        );
    }

    #[test]
    fn options_split_into_flags_and_data() {
        let o = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (f, d) = super::parse_options(&o(&["nosuid", "strictatime", "mode=755", "size=1k"]));
        assert_eq!(f, libc::MS_NOSUID | libc::MS_STRICTATIME);
        assert_eq!(d, "mode=755,size=1k");
        let (f, _) = super::parse_options(&o(&["ro", "rw", "rprivate"]));
        assert_eq!(f, 0, "a later rw clears ro; propagation is no flag");
    }
}

/// `linux.devices` as the OCI runtime gets them (issue 14): block and fifo nodes with
/// their mode and owner, not only character devices.
#[cfg(test)]
mod device_tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxDeviceBuilder, SpecBuilder};

    fn spec_with(devices: Vec<oci_spec::runtime::LinuxDevice>) -> Spec {
        let linux = LinuxBuilder::default().devices(devices).build().unwrap();
        SpecBuilder::default()
            .mounts(vec![])
            .linux(linux)
            .build()
            .unwrap()
    }

    fn dev(path: &str, t: LinuxDeviceType) -> LinuxDeviceBuilder {
        LinuxDeviceBuilder::default()
            .path(path)
            .typ(t)
            .major(8i64)
            .minor(666i64)
    }

    #[test]
    fn block_and_fifo_nodes_keep_mode_and_owner() {
        let s = spec_with(vec![
            dev("/dev/test2", LinuxDeviceType::B)
                .file_mode(0o660u32)
                .uid(1u32)
                .gid(2u32)
                .build()
                .unwrap(),
            dev("/dev/test3", LinuxDeviceType::P).build().unwrap(),
        ]);
        let steps = plan(&s).unwrap();
        let nodes: Vec<_> = steps
            .iter()
            .filter(|s| matches!(s, MountStep::Node { .. }))
            .collect();
        assert_eq!(
            nodes,
            [
                &MountStep::Node {
                    name: "test2".into(),
                    kind: libc::S_IFBLK,
                    major: 8,
                    minor: 666,
                    mode: 0o660,
                    uid: 1,
                    gid: 2,
                },
                &MountStep::Node {
                    name: "test3".into(),
                    kind: libc::S_IFIFO,
                    major: 8,
                    minor: 666,
                    mode: 0o666,
                    uid: 0,
                    gid: 0,
                },
            ]
        );
    }

    #[test]
    fn in_a_user_namespace_devices_are_binds_of_the_hosts_nodes() {
        use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType, MountBuilder};
        let mut s = spec_with(vec![dev("/dev/test2", LinuxDeviceType::B).build().unwrap()]);
        let dev_tmpfs = MountBuilder::default()
            .destination("/dev")
            .typ("tmpfs")
            .source("tmpfs")
            .build()
            .unwrap();
        s.set_mounts(Some(vec![dev_tmpfs]));
        let user = LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::User)
            .build()
            .unwrap();
        let mut linux = s.linux().clone().unwrap();
        linux.set_namespaces(Some(vec![user]));
        s.set_linux(Some(linux));
        let steps = plan(&s).unwrap();
        assert!(!steps
            .iter()
            .any(|s| matches!(s, MountStep::Device { .. } | MountStep::Node { .. })));
        for name in ["null", "tty", "test2"] {
            assert!(
                steps.contains(&MountStep::Bind {
                    source: PathBuf::from(format!("/dev/{name}")),
                    dest: format!("/dev/{name}"),
                    recursive: false
                }),
                "{name}"
            );
        }
    }

    #[test]
    fn nested_or_outside_dev_or_type_a_is_refused() {
        for (p, t) in [
            ("/dev/sub/x", LinuxDeviceType::C),
            ("/etc/x", LinuxDeviceType::B),
            ("/dev/../x", LinuxDeviceType::C),
            ("/dev/x", LinuxDeviceType::A),
        ] {
            let s = spec_with(vec![dev(p, t).build().unwrap()]);
            assert!(plan(&s).is_err(), "{p}");
        }
    }
}
