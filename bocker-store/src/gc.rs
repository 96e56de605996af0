//! Garbage collection: undo what dead commands left half-done, drop unreferenced layers.
//!
//! Creators hold the store lock shared for as long as they create; the collector runs
//! only when it can take it exclusively without waiting, so everything incomplete it
//! finds belongs to a dead process.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::id::{self, ContainerId, Kind};
use crate::lock::{Lock, Mode};
use crate::store::Store;

/// What a collection did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// False when a creator was busy and nothing was collected.
    pub ran: bool,
    pub journals_undone: usize,
    pub removed: Vec<String>,
}

impl Store {
    /// Cheap check run by mutating verbs at start: collects only if a journal is left.
    pub fn recover(&self) -> Result<GcReport> {
        let swept = self.sweep_orphan_live_temporaries();
        let pending = self.root().join("pending");
        let any = fs::read_dir(&pending)
            .ctx("listing", &pending)?
            .flatten()
            .next()
            .is_some();
        if !any {
            return Ok(GcReport {
                removed: swept,
                ..GcReport::default()
            });
        }
        let mut r = self.gc()?;
        r.removed.extend(swept);
        Ok(r)
    }

    /// Full collection if no creator is active right now; never waits.
    pub fn gc(&self) -> Result<GcReport> {
        let Some(_x) = Lock::try_acquire(&self.lock_path(), Mode::Exclusive)? else {
            return Ok(GcReport::default());
        };
        let mut r = GcReport {
            ran: true,
            journals_undone: crate::journal::undo_dead(self.root())?,
            removed: Vec::new(),
        };
        self.sweep_incomplete("images", Kind::Image, "image.json", &mut r)?;
        self.sweep_incomplete("containers", Kind::Container, "container.json", &mut r)?;
        self.sweep_dir_entries(&self.tmp_dir(), |_| true, &mut r)?;
        r.removed.extend(self.sweep_live_temporaries()?);
        self.sweep_layers(&mut r)?;
        self.sweep_names(&mut r)?;
        Ok(r)
    }

    fn sweep_incomplete(
        &self,
        dir: &str,
        kind: Kind,
        record: &str,
        r: &mut GcReport,
    ) -> Result<()> {
        let parent = self.root().join(dir);
        for e in fs::read_dir(&parent).ctx("listing", &parent)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if id::is_valid(kind, &name) && !e.path().join(record).exists() {
                if kind == Kind::Container {
                    self.driver().remove_container(&e.path())?;
                }
                crate::fsutil::remove_path(&e.path())?;
                r.removed.push(format!("{dir}/{name}"));
            }
        }
        Ok(())
    }

    fn sweep_dir_entries(
        &self,
        dir: &Path,
        doomed: impl Fn(&str) -> bool,
        r: &mut GcReport,
    ) -> Result<()> {
        for e in fs::read_dir(dir).ctx("listing", dir)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if doomed(&name) {
                crate::fsutil::remove_path(&e.path())?;
                r.removed.push(e.path().display().to_string());
            }
        }
        Ok(())
    }

    /// Layers no image or container lists, and blobs no image lists.
    fn sweep_layers(&self, r: &mut GcReport) -> Result<()> {
        let mut used: HashSet<String> = HashSet::new();
        let mut blobs: HashSet<String> = HashSet::new();
        for img in self.list_images()? {
            used.extend(img.layers);
            blobs.extend(img.blobs);
        }
        for ctr in self.list_containers()? {
            used.extend(ctr.layers);
        }
        let layers = self.root().join("layers");
        self.sweep_dir_entries(&layers, |name| !used.contains(name), r)?;
        self.sweep_dir_entries(&self.blobs_dir(), |name| !blobs.contains(name), r)?;
        // Export records (`<key>.<compression>`) of layers that are gone; anything else
        // there (a record being written) is left alone.
        let digests = self.root().join("layer-digests");
        if digests.is_dir() {
            let gone = |name: &str| {
                name.rsplit_once('.').is_some_and(|(key, _)| {
                    crate::driver::is_valid_layer_key(key) && !used.contains(key)
                })
            };
            self.sweep_dir_entries(&digests, gone, r)?;
        }
        Ok(())
    }

    fn sweep_names(&self, r: &mut GcReport) -> Result<()> {
        let names = self.root().join("names");
        for e in fs::read_dir(&names).ctx("listing", &names)?.flatten() {
            if e.file_name().to_string_lossy().starts_with('.') {
                continue; // the names lock, never a name
            }
            let owner = fs::read_to_string(e.path()).unwrap_or_default();
            if !self
                .container_dir(&ContainerId(owner))
                .join("container.json")
                .exists()
            {
                let _ = fs::remove_file(e.path());
                r.removed.push(e.path().display().to_string());
            }
        }
        for (reference, owner) in self.all_tags()? {
            if !self.image_dir(&owner).join("image.json").exists()
                && id::is_valid(Kind::Image, &owner.0)
            {
                self.untag(&reference)?;
                r.removed.push(format!("tag {reference}"));
            }
        }
        // Tags whose content is not even an id are corrupt: drop them too.
        for (reference, owner) in self.all_tags()? {
            if !id::is_valid(Kind::Image, &owner.0) {
                self.untag(&reference)?;
            }
        }
        Ok(())
    }
}
