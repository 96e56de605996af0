//! Thin, typed wrappers over the raw syscalls only the runtime needs (clone, mount,
//! pivot_root, capset, signalfd…). Calls other crates share are bocker-sys's `sys`,
//! re-exported here under the same names.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

// The generic wrappers are bocker-sys's: one syscall layer for the workspace.
pub use bocker_sys::sys::{
    chdir, cvt, cvt_long, dup2, exit_now, kill, open, pipe, read, read_signal, setsid, sigprocmask,
    sigset, symlinkat, write_all,
};

/// A C string from a Rust string; a NUL inside is `InvalidInput`.
pub fn cstr(s: &str) -> io::Result<CString> {
    bocker_sys::sys::cstr(s.as_bytes())
}

/// A C string from a path; a NUL inside is `InvalidInput`.
pub fn cpath(p: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    bocker_sys::sys::cstr(p.as_os_str().as_bytes())
}

/// `mount(2)`; `None` arguments become NULL.
pub fn mount(
    src: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let p = |c: Option<&CStr>| c.map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is either NULL or a valid NUL-terminated string.
    cvt(unsafe { libc::mount(p(src), target.as_ptr(), p(fstype), flags, p(data).cast()) }).map(drop)
}

/// The `/proc/self/fd/N` path of an fd: how mounts target safely-opened paths.
pub fn fd_path(fd: RawFd) -> CString {
    // Invariant: a formatted integer never contains NUL.
    CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL in fd path")
}

/// Read until EOF.
pub fn read_to_end(fd: &OwnedFd) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = read(fd.as_raw_fd(), &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

pub fn prctl(op: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    cvt(unsafe { libc::prctl(op, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) }).map(drop)
}

pub fn fchdir(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fd syscall.
    cvt(unsafe { libc::fchdir(fd) }).map(drop)
}

/// `pivot_root(".", ".")`: the new root stacks over the old one at the cwd (runc's way).
pub fn pivot_root_dot() -> io::Result<()> {
    // SAFETY: two static C strings.
    cvt_long(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) }).map(drop)
}

/// `umount2(path, MNT_DETACH)`.
pub fn umount_detach(path: &CStr) -> io::Result<()> {
    // SAFETY: a valid C string.
    cvt(unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) }).map(drop)
}

/// A character device `name` in directory `dir`, mode 0666 whatever the umask.
pub fn mknod_char(dir: RawFd, name: &CStr, major: u32, minor: u32) -> io::Result<()> {
    let dev = libc::makedev(major, minor);
    // SAFETY: dir is an open directory fd and name a valid C string.
    cvt(unsafe { libc::mknodat(dir, name.as_ptr(), libc::S_IFCHR | 0o666, dev) })?;
    // mknod honours the umask; the nodes must be world-usable.
    // SAFETY: as above.
    cvt(unsafe { libc::fchmodat(dir, name.as_ptr(), 0o666, 0) }).map(drop)
}

/// A device or fifo node to make (`linux.devices`): `kind` `S_IFCHR`/`S_IFBLK`/`S_IFIFO`.
pub struct Node {
    pub kind: libc::mode_t,
    pub major: u32,
    pub minor: u32,
    pub mode: libc::mode_t,
    pub uid: u32,
    pub gid: u32,
}

/// Make `node` as `name` in directory `dir`: exactly its mode whatever the umask, owned by
/// its uid/gid (never following a symlink by that name).
pub fn mknod(dir: RawFd, name: &CStr, node: &Node) -> io::Result<()> {
    let dev = libc::makedev(node.major, node.minor);
    // SAFETY: dir is an open directory fd and name a valid C string.
    cvt(unsafe { libc::mknodat(dir, name.as_ptr(), node.kind | node.mode, dev) })?;
    // SAFETY: as above; the node was just made by us, so no symlink is followed.
    cvt(unsafe { libc::fchmodat(dir, name.as_ptr(), node.mode, 0) })?;
    let nofollow = libc::AT_SYMLINK_NOFOLLOW;
    // SAFETY: as above.
    cvt(unsafe { libc::fchownat(dir, name.as_ptr(), node.uid, node.gid, nofollow) }).map(drop)
}

/// `setgroups(2)`.
pub fn setgroups(groups: &[libc::gid_t]) -> io::Result<()> {
    // SAFETY: the pointer/length pair describes `groups`.
    cvt(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) }).map(drop)
}

/// `setresgid(gid, gid, gid)`.
pub fn setresgid(gid: libc::gid_t) -> io::Result<()> {
    // SAFETY: plain id syscall.
    cvt(unsafe { libc::setresgid(gid, gid, gid) }).map(drop)
}

