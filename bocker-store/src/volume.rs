//! Named volumes: storage that outlives containers, kept under the store root as
//! Docker's `local` driver keeps it (`<root>/volumes/<name>/_data`, beside a record
//! `volume.json`). The store owns them as it owns container storage: records, data
//! directories and the rule that a volume some container names cannot be removed
//! (Docker 20.10: `remove NAME: volume is in use - [ID]`).
//!
//! A volume appears whole or not at all: it is made in `tmp/` (data directory and
//! record) and renamed into `volumes/` without replacing (`RENAME_NOREPLACE`), so two
//! creators of one name agree on one volume. Removal renames it back out of `volumes/`
//! first, then deletes its files.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, StoreError};
use crate::id::{self, Kind};
use crate::Store;

/// The directory under the store root that holds every volume.
pub const VOLUMES_DIR: &str = "volumes";
/// A volume's data directory inside its own (Docker's name).
pub const DATA_DIR: &str = "_data";
const RECORD: &str = "volume.json";

/// Why a volume verb was refused. Messages are Docker 20.10's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Docker 20.10: `get NAME: no such volume`.
    #[error("get {0}: no such volume")]
    NoSuchVolume(String),
    /// Docker 20.10: `remove NAME: volume is in use - [ID, …]`.
    #[error("remove {name}: volume is in use - [{}]", .users.join(", "))]
    InUse { name: String, users: Vec<String> },
    /// Docker 20.10's message for a name the local driver refuses.
    #[error("create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidName(String),
    /// Docker 20.10: one-character names are refused.
    #[error("create {0}: volume name is too short, names should be at least two alphanumeric characters")]
    TooShort(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A volume's record, as `docker volume inspect` shows it (`Name`, `Driver` "local",
/// `Mountpoint`, `CreatedAt`, `Labels`, `Scope` "local", `Options`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeRecord {
    pub name: String,
    /// RFC 3339 UTC, second precision.
    pub created_at: String,
    /// `volume create -l`; `None` when none were given (Docker shows `null`).
    pub labels: Option<BTreeMap<String, String>>,
    /// Made for a container (an image's `VOLUME`, `-v /path`), not named by a user:
    /// `rm -v` removes it with its container, `volume prune` without `-a` takes it.
    pub anonymous: bool,
}

impl VolumeRecord {
    /// Docker's `volume inspect` object; `mountpoint` is [`Store::volume_data`].
    pub fn docker_json(&self, mountpoint: &Path) -> serde_json::Value {
        serde_json::json!({
            "CreatedAt": self.created_at,
            "Driver": "local",
            "Labels": self.labels,
            "Mountpoint": mountpoint,
            "Name": self.name,
            "Options": null,
            "Scope": "local",
        })
    }

    /// `labels` as Docker's `{{.Labels}}` prints them: `k=v,k2=v2`.
    pub fn labels_text(&self) -> String {
        let labels = self.labels.iter().flatten();
        let pairs: Vec<String> = labels.map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join(",")
    }

    /// Docker's `label` filter: `key` (present) or `key=value`.
    pub fn has_label(&self, filter: &str) -> bool {
        let labels = self.labels.as_ref();
        match filter.split_once('=') {
            Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|x| x == v),
            None => labels.is_some_and(|l| l.contains_key(filter)),
        }
    }
}

/// Docker's local-driver rule for names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (two characters
/// at least).
pub fn check_name(name: &str) -> Result<(), VolumeError> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b"_.-".contains(&b);
    let bytes = name.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_alphanumeric() || !bytes.iter().all(|&b| ok(b)) {
        return Err(VolumeError::InvalidName(name.to_string()));
    }
    if bytes.len() < 2 {
        return Err(VolumeError::TooShort(name.to_string()));
    }
    Ok(())
}

/// A fresh anonymous volume name: 64 lowercase hex digits, as Docker's.
pub fn anonymous_name() -> String {
    let hex: String = (0..6)
        .map(|_| id::random(Kind::Image)[4..].to_string())
        .collect();
    hex[..64].to_string()
}

impl Store {
    /// `<root>/volumes`.
    pub fn volumes_dir(&self) -> PathBuf {
        self.root().join(VOLUMES_DIR)
    }

    /// Where volume `name`'s files are: `<root>/volumes/<name>/_data` (its Mountpoint).
    pub fn volume_data(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join(DATA_DIR)
    }

