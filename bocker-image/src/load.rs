//! `docker save` archives and OCI layouts into the store, verified on the way.
//!
//! Every blob is checked against the digest that names it (a `blobs/sha256/<hex>` path,
//! a `<hex>.json` config, a manifest descriptor); every layer is decompressed (with the
//! pull's bomb guard), extracted by bocker-pull's extractor — the same hostile-input-safe
//! path `bocker pull` uses — and its uncompressed digest checked against the config's
//! `diff_ids`. Layers are keyed by chain id as pulled layers are, so a loaded image
//! shares layers with a pulled one. Everything is made under one journal: a refused or
//! killed load leaves nothing behind.

use std::fs::File;
use std::path::PathBuf;

use bocker_pull::decompress::decompress;
use bocker_pull::digest::{Digest, HashingReader};
use bocker_pull::extract;
use bocker_pull::manifest::{
    self, chain_ids, ConfigFile, Document, MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES,
};
use bocker_pull::platform::Platform;
use bocker_pull::reference::Reference;
use bocker_store::{fsutil, time, ImageId, ImageRecord, Journal, Store, WhiteoutStyle};
use serde::Deserialize;

use crate::archive::{Member, Members, IMAGE_NAME, REF_NAME};
use crate::export::scratch_name;
use crate::ImageError;

/// An image the archive held, now in the store.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: ImageId,
    /// The digest of its config (Docker's image id).
    pub config_digest: Digest,
    /// Normalised references it was tagged with.
    pub references: Vec<String>,
}

/// One image of the archive, its blobs verified.
struct Plan {
    config: Vec<u8>,
    config_digest: Digest,
    layers: Vec<(String, Member)>,
    references: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    #[serde(default)]
    media_type: String,
    digest: Digest,
    size: i64,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

fn invalid(s: impl Into<String>) -> ImageError {
    ImageError::Invalid(s.into())
}

/// Load every image of the archive read from `input`.
pub fn load<R: std::io::Read>(store: &Store, input: R) -> Result<Vec<Loaded>, ImageError> {
    let _creating = store.lock_shared()?;
    let mut journal = store.begin()?;
    let scratch = store.tmp_dir().join(scratch_name("load"));
    journal.add(&scratch)?;
    std::fs::create_dir(&scratch).map_err(ImageError::io(&scratch))?;
    let r = read_and_import(store, &mut journal, input, &scratch);
    let _ = fsutil::remove_path(&scratch);
    let loaded = r?;
    journal.finish()?;
    Ok(loaded)
}

fn read_and_import<R: std::io::Read>(
    store: &Store,
    journal: &mut Journal,
    input: R,
    scratch: &std::path::Path,
) -> Result<Vec<Loaded>, ImageError> {
    let members = Members::read(input, scratch)?;
    let plans = if members.contains("manifest.json") {
        docker_plans(&members)?
    } else if members.contains("index.json") {
        oci_plans(&members)?
    } else {
        return Err(invalid(
            "the archive holds neither manifest.json (docker save) nor index.json (OCI layout)",
        ));
    };
    if plans.is_empty() {
        return Err(invalid("the archive holds no image"));
    }
    plans.iter().map(|p| import(store, journal, p)).collect()
}

/// The hex a `<hex>.json` or `blobs/sha256/<hex>` path names, if any.
fn named_hex(path: &str) -> Option<&str> {
    let last = path.rsplit('/').next()?;
    let hex = last.strip_suffix(".json").unwrap_or(last);
    (hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

fn check_named(what: &str, path: &str, m: &Member) -> Result<(), ImageError> {
    match named_hex(path) {
        Some(hex) if hex != m.digest.hex() => Err(invalid(format!(
            "{what} '{path}' does not match its digest (its content is {})",
            m.digest
        ))),
        _ => Ok(()),
    }
}

fn references(raw: &[String]) -> Result<Vec<String>, ImageError> {
    raw.iter()
        .map(|r| {
            Reference::parse(r)
                .map(|x| x.to_string())
                .map_err(|e| invalid(format!("the archive names an invalid reference '{r}': {e}")))
        })
        .collect()
}

fn docker_plans(m: &Members) -> Result<Vec<Plan>, ImageError> {
    let body = m.bytes("manifest.json", "manifest.json", MAX_MANIFEST_BYTES)?;
    let entries: Vec<DockerEntry> = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("manifest.json is malformed: {e}")))?;
    let mut plans = Vec::new();
    for e in entries {
        // The bound `pull` applies to a manifest (the kernel's overlay limit is near it).
        if e.layers.len() > manifest::MAX_LAYERS {
            return Err(invalid(format!(
                "manifest.json: an image of {} layers (at most {})",
                e.layers.len(),
                manifest::MAX_LAYERS
            )));
        }
        let config = m.bytes("config", &e.config, MAX_CONFIG_BYTES)?;
        let cm = m.get("config", &e.config)?;
        check_named("config", &e.config, cm)?;
        let mut layers = Vec::new();
        for l in &e.layers {
            let member = m.get("layer", l)?;
            check_named("layer", l, member)?;
            layers.push((l.clone(), member.clone()));
        }
        plans.push(Plan {
            config_digest: cm.digest.clone(),
            config,
            layers,
            references: references(&e.repo_tags.unwrap_or_default())?,
        });
    }
    Ok(plans)
}

/// The member `blobs/sha256/<hex>` for `d`, checked against it (and `size`, if known).
fn blob<'m>(
    m: &'m Members,
    d: &Digest,
    size: Option<i64>,
) -> Result<(String, &'m Member), ImageError> {
    let path = format!("blobs/sha256/{}", d.hex());
    let member = m.get("blob", &path)?;
    if member.digest != *d {
        return Err(invalid(format!(
            "blob '{path}' does not match its digest (its content is {})",
            member.digest
        )));
    }
    if size.is_some_and(|s| s != member.size as i64) {
        return Err(invalid(format!(
            "blob '{path}' is not the size its descriptor says"
        )));
    }
    Ok((path, member))
}

