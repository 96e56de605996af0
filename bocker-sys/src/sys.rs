//! Thin, typed wrappers over raw syscalls: every `unsafe` libc call of this crate (and
//! of the crates that use it for these calls) is here, each with its reason.
//!
//! Conventions: names are plain components or paths relative to an open directory fd;
//! errors are `io::Error` carrying the kernel's errno.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Turn a C-style negative return into an `io::Error` from errno.
pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Same as [`cvt`] for the `long` returned by `syscall(2)`.
pub fn cvt_long(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A C string from raw bytes; a NUL inside is `InvalidInput`.
pub fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in path"))
}

/// Take ownership of an fd the kernel just returned.
fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    let fd = cvt(fd)?;
    // SAFETY: `fd` is a fresh descriptor returned by the kernel that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat2(2)` with `O_CLOEXEC` added; retried on `EAGAIN` (a concurrent rename raced
/// the lookup and the kernel asks the caller to try again).
pub fn openat2(
    dirfd: RawFd,
    path: &CStr,
    flags: u64,
    mode: u64,
    resolve: u64,
) -> io::Result<OwnedFd> {
    // SAFETY: open_how is plain data; zero is a valid value for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags | libc::O_CLOEXEC as u64;
    how.mode = mode;
    how.resolve = resolve;
    loop {
        // SAFETY: a NUL-terminated path and a valid open_how whose size is passed with it.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        match cvt_long(r) {
            // The kernel returns an int-sized fd.
            Ok(fd) => return owned(fd as libc::c_int),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `openat(2)` with `O_CLOEXEC` added.
pub fn openat(
    dir: RawFd,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name; the returned fd is owned right away.
    owned(unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode) })
}

/// Open the directory `name` in `dir` for reading, refusing a symlink in its place.
pub fn open_dir_at(dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    openat(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
    )
}

/// `fstat(2)`.
pub fn fstat(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat fills the buffer we own.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; `None` when it does not exist.
pub fn lstat_at(dir: RawFd, name: &CStr) -> io::Result<Option<libc::stat>> {
    // SAFETY: stat is plain data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated name and a buffer we own; nothing is followed.
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r == 0 {
        return Ok(Some(st));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// The target text of the symlink `name` in `dir` (never resolved).
pub fn readlinkat(dir: &OwnedFd, name: &OsStr) -> io::Result<OsString> {
    let c = cstr(name.as_bytes())?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is writable for its whole length.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(OsString::from_vec(buf))
}

/// `mkdirat(2)` of a plain name (the final component is never followed).
pub fn mkdirat(dir: RawFd, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: a NUL-terminated name in an open directory.
    cvt(unsafe { libc::mkdirat(dir, name.as_ptr(), mode) }).map(drop)
}

/// `unlinkat(2)`; `flags` is 0 or `AT_REMOVEDIR`.
pub fn unlinkat(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: a NUL-terminated name in an open directory.
    cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) }).map(drop)
}

/// `renameat2(2)` with `RENAME_NOREPLACE`: `EEXIST` instead of replacing anything.
pub fn rename_noreplace(from: RawFd, old: &CStr, to: RawFd, new: &CStr) -> io::Result<()> {
    // SAFETY: NUL-terminated names in open directories.
    cvt(unsafe { libc::renameat2(from, old.as_ptr(), to, new.as_ptr(), libc::RENAME_NOREPLACE) })
        .map(drop)
}

/// Names in an open directory, without `.` and `..`.
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    // The /proc/self/fd link names the directory we already hold open: no path race.
    let mut names = Vec::new();
    for e in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        names.push(cstr(e?.file_name().as_bytes())?);
    }
    Ok(names)
}

/// True when `name` in `dir` is the root of a mount (statx's `STATX_ATTR_MOUNT_ROOT`).
pub fn is_mount_root(dir: RawFd, name: &CStr) -> bool {
    // SAFETY: statx is plain data; all-zero is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated name and a buffer we own; nothing is followed or mounted.
    let r = unsafe {
        libc::statx(
            dir,
            name.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            0,
            &mut stx,
        )
    };
    let bit = libc::STATX_ATTR_MOUNT_ROOT as u64;
    r == 0 && stx.stx_attributes_mask & bit != 0 && stx.stx_attributes & bit != 0
}

/// Lazily detach the mount on `name` in `dir`, reached through `/proc/self/fd` so no
/// path is re-resolved and a symlink in its place is never followed.
pub fn detach_at(dir: RawFd, name: &CStr) -> io::Result<()> {
    let mut p = format!("/proc/self/fd/{dir}/").into_bytes();
    p.extend_from_slice(name.to_bytes());
    let p = cstr(&p)?;
    // SAFETY: a NUL-terminated path; MNT_DETACH|UMOUNT_NOFOLLOW touches only that mount.
    cvt(unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW) }).map(drop)
}

