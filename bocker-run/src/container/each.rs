//! One verb over many containers, as Docker runs `stop a b c`: each target in turn,
//! every failure reported on its own line, status 1 if any failed.

use std::process::ExitCode;

use anyhow::Context;
use bocker_store::{ContainerId, Store};

/// Opens the store, resolves each of `targets` (id, prefix or name) and runs `f` on it
/// with the target as typed; reports each failure (`bocker <verb>: …`) and goes on.
pub fn each(
    targets: &[String],
    f: impl Fn(&Store, &ContainerId, &str) -> anyhow::Result<()>,
) -> ExitCode {
    let store = match Store::open().context("opening the store") {
        Ok(s) => s,
        Err(e) => return bocker_cli::exit(Err(e)),
    };
    let mut failed = false;
    for t in targets {
        let done = store
            .resolve_container(t)
            .map_err(anyhow::Error::from)
            .and_then(|id| f(&store, &id, t));
        if let Err(e) = done {
            bocker_cli::report(&e);
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