fn oci_plans(m: &Members) -> Result<Vec<Plan>, ImageError> {
    let body = m.bytes("index.json", "index.json", MAX_MANIFEST_BYTES)?;
    let index: Index = serde_json::from_slice(&body)
        .map_err(|e| invalid(format!("index.json is malformed: {e}")))?;
    let mut plans = Vec::new();
    for desc in index.manifests {
        let mut d = desc.digest.clone();
        let mut size = desc.size;
        let mut media = desc.media_type.clone();
        let (config, layers) = loop {
            let (path, member) = blob(m, &d, Some(size))?;
            let body = m.bytes("manifest", &path, MAX_MANIFEST_BYTES)?;
            match Document::parse(&media, &body).map_err(|e| invalid(format!("{path}: {e}")))? {
                Document::Image { config, layers } => break (config, layers),
                Document::Index { manifests } if d == desc.digest => {
                    let chosen = manifest::choose_platform(&manifests, &Platform::host())
                        .map_err(|e| invalid(e.to_string()))?;
                    let _ = member;
                    d = chosen.digest.clone();
                    size = chosen.size;
                    media = chosen.media_type.clone();
                }
                Document::Index { .. } => {
                    return Err(invalid(format!("{path}: an index inside an index")))
                }
            }
        };
        let (cpath, cm) = blob(m, &config.digest, Some(config.size))?;
        let config_bytes = m.bytes("config", &cpath, MAX_CONFIG_BYTES)?;
        let mut ls = Vec::new();
        for l in &layers {
            let (p, member) = blob(m, &l.digest, Some(l.size))?;
            ls.push((p, member.clone()));
        }
        // Docker's name for the image, else a ref.name that is a whole reference.
        let name = desc.annotations.get(IMAGE_NAME).or_else(|| {
            desc.annotations
                .get(REF_NAME)
                .filter(|r| r.contains(':') || r.contains('/'))
        });
        plans.push(Plan {
            config_digest: cm.digest.clone(),
            config: config_bytes,
            layers: ls,
            references: references(&name.cloned().into_iter().collect::<Vec<_>>())?,
        });
    }
    Ok(plans)
}

/// The config's `history` (OCI image config), kept in the record as `commit` keeps it;
/// an entry that does not parse drops the history, never the load.
fn history(config: &[u8]) -> Vec<bocker_store::History> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        history: Vec<bocker_store::History>,
    }
    serde_json::from_slice::<Only>(config)
        .map(|o| o.history)
        .unwrap_or_default()
}

