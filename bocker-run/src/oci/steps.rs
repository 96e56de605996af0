//! Steps of a container's init that bocker's own containers (`process/child.rs`) and the
//! OCI runtime's (`oci.rs`) take alike: one copy of each, called from both sequences.
//!
//! - [`enter_cgroup`]: into the container's cgroup (v1 `tasks` files; on v2 the init was
//!   born there by `CLONE_INTO_CGROUP`), then into a new cgroup namespace when the spec
//!   asks for one, so that the group is the namespace's root;
//! - [`console`]: `process.terminal`: a pty of the container's devpts as controlling
//!   terminal and stdio, its master sent over a unix socket (`SCM_RIGHTS`);
//! - [`set_hostname`]: `hostname`, only in a UTS namespace of the container's own;
//! - [`exec_args`]: `process.args[0]` looked up on the spec's `PATH`, argv and envp as
//!   C strings, ready for `execve` (allocated before any privilege is dropped).

use crate::process::execve::{self, StartFailure};
use crate::process::has_namespace;
use crate::sys;
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

/// Join the cgroup whose v1 `tasks` files are `v1_tasks`, then unshare the cgroup
/// namespace if `spec` has one; `true` when it did.
pub fn enter_cgroup(spec: &Spec, v1_tasks: &[PathBuf]) -> io::Result<bool> {
    crate::cgroup_step::join_self(v1_tasks)?;
    if !has_namespace(spec, LinuxNamespaceType::Cgroup) {
        return Ok(false);
    }
    sys::unshare(libc::CLONE_NEWCGROUP)?;
    Ok(true)
}

/// A pty from the devpts at /dev/pts of the current mount namespace (the container's,
/// after `pivot_root`) becomes the controlling terminal of this (new) session and stdio
/// 0-2, sized as `process.consoleSize` when given; its master goes over `sock`.
pub fn console(sock: RawFd, process: &Process) -> io::Result<()> {
    let (master, slave) = sys::tty::open_pty()?;
    if let Some(size) = process.console_size() {
        let ws = libc::winsize {
            ws_row: u16::try_from(size.height()).unwrap_or(u16::MAX),
            ws_col: u16::try_from(size.width()).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        sys::tty::set_window_size(master.as_raw_fd(), &ws)?;
    }
    sys::tty::set_controlling_tty(slave.as_raw_fd())?;
    for fd in 0..3 {
        sys::dup2(slave.as_raw_fd(), fd)?;
    }
    sys::tty::send_fd(sock, master.as_raw_fd())
}

/// `spec.hostname`, set only in a UTS namespace of the container's own (never the
/// host's name).
pub fn set_hostname(spec: &Spec) -> io::Result<()> {
    let own_uts = has_namespace(spec, LinuxNamespaceType::Uts);
    match spec.hostname().as_deref().filter(|_| own_uts) {
        Some(host) => sys::sethostname(host),
        None => Ok(()),
    }
}

/// What `execve` needs: the program's path (`args[0]` looked up on `env`'s `PATH`),
/// argv and envp. Errors are [`execve::lookup`]'s (127/126 with Docker's messages).
pub fn exec_args(
    args: &[String],
    env: &[String],
) -> Result<(String, Vec<CString>, Vec<CString>), StartFailure> {
    let path = execve::lookup(args.first().map_or("", String::as_str), env)?;
    Ok((path, execve::to_cstrings(args)?, execve::to_cstrings(env)?))
}
