//! Privilege set-up of the container's first process, from the spec's `process`:
//! [`capabilities`], [`rlimits`], the [`user`] and its groups, `noNewPrivileges`, and
//! the [`seccomp`] filter.

pub mod capabilities;
pub mod rlimits;
pub mod seccomp;
pub mod user;

use crate::sys;
use std::io;
use user::ExecUser;

/// Switch to the container user, keeping the permitted set across setuid so that
/// [`capabilities::set`] can then install exactly the spec's sets.
pub fn switch_user(user: &ExecUser) -> io::Result<()> {
    sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0)?;
    sys::setgroups(&user.groups)?;
    sys::setresgid(user.gid)?;
    sys::setresuid(user.uid)?;
    sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0)
}

/// `PR_SET_NO_NEW_PRIVS` (the spec's `process.noNewPrivileges`).
pub fn set_no_new_privs() -> io::Result<()> {
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
}
