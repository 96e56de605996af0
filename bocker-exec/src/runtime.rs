//! Everything `exec` takes from the runtime crate (bocker-run), in one place, so that a
//! change of its module layout is fixed here only. Nothing of it is copied: the command
//! gets exactly the privileges, filter, signal dispositions and lookup rules `run` gives
//! a container's first process (the defaults `bocker run` plans into every container's
//! OCI spec), in the same order ([`Confinement`]), with the container's own
//! `no_new_privs` setting (Docker's exec inherits it).

pub use bocker_run::exit_code;
pub use bocker_run::oci::confine::OciConfinement;
pub use bocker_run::oci::preserve_fds;
pub use bocker_run::process::execve::{execve, lookup, to_cstrings, StartFailure};
pub use bocker_run::security::user::{resolve as resolve_user, ExecUser};
pub use bocker_run::security::{ConfineError, Confinement};
pub use bocker_run::spec::recorded::{self, Privileges};
pub use bocker_run::spec::recorded_no_new_privileges;
pub use bocker_run::sys::default_signal_actions;

/// The confinement of a command exec'd in a container: the container's recorded
/// capabilities, rlimits and seccomp filter ([`Privileges`]; Docker's defaults for an
/// older record), and `no_new_privs` as the container was started with
/// ([`recorded_no_new_privileges`]).
pub fn confinement(
    no_new_privileges: bool,
    privileges: &Privileges,
) -> Result<Confinement, StartFailure> {
    privileges
        .confinement(no_new_privileges)
        .map_err(|e| StartFailure::engine(e.to_string()))
}
