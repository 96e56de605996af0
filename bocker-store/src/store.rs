//! The store root: its layout, its driver, its locks, and its records.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::driver::{self, SnapshotDriver};
use crate::error::{IoContext, Result, StoreError};
use crate::id::{self, ContainerId, ImageId, Kind};
use crate::lock::{Lock, Mode};
use crate::pending::Pending;
use crate::record::{ContainerRecord, ImageRecord};

/// Default store root.
pub const DEFAULT_ROOT: &str = "/var/bocker";

/// Sub-directories every store has.
const LAYOUT: &[&str] = &[
    "images",
    "containers",
    "layers",
    "blobs",
    "blobs/sha256",
    "names",
    "tags",
    "pending",
    "tmp",
];

/// An opened store.
pub struct Store {
    root: PathBuf,
    driver: Box<dyn SnapshotDriver>,
}

impl Store {
    /// Opens the store at `BOCKER_ROOT` (default `/var/bocker`), creating it on first use.
    pub fn open() -> Result<Store> {
        let root = std::env::var_os("BOCKER_ROOT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        let requested = std::env::var("BOCKER_DRIVER")
            .ok()
            .filter(|v| !v.is_empty());
        Store::open_at(&root, requested.as_deref())
    }

    /// Opens (creating if needed) the store at `root` with an optional requested driver.
    pub fn open_at(root: &Path, requested: Option<&str>) -> Result<Store> {
        let marker = root.join("driver");
        let name = match fs::read_to_string(&marker) {
            Ok(existing) => {
                let existing = existing.trim().to_string();
                if let Some(r) = requested {
                    if r != existing {
                        return Err(StoreError::DriverMismatch {
                            root: root.to_path_buf(),
                            existing,
                            requested: r.to_string(),
                        });
                    }
                }
                existing
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_layout(root, requested)?,
            Err(e) => return Err(StoreError::io("reading", &marker, e)),
        };
        let root = root.to_path_buf();
        let driver = driver::open(&root, &name)?;
        Ok(Store { root, driver })
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The snapshot driver.
    pub fn driver(&self) -> &dyn SnapshotDriver {
        self.driver.as_ref()
    }

    /// Where verified blobs live: `<root>/blobs/sha256/<hex>`.
    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }

    /// Scratch space on the store's filesystem (for atomic renames into the store).
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Directory of image `id`.
    pub fn image_dir(&self, id: &ImageId) -> PathBuf {
        self.root.join("images").join(&id.0)
    }

    /// Directory of container `id`.
    pub fn container_dir(&self, id: &ContainerId) -> PathBuf {
        self.root.join("containers").join(&id.0)
    }

    /// Path of the store lock.
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.root.join("store.lock")
    }

    /// Held while creating images, containers or layers; creators do not block each other.
    pub fn lock_shared(&self) -> Result<Lock> {
        Lock::acquire(&self.lock_path(), Mode::Shared)
    }

    /// Held while deleting shared things (layers); waits for every creator to finish.
    pub fn lock_exclusive(&self) -> Result<Lock> {
        Lock::acquire(&self.lock_path(), Mode::Exclusive)
    }

    /// Starts a journal of what this mutation creates (undone if the process dies).
    pub fn begin(&self) -> Result<Pending> {
        Pending::begin(&self.root)
    }

    /// Reserves a fresh image id (exclusive mkdir), registered in `p`.
    pub fn new_image_id(&self, p: &mut Pending) -> Result<ImageId> {
        self.reserve(Kind::Image, p).map(ImageId)
    }

    /// Reserves a fresh container id (exclusive mkdir), registered in `p`.
    pub fn new_container_id(&self, p: &mut Pending) -> Result<ContainerId> {
        self.reserve(Kind::Container, p).map(ContainerId)
    }

    fn reserve(&self, kind: Kind, p: &mut Pending) -> Result<String> {
        let parent = self.root.join(match kind {
            Kind::Image => "images",
            Kind::Container => "containers",
        });
        loop {
            let id = id::random(kind);
            let dir = parent.join(&id);
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    p.add(&dir)?;
                    return Ok(id);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io("reserving id", &dir, e)),
            }
        }
    }

    /// Writes (atomically) the record of an image; the image is visible from now on.
    pub fn write_image(&self, rec: &ImageRecord) -> Result<()> {
        crate::atomic::write_json(
            &self.image_dir(&ImageId(rec.id.clone())).join("image.json"),
            rec,
        )
    }

    /// Reads an image record.
    pub fn read_image(&self, id: &ImageId) -> Result<ImageRecord> {
        read_json(&self.image_dir(id).join("image.json"))
            .map_err(|e| not_found(e, || StoreError::NoSuchImage(id.0.clone())))
    }

    /// Writes (atomically) a container record.
    pub fn write_container(&self, rec: &ContainerRecord) -> Result<()> {
        crate::atomic::write_json(
            &self
                .container_dir(&ContainerId(rec.id.clone()))
                .join("container.json"),
            rec,
        )
    }

    /// Reads a container record.
    pub fn read_container(&self, id: &ContainerId) -> Result<ContainerRecord> {
        read_json(&self.container_dir(id).join("container.json"))
            .map_err(|e| not_found(e, || StoreError::NoSuchContainer(id.0.clone())))
    }

    /// Read-modify-write of a container record under the record's own lock.
    pub fn update_container<F>(&self, id: &ContainerId, f: F) -> Result<ContainerRecord>
    where
        F: FnOnce(&mut ContainerRecord),
    {
        let _l = Lock::acquire(&self.container_dir(id).join("lock"), Mode::Exclusive)?;
        let mut rec = self.read_container(id)?;
        f(&mut rec);
        self.write_container(&rec)?;
        Ok(rec)
    }

    /// Ids of complete images (a record exists), sorted.
    pub fn image_ids(&self) -> Result<Vec<ImageId>> {
        Ok(self
            .complete_ids("images", Kind::Image, "image.json")?
            .into_iter()
            .map(ImageId)
            .collect())
    }

    /// Ids of complete containers (a record exists), sorted.
    pub fn container_ids(&self) -> Result<Vec<ContainerId>> {
        Ok(self
            .complete_ids("containers", Kind::Container, "container.json")?
            .into_iter()
            .map(ContainerId)
            .collect())
    }

    fn complete_ids(&self, dir: &str, kind: Kind, record: &str) -> Result<Vec<String>> {
        let parent = self.root.join(dir);
        let mut ids = Vec::new();
        for e in fs::read_dir(&parent).ctx("listing", &parent)? {
            let e = e.ctx("listing", &parent)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if id::is_valid(kind, &name) && e.path().join(record).exists() {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// All image records, oldest first.
    pub fn list_images(&self) -> Result<Vec<ImageRecord>> {
        let mut out = Vec::new();
        for id in self.image_ids()? {
            match self.read_image(&id) {
                Ok(r) => out.push(r),
                Err(StoreError::NoSuchImage(_)) => {} // removed meanwhile
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(out)
    }

    /// All container records, oldest first.
    pub fn list_containers(&self) -> Result<Vec<ContainerRecord>> {
        let mut out = Vec::new();
        for id in self.container_ids()? {
            match self.read_container(&id) {
                Ok(r) => out.push(r),
                Err(StoreError::NoSuchContainer(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(out)
    }

    /// Removes image `id`'s record (the image disappears at once) and its directory.
    /// Layers are left to `gc`, which may only run when no creator holds the lock.
    pub fn remove_image_record(&self, id: &ImageId) -> Result<()> {
        let dir = self.image_dir(id);
        let gone = self.tmp_dir().join(format!("rmi-{}", id.0));
        fs::rename(&dir, &gone)
            .or_else(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .ctx("removing", &dir)?;
        for t in self.tags_of(id)? {
            self.untag(&t)?;
        }
        crate::fsutil::remove_path(&gone)
    }

    /// Removes container `id`'s storage, name and record.
    pub fn remove_container_record(&self, id: &ContainerId) -> Result<()> {
        let dir = self.container_dir(id);
        let rec = self.read_container(id).ok();
        // The record goes first so nobody sees a container without storage.
        let gone = self.tmp_dir().join(format!("rm-{}", id.0));
        fs::rename(&dir, &gone)
            .or_else(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .ctx("removing", &dir)?;
        if let Some(name) = rec.as_ref().and_then(|r| r.name.as_deref()) {
            self.release_name(name, id)?;
        }
        self.driver.remove_container(&gone)?;
        crate::fsutil::remove_path(&gone)
    }
}

fn create_layout(root: &Path, requested: Option<&str>) -> Result<String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .ctx("creating store", root)?;
    // The store holds every container's files: never readable by other host users.
    fs::set_permissions(root, fs::Permissions::from_mode(0o700)).ctx("securing", root)?;
    for d in LAYOUT {
        let p = root.join(d);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&p)
            .ctx("creating", &p)?;
    }
    let name = match requested {
        Some(r) => r.to_string(),
        None => driver::select(root, None)?.name().to_string(),
    };
    driver::probe(root, &name)?;
    // Two first uses racing both write the same answer; the rename makes it atomic.
    crate::atomic::write(&root.join("driver"), format!("{name}\n").as_bytes())?;
    Ok(name)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let data = fs::read(path).ctx("reading", path)?;
    serde_json::from_slice(&data).map_err(|source| StoreError::CorruptRecord {
        path: path.to_path_buf(),
        source,
    })
}

fn not_found(e: StoreError, f: impl FnOnce() -> StoreError) -> StoreError {
    match e {
        StoreError::Io { ref source, .. } if source.kind() == io::ErrorKind::NotFound => f(),
        other => other,
    }
}
