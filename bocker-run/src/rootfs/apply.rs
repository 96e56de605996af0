//! Applying [`MountStep`]s under the container's root: every path is resolved inside the
//! root with [`safepath`] (no symlink, `..` or magic link leads out) and every mount
//! targets the `/proc/self/fd/N` of the fd so opened.

use super::cgroupfs::CgroupView;
use super::steps::MountStep;
use crate::safepath;
use crate::sys::{self, cpath, cstr, fd_path};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

fn err(what: &str, path: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {path}: {e}"))
}

/// Apply every step in order; `root` is an fd on the root, `rootfs` its host path,
/// `cgroups` what a [`MountStep::Cgroup`] mounts. `before_cgroup` runs before each
/// [`MountStep::Cgroup`] (the caller joins its cgroup and namespace there, once: the
/// cgroupfs must show its own group as the root; the steps before need neither).
pub fn apply(
    root: RawFd,
    rootfs: &CStr,
    steps: &[MountStep],
    cgroups: &CgroupView,
    before_cgroup: &mut dyn FnMut() -> io::Result<()>,
) -> io::Result<()> {
    steps.iter().try_for_each(|s| {
        if matches!(s, MountStep::Cgroup { .. }) {
            before_cgroup()?;
        }
        apply_one(root, rootfs, s, cgroups)
    })
}

fn apply_one(r: RawFd, rootfs: &CStr, step: &MountStep, cgroups: &CgroupView) -> io::Result<()> {
    match step {
        MountStep::Filesystem {
            fstype,
            source,
            dest,
            flags,
            data,
        } => mount_fs(r, dest, source, fstype, *flags, data),
        MountStep::Bind {
            source,
            dest,
            recursive,
        } => bind_at(r, source, dest, *recursive),
        MountStep::CopyUp { volume, dest } => super::copy_up::copy_up(r, dest, volume)
            .map_err(|e| err("copying the image's content into the volume at", dest, e)),
        MountStep::Remount { dest, flags } => {
            remount(r, dest, *flags).map_err(|e| err("remounting", dest, e))
        }
        MountStep::Device { name, major, minor } => device(r, name, *major, *minor),
        MountStep::Node {
            name,
            kind,
            major,
            minor,
            mode,
            uid,
            gid,
        } => {
            let dev = dev_dir(r)?;
            let node = sys::Node {
                kind: *kind,
                major: *major,
                minor: *minor,
                mode: *mode,
                uid: *uid,
                gid: *gid,
            };
            sys::mknod(dev.as_raw_fd(), &cstr(name)?, &node).map_err(|e| err("mknod", name, e))
        }
        MountStep::Symlink { link, target } => symlink(r, link, target),
        MountStep::Mask { path } => mask(r, path),
        MountStep::Cgroup { dest, flags } => super::cgroupfs::mount(r, dest, *flags, cgroups),
        MountStep::ReadOnlyPath { path } => read_only(r, path),
        MountStep::ReadOnlyRoot => remount_keeping_locked(rootfs, libc::MS_RDONLY)
            .map_err(|e| err("remounting read-only", "/", e)),
    }
}

fn mount_fs(
    root: RawFd,
    dest: &str,
    source: &str,
    fstype: &str,
    flags: libc::c_ulong,
    data: &str,
) -> io::Result<()> {
    let target = mount_point(root, dest, true).map_err(|e| err("creating", dest, e))?;
    let data = (!data.is_empty()).then(|| cstr(data)).transpose()?;
    let mounted = sys::mount(
        Some(&cstr(source)?),
        &fd_path(target.as_raw_fd()),
        Some(&cstr(fstype)?),
        flags,
        data.as_deref(),
    );
    match mounted {
        // A sysfs belongs to a network namespace: in a user namespace that does not own
        // the container's network namespace (the host's, say) the kernel refuses it, so
        // the host's /sys is bound instead, with the mount's flags (runc's fallback).
        Err(e) if fstype == "sysfs" && e.raw_os_error() == Some(libc::EPERM) => {
            bind_at(root, Path::new("/sys"), dest, true)?;
            let kept = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
            match flags & kept {
                0 => Ok(()),
                f => remount(root, dest, f).map_err(|e| err("remounting", dest, e)),
            }
        }
        other => other.map_err(|e| err("mounting", dest, e)),
    }
}

fn bind(src: RawFd, target: RawFd, recursive: bool) -> io::Result<()> {
    let rec = if recursive { libc::MS_REC } else { 0 };
    sys::mount(
        Some(&fd_path(src)),
        &fd_path(target),
        None,
        libc::MS_BIND | rec,
        None,
    )
}

/// Bind a host path at `dest`, creating a directory or an empty file there to match it.
fn bind_at(r: RawFd, source: &Path, dest: &str, recursive: bool) -> io::Result<()> {
    let host = source.display().to_string();
    let src = sys::open(&cpath(source)?, libc::O_PATH).map_err(|e| err("opening", &host, e))?;
    let is_dir = safepath::file_type(src.as_raw_fd())? == libc::S_IFDIR;
    let target = mount_point(r, dest, is_dir).map_err(|e| err("creating mount point", dest, e))?;
    bind(src.as_raw_fd(), target.as_raw_fd(), recursive).map_err(|e| err("binding", dest, e))
}

