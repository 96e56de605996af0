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
        // Leave at once: nothing of the image has run.
        sys::exit_now(exit_code::ENGINE);
    }
    let all = sys::sigset_all();
    let _ = sys::sigprocmask(libc::SIG_BLOCK, &all);

    let child = match sys::fork() {
        Ok(0) => run_command(argv, env),
        Ok(pid) => pid,
        Err(e) => {
            eprintln!("bocker-init: fork: {e}");
            sys::exit_now(exit_code::ENGINE);
        }
    };
    loop {
        let Ok(sig) = sys::sigwaitinfo(&all) else {
            continue;
        };
        if sig != libc::SIGCHLD {
            let _ = sys::kill(child, sig);
            continue;
        }
        while let Some((pid, status)) = sys::try_wait(-1) {
            if pid == child {
                // PID 1 leaves; the kernel kills the rest of the namespace.
                sys::exit_now(exit_code::from_wait_status(status));
            }
        }
    }
}

/// The forked child: unblock signals and exec the command; exits on failure.
fn run_command(argv: &[String], env: &[String]) -> ! {
    let _ = sys::sigprocmask(libc::SIG_SETMASK, &sys::sigset(&[]));
    let argv0 = argv.first().map_or("", String::as_str);
    let failure = match exec::lookup(argv0, env) {
        Ok(path) => match (exec::to_cstrings(argv), exec::to_cstrings(env)) {
            (Ok(a), Ok(e)) => exec::execve(&path, &a, &e),
            (Err(f), _) | (_, Err(f)) => f,
        },
        Err(f) => f,
    };
    eprintln!("bocker-init: {}", failure.message);
    sys::exit_now(failure.code)
}
