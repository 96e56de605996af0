//! An image of the store as OCI blobs: its config and one layer blob per layer.
//!
//! A layer that came from a registry or an archive (`pull`, `load`) is exported as the
//! very blob it came in, from `blobs/sha256/`: an image record made by those verbs lists
//! its config blob first and then one blob per layer, and the config's `diff_ids` give
//! the layers' chain ids, which are their keys. Any other layer (`init`, `commit`) is
//! written on demand by [`crate::diff`] into a scratch file, compressed as asked.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bocker_pull::decompress::Compression;
use bocker_pull::digest::Digest;
use bocker_pull::manifest::{chain_ids, ConfigFile, MAX_CONFIG_BYTES};
use bocker_pull::platform::Platform;
use bocker_store::{ImageRecord, Store, WhiteoutStyle};
use sha2::{Digest as _, Sha256};

use crate::diff::{self, Source};
use crate::ImageError;

/// One layer, ready to be written into an archive.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    /// Digest of the blob as stored (compressed or not).
    pub digest: Digest,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
    pub size: u64,
    pub compression: Compression,
    pub path: PathBuf,
    /// A scratch file this export made (removed with the [`Exported`]).
    pub scratch: bool,
}

impl LayerBlob {
    /// The OCI media type of the blob.
    pub fn media_type(&self) -> &'static str {
        media_type(self.compression)
    }
}

/// The OCI media type of a layer blob compressed with `comp`.
pub fn media_type(comp: Compression) -> &'static str {
    match comp {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// An image as blobs. Scratch files are removed when it is dropped.
#[derive(Debug)]
pub struct Exported {
    pub config: Vec<u8>,
    pub config_digest: Digest,
    pub layers: Vec<LayerBlob>,
}

impl Drop for Exported {
    fn drop(&mut self) {
        for l in self.layers.iter().filter(|l| l.scratch) {
            let _ = std::fs::remove_file(&l.path);
        }
    }
}

/// Layers of the store that have a stored blob: layer key -> (blob hex, diff id).
pub type KnownBlobs = HashMap<String, (String, Digest)>;

/// Read a stored config blob (bounded) and its diff ids, if `rec` lists its config blob
/// first and then one blob per layer for its first layers (`pull`, `load`), whose keys
/// are then their chain ids. The config describes either every layer of the image
/// (pulled, loaded, committed from such an image: `commit` writes its own config) or
/// only those with blobs (an image committed before `commit` wrote configs).
fn blob_config(store: &Store, rec: &ImageRecord) -> Option<(Vec<u8>, ConfigFile)> {
    let first = rec.blobs.first()?;
    let mut bytes = Vec::new();
    File::open(store.blobs_dir().join(first))
        .ok()?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return None;
    }
    let n = rec.blobs.len() - 1;
    if n > rec.layers.len() {
        return None;
    }
    let cfg = ConfigFile::parse(&bytes, rec.layers.len())
        .or_else(|_| ConfigFile::parse(&bytes, n))
        .ok()?;
    let chain = chain_ids(&cfg.rootfs.diff_ids);
    let keys_match = chain
        .iter()
        .zip(&rec.layers)
        .take(n)
        .all(|(c, k)| c.hex() == k);
    keys_match.then_some((bytes, cfg))
}

/// Every layer key of the store whose blob is stored (from the records of pulled and
/// loaded images).
pub fn known_blobs(store: &Store) -> Result<KnownBlobs, ImageError> {
    let mut map = KnownBlobs::new();
    for rec in store.list_images()? {
        let Some((_, cfg)) = blob_config(store, &rec) else {
            continue;
        };
        for (i, d) in cfg
            .rootfs
            .diff_ids
            .iter()
            .enumerate()
            .take(rec.blobs.len() - 1)
        {
            let blob = &rec.blobs[i + 1];
            if store.blobs_dir().join(blob).is_file() {
                map.insert(rec.layers[i].clone(), (blob.clone(), d.clone()));
            }
        }
    }
    Ok(map)
}

/// How one layer of an image becomes a blob.
#[derive(Debug, Clone)]
pub enum LayerPlan {
    /// The blob stored when the layer was pulled or loaded: sent as it is.
    Stored(LayerBlob),
    /// Written on demand from the store's layer `index` of the image (`init`,
    /// `commit`), see [`write_layer`]; `previous` is what its last export made, when
    /// recorded (the same layer exports to the same bytes).
    Diff {
        index: usize,
        previous: Option<LayerDigests>,
    },
}

