//! What `run` (and `create`) do before the container exists, in the caller's process
//! before any supervisor: the image made ready (`--platform`, `--pull`, a missing image
//! pulled: [`crate::image_pull`]) and the `--cidfile` reserved ([`CidFile`]). The cid
//! file gets the id once the container is created ([`CidFile::write`]).

use crate::cidfile::CidFile;
use crate::cli::Args;
use crate::image_pull::{self, PullError};
use bocker_store::{Store, StoreError};
use thiserror::Error;

/// Why a run could not begin.
#[derive(Debug, Error)]
pub enum PrepareError {
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pull(#[from] PullError),
    /// Docker's message for a cid file that exists, or why it could not be made.
    #[error("{0}")]
    CidFile(String),
}

/// The image ready and the cid file reserved (`None` without `--cidfile`).
pub fn prepare(args: &Args) -> Result<Option<CidFile>, PrepareError> {
    let store = Store::open()?;
    image_pull::ensure(&store, &args.image, &args.image_opts)?;
    let cid = args.config.cidfile.as_deref().map(CidFile::create);
    cid.transpose().map_err(PrepareError::CidFile)
}
