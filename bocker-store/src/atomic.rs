//! Atomic file replacement: write a temporary sibling, fsync, rename over the target.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Writes `data` to `path` so that readers see either the old or the new content,
/// never a mix, even if this process is killed or the disk fills up half-way.
pub fn write(path: &Path, data: &[u8]) -> Result<()> {
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
        f.sync_data().ctx("syncing", &tmp)?;
        fs::rename(&tmp, path).ctx("renaming into place", path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // Make the rename itself durable; a failure here does not undo the update.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut data =
        serde_json::to_vec_pretty(value).map_err(|e| crate::StoreError::CorruptRecord {
            path: path.to_path_buf(),
            source: e,
        })?;
    data.push(b'\n');
    write(path, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

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
