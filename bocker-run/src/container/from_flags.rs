//! `run`'s and `create`'s one front half: the image and `run`'s flags
//! ([`crate::cli::Args`], shared by both verbs) planned into a bundle and made into a
//! created container ([`super::create`]), as `docker create` does before `start`.

use super::{ContainerError, Created};
use crate::cli::Args;
use crate::spec::{self, PlanError};
use bocker_store::log::LogOptions;
use bocker_store::{Store, StoreError};

/// Why a container could not be created from flags: the refused input or the step.
#[derive(Debug, thiserror::Error)]
pub enum FromFlagsError {
    /// `--log-opt` refused (the message names the option).
    #[error("--log-opt: {0}")]
    LogOpt(String),
    /// The image could not be found or read.
    #[error(transparent)]
    Image(StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Create(#[from] ContainerError),
}

/// Resolve `args.image`, plan `args` over its config (`-t`: the spec's
/// `process.terminal`) and create the container: its record says `created`, nothing
/// runs and nothing is held on the host until it is started.
pub fn create_from_flags(store: &Store, args: &Args) -> Result<Created, FromFlagsError> {
    let log = LogOptions::parse(&args.log_opt).map_err(FromFlagsError::LogOpt)?;
    let image_id = store
        .resolve_image(&args.image)
        .map_err(FromFlagsError::Image)?;
    let image = store.read_image(&image_id).map_err(FromFlagsError::Image)?;
    let mut bundle = spec::plan(args, &image.config)?;
    if args.tty {
        // `-t`: the container's stdio is a pty of its own devpts.
        if let Some(mut p) = bundle.spec.process().clone() {
            p.set_terminal(Some(true));
            bundle.spec.set_process(Some(p));
        }
    }
    let name = args.name.as_deref();
    Ok(super::create(
        store,
        &image,
        &args.image,
        name,
        bundle,
        log,
    )?)
}
