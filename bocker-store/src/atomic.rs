//! Atomic file replacement: write a temporary sibling, (fsync,) rename over the target.
//!
//! Every write is atomic: readers, a killed process or a full disk never see half a
//! file. `Durability::Durable` also survives power loss (fsync of the file and of the
//! directory); it is used for images, tags and everything that is not re-creatable.
//! Container state changes many times per container and is repaired by reclaim after a
//! crash, so the runtime's record writes skip the fsync (`Durability::CrashSafe`).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{IoContext, Result};

/// How hard a write insists on reaching the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Atomic and fsynced (file and directory): survives power loss.
    Durable,
    /// Atomic only: survives a killed process, not necessarily a power cut.
    CrashSafe,
}

/// Writes `data` to `path` so that readers see either the old or the new content,
/// never a mix, even if this process is killed or the disk fills up half-way; durably.
pub fn write(path: &Path, data: &[u8]) -> Result<()> {
    write_with(path, data, Durability::Durable)
}

/// `write` with a chosen durability.
pub fn write_with(path: &Path, data: &[u8], durability: Durability) -> Result<()> {
    let durable = durability == Durability::Durable;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.tmp",
        crate::id::random(crate::id::Kind::Image)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .ctx("creating", &tmp)?;
        f.write_all(data).ctx("writing", &tmp)?;
        if durable {
            f.sync_data().ctx("syncing", &tmp)?;
        }
        fs::rename(&tmp, path).ctx("renaming into place", path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // Make the rename itself durable; a failure here does not undo the update.
    if durable {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Serialises `value` as pretty JSON and writes it atomically and durably.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write_json_with(path, value, Durability::Durable)
}

/// `write_json` with a chosen durability.
pub fn write_json_with<T: serde::Serialize>(
    path: &Path,
    value: &T,
    durability: Durability,
) -> Result<()> {
    let mut data =
        serde_json::to_vec_pretty(value).map_err(|e| crate::StoreError::CorruptRecord {
            path: path.to_path_buf(),
            source: e,
        })?;
    data.push(b'\n');
    write_with(path, &data, durability)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_safe_writes_are_atomic_replacements_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        write_with(&p, b"a", Durability::CrashSafe).unwrap();
        write_json_with(&p, &serde_json::json!({"k": 1}), Durability::CrashSafe).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "{\n  \"k\": 1\n}\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replaces_content_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rec.json");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary files left behind");
    }

    #[test]
    fn failure_leaves_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rec.json");
        write(&p, b"old").unwrap();
        // Renaming over a non-empty directory fails: the old file must survive untouched.
        let d = dir.path().join("adir");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x"), b"x").unwrap();
        assert!(write(&d, b"new").is_err());
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
