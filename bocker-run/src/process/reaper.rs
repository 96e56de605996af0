//! `--init`: a tiny reaping init as the container's PID 1 (the container's first process
//! itself, which then never execs; see `process` for why that is safe). It starts the
//! command, forwards every signal it gets to it, reaps all orphans, and exits with the
//! command's status.

use super::execve as exec;
use crate::{exit_code, sys};

/// Never returns: runs `argv` as PID 1's only child and exits with its status.
pub fn pid1(argv: &[String], env: &[String]) -> ! {
    // Non-dumpable: container processes (without CAP_SYS_PTRACE) cannot open /proc/1/*.
    if let Err(e) = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0) {
        eprintln!("bocker-init: cannot make PID 1 non-dumpable: {e}");
        // SAFETY: leave at once; nothing of the image has run.
        unsafe { libc::_exit(exit_code::ENGINE) };
    }
    // SAFETY: sigfillset initialises the set.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigfillset initialises the sigset_t we own.
    unsafe { libc::sigfillset(&mut all) };
    let _ = sys::sigprocmask(libc::SIG_BLOCK, &all);

    // SAFETY: fork in a single-threaded process.
    let child = unsafe { libc::fork() };
    if child == 0 {
        let _ = sys::sigprocmask(libc::SIG_SETMASK, &sys::sigset(&[]));
        let failure = match exec::lookup(&argv[0], env) {
            Ok(path) => match (exec::to_cstrings(argv), exec::to_cstrings(env)) {
                (Ok(a), Ok(e)) => exec::execve(&path, &a, &e),
                (Err(f), _) | (_, Err(f)) => f,
            },
            Err(f) => f,
        };
        eprintln!("bocker-init: {}", failure.message);
        // SAFETY: exit the forked child immediately.
        unsafe { libc::_exit(failure.code) };
    }
    if child < 0 {
        eprintln!("bocker-init: fork: {}", std::io::Error::last_os_error());
        // SAFETY: _exit ends this process without running the parent's destructors.
        unsafe { libc::_exit(exit_code::ENGINE) };
    }
    loop {
        // SAFETY: info is written by sigwaitinfo.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: all is an initialised sigset_t; info is ours to fill.
        let sig = unsafe { libc::sigwaitinfo(&all, &mut info) };
        if sig < 0 {
            continue;
        }
        if sig != libc::SIGCHLD {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child, sig) };
            continue;
        }
        loop {
            let mut status = 0;
            // SAFETY: reaping any child.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == child {
                // SAFETY: PID 1 leaves; the kernel kills the rest of the namespace.
                unsafe { libc::_exit(exit_code::from_wait_status(status)) };
            }
        }
    }
}
