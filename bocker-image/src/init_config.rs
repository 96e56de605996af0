//! The image config `bocker init` writes for the image it imports, as `docker import`
//! does (Docker 20.10 computes the layer's diff id at import time): so every image has
//! a Docker id (the config's digest) and a config that `commit` extends in constant time
//! instead of hashing the whole base layer at every commit (docs/COMMIT.md).
//!
//! The config: this host's `architecture`/`variant`/`os`, `created` (the record's),
//! an empty `config`, `rootfs.diff_ids` = the one layer's diff id (the digest of the
//! reproducible tar `save`/`push` write for it, [`crate::diff`]) and one history entry
//! `Imported from <source>` (Docker's `comment` for an import).

use bocker_pull::digest::Digest;
use bocker_store::{ImageRecord, Store};
use serde_json::{json, Value};

use crate::ImageError;

/// The config JSON of the imported image `rec` whose single layer has `diff_id`.
pub fn config_json(rec: &ImageRecord, diff_id: &Digest) -> Vec<u8> {
    let mut cfg = crate::export::config_base(rec);
    cfg.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": [diff_id.to_string()]}),
    );
    cfg.insert(
        "history".into(),
        json!([{"created": rec.created, "comment": format!("Imported from {}", rec.source)}]),
    );
    serde_json::to_vec(&Value::Object(cfg)).unwrap_or_default()
}

/// Hash the single layer of the just-imported `rec` (one walk of it, reading every
/// file: the cost of `docker import`'s digest) and write its config into the blob
/// store; returns the config's hex digest, to list first in `rec.blobs`.
///
/// Errors: `rec` has not exactly one layer, the layer cannot be read, or the blob cannot
/// be written.
pub fn write(store: &Store, rec: &ImageRecord) -> Result<String, ImageError> {
    if rec.layers.len() != 1 {
        return Err(ImageError::Invalid(format!(
            "an imported image has one layer, not {}",
            rec.layers.len()
        )));
    }
    let diff_id = crate::export::layer_diff_id(store, &rec.layers, 0)?;
    let bytes = config_json(rec, &diff_id);
    let hex = Digest::of(&bytes).hex().to_string();
    let path = store.blobs_dir().join(&hex);
    if !path.exists() {
        bocker_store::atomic::write(&path, &bytes)?;
    }
    Ok(hex)
}
