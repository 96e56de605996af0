//! The store root: its layout, its driver, its locks, and its records.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::driver::{self, SnapshotDriver};
use crate::error::{IoContext, Result, StoreError};
use crate::id::{self, ContainerId, ImageId, Kind};
use crate::journal::Journal;
use crate::lock::{Lock, Mode};
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
    "live",
    "tmp",
    "volumes",
];

/// `<root>/id`: the store's id (see [`Store::id`]).
const STORE_ID_FILE: &str = "id";

/// `st_` and 12 lowercase hex digits.
fn is_store_id(s: &str) -> bool {
    s.strip_prefix("st_").is_some_and(|h| {
        h.len() == 12
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// An opened store.
pub struct Store {
    root: PathBuf,
    driver: Box<dyn SnapshotDriver>,
    /// The store id once read (see [`Store::id`]).
    id: std::sync::OnceLock<String>,
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
        // Paths derived from the root end up in records and in other processes (a
        // relative BOCKER_ROOT would mean something else from another directory).
        let root = &std::path::absolute(root).ctx("resolving the store root", root)?;
        crate::fsutil::check_root_safe(root)?;
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
        Ok(Store {
            root,
            driver,
            id: std::sync::OnceLock::new(),
        })
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This store's id (`st_<12 hex>`, kept in `<root>/id`, made on first use): host-wide
    /// names of what the store's containers hold (their cgroups) carry it, so two stores
    /// on one host never see or touch each other's containers.
    pub fn id(&self) -> Result<String> {
        if let Some(id) = self.id.get() {
            return Ok(id.clone());
        }
        let id = self.read_id()?;
        Ok(self.id.get_or_init(|| id).clone())
    }

    fn read_id(&self) -> Result<String> {
        let path = self.root.join(STORE_ID_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let id = text.trim();
                if is_store_id(id) {
                    Ok(id.to_string())
                } else {
                    Err(StoreError::io(
                        "reading the store id",
                        &path,
                        io::Error::other(format!("{id:?} is not a store id")),
                    ))
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.make_id(&path),
            Err(e) => Err(StoreError::io("reading the store id", &path, e)),
        }
    }

    /// Publishes a fresh id with link(2) (never replaces): racing first uses agree.
    fn make_id(&self, path: &Path) -> Result<String> {
        let id = format!("st_{}", &id::random(Kind::Image)[4..]);
        let tmp = self.tmp_dir().join(format!(".id-{}", &id[3..]));
        crate::atomic::write_with(&tmp, id.as_bytes(), crate::atomic::Durability::Durable)?;
        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(id),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => self.read_id(),
            Err(e) => Err(StoreError::io("publishing the store id", path, e)),
        }
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
    pub fn begin(&self) -> Result<Journal> {
        Journal::begin(&self.root)
    }

    /// Reserves a fresh image id (exclusive mkdir), registered in `p`.
    pub fn new_image_id(&self, p: &mut Journal) -> Result<ImageId> {
        self.reserve(Kind::Image, p).map(ImageId)
    }

    /// Reserves a fresh container id (exclusive mkdir), registered in `p`.
    pub fn new_container_id(&self, p: &mut Journal) -> Result<ContainerId> {
        self.reserve(Kind::Container, p).map(ContainerId)
    }

    fn reserve(&self, kind: Kind, p: &mut Journal) -> Result<String> {
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
        let mut rec: ImageRecord = read_json(&self.image_dir(id).join("image.json"))
            .map_err(|e| not_found(e, || StoreError::NoSuchImage(id.0.clone())))?;
        // The reserved directory is the truth: a record never speaks for another id.
        rec.id.clone_from(&id.0);
        Ok(rec)
    }

    /// Writes (atomically) a container record.
    /// Atomic but not fsynced: container state is rewritten at every step of a start and
    /// repaired by reclaim after a crash; a power cut may only lose the latest state.
    pub fn write_container(&self, rec: &ContainerRecord) -> Result<()> {
        let id = ContainerId(rec.id.clone());
        crate::atomic::write_json_with(
            &self.container_dir(&id).join("container.json"),
            rec,
            crate::atomic::Durability::CrashSafe,
        )
    }

    /// Reads a container record.
    pub fn read_container(&self, id: &ContainerId) -> Result<ContainerRecord> {
        let mut rec: ContainerRecord = read_json(&self.container_dir(id).join("container.json"))
            .map_err(|e| not_found(e, || StoreError::NoSuchContainer(id.0.clone())))?;
        // The reserved directory is the truth: `rm -f` acts on this container's cgroups
        // (named by its id), never on those of an id a copied record names.
        rec.id.clone_from(&id.0);
        Ok(rec)
    }

    /// Writes (atomically, beside its record) what container `id` needs to be started
    /// again: the runtime's saved input (`bundle.json`, its shape the runtime's own). The
    /// store keeps it as data; `create` writes it before the record, so a record never
    /// lacks it.
    pub fn write_container_bundle<T: serde::Serialize>(
        &self,
        id: &ContainerId,
        bundle: &T,
    ) -> Result<()> {
        crate::atomic::write_json_with(
            &self.container_dir(id).join("bundle.json"),
            bundle,
            crate::atomic::Durability::CrashSafe,
        )
    }

    /// Reads what [`Store::write_container_bundle`] saved for container `id`.
    /// Errors: `NoSuchContainer` when it has none (removed, or made before bundles were
    /// saved), `CorruptRecord` when it does not parse as `T`.
    pub fn read_container_bundle<T: serde::de::DeserializeOwned>(
        &self,
        id: &ContainerId,
    ) -> Result<T> {
        read_json(&self.container_dir(id).join("bundle.json"))
            .map_err(|e| not_found(e, || StoreError::NoSuchContainer(id.0.clone())))
    }

    /// The lock between those waiting for container `id`'s exit (`Shared`: `wait`, held
    /// while it reads the record) and its removal (`Exclusive`: the `--rm` supervisor,
    /// which records the exit first and removes the record once no waiter is left), so a
    /// waiter that started before the exit always reads the code (Docker's `wait`).
    /// Errors: `NoSuchContainer` when the container is gone.
    pub fn lock_container_waiters(&self, id: &ContainerId, mode: Mode) -> Result<Lock> {
        Lock::acquire(&self.container_dir(id).join("wait.lock"), mode)
            .map_err(|e| not_found(e, || StoreError::NoSuchContainer(id.0.clone())))
    }

    /// Whether nobody waits for container `id`'s exit right now (no `wait` holds the
    /// waiters' lock, [`Store::lock_container_waiters`]): `Some` then, holding that
    /// lock exclusively if a wait ever made its file, so a wait that begins meanwhile
    /// blocks until it is dropped and then finds the container as it is then. `None`
    /// while a wait holds it: that one must read the exit. Errors: `NoSuchContainer`.
    pub fn unwatched_container(&self, id: &ContainerId) -> Result<Option<Unwatched>> {
        let path = self.container_dir(id).join("wait.lock");
        match Lock::try_acquire_existing(&path, Mode::Exclusive) {
            Ok(crate::lock::Attempt::Missing) if !self.container_dir(id).exists() => {
                Err(StoreError::NoSuchContainer(id.0.clone()))
            }
            Ok(crate::lock::Attempt::Missing) => Ok(Some(Unwatched { _lock: None })),
            Ok(crate::lock::Attempt::Held(l)) => Ok(Some(Unwatched { _lock: Some(l) })),
            Ok(crate::lock::Attempt::Busy) => Ok(None),
            Err(e) => Err(not_found(e, || StoreError::NoSuchContainer(id.0.clone()))),
        }
    }

    /// The lock of the one process that starts and supervises container `id`, held for
    /// the container's whole run (by its supervisor): a second start finds it taken.
    /// `Ok(None)` when taken; `NoSuchContainer` when the container is gone.
    pub fn try_lock_container_start(&self, id: &ContainerId) -> Result<Option<Lock>> {
        Lock::try_acquire(&self.container_dir(id).join("start.lock"), Mode::Exclusive)
            .map_err(|e| not_found(e, || StoreError::NoSuchContainer(id.0.clone())))
    }

    /// Read-modify-write of a container record under the record's own lock.
    pub fn update_container<F>(&self, id: &ContainerId, f: F) -> Result<ContainerRecord>
    where
        F: FnOnce(&mut ContainerRecord),
    {
        self.update_container_if(id, |r| {
            f(r);
            true
        })
    }

    /// [`Store::update_container`] that writes only when `f` says so (`true`); the
    /// record as `f` left it either way.
    pub fn update_container_if<F>(&self, id: &ContainerId, f: F) -> Result<ContainerRecord>
    where
        F: FnOnce(&mut ContainerRecord) -> bool,
    {
        let _l = Lock::acquire(&self.container_dir(id).join("lock"), Mode::Exclusive)?;
        let mut rec = self.read_container(id)?;
        if f(&mut rec) {
            self.write_container(&rec)?;
        }
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
        // Shared: the collector (which sweeps tmp/) must not race what we move there.
        let _removing = self.lock_shared()?;
        let dir = self.image_dir(id);
        let gone = self.graveyard("rmi", &id.0);
        match fs::rename(&dir, &gone) {
            Ok(()) => {}
            // Someone else removed it first: only one removal reports success.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NoSuchImage(id.0.clone()))
            }
            Err(e) => return Err(StoreError::io("removing", &dir, e)),
        }
        for t in self.tags_of(id)? {
            self.untag(&t)?;
        }
        crate::fsutil::remove_path(&gone)
    }

    /// Removes container `id`'s storage, name and record: data only. Its live entry
    /// (`live/<id>`) names host resources and is the runtime's to clear once they are
    /// released.
    pub fn remove_container_record(&self, id: &ContainerId) -> Result<()> {
        self.bury_container_record(id)?.delete(self)
    }

    /// [`Store::remove_container_record`] in two steps, so that a caller can answer
    /// before the slow one: the record and name go at once (no verb finds the
    /// container any more) and its directory moves to `tmp/`; [`Buried::delete`] then
    /// deletes its storage. If that never runs (we die first), the collector sweeps
    /// `tmp/` (`bocker system prune`), as it does for any removal cut short.
    pub fn bury_container_record(&self, id: &ContainerId) -> Result<Buried> {
        // Shared: the collector (which sweeps tmp/) must not race what we move there.
        let removing = self.lock_shared()?;
        let dir = self.container_dir(id);
        let rec = self.read_container(id).ok();
        // The record goes first so nobody sees a container without storage.
        let gone = self.graveyard("rm", &id.0);
        match fs::rename(&dir, &gone) {
            Ok(()) => {}
            // Someone else removed it first: only one removal reports success.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NoSuchContainer(id.0.clone()))
            }
            Err(e) => return Err(StoreError::io("removing", &dir, e)),
        }
        let buried = Buried {
            dir: gone,
            _removing: removing,
        };
        if let Some(name) = rec.as_ref().and_then(|r| r.name.as_deref()) {
            if let Err(e) = self.release_name(name, id) {
                // The record is gone already: its storage goes too before we report.
                let _ = buried.delete(self);
                return Err(e);
            }
        }
        Ok(buried)
    }

    /// A fresh path in tmp/ to move a doomed object to (unique: the same id may be
    /// removed again after a killed removal, as `commit` replaces images in place).
    fn graveyard(&self, what: &str, id: &str) -> PathBuf {
        let token = &id::random(Kind::Image)[4..];
        self.tmp_dir().join(format!("{what}-{id}-{token}"))
    }
}

/// Proof that nobody waits for a container's exit ([`Store::unwatched_container`]):
/// the waiters' lock, when it exists, held until this is dropped.
#[must_use = "waits that begin are held off only while this lives"]
pub struct Unwatched {
    _lock: Option<Lock>,
}

/// A removed container's directory, moved to `tmp/` ([`Store::bury_container_record`]),
/// whose storage is still to be deleted. It holds the store's shared lock from the
/// burial to [`Buried::delete`], so the collector (which sweeps `tmp/` under the
/// exclusive one) leaves the directory to its owner meanwhile; dropped without
/// `delete`, the lock goes and the collector sweeps it later.
#[must_use = "the storage stays in tmp/ until delete"]
pub struct Buried {
    dir: PathBuf,
    _removing: Lock,
}

impl Buried {
    /// Deletes the storage (the driver's part first: the overlay's mount, a btrfs
    /// subvolume), under the store's shared lock.
    pub fn delete(self, store: &Store) -> Result<()> {
        store.driver.remove_container(&self.dir)?;
        crate::fsutil::remove_path(&self.dir)
    }
}

fn create_layout(root: &Path, requested: Option<&str>) -> Result<String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .ctx("creating store", root)?;
    refuse_foreign_content(root)?;
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
    // Container directories spread over the filesystem's block groups: ext4 without a
    // journal slows down on inodes freed in the group they are made in (fsutil).
    crate::fsutil::mark_top_dir(&root.join("containers"))?;
    let name = match requested {
        Some(r) => r.to_string(),
        None => driver::select(root, None)?.name().to_string(),
    };
    {
        // A racing first use may already collect (it sweeps tmp/, where the probe runs).
        let _probing = Lock::acquire(&root.join("store.lock"), Mode::Shared)?;
        driver::probe(root, &name)?;
    }
    // Two first uses may race (and choose differently, one with BOCKER_DRIVER): the
    // first to publish wins and every other one adopts or refuses its choice.
    let winner = publish_driver(root, &name)?;
    if winner != name && requested.is_some() {
        return Err(StoreError::DriverMismatch {
            root: root.to_path_buf(),
            existing: winner,
            requested: name,
        });
    }
    Ok(winner)
}

/// A store is made in an empty directory (a fresh mount may hold `lost+found`) or
/// finishes one whose creation stopped half-way; never in a directory holding other
/// things (`BOCKER_ROOT=$HOME` must not chmod it 0700 and fill it with store dirs).
fn refuse_foreign_content(root: &Path) -> Result<()> {
    for e in fs::read_dir(root).ctx("listing", root)? {
        let name = e.ctx("listing", root)?.file_name();
        let name = name.to_string_lossy();
        let ours = LAYOUT.contains(&name.as_ref())
            || matches!(
                name.as_ref(),
                "store.lock" | "driver" | "lost+found" | STORE_ID_FILE
            )
            || name.starts_with(".driver.");
        if !ours {
            return Err(StoreError::io(
                "refusing to create a store in",
                root,
                io::Error::other(format!(
                    "the directory is not empty ('{name}') and holds no bocker store"
                )),
            ));
        }
    }
    Ok(())
}

/// Records `name` in `<root>/driver` unless a driver is recorded already (a link never
/// replaces); returns the recorded driver.
fn publish_driver(root: &Path, name: &str) -> Result<String> {
    let marker = root.join("driver");
    let tmp = root.join(format!(".driver.{}", &id::random(Kind::Image)[4..]));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            io::Write::write_all(&mut f, format!("{name}\n").as_bytes())?;
            f.sync_all()
        });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io("recording the driver in", &tmp, e));
    }
    let linked = fs::hard_link(&tmp, &marker);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(name.to_string()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(fs::read_to_string(&marker)
            .ctx("reading", &marker)?
            .trim()
            .to_string()),
        Err(e) => Err(StoreError::io("recording the driver in", &marker, e)),
    }
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

