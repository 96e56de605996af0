//! What a container is started from, saved beside its record when it is created
//! (`bundle.json` in its store directory, through the store): the finished [`Bundle`]
//! (the OCI runtime spec, a real `config.json`, and bocker's [`Extras`]) and its log's
//! rotation limits. `start` and `restart` run it again, so a restarted container keeps
//! every setting of its `create`/`run`, as Docker's saved container config does.
//!
//! Shape: `{"spec": <OCI config.json>, "extras": {…}, "log": {"max_size": …, "max_file": …}}`.

use crate::spec::{Bundle, Extras};
use bocker_store::log::LogOptions;
use bocker_store::{ContainerId, Store, StoreError};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

/// The saved form, written from borrowed parts (no copy of the spec per create).
#[derive(Serialize)]
struct SavedRef<'a> {
    spec: &'a Spec,
    extras: &'a Extras,
    log: LogOptions,
}

/// The saved form, read back.
#[derive(Deserialize)]
struct Saved {
    spec: Spec,
    extras: Extras,
    #[serde(default)]
    log: LogOptions,
}

/// Saves container `id`'s finished bundle and log limits (atomically, beside its record).
pub fn save(
    store: &Store,
    id: &ContainerId,
    bundle: &Bundle,
    log: LogOptions,
) -> Result<(), StoreError> {
    let saved = SavedRef {
        spec: &bundle.spec,
        extras: &bundle.extras,
        log,
    };
    store.write_container_bundle(id, &saved)
}

/// Why a saved bundle could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The container exists but was created before bundles were saved.
    #[error("container {0} was created by an earlier bocker: it has no saved settings to start again (run a new one)")]
    NotSaved(String),
    /// No such container, or the bundle does not parse.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads back what [`save`] saved. Errors: no such container, one created before
/// bundles were saved, a bundle that does not parse.
pub fn load(store: &Store, id: &ContainerId) -> Result<(Bundle, LogOptions), LoadError> {
    let s: Saved = match store.read_container_bundle(id) {
        Err(StoreError::NoSuchContainer(_)) if store.read_container(id).is_ok() => {
            return Err(LoadError::NotSaved(id.0.clone()))
        }
        other => other?,
    };
    let bundle = Bundle {
        spec: s.spec,
        extras: s.extras,
    };
    Ok((bundle, s.log))
}