/// The most symlinks followed to a file mount point (the kernel's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// A mount point at `dest` (a directory or a file), created when missing. A dangling
/// symlink there (an image whose /etc/hostname links to /run/hostname, say) is followed
/// *inside* the root and its target created, parent directories included, as runc does
/// (its `SecureJoin` resolves the link in the rootfs), instead of failing the start.
fn mount_point(r: RawFd, dest: &str, dir: bool) -> io::Result<OwnedFd> {
    let mut path = dest.to_string();
    for _ in 0..MAX_LINKS {
        let made = match dir {
            true => safepath::mkdir_all(r, &path, 0o755),
            false => safepath::touch(r, &path),
        };
        match made {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => match dangling_link(r, &path)? {
                Some(next) => path = next,
                None => return Err(e),
            },
            other => return other,
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// Where the symlink at `path` points, as a path inside the root (a relative target is
/// taken from the link's directory; `RESOLVE_IN_ROOT` keeps `..` inside); `None` when
/// `path` is no symlink.
fn dangling_link(r: RawFd, path: &str) -> io::Result<Option<String>> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let dir = safepath::open(
        r,
        if parent.is_empty() { "/" } else { parent },
        libc::O_PATH | libc::O_DIRECTORY,
    )?;
    let target = match bocker_sys::sys::readlinkat(&dir, std::ffi::OsStr::new(name)) {
        Ok(t) => t.to_string_lossy().into_owned(),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(if target.starts_with('/') {
        target
    } else {
        format!("{parent}/{target}")
    }))
}

/// Remount the bind now at `dest` with `flags`. `dest` is resolved again inside the root:
/// an fd opened before the mount names the dentry *under* it.
fn remount(root: RawFd, dest: &str, flags: libc::c_ulong) -> io::Result<()> {
    let fd = safepath::open_path(root, dest)?;
    remount_keeping_locked(&fd_path(fd.as_raw_fd()), flags)
}

/// The per-mount flags a bind of `path` has now (statvfs(3)'s `ST_*` as `MS_*`).
fn current_flags(path: &CStr) -> io::Result<libc::c_ulong> {
    // SAFETY: statvfs is plain data; zero is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a statvfs we own.
    sys::cvt(unsafe { libc::statvfs(path.as_ptr(), &mut st) })?;
    let pairs = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(pairs
        .iter()
        .filter(|(st_flag, _)| st.f_flag & st_flag != 0)
        .fold(0, |acc, (_, ms)| acc | ms))
}

/// Remount the bind at `path` with `flags`. In a user namespace the flags a mount had
/// when its namespace was copied from a more privileged one are locked (mount(2)
/// `EPERM`): then retry with them kept, as runc does.
fn remount_keeping_locked(path: &CStr, flags: libc::c_ulong) -> io::Result<()> {
    let go = |flags| {
        sys::mount(
            None,
            path,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | flags,
            None,
        )
    };
    match go(flags) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => go(flags | current_flags(path)?),
        other => other,
    }
}

/// /dev, resolved again: the fresh tmpfs, which nothing but us has touched.
fn dev_dir(r: RawFd) -> io::Result<OwnedFd> {
    safepath::open(r, "/dev", libc::O_PATH | libc::O_DIRECTORY)
}

fn device(r: RawFd, name: &str, major: u32, minor: u32) -> io::Result<()> {
    let dev = dev_dir(r)?;
    sys::mknod_char(dev.as_raw_fd(), &cstr(name)?, major, minor).map_err(|e| err("mknod", name, e))
}

/// A /dev symlink. `core` → /proc/kcore only where the host has /proc/kcore (runc's
/// rule): elsewhere it would be a dangling link.
fn symlink(r: RawFd, link: &str, target: &str) -> io::Result<()> {
    if target == super::steps::KCORE && !Path::new(super::steps::KCORE).exists() {
        return Ok(());
    }
    let dev = dev_dir(r)?;
    sys::symlinkat(&cstr(target)?, dev.as_raw_fd(), &cstr(link)?)
        .map_err(|e| err("symlink", link, e))
}

/// Open a path to mask or protect; `None` when it does not exist.
fn open_existing(r: RawFd, path: &str) -> io::Result<Option<OwnedFd>> {
    match safepath::open(r, path, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(err("opening", path, e)),
    }
}

fn mask(r: RawFd, path: &str) -> io::Result<()> {
    let Some(target) = open_existing(r, path)? else {
        return Ok(());
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
        // Our own /dev/null from the fresh /dev, opened without following any symlink.
        let null = safepath::open(r, "/dev/null", libc::O_PATH | libc::O_NOFOLLOW)?;
        bind(null.as_raw_fd(), target.as_raw_fd(), false)
    };
    res.map_err(|e| err("masking", path, e))
}

fn read_only(r: RawFd, path: &str) -> io::Result<()> {
    let Some(target) = open_existing(r, path)? else {
        return Ok(());
    };
    bind(target.as_raw_fd(), target.as_raw_fd(), true).map_err(|e| err("read-only", path, e))?;
    let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;
    remount(r, path, flags).map_err(|e| err("read-only", path, e))
}