/// Extract one verified layer blob into a staged layer and commit it as `key`.
fn import_layer(
    store: &Store,
    journal: &mut Journal,
    keys: &[String],
    i: usize,
    (path, member): &(String, Member),
    diff_id: &Digest,
) -> Result<(), ImageError> {
    let driver = store.driver();
    let style = driver.whiteout_style();
    let parent = (style == WhiteoutStyle::Delete && i > 0).then(|| keys[i - 1].as_str());
    let staged = driver.create_layer(journal, parent)?;
    let layer_err = |e: String| invalid(format!("layer '{path}': {e}"));
    let f = File::open(&member.file).map_err(ImageError::io(&member.file))?;
    // The blob's digest was checked when it was copied out of the archive: count only.
    let mut c = HashingReader::counting(f);
    let consumed = c.counter();
    let d = decompress(&mut c, consumed).map_err(|e| layer_err(e.to_string()))?;
    let mut u = HashingReader::new(d);
    let x = extract::extract(&mut u, &staged.path, style).map_err(|e| layer_err(e.to_string()))?;
    let (actual, _) = u.finish().map_err(|e| layer_err(e.to_string()))?;
    if actual != *diff_id {
        return Err(layer_err(format!(
            "its content has digest {actual}, the image config says {diff_id}"
        )));
    }
    let lowers: Vec<PathBuf> = match style {
        WhiteoutStyle::Overlay => (0..i).rev().map(|j| driver.layer_path(&keys[j])).collect(),
        WhiteoutStyle::Delete => Vec::new(),
    };
    x.finish(&lowers).map_err(|e| layer_err(e.to_string()))?;
    driver.commit_layer(staged, &keys[i])?;
    Ok(())
}

fn store_blob(store: &Store, hex: &str, m: &Member) -> Result<(), ImageError> {
    let dst = store.blobs_dir().join(hex);
    if !dst.exists() {
        // The scratch copy is verified and on the same filesystem: link, do not copy.
        // (A blob no record lists yet is the collector's if we die before the record.)
        match std::fs::hard_link(&m.file, &dst) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => {
                let tmp = store.tmp_dir().join(scratch_name("blob"));
                let r = std::fs::copy(&m.file, &tmp).and_then(|_| std::fs::rename(&tmp, &dst));
                if r.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                r.map_err(ImageError::io(&dst))?;
            }
        }
    }
    Ok(())
}

fn import(store: &Store, journal: &mut Journal, p: &Plan) -> Result<Loaded, ImageError> {
    let config = ConfigFile::parse(&p.config, p.layers.len())
        .map_err(|e| invalid(format!("config {}: {e}", p.config_digest)))?;
    let keys: Vec<String> = chain_ids(&config.rootfs.diff_ids)
        .iter()
        .map(|d| d.hex().to_string())
        .collect();
    let driver = store.driver();
    let blobs: Vec<String> = std::iter::once(p.config_digest.hex().to_string())
        .chain(p.layers.iter().map(|(_, m)| m.digest.hex().to_string()))
        .collect();
    // The same image is here already when its blobs and layers are these, or (Docker's
    // identity: an image is its config) when it is made of as many layers and its
    // config blob is this one, however its layers are stored here (`init` and `commit`
    // layers have local keys): then a load changes nothing but tags.
    let config_hex = p.config_digest.hex().to_string();
    let existing = store.list_images()?.into_iter().find(|r| {
        let same = r.blobs == blobs && r.layers == keys;
        let same_config = r.blobs.first() == Some(&config_hex) && r.layers.len() == keys.len();
        (same || same_config) && r.layers.iter().all(|k| driver.layer_exists(k))
    });
    let id = match existing {
        Some(rec) => ImageId(rec.id),
        None => {
            for (i, layer) in p.layers.iter().enumerate() {
                if !driver.layer_exists(&keys[i]) {
                    import_layer(store, journal, &keys, i, layer, &config.rootfs.diff_ids[i])?;
                }
            }
            let cfg_path = store.blobs_dir().join(p.config_digest.hex());
            if !cfg_path.exists() {
                bocker_store::atomic::write(&cfg_path, &p.config)?;
            }
            for (_, m) in &p.layers {
                store_blob(store, m.digest.hex(), m)?;
            }
            let size = match driver.whiteout_style() {
                WhiteoutStyle::Delete => keys
                    .last()
                    .map_or(0, |k| fsutil::tree_size(&driver.layer_path(k))),
                WhiteoutStyle::Overlay => keys
                    .iter()
                    .map(|k| fsutil::tree_size(&driver.layer_path(k)))
                    .sum(),
            };
            let id = store.new_image_id(journal)?;
            store.write_image(&ImageRecord {
                id: id.0.clone(),
                source: p
                    .references
                    .first()
                    .cloned()
                    .unwrap_or_else(|| p.config_digest.to_string()),
                created: time::now(),
                driver: driver.name().into(),
                layers: keys,
                size,
                reference: p.references.first().cloned(),
                digest: None,
                blobs,
                config: config.image_config(),
                history: history(&p.config),
            })?;
            id
        }
    };
    for r in &p.references {
        store.tag(r, &id)?;
    }
    Ok(Loaded {
        id,
        config_digest: p.config_digest.clone(),
        references: p.references.clone(),
    })
}