/// `flock(2)` with `op` (`LOCK_SH`/`LOCK_EX`, optionally `| LOCK_NB`), retried on `EINTR`.
pub fn flock(fd: BorrowedFd<'_>, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock on an open fd has no memory-safety preconditions.
        match cvt(unsafe { libc::flock(fd.as_raw_fd(), op) }) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `fchown(2)`.
pub fn fchown(fd: RawFd, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: no pointers; an invalid fd is EBADF.
    cvt(unsafe { libc::fchown(fd, uid, gid) }).map(drop)
}

/// `fchmod(2)`.
pub fn fchmod(fd: RawFd, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: no pointers; an invalid fd is EBADF.
    cvt(unsafe { libc::fchmod(fd, mode) }).map(drop)
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)`: the entry itself, never a target.
pub fn lchown_at(dir: RawFd, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: a NUL-terminated name in an open directory.
    cvt(unsafe { libc::fchownat(dir, name.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
        .map(drop)
}

/// `fsetxattr(2)` with flags 0.
pub fn fsetxattr(fd: RawFd, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: a NUL-terminated name and a value buffer valid for its length.
    cvt(unsafe { libc::fsetxattr(fd, name.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
        .map(drop)
}

/// `fgetxattr(2)` into `buf`; returns the value's length.
pub fn fgetxattr(fd: RawFd, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: a NUL-terminated name and a buffer writable for its length.
    let n = unsafe { libc::fgetxattr(fd, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// `futimens(2)` with `[atime, mtime]`.
pub fn futimens(fd: RawFd, times: &[libc::timespec; 2]) -> io::Result<()> {
    // SAFETY: `times` is two valid timespecs.
    cvt(unsafe { libc::futimens(fd, times.as_ptr()) }).map(drop)
}

/// `utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW)`.
pub fn lutimens_at(dir: RawFd, name: &CStr, times: &[libc::timespec; 2]) -> io::Result<()> {
    // SAFETY: a NUL-terminated name and two valid timespecs; nothing is followed.
    cvt(unsafe {
        libc::utimensat(
            dir,
            name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// `symlinkat(2)`: stores `target` as text under the plain name `name`; nothing resolved.
pub fn symlinkat(target: &CStr, dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: NUL-terminated strings.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir, name.as_ptr()) }).map(drop)
}

/// `mknodat(2)` of a plain name.
pub fn mknodat(dir: RawFd, name: &CStr, mode: libc::mode_t, dev: libc::dev_t) -> io::Result<()> {
    // SAFETY: a NUL-terminated name in an open directory.
    cvt(unsafe { libc::mknodat(dir, name.as_ptr(), mode, dev) }).map(drop)
}

/// `linkat(2)`: a new name `name` in `new_dir` for `old` in `old_dir`. `flags` is
/// `AT_EMPTY_PATH` (link the inode of the fd `old_dir` itself, `old` empty) or
/// `AT_SYMLINK_FOLLOW`.
pub fn linkat(
    old_dir: RawFd,
    old: &CStr,
    new_dir: RawFd,
    name: &CStr,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: NUL-terminated names; the kernel validates the fds and flags.
    cvt(unsafe { libc::linkat(old_dir, old.as_ptr(), new_dir, name.as_ptr(), flags) }).map(drop)
}

/// `kill(2)`: send `sig` to `pid` (`ESRCH` when it is gone).
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments; no memory is passed.
    cvt(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// `signal(sig, SIG_DFL)`: the default action for `sig`. Call it before any thread
/// starts (the disposition is process-wide).
pub fn default_signal_action(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: SIG_DFL installs no handler, so no Rust code runs in signal context.
    if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `statfs(2)`'s `f_type`: the magic number of the file system holding `path`.
pub fn fs_type(path: &CStr) -> io::Result<i64> {
    // SAFETY: statfs is plain data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a struct we own for the kernel to fill.
    cvt(unsafe { libc::statfs(path.as_ptr(), &mut st) })?;
    #[allow(clippy::unnecessary_cast)] // f_type is i64 on x86_64, another width elsewhere
    Ok(st.f_type as i64)
}

// Process and descriptor basics the runtime, the supervisor and exec share.

/// A pipe whose both ends are close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `open(2)` with O_CLOEXEC added.
pub fn open(path: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: valid C string; the returned fd is owned by us.
    let fd = cvt(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, 0o666) })?;
    // SAFETY: the syscall just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `dup2(2)`.
pub fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    // SAFETY: plain fd syscall.
    cvt(unsafe { libc::dup2(old, new) }).map(drop)
}

/// `read(2)` retrying on EINTR.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is a valid mutable slice.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Write all of `buf`, retrying on EINTR.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid slice.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// `setsid(2)`.
pub fn setsid() -> io::Result<()> {
    // SAFETY: plain syscall.
    cvt(unsafe { libc::setsid() }).map(drop)
}

/// `chdir(2)`.
pub fn chdir(path: &CStr) -> io::Result<()> {
    // SAFETY: a valid C string.
    cvt(unsafe { libc::chdir(path.as_ptr()) }).map(drop)
}

/// A signal set built from a list of signals.
pub fn sigset(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed set; sigaddset with valid signals.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// `sigprocmask(2)`; the old mask is not returned.
pub fn sigprocmask(how: libc::c_int, set: &libc::sigset_t) -> io::Result<()> {
    // SAFETY: valid set pointer; old set not requested.
    let r = unsafe { libc::sigprocmask(how, set, std::ptr::null_mut()) };
    cvt(r).map(drop)
}

/// `_exit(2)`: leave without running destructors or atexit handlers (a forked child's
/// copy of the parent's state must not be flushed or freed twice).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// Read one `signalfd_siginfo` from a signalfd: the signal number, `None` on a short read.
pub fn read_signal(fd: RawFd) -> Option<libc::c_int> {
    // SAFETY: signalfd_siginfo is plain data.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: reading at most `size` bytes into the struct we own.
    let n = unsafe { libc::read(fd, (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
    (n == size as isize).then_some(info.ssi_signo as libc::c_int)
}
