//! The container's filesystem, built inside its new mount namespace: the rootfs bind,
//! /proc, a minimal /dev, /sys read-only, volumes, generated /etc files, masked and
//! read-only paths, then `pivot_root` with the old root detached.

use crate::safepath;
use crate::spec::{RunSpec, Volume};
use crate::sys::{self, cpath, cstr, fd_path};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Paths Docker hides behind /dev/null (files) or an empty read-only tmpfs (directories).
const MASKED: &[&str] = &[
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
const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Device nodes of the minimal /dev: (name, major, minor).
const DEVICES: &[(&str, u32, u32)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const NOSUID_NOEXEC_NODEV: libc::c_ulong = libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;

fn err(what: &str, path: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {path}: {e}"))
}

fn mount_fs(
    root: RawFd,
    dest: &str,
    fstype: &CStr,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let target = safepath::mkdir_all(root, dest, 0o755).map_err(|e| err("creating", dest, e))?;
    sys::mount(
        Some(fstype),
        &fd_path(target.as_raw_fd()),
        Some(fstype),
        flags,
        data,
    )
    .map_err(|e| err("mounting", dest, e))
}

fn bind(src: RawFd, target: RawFd) -> io::Result<()> {
    sys::mount(
        Some(&fd_path(src)),
        &fd_path(target),
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
}

/// Make the bind mount now at `dest` read-only (plus `flags`). `dest` is resolved again
/// inside the root: an fd opened before the mount names the dentry *under* it.
fn remount_ro(root: RawFd, dest: &str, flags: libc::c_ulong) -> io::Result<()> {
    let fd = safepath::open_path(root, dest)?;
    sys::mount(
        None,
        &fd_path(fd.as_raw_fd()),
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | flags,
        None,
    )
}

/// Stop mount propagation to and from the host: must come before any mount in the
/// container's namespace (the rootfs mount included), or it would appear on the host.
pub fn make_private() -> io::Result<()> {
    sys::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(|e| err("making private", "/", e))
}

/// Everything from the rootfs bind up to (not including) pivot_root. Call
/// [`make_private`] first.
pub fn prepare(spec: &RunSpec) -> io::Result<OwnedFd> {
    let rootfs = cpath(&spec.rootfs)?;
    sys::mount(
        Some(&rootfs),
        &rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .map_err(|e| err("binding rootfs", &spec.rootfs.display().to_string(), e))?;
    let root = sys::open(&rootfs, libc::O_PATH | libc::O_DIRECTORY)?;
    let r = root.as_raw_fd();

    mount_fs(r, "/proc", c"proc", NOSUID_NOEXEC_NODEV, None)?;
    mount_dev(r)?;
    mount_fs(
        r,
        "/sys",
        c"sysfs",
        NOSUID_NOEXEC_NODEV | libc::MS_RDONLY,
        None,
    )?;
    for v in &spec.volumes {
        mount_volume(r, v)?;
    }
    for (dest, src) in [
        ("/etc/hostname", &spec.etc.hostname),
        ("/etc/hosts", &spec.etc.hosts),
        ("/etc/resolv.conf", &spec.etc.resolv_conf),
    ] {
        let src = sys::open(&cpath(src)?, libc::O_PATH)?;
        let target = safepath::touch(r, dest).map_err(|e| err("creating", dest, e))?;
        bind(src.as_raw_fd(), target.as_raw_fd()).map_err(|e| err("binding", dest, e))?;
    }
    mask_paths(r)?;
    if spec.read_only {
        sys::mount(
            None,
            &rootfs,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
            None,
        )
        .map_err(|e| err("remounting read-only", "/", e))?;
    }
    Ok(root)
}

fn mount_dev(r: RawFd) -> io::Result<()> {
    mount_fs(
        r,
        "/dev",
        c"tmpfs",
        libc::MS_NOSUID | libc::MS_STRICTATIME,
        Some(c"mode=755,size=65536k"),
    )?;
    // Reopen /dev: now the fresh tmpfs, which nothing but us has touched.
    let dev = safepath::open(r, "/dev", libc::O_PATH | libc::O_DIRECTORY)?;
    let d = dev.as_raw_fd();
    for &(name, major, minor) in DEVICES {
        let mode = libc::S_IFCHR | 0o666;
        // SAFETY: valid fd and C string.
        let rc =
            unsafe { libc::mknodat(d, cstr(name)?.as_ptr(), mode, libc::makedev(major, minor)) };
        sys::cvt(rc).map_err(|e| err("mknod", name, e))?;
        // mknod honours the umask; the nodes must be world-usable.
        // SAFETY: d is an open directory fd and the name a valid C string.
        let rc = unsafe { libc::fchmodat(d, cstr(name)?.as_ptr(), 0o666, 0) };
        sys::cvt(rc).map_err(|e| err("chmod", name, e))?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
        ("core", "/proc/kcore"),
    ] {
        // SAFETY: valid fd and C strings.
        let rc = unsafe { libc::symlinkat(cstr(target)?.as_ptr(), d, cstr(link)?.as_ptr()) };
        sys::cvt(rc).map_err(|e| err("symlink", link, e))?;
    }
    mount_fs(
        r,
        "/dev/pts",
        c"devpts",
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some(c"newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    mount_fs(
        r,
        "/dev/shm",
        c"tmpfs",
        NOSUID_NOEXEC_NODEV,
        Some(c"mode=1777,size=65536k"),
    )?;
    mount_fs(r, "/dev/mqueue", c"mqueue", NOSUID_NOEXEC_NODEV, None)
}

fn mount_volume(r: RawFd, v: &Volume) -> io::Result<()> {
    let host = v.host.display().to_string();
    let src =
        sys::open(&cpath(&v.host)?, libc::O_PATH).map_err(|e| err("opening volume", &host, e))?;
    let target = if safepath::file_type(src.as_raw_fd())? == libc::S_IFDIR {
        safepath::mkdir_all(r, &v.dest, 0o755)
    } else {
        safepath::touch(r, &v.dest)
    }
    .map_err(|e| err("creating volume destination", &v.dest, e))?;
    bind(src.as_raw_fd(), target.as_raw_fd()).map_err(|e| err("binding volume", &v.dest, e))?;
    if v.readonly {
        remount_ro(r, &v.dest, libc::MS_NOSUID | libc::MS_NODEV)
            .map_err(|e| err("read-only volume", &v.dest, e))?;
    }
    Ok(())
}

fn mask_paths(r: RawFd) -> io::Result<()> {
    // Our own /dev/null from the fresh /dev, opened without following any symlink.
    let null = safepath::open(r, "/dev/null", libc::O_PATH | libc::O_NOFOLLOW)?;
    for path in MASKED {
        let target = match safepath::open(r, path, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(err("opening masked path", path, e)),
        };
        let res = if safepath::file_type(target.as_raw_fd())? == libc::S_IFDIR {
            sys::mount(
                Some(c"tmpfs"),
                &fd_path(target.as_raw_fd()),
                Some(c"tmpfs"),
                libc::MS_RDONLY,
                Some(c"size=0"),
            )
        } else {
            bind(null.as_raw_fd(), target.as_raw_fd())
        };
        res.map_err(|e| err("masking", path, e))?;
    }
    for path in READONLY {
        let target = match safepath::open(r, path, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(err("opening read-only path", path, e)),
        };
        bind(target.as_raw_fd(), target.as_raw_fd()).map_err(|e| err("read-only", path, e))?;
        remount_ro(r, path, NOSUID_NOEXEC_NODEV).map_err(|e| err("read-only", path, e))?;
    }
    Ok(())
}

/// Create the working directory inside the root (Docker creates a missing WorkingDir).
/// Magic links (`/proc/self/fd/N`) are refused, so a leaked host fd can never become
/// the cwd (CVE-2024-21626 class).
pub fn make_workdir(root: RawFd, cwd: &str) -> io::Result<()> {
    safepath::mkdir_all(root, cwd, 0o755)
        .map(drop)
        .map_err(|e| err("working directory", cwd, e))
}

/// `pivot_root` into `root` and detach the old root (runc's `pivot_root(".", ".")`).
pub fn pivot(root: &OwnedFd) -> io::Result<()> {
    // SAFETY: plain fd / path syscalls.
    sys::cvt(unsafe { libc::fchdir(root.as_raw_fd()) })?;
    // SAFETY: pivot_root(".", ".") with static C strings, after fchdir into the new root.
    sys::cvt_long(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) })
        .map_err(|e| err("pivot_root", ".", e))?;
    // SAFETY: umount2 of the old root stacked on "." (static C string).
    sys::cvt(unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) })
        .map_err(|e| err("detaching old root", ".", e))?;
    // SAFETY: chdir to a static C string.
    sys::cvt(unsafe { libc::chdir(c"/".as_ptr()) }).map(drop)
}

/// chdir into the working directory, resolved inside the new root without magic links.
pub fn enter_workdir(cwd: &str) -> io::Result<()> {
    let root = sys::open(c"/", libc::O_PATH | libc::O_DIRECTORY)?;
    let dir = safepath::open(root.as_raw_fd(), cwd, libc::O_PATH | libc::O_DIRECTORY)
        .map_err(|e| err("working directory", cwd, e))?;
    // SAFETY: valid fd.
    sys::cvt(unsafe { libc::fchdir(dir.as_raw_fd()) }).map(drop)
}
