//! The index of supervised containers: `live/<ps_id>`, one empty file per container whose
//! record says it has a supervisor and has not exited. `write_container` keeps it in step
//! with the records (the marker exists before a live record is written and goes after an
//! exited one is), so reclaim after a crash reads a handful of records, not all of them.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::error::{IoContext, Result, StoreError};
use crate::id::{self, ContainerId, Kind};
use crate::record::{ContainerRecord, Status};
use crate::store::Store;

/// True when `rec` belongs in the live index.
pub fn is_live(rec: &ContainerRecord) -> bool {
    rec.state.status != Status::Exited && rec.state.supervisor_pid.is_some()
}

impl Store {
    fn live_dir(&self) -> PathBuf {
        self.root().join("live")
    }

    pub(crate) fn mark_live(&self, id: &ContainerId) -> Result<()> {
        let dir = self.live_dir();
        let path = dir.join(&id.0);
        let open = || {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
        };
        match open() {
            Ok(_) => Ok(()),
            // A store made before the index existed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&dir).ctx("creating", &dir)?;
                open().map(drop).ctx("marking live", &path)
            }
            Err(e) => Err(StoreError::io("marking live", &path, e)),
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

    /// Containers that have (or had, if it died) a supervisor and have not exited.
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
    use crate::record::{ContainerConfig, ContainerState};

    #[test]
    fn the_index_follows_the_records() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open_at(d.path(), None).unwrap();
        let mut p = s.begin().unwrap();
        let id = s.new_container_id(&mut p).unwrap();
        let mut rec = ContainerRecord {
            id: id.0.clone(),
            name: None,
            image: "img_0123456789ab".into(),
            image_ref: String::new(),
            command: vec!["true".into()],
            created: crate::time::now(),
            driver: "overlay".into(),
            layers: vec![],
            rootfs: String::new(),
            config: ContainerConfig::default(),
            state: ContainerState::default(),
        };
        s.write_container(&rec).unwrap();
        p.finish().unwrap();
        assert!(
            s.live_container_ids().unwrap().is_empty(),
            "no supervisor: not live"
        );
        rec.state.supervisor_pid = Some(1);
        s.write_container(&rec).unwrap();
        rec.state.status = Status::Running;
        s.write_container(&rec).unwrap();
        assert_eq!(s.live_container_ids().unwrap(), vec![id.clone()]);
        rec.state.status = Status::Exited;
        s.write_container(&rec).unwrap();
        assert!(
            s.live_container_ids().unwrap().is_empty(),
            "exited: unmarked"
        );
        rec.state.status = Status::Running;
        s.write_container(&rec).unwrap();
        s.remove_container_record(&id).unwrap();
        assert!(
            s.live_container_ids().unwrap().is_empty(),
            "removed: unmarked"
        );
    }
}
