//! `pull`: resolve a reference to an image manifest, bring its layers into the store
//! (in parallel, streaming, verified) and record the image.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use bocker_store::{fsutil, time, ImageId, ImageRecord, Journal, Store, StoreError, WhiteoutStyle};

use crate::auth;
use crate::digest::Digest;
use crate::layer::{self, BlobPlan, LayerError};
use crate::manifest::{self, ConfigFile, Descriptor, Document, ManifestError};
use crate::platform::Platform;
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::{Registry, RegistryError};

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

pub struct Options {
    pub insecure: bool,
    pub platform: Platform,
    /// Layers fetched at once (both cores busy decompressing while others download).
    pub jobs: usize,
}

/// The image a pull resolved to, before anything is written.
pub struct Resolved {
    pub digest: Digest,
    pub config_digest: Digest,
    pub config_size: i64,
    pub layers: Vec<Descriptor>,
}

pub struct Pulled {
    pub id: ImageId,
    /// Nothing changed since the last pull of this reference: the same image.
    pub unchanged: bool,
}

/// Fetch the manifest (through an index if needed) for `r`.
pub fn resolve(reg: &Registry, r: &Reference, platform: &Platform) -> Result<Resolved, PullError> {
    let (ct, body, digest) = reg.manifest(&r.manifest_selector())?;
    let (config, layers) = match Document::parse(&ct, &body)? {
        Document::Image { config, layers } => (config, layers),
        Document::Index { manifests } => {
            let chosen = manifest::choose_platform(&manifests, platform)?;
            let (ct, body, _) = reg.manifest(&chosen.digest.to_string())?;
            match Document::parse(&ct, &body)? {
                Document::Image { config, layers } => (config, layers),
                Document::Index { .. } => {
                    return Err(PullError::Other(format!(
                        "{}: an index inside an index",
                        chosen.digest
                    )))
                }
            }
        }
    };
    Ok(Resolved {
        digest,
        config_digest: config.digest,
        config_size: config.size,
        layers,
    })
}