/// A store on a temporary directory for unit tests: the layout is made by hand and the
/// driver marker written, so no mount probe runs.
#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().unwrap();
    for l in LAYOUT {
        fs::create_dir_all(d.path().join(l)).unwrap();
    }
    fs::write(d.path().join("driver"), "overlay\n").unwrap();
    let s = Store::open_at(d.path(), None).unwrap();
    (d, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(s: &Store) -> ImageId {
        let mut p = s.begin().unwrap();
        let id = s.new_image_id(&mut p).unwrap();
        s.write_image(&ImageRecord {
            id: id.0.clone(),
            source: "test".into(),
            created: crate::time::now(),
            driver: "overlay".into(),
            layers: vec![],
            size: 0,
            reference: None,
            digest: None,
            blobs: vec![],
            config: Default::default(),
            history: vec![],
        })
        .unwrap();
        p.finish().unwrap();
        id
    }

    #[test]
    fn a_store_keeps_one_id_and_two_stores_differ() {
        let (_d, s) = test_store();
        let id = s.id().unwrap();
        assert!(is_store_id(&id), "{id}");
        assert_eq!(s.id().unwrap(), id, "the id changed between calls");
        let (_e, t) = test_store();
        assert_ne!(t.id().unwrap(), id, "two stores share an id");
        fs::write(s.root().join(STORE_ID_FILE), "../../etc").unwrap();
        let reopened = Store::open_at(s.root(), None).unwrap();
        assert!(
            reopened.id().is_err(),
            "a corrupt id was used in host-wide names"
        );
    }

    #[test]
    fn first_use_never_overwrites_a_driver_chosen_by_a_racing_process() {
        let d = tempfile::tempdir().unwrap();
        // Another process won the race and recorded btrfs while we were choosing.
        fs::write(d.path().join("driver"), "btrfs\n").unwrap();
        let got = create_layout(d.path(), None).unwrap();
        assert_eq!(
            got, "btrfs",
            "the auto choice must defer to the recorded one"
        );
        assert_eq!(
            fs::read_to_string(d.path().join("driver")).unwrap(),
            "btrfs\n"
        );
        match create_layout(d.path(), Some("overlay")) {
            Err(StoreError::DriverMismatch { .. }) => {}
            other => panic!("expected a driver mismatch, got {other:?}"),
        }
        assert_eq!(
            fs::read_to_string(d.path().join("driver")).unwrap(),
            "btrfs\n"
        );
    }

    #[test]
    fn a_store_is_never_made_in_a_directory_holding_other_things() {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(d.path().join("notes.txt"), b"mine").unwrap();
        let err = Store::open_at(d.path(), Some("overlay"))
            .err()
            .expect("must refuse");
        assert!(err.to_string().contains("not empty"), "{err}");
        let mode = fs::metadata(d.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "a foreign directory was chmodded");
        assert!(!d.path().join("images").exists());
        // An empty directory (or a fresh filesystem with lost+found) is fine.
        let e = tempfile::tempdir().unwrap();
        fs::create_dir(e.path().join("lost+found")).unwrap();
        Store::open_at(e.path(), Some("overlay")).unwrap();
        assert_eq!(
            fs::read_to_string(e.path().join("driver")).unwrap(),
            "overlay\n"
        );
    }

    #[test]
    fn a_record_is_read_as_the_object_its_directory_names() {
        let (_d, s) = test_store();
        let id = image(&s);
        let other = image(&s);
        let copied = fs::read(s.image_dir(&other).join("image.json")).unwrap();
        fs::write(s.image_dir(&id).join("image.json"), copied).unwrap();
        assert_eq!(s.read_image(&id).unwrap().id, id.0);
        let ids: Vec<String> = s.list_images().unwrap().into_iter().map(|r| r.id).collect();
        assert!(ids.contains(&id.0) && ids.contains(&other.0), "{ids:?}");
    }

    #[test]
    fn of_two_removals_of_one_object_only_one_succeeds() {
        let (_d, s) = test_store();
        let id = image(&s);
        s.remove_image_record(&id).unwrap();
        assert!(matches!(
            s.remove_image_record(&id),
            Err(StoreError::NoSuchImage(_))
        ));
        let c = ContainerId("ps_0123456789ab".into());
        fs::create_dir_all(s.container_dir(&c)).unwrap();
        fs::write(s.container_dir(&c).join("container.json"), "{}").unwrap();
        s.remove_container_record(&c).unwrap();
        assert!(matches!(
            s.remove_container_record(&c),
            Err(StoreError::NoSuchContainer(_))
        ));
    }

    #[test]
    fn removing_an_image_survives_a_leftover_of_an_earlier_killed_removal() {
        let (_d, s) = test_store();
        let id = image(&s);
        // A previous rmi of this very id (commit replaces images in place) was killed.
        let old = s.tmp_dir().join(format!("rmi-{}", id.0));
        fs::create_dir_all(old.join("junk")).unwrap();
        s.remove_image_record(&id).unwrap();
        assert!(!s.image_dir(&id).exists());
    }

    #[test]
    fn removing_a_container_survives_a_leftover_of_an_earlier_killed_removal() {
        let (_d, s) = test_store();
        let id = ContainerId("ps_0123456789ab".into());
        fs::create_dir_all(s.container_dir(&id)).unwrap();
        fs::write(s.container_dir(&id).join("container.json"), "{}").unwrap();
        let old = s.tmp_dir().join(format!("rm-{}", id.0));
        fs::create_dir_all(old.join("junk")).unwrap();
        s.remove_container_record(&id).unwrap();
        assert!(!s.container_dir(&id).exists());
    }

    #[test]
    fn removals_hold_the_store_lock_against_the_collector() {
        let (_d, s) = test_store();
        let id = image(&s);
        // While a removal runs, the collector must not sweep tmp/ under its feet: the
        // removal holds the lock shared. Simulate "collector running" by holding it
        // exclusively: the removal must wait for it rather than race it.
        let x = s.lock_exclusive().unwrap();
        let root = s.root().to_path_buf();
        let id2 = id.clone();
        let t = std::thread::spawn(move || {
            let s = Store::open_at(&root, None).unwrap();
            s.remove_image_record(&id2).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            s.image_dir(&id).exists(),
            "removal ran while the collector held the store lock"
        );
        drop(x);
        t.join().unwrap();
        assert!(!s.image_dir(&id).exists());
    }
}
