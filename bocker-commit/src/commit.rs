//! The commit itself: under the store's shared lock and a journal, snapshot the
//! container's filesystem (paused if it runs), then write the image record — the one
//! commit point. A commit killed at any step leaves no half image listed: a new id
//! without a record is never listed and its journal is undone; an image replaced in
//! place keeps its old record until the new one is renamed over it.

use bocker_store::{
    liveness, time, ContainerId, ImageId, ImageRecord, Store, StoreError, WhiteoutStyle,
};
use thiserror::Error;

use crate::change::Change;
use crate::target::Target;

/// Why a commit failed; nothing was created.
#[derive(Debug, Error)]
pub enum CommitError {
    #[error("No image named '{0}' exists")]
    NoSuchImage(String),
    #[error("invalid reference format: '{0}' (want REPOSITORY[:TAG], lowercase)")]
    BadReference(String),
    #[error("cannot pause {0}: it has no freezer cgroup (commit it with --pause=false)")]
    CannotPause(String),
    #[error("pausing the container: {0}")]
    Pause(#[from] bocker_cgroups::CgroupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the image config: {0}")]
    Config(#[from] bocker_image::ImageError),
}

/// What the user asked for besides the target.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--change` instructions, in order.
    pub changes: Vec<Change>,
    /// `-a`.
    pub author: Option<String>,
    /// `-m`.
    pub comment: Option<String>,
    /// Freeze a running container while its files are read (Docker's default).
    pub pause: bool,
}

/// The image made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub id: ImageId,
    /// True when an existing image was replaced in place (the seed's form).
    pub replaced: bool,
}

/// Commits container `ctr_id` to `target`.
///
/// Containers made from a replaced image are unharmed: they keep their own layer list
/// (overlay) or their own snapshot (btrfs). Errors: the container or target image is
/// gone, a running container cannot be paused, or the store fails.
pub fn commit(
    store: &Store,
    ctr_id: &ContainerId,
    target: &Target,
    opts: &Options,
) -> Result<Committed, CommitError> {
    let ctr = store.read_container(ctr_id)?;
    let parent = store.read_image(&ImageId(ctr.image.clone())).ok();
    let mut config = crate::config::of_container(&ctr, parent.as_ref().map(|p| &p.config));
    crate::change::apply(&mut config, &opts.changes);

    let _creating = store.lock_shared()?;
    let mut journal = store.begin()?;
    let replacing = match target {
        Target::Replace(id) => Some(store.read_image(id).map_err(|e| match e {
            StoreError::NoSuchImage(_) => CommitError::NoSuchImage(id.0.clone()),
            e => e.into(),
        })?),
        _ => None,
    };
    let id = match &replacing {
        Some(old) => ImageId(old.id.clone()),
        None => store.new_image_id(&mut journal)?,
    };
    let layers = {
        let _paused = pause(&ctr, opts.pause)?;
        store
            .driver()
            .commit_container(&mut journal, &store.container_dir(ctr_id), &ctr.layers)?
    };
    let created = time::now();
    let mut record = ImageRecord {
        id: id.0.clone(),
        source: ctr.id.clone(),
        created: created.clone(),
        driver: store.driver().name().into(),
        size: size(store, parent.as_ref(), &layers),
        layers,
        reference: match target {
            Target::Tag(r) => Some(r.clone()),
            _ => replacing.as_ref().and_then(|o| o.reference.clone()),
        },
        digest: None,
        blobs: Vec::new(),
        config,
        history: crate::config::history(
            parent.as_ref(),
            &ctr,
            &created,
            opts.author.as_deref(),
            opts.comment.as_deref(),
        ),
    };
    // The image's own config first (its Docker id), then the parent's layer blobs, which
    // still describe the layers this image shares with it.
    if let Some(p) = &parent {
        let own = crate::config_blob::write(store, p, &record)?;
        record.blobs = match own {
            Some(hex) => std::iter::once(hex)
                .chain(p.blobs.iter().skip(1).cloned())
                .collect(),
            None => p.blobs.clone(),
        };
    }
    store.write_image(&record)?;
    if let Target::Tag(r) = target {
        store.tag(r, &id)?;
    }
    journal.finish()?;
    Ok(Committed {
        replaced: replacing.is_some(),
        id,
    })
}

/// Freezes a running container when asked; nothing to do for a stopped one.
fn pause(
    ctr: &bocker_store::ContainerRecord,
    wanted: bool,
) -> Result<Option<bocker_cgroups::Frozen>, CommitError> {
    if !wanted || !liveness::is_running(ctr) {
        return Ok(None);
    }
    match bocker_run::container::cgroups::freeze(ctr)? {
        Some(f) => Ok(Some(f)),
        None => Err(CommitError::CannotPause(ctr.id.clone())),
    }
}

/// The image's apparent size. Overlay: the parent's plus the new diff layer (a walk of
/// the change only). Btrfs: the parent's — walking the full snapshot would make the
/// commit proportional to the image, so the change itself is not counted.
fn size(store: &Store, parent: Option<&ImageRecord>, layers: &[String]) -> u64 {
    let base = parent.map_or(0, |p| p.size);
    match (store.driver().whiteout_style(), layers.last()) {
        (WhiteoutStyle::Overlay, Some(top)) => {
            base + bocker_store::fsutil::tree_size(&store.driver().layer_path(top))
        }
        _ => base,
    }
}
