//! Starting a created or exited container again (`bocker start`, `bocker restart`):
//! the same supervisor as `run -d` ([`crate::attach::split`]) loads the container's
//! saved bundle ([`super::load`]) and runs it ([`super::run_attached`]); the caller
//! waits until it runs, or with `-a` relays its output like a foreground `run` and
//! returns its exit status (Docker's `start -a`).

use super::saved::LoadError;
use super::{load, run_attached};
use crate::attach::{self, Role};
use crate::exit_code;
use bocker_store::{ContainerId, Store};

/// How the caller of a start stays with the container.
#[derive(Debug, Clone, Default)]
pub struct Attach {
    /// `-a`/`-i`: relay the container's output until it exits, then its status.
    pub output: bool,
    /// `-i`: our stdin is the container's (when it was created with `-i`).
    pub stdin: bool,
    /// `--detach-keys` as bytes (a `-t` session).
    pub keys: Vec<u8>,
}

/// Starts container `id` under a new supervisor. Returns, in the caller: `Ok(status)`
/// (0 once it runs when not attached; its exit status when attached) or the status of
/// a start that failed (its message printed). Errors: its saved bundle cannot be read.
/// The supervisor never returns from here.
pub fn start(store: &Store, id: &ContainerId, how: &Attach) -> Result<i32, LoadError> {
    let (bundle, _) = super::saved::load(store, id)?;
    let tty = bundle.spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    // Detached, a `-i` container's stdin is a pipe the supervisor holds open for a later
    // `bocker attach`; attached, it is ours only with `-i`.
    let stdin = bundle.extras.stdin && (how.stdin || !how.output);
    let role = match attach::split(!how.output, stdin, tty) {
        Ok(r) => r,
        Err(e) => {
            bocker_cli::warn(&format!("starting the supervisor of {id}: {e}"));
            return Ok(exit_code::ENGINE);
        }
    };
    match role {
        Role::Caller(mut caller) if how.output => {
            caller.set_detach_keys(how.keys.clone());
            Ok(caller.attach())
        }
        Role::Caller(caller) => Ok(caller.started().map_or_else(|code| code, |_| 0)),
        Role::Supervisor(mut link) => {
            let code = match Store::open().map_err(super::ContainerError::from) {
                Ok(store) => match load(&store, id) {
                    Ok(mut ctr) => run_attached(&store, &mut ctr, &mut link),
                    Err(e) => {
                        bocker_cli::warn(&e.to_string());
                        exit_code::ENGINE
                    }
                },
                Err(e) => {
                    bocker_cli::warn(&e.to_string());
                    exit_code::ENGINE
                }
            };
            link.exit(code);
            std::process::exit(0);
        }
    }
}
