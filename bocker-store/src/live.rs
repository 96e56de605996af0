//! The live index: `live/<ps_id>`, one small JSON entry per container that may hold host
//! resources (a supervisor, a cgroup, a network attachment). The runtime writes the entry
//! before it creates any of them and removes it once all are released, so after a crash
//! (SIGKILL of `bocker run` at any instant) reclaim finds every leftover by reading only
//! these entries: never every record, never another store's resources.
//!
//! The store keeps the entries as data; what they name (processes, cgroups, leases) is
//! released by the runtime through the crates that own them.

use std::fs;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, StoreError};
use crate::id::{self, ContainerId, Kind};
use crate::store::Store;

/// What a start is about to make, written before it makes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveEntry {
    /// The supervisor's host pid and start time ([`crate::liveness::start_time`]): while
    /// that process lives, nobody else touches the container's resources.
    pub supervisor_pid: i32,
    pub supervisor_start: Option<u64>,
    /// The cgroup parent the container's group is created under (its group is
    /// `<cgroup_parent>/<ps_id>`); `None` before a group is planned.
    pub cgroup_parent: Option<String>,
    /// The bridge the container is (or is about to be) attached to, if any.
    pub bridge: Option<String>,
}

impl Store {
    fn live_dir(&self) -> PathBuf {
        self.root().join("live")
    }

