//! The committed image's own image config blob, as `docker commit` writes one.
//!
//! Docker 20.10's image id is the digest of the image config, so a commit that kept its
//! parent's config would share its parent's id (`Deleted: sha256:…`) and CREATED. The
//! new config is the parent's with `created` now, the container's `config` (after
//! `--change`), `author` (`-a`), one history entry appended (the container's command,
//! `-a`, `-m`) and the new layer's diff id appended to `rootfs.diff_ids`. The diff id is
//! the digest of the layer tar `bocker save`/`push` will write (reproducible, see
//! `bocker_image::diff`), so their config, and so the id, is this one.
//!
//! The diff id costs the change, not the image: overlay diffs are the upper dir; btrfs
//! diffs visit only the paths `btrfs send` names (`bocker_image::btrfs_send`).
//!
//! Every image made by this bocker has a config (`init` writes one, as `docker import`).
//! A parent without one describing all its layers (made by an older bocker) gives none:
//! its base layer's diff id would mean hashing the whole tree at every commit. Such images
//! have no Docker id until they are exported.

use std::fs::File;
use std::io::Read;

use bocker_image::ImageError;
use bocker_pull::digest::Digest;
use bocker_store::{History, ImageRecord, Store};
use serde_json::{json, Map, Value};

/// A config blob larger than this is not read (registries' configs are a few kB).
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// The parent's config as JSON when it describes every parent layer.
fn parent_config(store: &Store, parent: &ImageRecord) -> Option<Map<String, Value>> {
    let hex = bocker_store::image_config::config_hex(parent)?;
    let mut bytes = Vec::new();
    File::open(store.blobs_dir().join(hex))
        .ok()?
        .take(MAX_CONFIG_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    let Value::Object(cfg) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    let ids = cfg.get("rootfs")?.get("diff_ids")?.as_array()?;
    (ids.len() == parent.layers.len()).then_some(cfg)
}

/// One history entry in the image config's shape (OCI image-spec `config.md`).
fn history_entry(h: &History) -> Value {
    let mut e = Map::new();
    e.insert("created".into(), json!(h.created));
    for (k, v) in [
        ("created_by", Some(&h.created_by).filter(|s| !s.is_empty())),
        ("author", h.author.as_ref()),
        ("comment", h.comment.as_ref()),
    ] {
        if let Some(v) = v {
            e.insert(k.into(), json!(v));
        }
    }
    if h.empty_layer {
        e.insert("empty_layer".into(), json!(true));
    }
    Value::Object(e)
}

/// Write the config of `rec` (a commit of a container made from `parent`, its last layer
/// the new one) into the blob store; returns its hex digest, or `None` when `parent` has
/// no config describing all its layers (see the module doc).
///
/// Errors: the new layer cannot be read, or the blob cannot be written.
pub fn write(
    store: &Store,
    parent: &ImageRecord,
    rec: &ImageRecord,
) -> Result<Option<String>, ImageError> {
    let Some(mut cfg) = parent_config(store, parent) else {
        return Ok(None);
    };
    if rec.layers.len() != parent.layers.len() + 1 {
        return Ok(None);
    }
    let top = rec.layers.len() - 1;
    let diff_id = bocker_image::export::layer_diff_id(store, &rec.layers, top)?;
    let Some(this) = rec.history.last() else {
        return Ok(None);
    };
    let mut history = match cfg.remove("history") {
        Some(Value::Array(h)) => h,
        // Tools match non-empty history entries to layers one to one.
        _ => vec![json!({}); parent.layers.len()],
    };
    history.push(history_entry(this));
    cfg.insert("history".into(), Value::Array(history));
    cfg.insert("created".into(), json!(rec.created));
    cfg.insert(
        "config".into(),
        bocker_image::export::run_config(&rec.config),
    );
    match &this.author {
        Some(a) => cfg.insert("author".into(), json!(a)),
        None => cfg.remove("author"),
    };
    // Docker's record of the build container describes the parent's build, not this.
    for k in ["container", "container_config", "docker_version", "comment"] {
        cfg.remove(k);
    }
    if let Some(ids) = cfg
        .get_mut("rootfs")
        .and_then(|r| r.get_mut("diff_ids"))
        .and_then(Value::as_array_mut)
    {
        ids.push(json!(diff_id.to_string()));
    }
    let bytes = serde_json::to_vec(&Value::Object(cfg))
        .map_err(|e| ImageError::Invalid(format!("image config: {e}")))?;
    let hex = Digest::of(&bytes).hex().to_string();
    let path = store.blobs_dir().join(&hex);
    if !path.exists() {
        bocker_store::atomic::write(&path, &bytes)?;
    }
    Ok(Some(hex))
}
