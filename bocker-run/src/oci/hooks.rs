//! Running the spec's hooks (runtime spec config.md "POSIX-platform Hooks"): each hook's
//! `path` is executed with `args` (argv\[0\] included, as `execv`) and `env` as given
//! (nothing of ours inherited), the container's state JSON on its stdin, its stdout and
//! stderr ours; a non-zero exit or a signal is a failure, and so is outliving `timeout`
//! seconds (then it is SIGKILLed). Hooks of one kind run in order; the first failure
//! stops the rest. Where each kind runs is the caller's choice: `bocker-runtime` runs
//! `prestart`, `createRuntime`, `poststart` and `poststop`; the container's init runs
//! `createContainer` (after the mounts, before `pivot_root`) and `startContainer`
//! (after the start gate, right before `execve`), see [`super::create`].

use crate::process::execve;
use crate::sys;
use oci_spec::runtime::Hook;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Why a hook failed: one line naming the hook's path.
#[derive(Debug, thiserror::Error)]
#[error("hook {path}: {reason}")]
pub struct HookError {
    pub path: String,
    pub reason: String,
}

/// Run `hooks` in order with `state` (the state JSON) on each one's stdin. Must be called
/// single-threaded (it forks).
pub fn run_all(hooks: &[Hook], state: &[u8]) -> Result<(), HookError> {
    hooks.iter().try_for_each(|h| run(h, state))
}

/// Run one hook (see the module doc).
pub fn run(hook: &Hook, state: &[u8]) -> Result<(), HookError> {
    let path = hook.path().to_string_lossy().into_owned();
    let fail = |reason: String| HookError {
        path: path.clone(),
        reason,
    };
    let args = match hook.args() {
        Some(a) if !a.is_empty() => a.clone(),
        _ => vec![path.clone()],
    };
    let env = hook.env().clone().unwrap_or_default();
    let c_path = sys::cstr(&path).map_err(|e| fail(e.to_string()))?;
    let argv = execve::to_cstrings(&args).map_err(|f| fail(f.message))?;
    let envp = execve::to_cstrings(&env).map_err(|f| fail(f.message))?;
    let (stdin_r, stdin_w) = sys::pipe().map_err(|e| fail(format!("pipe: {e}")))?;
    let pid = sys::fork().map_err(|e| fail(format!("fork: {e}")))?;
    if pid == 0 {
        drop(stdin_w);
        let _ = sys::dup2(stdin_r.as_raw_fd(), 0);
        // A hook starts as a fresh program would: no signal the runtime blocks or ignores
        // (a foreground `run` on a terminal blocks INT/TERM/HUP/QUIT/CHLD/WINCH to relay
        // them; Rust ignores SIGPIPE) is blocked or ignored in it.
        sys::default_signal_actions();
        // SAFETY: an empty set written into a local before it is read.
        let empty = unsafe {
            let mut set = std::mem::zeroed::<libc::sigset_t>();
            libc::sigemptyset(&mut set);
            set
        };
        let _ = sys::sigprocmask(libc::SIG_SETMASK, &empty);
        let e = sys::execve(&c_path, &argv, &envp);
        let _ = sys::write_all(2, format!("hook {path}: {e}\n").as_bytes());
        sys::exit_now(127);
    }
    drop(stdin_r);
    // A hook that does not read its stdin must not block us: EPIPE is ignored.
    let _ = write_ignoring_epipe(&stdin_w, state);
    drop(stdin_w);
    let timeout = hook.timeout().filter(|&t| t > 0);
    let status = wait_with_timeout(pid, timeout).map_err(|e| fail(format!("wait: {e}")))?;
    match status {
        Waited::Exited(0) => Ok(()),
        Waited::Exited(code) => Err(fail(format!("exit status {code}"))),
        Waited::Signaled(sig) => Err(fail(format!("killed by signal {sig}"))),
        Waited::TimedOut(secs) => Err(fail(format!("timed out after {secs} s"))),
    }
}

fn write_ignoring_epipe(fd: &OwnedFd, data: &[u8]) -> io::Result<()> {
    // SAFETY: ignoring SIGPIPE changes no memory; a write to a closed pipe then fails
    // with EPIPE instead of killing us.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    sys::write_all(fd.as_raw_fd(), data)
}

enum Waited {
    Exited(i32),
    Signaled(i32),
    TimedOut(i64),
}

/// Reap our child `pid`, SIGKILLing it after `timeout` seconds (a pidfd polled).
fn wait_with_timeout(pid: libc::pid_t, timeout: Option<i64>) -> io::Result<Waited> {
    if let Some(secs) = timeout {
        let pidfd = sys::pidfd_open(pid)?;
        let mut fds = [libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let ms = secs.saturating_mul(1000).min(i64::from(i32::MAX)) as libc::c_int;
        // SAFETY: `fds` is a valid one-element array for the call's duration.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
        if n == 0 {
            let _ = sys::kill(pid, libc::SIGKILL);
            sys::wait_for_child(pid);
            return Ok(Waited::TimedOut(secs));
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child into a local.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(if libc::WIFSIGNALED(status) {
        Waited::Signaled(libc::WTERMSIG(status))
    } else {
        Waited::Exited(libc::WEXITSTATUS(status))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::HookBuilder;

    fn hook(script: &str, timeout: Option<i64>) -> Hook {
        let mut b = HookBuilder::default().path("/bin/sh").args(vec![
            "sh".into(),
            "-c".into(),
            script.into(),
        ]);
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        b.build().unwrap()
    }

    #[test]
    fn a_hook_reads_the_state_and_its_status_counts() {
        let h = hook(r#"read -r x; [ "$x" = '{"id":"c1"}' ]"#, None);
        run(&h, b"{\"id\":\"c1\"}\n").unwrap();
        assert!(run(&h, b"{}\n").is_err());
        let e = run(&hook("exit 3", None), b"").unwrap_err();
        assert_eq!(e.to_string(), "hook /bin/sh: exit status 3");
        let e = run(&hook("sleep 5", Some(1)), b"").unwrap_err();
        assert_eq!(e.to_string(), "hook /bin/sh: timed out after 1 s");
    }

    #[test]
    fn a_hook_inherits_no_blocked_or_ignored_signal() {
        // This thread blocks SIGTERM (as a foreground `run` on a terminal does) and the
        // process ignores SIGPIPE (Rust's default); the hook sees neither.
        // SAFETY: sets built in locals; only this test thread's mask changes, restored below.
        let old = unsafe {
            let mut set = std::mem::zeroed::<libc::sigset_t>();
            let mut old = std::mem::zeroed::<libc::sigset_t>();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            old
        };
        let h = hook(
            "grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status && \
             grep -q '^SigIgn:[[:space:]]*0*$' /proc/self/status",
            None,
        );
        let r = run(&h, b"");
        // SAFETY: restoring the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        r.unwrap();
    }
}