    /// Temporaries of entry writes killed half-way (`.<ps_id>.<token>.tmp`, see
    /// [`crate::atomic`]): the collector removes them under the exclusive store lock.
    /// Entries are only ever written by a start under its journal and the shared lock,
    /// so no write is in progress then.
    pub(crate) fn sweep_live_temporaries(&self) -> Result<Vec<String>> {
        let dir = self.live_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("listing", &dir, e)),
        };
        let mut removed = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                fs::remove_file(e.path()).ctx("removing", &e.path())?;
                removed.push(format!("live/{name}"));
            }
        }
        Ok(removed)
    }

    /// Temporaries of entry writes whose writer is gone (`.<ps_id>.<token>.tmp` of a
    /// start killed half-way through [`Store::mark_live`]), swept without the store lock:
    /// a start writes its entry while it holds the container's start lock
    /// ([`Store::try_lock_container_start`]), so a temporary whose container's start lock
    /// is free (or whose container is gone) has no writer left. Run by [`Store::recover`]:
    /// a start of a created container has no journal that would call the collector.
    pub(crate) fn sweep_orphan_live_temporaries(&self) -> Vec<String> {
        let Ok(rd) = fs::read_dir(self.live_dir()) else {
            return Vec::new();
        };
        let mut removed = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix('.')
                .filter(|_| name.ends_with(".tmp"))
                .and_then(|rest| rest.split('.').next())
            else {
                continue;
            };
            let id = ContainerId(id.to_string());
            let orphan = match self.try_lock_container_start(&id) {
                Ok(Some(lock)) => Some(lock),
                Ok(None) => continue, // its start is at work
                Err(StoreError::NoSuchContainer(_)) => None,
                Err(_) => continue,
            };
            if fs::remove_file(e.path()).is_ok() {
                removed.push(format!("live/{name}"));
            }
            drop(orphan);
        }
        removed
    }

    /// Records (atomically, without fsync: a power cut kills every container anyway)
    /// that container `id` may hold what `entry` names. Called by a start under its
    /// journal and the store's shared lock (see [`Store::sweep_live_temporaries`]).
    pub fn mark_live(&self, id: &ContainerId, entry: &LiveEntry) -> Result<()> {
        let path = self.live_dir().join(&id.0);
        let write =
            || crate::atomic::write_json_with(&path, entry, crate::atomic::Durability::CrashSafe);
        match write() {
            // A store made before the index existed.
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                let dir = self.live_dir();
                fs::create_dir_all(&dir).ctx("creating", &dir)?;
                write()
            }
            other => other,
        }
    }

    /// The entry of container `id`, `None` if it has none.
    pub fn read_live(&self, id: &ContainerId) -> Result<Option<LiveEntry>> {
        let path = self.live_dir().join(&id.0);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::io("reading", &path, io::Error::other(e))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("reading", &path, e)),
        }
    }

    /// Drops `id` from the live index (missing is fine).
    pub fn unmark_live(&self, id: &ContainerId) -> Result<()> {
        let path = self.live_dir().join(&id.0);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(StoreError::io("unmarking", &path, e))
            }
            _ => Ok(()),
        }
    }

    /// Containers that may hold host resources, in no particular order.
    pub fn live_container_ids(&self) -> Result<Vec<ContainerId>> {
        let dir = self.live_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("listing", &dir, e)),
        };
        Ok(rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| id::is_valid(Kind::Container, n))
            .map(ContainerId)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_go() {
        let (_d, s) = crate::store::test_store();
        let id = ContainerId("ps_0123456789ab".into());
        assert_eq!(s.read_live(&id).unwrap(), None);
        let e = LiveEntry {
            supervisor_pid: 42,
            supervisor_start: Some(7),
            cgroup_parent: Some("bocker/st_0123456789ab".into()),
            bridge: Some("bocker0".into()),
        };
        s.mark_live(&id, &e).unwrap();
        assert_eq!(s.read_live(&id).unwrap(), Some(e));
        assert_eq!(s.live_container_ids().unwrap(), vec![id.clone()]);
        s.unmark_live(&id).unwrap();
        s.unmark_live(&id).unwrap();
        assert!(s.live_container_ids().unwrap().is_empty());
    }

    #[test]
    fn the_collector_removes_entry_writes_killed_half_way() {
        // `bocker run` SIGKILLed between creating the entry's temporary and renaming it
        // (tests/tests/run_leak.rs found one in 40 kills).
        let (d, s) = crate::store::test_store();
        let id = ContainerId("ps_0123456789ab".into());
        s.mark_live(&id, &LiveEntry::default()).unwrap();
        let tmp = d.path().join("live/.ps_0123456789ab.img_0123456789ab.tmp");
        fs::write(&tmp, b"").unwrap();
        assert!(s.gc().unwrap().ran);
        assert!(!tmp.exists(), "a dead write's temporary is left");
        assert!(s.read_live(&id).unwrap().is_some(), "a real entry went");
    }

    #[test]
    fn recover_removes_a_dead_starts_temporary_and_keeps_a_live_ones() {
        // A start of a created container has no journal: `recover` itself must find
        // the temporary of a start killed in `mark_live` (tests/tests/run_leak.rs).
        let (d, s) = crate::store::test_store();
        let busy = ContainerId("ps_00000000000b".into());
        fs::create_dir_all(s.container_dir(&busy)).unwrap();
        let held = s.try_lock_container_start(&busy).unwrap().unwrap();
        let live_tmp = d.path().join("live/.ps_00000000000b.img_0123456789ab.tmp");
        let dead_tmp = d.path().join("live/.ps_00000000000d.img_0123456789ab.tmp");
        fs::write(&live_tmp, b"").unwrap();
        fs::write(&dead_tmp, b"").unwrap();
        let r = s.recover().unwrap();
        assert!(!dead_tmp.exists(), "a dead start's temporary is left");
        assert!(live_tmp.exists(), "a start at work lost its temporary");
        assert_eq!(
            r.removed,
            vec!["live/.ps_00000000000d.img_0123456789ab.tmp"]
        );
        drop(held);
        s.recover().unwrap();
        assert!(!live_tmp.exists(), "the temporary outlived its start");
    }

    #[test]
    fn a_store_made_before_the_index_gets_one() {
        let (d, s) = crate::store::test_store();
        fs::remove_dir(d.path().join("live")).unwrap();
        let id = ContainerId("ps_0123456789ab".into());
        s.mark_live(&id, &LiveEntry::default()).unwrap();
        assert!(s.read_live(&id).unwrap().is_some());
    }
}
