//! Docker's defaults for the parts of an OCI runtime spec that `docker run` does not take
//! from the image or the flags: the standard mounts, masked and read-only paths, the
//! default capability set, rlimits and namespaces (Docker 20.10's `oci.DefaultSpec` and
//! `daemon/oci_linux.go`; the OCI runtime spec's "Default Filesystems").

use oci_spec::runtime::{
    Capabilities, Capability, LinuxCapabilities, LinuxNamespace, LinuxNamespaceType, Mount,
    PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process, ProcessBuilder,
};
use oci_spec::OciSpecError;
use std::path::PathBuf;

/// Paths Docker hides behind /dev/null (files) or an empty read-only tmpfs (directories).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths Docker makes read-only.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Docker's default capabilities (CapEff/CapBnd of a root container: 00000000a80425fb).
pub const CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fowner,
    Capability::Fsetid,
    Capability::Kill,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::NetRaw,
    Capability::SysChroot,
    Capability::Mknod,
    Capability::AuditWrite,
    Capability::Setfcap,
];

/// Open files of a container process, as Docker gives them on common hosts.
pub const NOFILE: u64 = 1_048_576;

/// (destination, type, source, options) of the standard mounts, in mount order: runc's
/// and Docker's /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue and a read-only /sys.
type MountRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);
const STANDARD_MOUNTS: &[MountRow] = &[
    ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
    (
        "/dev",
        "tmpfs",
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    ),
    (
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ],
    ),
    (
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    ),
    (
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    ),
    (
        "/sys",
        "sysfs",
        "sysfs",
        &["nosuid", "noexec", "nodev", "ro"],
    ),
    // The container's own cgroups, read-only (Docker's default spec; rootfs::cgroupfs).
    (
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["ro", "nosuid", "noexec", "nodev"],
    ),
];

/// A mount entry of the spec.
pub fn mount(dest: &str, typ: &str, source: impl Into<PathBuf>, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(dest));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.into()));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// The standard mounts, in mount order.
pub fn standard_mounts() -> Vec<Mount> {
    STANDARD_MOUNTS
        .iter()
        .map(|&(dest, typ, src, opts)| mount(dest, typ, src, opts))
        .collect()
}

/// Bounding, effective and permitted = Docker's default set; inheritable and ambient
/// empty (Docker since 20.10.14, CVE-2022-24769).
pub fn capabilities() -> LinuxCapabilities {
    let set: Capabilities = CAPABILITIES.into_iter().collect();
    let mut c = LinuxCapabilities::default();
    c.set_bounding(Some(set.clone()));
    c.set_effective(Some(set.clone()));
    c.set_permitted(Some(set));
    c.set_inheritable(Some(Capabilities::new()));
    c.set_ambient(Some(Capabilities::new()));
    c
}

/// `RLIMIT_NOFILE` = [`NOFILE`], soft and hard.
pub fn rlimits() -> Result<Vec<PosixRlimit>, OciSpecError> {
    Ok(vec![PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(NOFILE)
        .hard(NOFILE)
        .build()?])
}

/// The privilege settings `run` plans into every container's `process` (capabilities,
/// rlimits, `noNewPrivileges`), for a command `exec` starts in a running container.
pub fn process_settings(no_new_privileges: bool) -> Result<Process, OciSpecError> {
    ProcessBuilder::default()
        .capabilities(capabilities())
        .rlimits(rlimits()?)
        .no_new_privileges(no_new_privileges)
        .build()
}

/// mount, uts, ipc, pid and cgroup namespaces, and network unless `own_netns` is false
/// (`--network host`).
pub fn namespaces(own_netns: bool) -> Vec<LinuxNamespace> {
    let mut types = vec![
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Cgroup,
    ];
    if own_netns {
        types.push(LinuxNamespaceType::Network);
    }
    types
        .into_iter()
        .map(|t| {
            let mut ns = LinuxNamespace::default();
            ns.set_typ(t);
            ns
        })
        .collect()
}

/// Owned copies of a list of paths.
pub fn paths(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| p.to_string()).collect()
}