    /// Volume `name`'s record.
    pub fn read_volume(&self, name: &str) -> Result<VolumeRecord, VolumeError> {
        if check_name(name).is_err() {
            return Err(VolumeError::NoSuchVolume(name.to_string()));
        }
        let path = self.volumes_dir().join(name).join(RECORD);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| StoreError::CorruptRecord { path, source }.into()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(VolumeError::NoSuchVolume(name.to_string()))
            }
            Err(e) => Err(StoreError::io("reading", &path, e).into()),
        }
    }

    /// Every volume, by name.
    pub fn list_volumes(&self) -> Result<Vec<VolumeRecord>, VolumeError> {
        let dir = self.volumes_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("listing", &dir, e).into()),
        };
        let mut out = Vec::new();
        for e in entries {
            let name = e.ctx("listing", &dir)?.file_name();
            match self.read_volume(&name.to_string_lossy()) {
                Ok(v) => out.push(v),
                // Removed meanwhile.
                Err(VolumeError::NoSuchVolume(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Volume `name`, created when missing (`labels` apply to a new one only, as
    /// Docker's). Returns the record and whether this call made it.
    pub fn create_volume(
        &self,
        name: &str,
        labels: Option<BTreeMap<String, String>>,
        anonymous: bool,
    ) -> Result<(VolumeRecord, bool), VolumeError> {
        check_name(name)?;
        if let Ok(v) = self.read_volume(name) {
            return Ok((v, false));
        }
        let rec = VolumeRecord {
            name: name.to_string(),
            created_at: crate::time::now(),
            labels,
            anonymous,
        };
        let volumes = self.volumes_dir();
        let mk = |p: &Path, mode| fs::DirBuilder::new().recursive(true).mode(mode).create(p);
        mk(&volumes, 0o700).ctx("creating", &volumes)?;
        // Shared: the collector sweeps tmp/ only when nobody holds the lock.
        let _creating = self.lock_shared()?;
        let staged = self
            .tmp_dir()
            .join(format!("vol-{}", &id::random(Kind::Image)[4..]));
        let made = (|| {
            mk(&staged, 0o700).ctx("creating", &staged)?;
            // Docker's _data is 0755 root:root (an image's content copied in later
            // takes the mode of the directory it comes from).
            let data = staged.join(DATA_DIR);
            mk(&data, 0o755).ctx("creating", &data)?;
            crate::atomic::write_json(&staged.join(RECORD), &rec)?;
            publish(&staged, &volumes.join(name))
        })();
        match made {
            Ok(true) => Ok((rec, true)),
            Ok(false) => {
                // A racing creator won: theirs is the volume.
                let _ = crate::fsutil::remove_path(&staged);
                Ok((self.read_volume(name)?, false))
            }
            Err(e) => {
                let _ = crate::fsutil::remove_path(&staged);
                Err(e.into())
            }
        }
    }

    /// Ids of the containers whose records mount volume `name` (running or not: Docker
    /// refuses to remove a volume any container names).
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>, VolumeError> {
        Ok(self
            .list_containers()?
            .into_iter()
            .filter(|c| {
                c.config
                    .mounts
                    .iter()
                    .any(|m| m.volume_name() == Some(name))
            })
            .map(|c| c.id)
            .collect())
    }

    /// Removes volume `name` and its files; refused while a container names it.
    /// Returns the bytes its files took.
    pub fn remove_volume(&self, name: &str) -> Result<u64, VolumeError> {
        self.read_volume(name)?;
        let users = self.volume_users(name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                users,
            });
        }
        let _removing = self.lock_shared()?;
        let dir = self.volumes_dir().join(name);
        let size = crate::fsutil::tree_size(&dir.join(DATA_DIR));
        let gone = self
            .tmp_dir()
            .join(format!("rmvol-{}", &id::random(Kind::Image)[4..]));
        match fs::rename(&dir, &gone) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VolumeError::NoSuchVolume(name.to_string()))
            }
            Err(e) => return Err(StoreError::io("removing", &dir, e).into()),
        }
        crate::fsutil::remove_path(&gone)?;
        Ok(size)
    }
}

/// Renames `staged` to `target` unless `target` exists: true when it did.
fn publish(staged: &Path, target: &Path) -> Result<bool> {
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
            .map_err(|e| StoreError::io("naming", p, io::Error::other(e)))
    };
    let (from, to) = (c(staged)?, c(target)?);
    match bocker_sys::sys::rename_noreplace(libc::AT_FDCWD, &from, libc::AT_FDCWD, &to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(StoreError::io("publishing volume", target, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_local_drivers_rule() {
        for ok in ["ab", "my_vol.1-x", "0a"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        // Docker 20.10's words, for `docker volume create bad/name` and `q`.
        assert_eq!(
            check_name("bad/name").unwrap_err().to_string(),
            "create bad/name: \"bad/name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        );
        assert_eq!(
            check_name("q").unwrap_err().to_string(),
            "create q: volume name is too short, names should be at least two alphanumeric characters"
        );
        for bad in ["", "_a", ".x", "a b", "../x"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let anon = anonymous_name();
        assert_eq!(anon.len(), 64);
        assert!(check_name(&anon).is_ok());
    }

    #[test]
    fn labels_filter_as_docker() {
        let v = VolumeRecord {
            labels: Some(BTreeMap::from([("a".into(), "b".into())])),
            ..Default::default()
        };
        assert!(v.has_label("a") && v.has_label("a=b"));
        assert!(!v.has_label("a=c") && !v.has_label("z"));
        assert_eq!(v.labels_text(), "a=b");
        assert!(!VolumeRecord::default().has_label("a"));
    }
}