/// Pull `r` into `store`.
pub fn pull(
    store: &Store,
    r: &Reference,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Pulled, PullError> {
    let creds = auth::credentials_for(&r.registry).map_err(PullError::Other)?;
    let reg = Registry::new(r, opts.insecure, creds)?;
    let res = resolve(&reg, r, &opts.platform)?;
    let reference = r.to_string();
    let driver = store.driver();

    let config_bytes = reg.blob_bytes(
        &res.config_digest,
        res.config_size,
        manifest::MAX_CONFIG_BYTES,
    )?;
    let config = ConfigFile::parse(&config_bytes, res.layers.len())?;
    let keys: Vec<String> = manifest::chain_ids(&config.rootfs.diff_ids)
        .iter()
        .map(|d| d.hex().to_string())
        .collect();

    if let Some(id) = unchanged(store, &reference, &res.digest, &keys) {
        // Docker 20.10's line before its `Status: Image is up to date for …` (main.rs).
        progress.note(&format!("Digest: {}", res.digest));
        return Ok(Pulled {
            id,
            unchanged: true,
        });
    }

    let _creating = store.lock_shared()?;
    let journal = Mutex::new(store.begin()?);
    store_blob(store, &res.config_digest, &config_bytes)?;

    let todo: Vec<usize> = (0..keys.len())
        .filter(|&i| !driver.layer_exists(&keys[i]))
        .collect();
    for (i, l) in res.layers.iter().enumerate() {
        if !todo.contains(&i) {
            progress.done(i, l.digest.short(), "Already exists");
        }
    }
    let job = LayerJobs {
        store,
        reg: &reg,
        res: &res,
        diff_ids: &config.rootfs.diff_ids,
        keys: &keys,
        journal: &journal,
        progress,
    };
    let new_bytes = match driver.whiteout_style() {
        WhiteoutStyle::Overlay => job.overlay(&todo, opts.jobs)?,
        WhiteoutStyle::Delete => job.snapshots(&todo, opts.jobs)?,
    };

    let mut journal = journal
        .into_inner()
        .map_err(|_| PullError::Other("a layer worker panicked".into()))?;
    let id = store.new_image_id(&mut journal)?;
    // The size of the layers' files as Docker counts it (the sum of the layers); only
    // layers that were already in the store need a walk.
    let size = match driver.whiteout_style() {
        _ if todo.len() == keys.len() => new_bytes,
        WhiteoutStyle::Delete => keys
            .last()
            .map_or(0, |k| fsutil::tree_size(&driver.layer_path(k))),
        WhiteoutStyle::Overlay => keys
            .iter()
            .map(|k| fsutil::tree_size(&driver.layer_path(k)))
            .sum(),
    };
    store.write_image(&ImageRecord {
        id: id.0.clone(),
        source: reference.clone(),
        created: time::now(),
        driver: driver.name().into(),
        layers: keys,
        size,
        reference: Some(reference.clone()),
        digest: Some(res.digest.to_string()),
        blobs: std::iter::once(&res.config_digest)
            .chain(res.layers.iter().map(|l| &l.digest))
            .map(|d| d.hex().to_string())
            .collect(),
        config: config.image_config(),
        history: Vec::new(),
    })?;
    store.tag(&reference, &id)?;
    journal.finish()?;
    Ok(Pulled {
        id,
        unchanged: false,
    })
}

/// An image already in the store with this manifest digest and these layers (one index
/// digest names an image per platform, so layers are compared too): first the one the
/// reference's tag names, else any other (then the tag is pointed at it).
fn unchanged(store: &Store, reference: &str, digest: &Digest, keys: &[String]) -> Option<ImageId> {
    let digest = digest.to_string();
    let same = |rec: &ImageRecord| {
        rec.digest.as_deref() == Some(digest.as_str())
            && rec.driver == store.driver().name()
            && rec.layers == keys
            && rec.layers.iter().all(|k| store.driver().layer_exists(k))
    };
    if let Some(id) = store.lookup_tag(reference) {
        if store.read_image(&id).is_ok_and(|r| same(&r)) {
            return Some(id);
        }
    }
    let rec = store.list_images().ok()?.into_iter().find(|r| same(r))?;
    let id = ImageId(rec.id);
    store.tag(reference, &id).ok()?;
    Some(id)
}

/// Keep a small verified blob (the config) in the blob store.
fn store_blob(store: &Store, d: &Digest, data: &[u8]) -> Result<(), PullError> {
    let path = store.blobs_dir().join(d.hex());
    if !path.exists() {
        bocker_store::atomic::write(&path, data)?;
    }
    Ok(())
}

/// A scratch name in the store's tmp dir (the store's GC empties it after a crash).
fn tmp_path(store: &Store, d: &Digest, i: usize) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    store.tmp_dir().join(format!(
        "blob-{}-{}-{i}-{nanos}",
        d.short(),
        std::process::id()
    ))
}

struct LayerJobs<'a> {
    store: &'a Store,
    reg: &'a Registry,
    res: &'a Resolved,
    diff_ids: &'a [Digest],
    keys: &'a [String],
    journal: &'a Mutex<Journal>,
    progress: &'a dyn Progress,
}