/// `setresuid(uid, uid, uid)`.
pub fn setresuid(uid: libc::uid_t) -> io::Result<()> {
    // SAFETY: plain id syscall.
    cvt(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
}

/// The three capability sets `capset(2)` takes, as 64-bit masks.
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `capset(2)` of the calling thread, v3 layout (two 32-bit words per set).
pub fn capset(sets: CapSets) -> io::Result<()> {
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let word = |shift: u32| CapData {
        effective: (sets.effective >> shift) as u32,
        permitted: (sets.permitted >> shift) as u32,
        inheritable: (sets.inheritable >> shift) as u32,
    };
    let data = [word(0), word(32)];
    // SAFETY: header and a two-element data array in the v3 layout.
    cvt_long(unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) })
        .map(drop)
}

/// `setrlimit(2)`.
pub fn setrlimit(res: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let r = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: a valid rlimit struct.
    cvt(unsafe { libc::setrlimit(res, &r) }).map(drop)
}

/// `getrlimit(2)`: (soft, hard).
pub fn getrlimit(res: libc::__rlimit_resource_t) -> io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the rlimit we own.
    cvt(unsafe { libc::getrlimit(res, &mut r) })?;
    Ok((r.rlim_cur, r.rlim_max))
}

/// `sethostname(2)`.
pub fn sethostname(name: &str) -> io::Result<()> {
    let b = name.as_bytes();
    // SAFETY: pointer/length of a byte slice.
    cvt(unsafe { libc::sethostname(b.as_ptr().cast(), b.len()) }).map(drop)
}

/// `unshare(2)`.
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall with integer flags.
    cvt(unsafe { libc::unshare(flags) }).map(drop)
}

/// `setns(2)` into the namespace `fd` names, of the one `CLONE_NEW*` type `flag`.
pub fn setns(fd: std::os::fd::BorrowedFd<'_>, flag: libc::c_int) -> io::Result<()> {
    // SAFETY: setns on an open fd, with one CLONE_NEW* type the kernel checks it against.
    cvt(unsafe { libc::setns(fd.as_raw_fd(), flag) }).map(drop)
}

/// One malloc arena for every thread of this process (glibc's `M_ARENA_MAX`): each
/// thread that allocates (the network namespace's, a netlink helper's) would otherwise
/// get one of its own, ~32 KiB resident for as long as a supervisor lives.
pub fn single_malloc_arena() {
    // SAFETY: mallopt only sets an allocator parameter; no memory is touched.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
}

/// Gives the heap's free pages back to the kernel (glibc's `malloc_trim(0)`): what a
/// supervisor parsed, planned and serialised for the start is freed by the time it
/// parks for the container's life.
pub fn release_free_memory() {
    // SAFETY: malloc_trim only returns free memory; allocated blocks stay valid.
    unsafe { libc::malloc_trim(0) };
}

/// `close_range(3, ~0, flags)`: every fd above stdio (`CLOSE_RANGE_CLOEXEC`: marked only).
pub fn close_fds_above_stdio(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: closes or marks fds >= 3 of this process; callers hold none they still use
    // (or, with CLOSE_RANGE_CLOEXEC, keep using them until exec).
    cvt(unsafe { libc::close_range(3, libc::c_uint::MAX, flags) }).map(drop)
}

/// clone3's flag (libc's constant is a 32-bit int that cannot hold it).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of clone3(2), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// A fork-like clone (no CLONE_VM, no new stack) with the namespace `flags`; returns 0
/// in the child, its pid in the parent. With a cgroup v2 directory fd,
/// `clone3(CLONE_INTO_CGROUP)`: the child is born in its group, so there is no migration
/// to wait for. The caller must be single-threaded.
pub fn clone_child(flags: u64, cgroup_dir: Option<RawFd>) -> io::Result<libc::pid_t> {
    let pid = match cgroup_dir {
        Some(fd) => {
            let args = CloneArgs {
                flags: flags | CLONE_INTO_CGROUP,
                exit_signal: libc::SIGCHLD as u64,
                cgroup: fd as u64,
                ..Default::default()
            };
            // SAFETY: valid clone_args of the given size; fork semantics (no stack).
            unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &args as *const CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
            }
        }
        // SAFETY: fork-like clone of this single-threaded process (no stack, no CLONE_VM).
        None => unsafe { libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as u64, 0, 0, 0, 0) },
    };
    cvt_long(pid).map(|p| p as libc::pid_t)
}

