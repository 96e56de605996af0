//! Everything `exec` takes from the runtime crate (bocker-run), in one place, so that a
//! change of its module layout is fixed here only. Nothing of it is copied: the command
//! gets exactly the privileges, filter and lookup rules `run` gives a container's first
//! process.

pub use bocker_run::exec::{execve, lookup, to_cstrings, StartFailure};
pub use bocker_run::exit_code;
pub use bocker_run::seccomp::{compile as compile_seccomp, install as install_seccomp};
pub use bocker_run::security::{
    drop_bounding_set, set_caps, set_no_new_privs, set_rlimits, switch_user,
};
pub use bocker_run::user::{resolve as resolve_user, ExecUser};