/// The digests of an exported layer blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDigests {
    /// Digest of the blob as written (compressed or not).
    pub digest: Digest,
    pub size: u64,
    /// Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
}

/// The name of a compression in the store's export records.
fn compression_name(comp: Compression) -> &'static str {
    match comp {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// What layer `i` of `layers` last exported to with `comp`, if the store recorded it.
pub fn previous_export(
    store: &Store,
    layers: &[String],
    i: usize,
    comp: Compression,
) -> Option<LayerDigests> {
    let r = store.layer_digests(&layers[..=i], compression_name(comp))?;
    Some(LayerDigests {
        digest: Digest::parse(&r.digest).ok()?,
        size: r.size,
        diff_id: Digest::parse(&r.diff_id).ok()?,
    })
}

/// Record what layer `i` of `layers` exported to with `comp` (for the next push).
pub fn record_export(
    store: &Store,
    layers: &[String],
    i: usize,
    comp: Compression,
    d: &LayerDigests,
) -> Result<(), ImageError> {
    let r = bocker_store::layer_digests::LayerDigests {
        digest: d.digest.to_string(),
        size: d.size,
        diff_id: d.diff_id.to_string(),
    };
    Ok(store.record_layer_digests(&layers[..=i], compression_name(comp), &r)?)
}

/// How each layer of `rec` becomes a blob: its stored blob where there is one, else a
/// diff written with `comp` (with the digests of its last export when recorded).
pub fn plan(
    store: &Store,
    rec: &ImageRecord,
    known: &KnownBlobs,
    comp: Compression,
) -> Result<Vec<LayerPlan>, ImageError> {
    let mut out = Vec::new();
    for (i, key) in rec.layers.iter().enumerate() {
        out.push(match known.get(key) {
            Some((hex, diff_id)) => LayerPlan::Stored(stored_blob(store, hex, diff_id)?),
            None => LayerPlan::Diff {
                index: i,
                previous: previous_export(store, &rec.layers, i, comp),
            },
        });
    }
    Ok(out)
}

/// The stored blob `hex` (of a pulled or loaded layer) as a [`LayerBlob`].
fn stored_blob(store: &Store, hex: &str, diff_id: &Digest) -> Result<LayerBlob, ImageError> {
    let path = store.blobs_dir().join(hex);
    let mut head = [0u8; 4];
    let mut f = File::open(&path).map_err(ImageError::io(&path))?;
    let n = f.read(&mut head).map_err(ImageError::io(&path))?;
    Ok(LayerBlob {
        digest: Digest::parse(&format!("sha256:{hex}"))
            .map_err(|e| ImageError::Invalid(e.to_string()))?,
        diff_id: diff_id.clone(),
        size: f.metadata().map_err(ImageError::io(&path))?.len(),
        compression: Compression::sniff(&head[..n]),
        path,
        scratch: false,
    })
}

/// Export `rec`: stored blobs where there are, diffs (compressed with `comp`) written
/// to scratch files elsewhere.
pub fn export(
    store: &Store,
    rec: &ImageRecord,
    known: &KnownBlobs,
    comp: Compression,
) -> Result<Exported, ImageError> {
    let mut out = Exported {
        config: Vec::new(),
        config_digest: Digest::of(b""),
        layers: Vec::new(),
    };
    for p in plan(store, rec, known, comp)? {
        let layer = match p {
            LayerPlan::Stored(b) => b,
            LayerPlan::Diff { index, .. } => {
                let b = with_source(store, &rec.layers, index, |src, below| {
                    export_layer(src, comp, &store.tmp_dir(), below)
                })?;
                let d = LayerDigests {
                    digest: b.digest.clone(),
                    size: b.size,
                    diff_id: b.diff_id.clone(),
                };
                // Only a hint for the next push: not worth failing the export over.
                let _ = record_export(store, &rec.layers, index, comp, &d);
                b
            }
        };
        out.layers.push(layer);
    }
    let diff_ids: Vec<Digest> = out.layers.iter().map(|l| l.diff_id.clone()).collect();
    (out.config, out.config_digest) = image_config(store, rec, &diff_ids);
    Ok(out)
}

/// The config blob of `rec` whose layers have `diff_ids` (bottom first), and its
/// digest: the stored config when it describes exactly these layers (a commit's own
/// config names its diff's digest, which an export reproduces), else one made here.
pub fn image_config(store: &Store, rec: &ImageRecord, diff_ids: &[Digest]) -> (Vec<u8>, Digest) {
    let bytes = match blob_config(store, rec) {
        Some((bytes, cfg)) if cfg.rootfs.diff_ids == diff_ids => bytes,
        _ => config_json(rec, diff_ids),
    };
    let d = Digest::of(&bytes);
    (bytes, d)
}

/// Write layer `i` of `layers` (an image's layer keys, bottom first) into `out` as a
/// layer tar compressed with `comp`; returns `out` and the layer's diff id.
/// The same layer always gives the same bytes (see [`crate::diff`], [`crate::pgzip`]).
pub fn write_layer<W: Write>(
    store: &Store,
    layers: &[String],
    i: usize,
    comp: Compression,
    out: W,
) -> io::Result<(W, Digest)> {
    with_source(store, layers, i, |src, below| {
        write_compressed(src, comp, out, below)
    })
}

/// Call `f` with the diff source of layer `i` of `layers` and, for a layer above the
/// base, the layer directories below it (they decide the runtime's stubs).
fn with_source<R>(
    store: &Store,
    layers: &[String],
    i: usize,
    f: impl FnOnce(Source<'_>, Option<&[PathBuf]>) -> R,
) -> R {
    let driver = store.driver();
    let child = driver.layer_path(&layers[i]);
    let parent = (i > 0).then(|| driver.layer_path(&layers[i - 1]));
    let src = if driver.whiteout_style() == WhiteoutStyle::Delete {
        Source::Trees {
            parent: parent.as_deref(),
            child: &child,
        }
    } else {
        Source::Overlay(&child)
    };
    let below: Vec<PathBuf> = layers[..i].iter().map(|k| driver.layer_path(k)).collect();
    f(src, (i > 0).then_some(&below[..]))
}

/// The diff id (digest of the uncompressed layer tar) of layer `i` of `layers`, as
/// [`export`] would write it, computed without writing it anywhere.
/// Cost: the diff's walk and the hashing of its changed files.
pub fn layer_diff_id(store: &Store, layers: &[String], i: usize) -> Result<Digest, ImageError> {
    let tmp = store.tmp_dir();
    with_source(store, layers, i, |src, below| {
        let w = diff::write_layer(src, hashing(io::sink()), below).map_err(ImageError::io(&tmp))?;
        Ok(Digest::from_hasher(w.hash))
    })
}

/// Counts and hashes what is written through it.
struct HashWriter<W> {
    inner: W,
    hash: Sha256,
    n: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hashing<W: Write>(inner: W) -> HashWriter<W> {
    HashWriter {
        inner,
        hash: Sha256::new(),
        n: 0,
    }
}

/// Write one layer's tar, compressed with `comp`, into a scratch file in `tmp`.
pub fn export_layer(
    src: Source<'_>,
    comp: Compression,
    tmp: &Path,
    below: Option<&[PathBuf]>,
) -> Result<LayerBlob, ImageError> {
    let path = tmp.join(scratch_name("export"));
    let r = (|| {
        let file = hashing(BufWriter::with_capacity(1 << 20, File::create(&path)?));
        let (file, diff_id) = write_compressed(src, comp, file, below)?;
        let (digest, n) = (Digest::from_hasher(file.hash), file.n);
        file.inner.into_inner().map_err(|e| e.into_error())?;
        Ok((digest, n, diff_id))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&path);
    }
    let (digest, size, diff_id) = r.map_err(ImageError::io(&path))?;
    Ok(LayerBlob {
        digest,
        diff_id,
        size,
        compression: comp,
        path,
        scratch: true,
    })
}

/// The gzip level of exported layers. Measured on `scripts/bench/push.sh`'s mix
/// (docs/BENCHMARKS.md "Push"): zlib-rs level 2 costs about half the CPU of level 6
/// for about 2 % more bytes on compressible files (incompressible parts are stored
/// at any level, see `pgzip`).
pub const GZIP_LEVEL: u32 = 2;

/// The layer tar of `src`, compressed with `comp`, written into `out`; returns `out`
/// and the diff id (digest of the uncompressed tar).
fn write_compressed<W: Write>(
    src: Source<'_>,
    comp: Compression,
    out: W,
    below: Option<&[PathBuf]>,
) -> io::Result<(W, Digest)> {
    match comp {
        Compression::None => {
            let w = diff::write_layer(src, hashing(out), below)?;
            Ok((w.inner, Digest::from_hasher(w.hash)))
        }
        Compression::Gzip => {
            // On every core; no name, mtime 0, fixed blocks: the same tar always
            // compresses to the same bytes (see `pgzip`).
            let enc = crate::pgzip::ParGz::new(out, flate2::Compression::new(GZIP_LEVEL))?;
            let w = diff::write_layer(src, hashing(enc), below)?;
            Ok((w.inner.finish()?, Digest::from_hasher(w.hash)))
        }
        Compression::Zstd => {
            let enc = zstd::Encoder::new(out, 3)?;
            let w = diff::write_layer(src, hashing(enc), below)?;
            Ok((w.inner.finish()?, Digest::from_hasher(w.hash)))
        }
    }
}

/// A unique scratch file name (process id, time, counter).
pub fn scratch_name(what: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_nanos());
    format!(
        "{what}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An OCI image config (image-spec `config.md`) for an image made here: its record's
/// configuration, its layers' diff ids, and its history when that matches the layers.
pub fn config_json(rec: &ImageRecord, diff_ids: &[Digest]) -> Vec<u8> {
    use serde_json::{json, Value};
    let mut cfg = config_base(rec);
    let layers = diff_ids.len();
    let diff_ids: Vec<String> = diff_ids.iter().map(|d| d.to_string()).collect();
    cfg.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": diff_ids}),
    );
    // Tools check that non-empty history entries match the layers one to one: layers
    // older than the recorded history (an `init` base) get an empty entry each.
    let non_empty = rec.history.iter().filter(|h| !h.empty_layer).count();
    if !rec.history.is_empty() && non_empty <= layers {
        let mut h: Vec<Value> = vec![json!({}); layers - non_empty];
        for e in &rec.history {
            let mut v = json!(e);
            if e.created.is_empty() {
                if let Some(o) = v.as_object_mut() {
                    o.remove("created");
                }
            }
            h.push(v);
        }
        cfg.insert("history".into(), Value::Array(h));
    }
    serde_json::to_vec(&Value::Object(cfg)).unwrap_or_default()
}

/// The fields every image config made here starts with: this host's platform
/// (`architecture`, `variant`, `os`), the record's `created` and its `config` object.
pub fn config_base(rec: &ImageRecord) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let host = Platform::host();
    let mut cfg = serde_json::Map::new();
    cfg.insert("architecture".into(), json!(host.architecture));
    if let Some(v) = host.variant {
        cfg.insert("variant".into(), json!(v));
    }
    cfg.insert("os".into(), json!("linux"));
    cfg.insert("created".into(), json!(rec.created));
    cfg.insert("config".into(), run_config(&rec.config));
    cfg
}

/// The `config` object of an image config (Docker's container config names:
/// `Env`, `Entrypoint`, `Cmd`, `WorkingDir`, `User`, `Labels`, `ExposedPorts`,
/// `StopSignal`), with only the fields that are set.
pub fn run_config(c: &bocker_store::ImageConfig) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let mut run = Map::new();
    if !c.env.is_empty() {
        run.insert("Env".into(), json!(c.env));
    }
    if let Some(e) = &c.entrypoint {
        run.insert("Entrypoint".into(), json!(e));
    }
    if let Some(cmd) = &c.cmd {
        run.insert("Cmd".into(), json!(cmd));
    }
    if let Some(w) = &c.working_dir {
        run.insert("WorkingDir".into(), json!(w));
    }
    if let Some(u) = &c.user {
        run.insert("User".into(), json!(u));
    }
    if !c.labels.is_empty() {
        run.insert("Labels".into(), json!(c.labels));
    }
    if !c.exposed_ports.is_empty() {
        let ports: Map<String, Value> = c
            .exposed_ports
            .iter()
            .map(|p| (p.clone(), json!({})))
            .collect();
        run.insert("ExposedPorts".into(), Value::Object(ports));
    }
    if let Some(s) = &c.stop_signal {
        run.insert("StopSignal".into(), json!(s));
    }
    Value::Object(run)
}

/// The image `query` names and the reference to record for it: the tag when `query`
/// is one of the image's tags (`docker save alpine` records `alpine:latest`), none when
/// it is an id (Docker 20.10: `RepoTags` is null then).
pub fn select(store: &Store, query: &str) -> Result<(ImageRecord, Vec<String>), ImageError> {
    let id = store.resolve_image(query)?;
    let rec = store.read_image(&id)?;
    let tags = store.tags_of(&id)?;
    let refs = bocker_store::names::reference_candidates(query)
        .into_iter()
        .rev()
        .find(|c| tags.contains(c))
        .into_iter()
        .collect();
    Ok((rec, refs))
}