/// Wait for our child `pid` to exit (retrying on EINTR); its status is dropped.
pub fn wait_for_child(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waiting for our own child; status is ours to write.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// Whether `path` is a regular file we may execute (`stat` + `access(X_OK)`).
pub fn is_executable_file(path: &CStr) -> bool {
    // SAFETY: stat is plain data; zero is a valid value for every field.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is ours for stat to fill; path is a valid C string.
    let found = unsafe { libc::stat(path.as_ptr(), &mut st) } == 0;
    // SAFETY: a valid C string.
    found
        && st.st_mode & libc::S_IFMT == libc::S_IFREG
        && unsafe { libc::access(path.as_ptr(), libc::X_OK) } == 0
}

/// `execve(2)`; returns only on failure, with its error.
pub fn execve(path: &CStr, argv: &[CString], env: &[CString]) -> io::Error {
    let ptrs = |v: &[CString]| -> Vec<*const libc::c_char> {
        v.iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    let (a, e) = (ptrs(argv), ptrs(env));
    // SAFETY: NULL-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

/// `fork(2)`: 0 in the child, its pid in the parent. The caller must be single-threaded.
pub fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: fork in a single-threaded process.
    cvt(unsafe { libc::fork() })
}

/// The set of every signal.
pub fn sigset_all() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset initialises it.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigfillset writes the sigset_t we own.
    unsafe { libc::sigfillset(&mut all) };
    all
}

/// `sigwaitinfo(2)`: the next pending signal of `set` (blocked by the caller).
pub fn sigwaitinfo(set: &libc::sigset_t) -> io::Result<libc::c_int> {
    // SAFETY: siginfo_t is plain data, ours for sigwaitinfo to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is an initialised sigset_t.
    cvt(unsafe { libc::sigwaitinfo(set, &mut info) })
}

/// `waitpid(pid, WNOHANG)` (`pid` -1: any child): `Some((pid, status))` for a child that
/// exited, `None` when none has (or there is none).
pub fn try_wait(pid: libc::pid_t) -> Option<(libc::pid_t, libc::c_int)> {
    let mut status = 0;
    // SAFETY: status is ours to write.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (r > 0).then_some((r, status))
}

/// A close-on-exec `signalfd` for `set`.
pub fn signalfd(set: &libc::sigset_t) -> io::Result<OwnedFd> {
    // SAFETY: a valid set; a new fd we own.
    let fd = cvt(unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC) })?;
    // SAFETY: signalfd just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `poll(2)` without timeout, retried on EINTR; returns the number of ready fds.
pub fn poll(fds: &mut [libc::pollfd]) -> io::Result<usize> {
    loop {
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The number of CPUs this process may run on (`sched_getaffinity`), as Go's
/// `runtime.NumCPU` counts them for Docker's `--cpus` check.
pub fn online_cpus() -> io::Result<u32> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live cpu_set_t of the size passed; pid 0 is the caller.
    cvt(unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) })?;
    // SAFETY: `set` was filled in by the kernel above.
    Ok(unsafe { libc::CPU_COUNT(&set) } as u32)
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)`: install a BPF program on the calling
/// thread *without* setting `no_new_privs` (seccompiler's `apply_filter` always sets
/// it). The kernel then requires CAP_SYS_ADMIN, unless `no_new_privs` is already set.
pub fn seccomp_set_filter(program: &[libc::sock_filter]) -> io::Result<()> {
    let len = u16::try_from(program.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "BPF program too long"))?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `program`, alive for the call; the kernel copies it.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    })
    .map(drop)
}

/// The pid of the process at the other end of a connected unix socket (`SO_PEERCRED`,
/// as it was when it connected or listened).
pub fn peer_pid(sock: RawFd) -> io::Result<libc::pid_t> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, a ucred we own.
    cvt(unsafe {
        libc::getsockopt(
            sock,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok(cred.pid)
}

/// `pidfd_open(2)`: a handle on process `pid` that never comes to mean another one.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; the returned fd is ours alone.
    let fd = cvt_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel returned a new, open file descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(2)`: signal `sig` to the process behind `pidfd` (ESRCH once it
/// has exited).
pub fn pidfd_send_signal(pidfd: &OwnedFd, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: a valid pidfd, no siginfo, no flags.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
    .map(drop)
}

/// Give every signal its default action, as runc does before the container's execve:
/// the container never inherits what bocker (Rust ignores SIGPIPE) or its caller
/// ignored. The raw `rt_sigaction`, because libc's wrapper refuses the two real-time
/// signals it reserves for itself (32, 33), which a caller may still have ignored.
pub fn default_signal_actions() {
    /// The kernel's `struct sigaction` (x86_64 and aarch64 layout).
    #[repr(C)]
    struct KernelSigaction {
        handler: libc::sighandler_t,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: a valid kernel sigaction of the size passed; the old action is not
            // requested; numbers the kernel refuses leave nothing changed.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &dfl as *const KernelSigaction,
                    std::ptr::null::<KernelSigaction>(),
                    8usize,
                )
            };
        }
    }
}