impl LayerJobs<'_> {
    fn plan(&self, i: usize) -> BlobPlan<'_> {
        let d = &self.res.layers[i].digest;
        BlobPlan {
            digest: d,
            path: self.store.blobs_dir().join(d.hex()),
            tmp: tmp_path(self.store, d, i),
            size: self.res.layers[i].size.max(0) as u64,
        }
    }

    fn stage(&self, parent: Option<&str>) -> Result<bocker_store::StagedLayer, PullError> {
        let mut j = self
            .journal
            .lock()
            .map_err(|_| PullError::Other("journal lock poisoned".into()))?;
        Ok(self.store.driver().create_layer(&mut j, parent)?)
    }

    /// Run `work` for each of `todo` on up to `jobs` threads, in order of `todo`;
    /// results arrive on the returned channel as they finish. Stops taking new work after
    /// the first error.
    fn parallel<T: Send>(
        &self,
        todo: &[usize],
        jobs: usize,
        work: impl Fn(usize) -> Result<T, PullError> + Sync,
        mut on_result: impl FnMut(usize, Result<T, PullError>) -> Result<(), PullError>,
    ) -> Result<(), PullError> {
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            for _ in 0..jobs.clamp(1, todo.len().max(1)) {
                let tx = tx.clone();
                let (next, failed, work) = (&next, &failed, &work);
                s.spawn(move || loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= todo.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = work(todo[n]);
                    if r.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    if tx.send((todo[n], r)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut first_err = None;
            // Every result is handed over, also after a failure, so finished work is cleaned.
            for (i, r) in rx {
                if let Err(e) = on_result(i, r) {
                    failed.store(true, Ordering::SeqCst);
                    first_err.get_or_insert(e);
                }
            }
            first_err.map_or(Ok(()), Err)
        })
    }

    /// Overlay: every layer is its own diff, so all are fetched and extracted at once;
    /// then, bottom up, hardlinks into lower layers are resolved and layers committed.
    fn overlay(&self, todo: &[usize], jobs: usize) -> Result<u64, PullError> {
        let driver = self.store.driver();
        let mut done: HashMap<usize, (bocker_store::StagedLayer, layer::LayerDone)> =
            HashMap::new();
        let r = self.parallel(
            todo,
            jobs,
            |i| {
                let staged = self.stage(None)?;
                let plan = self.plan(i);
                self.progress.start(i, plan.digest.short(), plan.size);
                match layer::fetch_and_extract(
                    self.reg,
                    &plan,
                    &self.diff_ids[i],
                    &staged.path,
                    WhiteoutStyle::Overlay,
                    i,
                    self.progress,
                ) {
                    Ok(d) => Ok((staged, d)),
                    Err(e) => {
                        let _ = fsutil::remove_path(&staged.path);
                        Err(e.into())
                    }
                }
            },
            |i, r| {
                done.insert(i, r?);
                Ok(())
            },
        );
        if let Err(e) = r {
            for (staged, _) in done.into_values() {
                let _ = fsutil::remove_path(&staged.path);
            }
            return Err(e);
        }
        let mut bytes = 0;
        for &i in todo {
            let Some((staged, d)) = done.remove(&i) else {
                continue;
            };
            let lowers: Vec<PathBuf> = (0..i)
                .rev()
                .map(|j| driver.layer_path(&self.keys[j]))
                .collect();
            if let Some(x) = d.extracted {
                bytes += x.file_bytes;
                if let Err(e) = x.finish(&lowers) {
                    let _ = fsutil::remove_path(&staged.path);
                    return Err(LayerError::Extract {
                        digest: self.res.layers[i].digest.clone(),
                        source: e,
                    }
                    .into());
                }
            }
            driver.commit_layer(staged, &self.keys[i])?;
            self.progress
                .done(i, self.res.layers[i].digest.short(), "Pull complete");
        }
        Ok(bytes)
    }

    /// btrfs: layer i is a snapshot of layer i-1, so extraction is in order; downloads of
    /// later layers run meanwhile.
    fn snapshots(&self, todo: &[usize], jobs: usize) -> Result<u64, PullError> {
        let driver = self.store.driver();
        let mut downloaded: HashMap<usize, ()> = HashMap::new();
        let mut pos = 0;
        let mut broken = false;
        let mut bytes = 0;
        self.parallel(
            todo,
            jobs,
            |i| {
                let plan = self.plan(i);
                self.progress.start(i, plan.digest.short(), plan.size);
                layer::download(self.reg, &plan, i, self.progress).map_err(PullError::from)
            },
            |i, r| {
                if broken {
                    return Ok(());
                }
                broken = r.is_err();
                r?;
                downloaded.insert(i, ());
                while pos < todo.len() && downloaded.contains_key(&todo[pos]) {
                    let i = todo[pos];
                    let parent = i.checked_sub(1).map(|p| self.keys[p].as_str());
                    let staged = self.stage(parent)?;
                    let plan = self.plan(i);
                    let silent = crate::progress::Lines::silent();
                    let r = layer::fetch_and_extract(
                        self.reg,
                        &plan,
                        &self.diff_ids[i],
                        &staged.path,
                        WhiteoutStyle::Delete,
                        i,
                        &silent,
                    )
                    .map_err(PullError::from)
                    .and_then(|d| {
                        let x = d
                            .extracted
                            .ok_or_else(|| PullError::Other("layer not extracted".into()))?;
                        bytes += x.file_bytes;
                        x.finish(&[]).map_err(|e| {
                            LayerError::Extract {
                                digest: plan.digest.clone(),
                                source: e,
                            }
                            .into()
                        })
                    });
                    if let Err(e) = r {
                        broken = true;
                        let _ = fsutil::remove_path(&staged.path);
                        return Err(e);
                    }
                    driver.commit_layer(staged, &self.keys[i])?;
                    self.progress.done(i, plan.digest.short(), "Pull complete");
                    pos += 1;
                }
                Ok(())
            },
        )?;
        Ok(bytes)
    }
}
