//! Everything `exec` takes from the runtime crate (bocker-run), in one place, so that a
//! change of its module layout is fixed here only. Nothing of it is copied: the command
//! gets exactly the privileges, filter and lookup rules `run` gives a container's first
//! process (the defaults `bocker run` plans into every container's OCI spec).

use std::io;

pub use bocker_run::exit_code;
pub use bocker_run::process::execve::{execve, lookup, to_cstrings, StartFailure};
pub use bocker_run::security::seccomp::{compile as compile_seccomp, install as install_seccomp};
pub use bocker_run::security::user::{resolve as resolve_user, ExecUser};
use bocker_run::security::{capabilities, rlimits};
pub use bocker_run::security::{set_no_new_privs, switch_user};
use bocker_run::spec::defaults;

/// The container's rlimits (Docker's defaults, as `run` sets them).
pub fn set_rlimits() -> io::Result<()> {
    rlimits::set(&defaults::rlimits().map_err(io::Error::other)?)
}

/// Drops every capability outside the container's set from the bounding set.
pub fn drop_bounding_set() -> io::Result<()> {
    capabilities::drop_bounding_set(&defaults::capabilities())
}

/// The container's capability sets (Docker's default set, as `run` gives PID 1).
pub fn set_caps() -> io::Result<()> {
    capabilities::set(&defaults::capabilities())
}