/// Terminals and ptys (`run -t`).
pub mod tty {
    use super::cvt;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

    pub fn isatty(fd: RawFd) -> bool {
        // SAFETY: plain query on an fd number.
        unsafe { libc::isatty(fd) == 1 }
    }

    /// `tcgetattr`.
    pub fn termios(fd: RawFd) -> io::Result<libc::termios> {
        // SAFETY: termios is plain data; tcgetattr fills it.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to the struct we own.
        cvt(unsafe { libc::tcgetattr(fd, &mut t) })?;
        Ok(t)
    }

    /// `tcsetattr(TCSADRAIN)`.
    pub fn set_termios(fd: RawFd, t: &libc::termios) -> io::Result<()> {
        // SAFETY: a valid pointer to an initialised termios.
        cvt(unsafe { libc::tcsetattr(fd, libc::TCSADRAIN, t) }).map(drop)
    }

    /// `cfmakeraw` on a copy of `t`.
    pub fn raw(t: &libc::termios) -> libc::termios {
        let mut r = *t;
        // SAFETY: cfmakeraw edits the struct we own.
        unsafe { libc::cfmakeraw(&mut r) };
        r
    }

    /// The terminal's window size (TIOCGWINSZ).
    pub fn window_size(fd: RawFd) -> io::Result<libc::winsize> {
        // SAFETY: winsize is plain data the ioctl fills.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes one winsize into the struct we own.
        cvt(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) })?;
        Ok(ws)
    }

    /// Set a terminal's window size (TIOCSWINSZ); its foreground group gets SIGWINCH.
    pub fn set_window_size(fd: RawFd, ws: &libc::winsize) -> io::Result<()> {
        // SAFETY: TIOCSWINSZ reads one winsize from a valid pointer.
        cvt(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws) }).map(drop)
    }

    /// A new pty master from the devpts at /dev/pts of this mount namespace, unlocked,
    /// and its peer opened through the master (TIOCGPTPEER: no path lookup).
    pub fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
        let master = super::open(
            c"/dev/pts/ptmx",
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )?;
        let unlock: libc::c_int = 0;
        // SAFETY: TIOCSPTLCK reads one int from a valid pointer.
        cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
        let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
        // SAFETY: TIOCGPTPEER takes integer open flags and returns a new fd.
        let fd = cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) })?;
        // SAFETY: the ioctl just returned this fd; nobody else owns it.
        Ok((master, unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Make the terminal on `fd` the controlling terminal of this (new) session.
    pub fn set_controlling_tty(fd: RawFd) -> io::Result<()> {
        // SAFETY: TIOCSCTTY takes an integer argument.
        cvt(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(drop)
    }

    /// A close-on-exec `AF_UNIX` stream socket pair.
    pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
        let mut fds = [0; 2];
        let ty = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
        // SAFETY: fds has room for two descriptors.
        cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
        // SAFETY: both fds were just created and are owned by nobody else.
        Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
    }

    /// Send `fd` over the socket `sock` (SCM_RIGHTS, one byte of data).
    pub fn send_fd(sock: RawFd, fd: RawFd) -> io::Result<()> {
        let mut byte = [b'p'];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: CMSG_SPACE is a pure size computation.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
        let mut cbuf = vec![0u8; space];
        // SAFETY: msghdr is plain data; every pointer set below outlives the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: the control buffer has room for one header and one fd (CMSG_SPACE).
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
        }
        // SAFETY: msg points at valid buffers for the call's duration.
        let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Receive one fd sent with [`send_fd`]; `None` at EOF without one.
    pub fn recv_fd(sock: RawFd) -> io::Result<Option<OwnedFd>> {
        let mut byte = [0u8];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: CMSG_SPACE is a pure size computation.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
        let mut cbuf = vec![0u8; space];
        // SAFETY: msghdr is plain data; every pointer set below outlives the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg points at valid buffers; received fds are close-on-exec.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel filled the control buffer; we read only what it says.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            if c.is_null() || (*c).cmsg_type != libc::SCM_RIGHTS {
                return Ok(None);
            }
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<RawFd>());
            Ok(Some(OwnedFd::from_raw_fd(fd)))
        }
    }
}
