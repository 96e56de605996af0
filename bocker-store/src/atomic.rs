//! Atomic file replacement: write a temporary sibling, (fsync,) rename over the target.
//!
//! Every write is atomic: readers, a killed process or a full disk never see half a
//! file. `Durability::Durable` also survives power loss (fsync of the file and of the
//! directory); it is used for images, tags and everything that is not re-creatable.
//! Container state changes many times per container and is repaired by reclaim after a
//! crash, so the runtime's record writes skip the fsync (`Durability::CrashSafe`).
//!
//! A crash-safe write that replaces a file swaps the two (`renameat2(RENAME_EXCHANGE)`),
//! then unlinks the temporary, which then holds the old content: a plain rename over an
//! existing file makes ext4 start writing the new file's data back at once
//! (`auto_da_alloc`, the "replace by rename" heuristic meant for durability), which on
//! a busy disk stalls the rename for milliseconds, twice per container start. Readers
//! still see the old or the new file, never a mix; a kill between the swap and the
//! unlink leaves a temporary beside the file (dot-named, `*.tmp`).

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
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
            fs::rename(&tmp, path).ctx("renaming into place", path)
        } else {
            replace(&tmp, path).ctx("renaming into place", path)
        }
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

/// Puts `tmp` in `path`'s place: swapped with an existing regular file `path` (then the
/// old content, now at `tmp`, is unlinked), else renamed (nothing there, something
/// other than a file, which the rename refuses as before, or a file system that cannot
/// swap; see the module doc).
fn replace(tmp: &Path, path: &Path) -> io::Result<()> {
    if !fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        return fs::rename(tmp, path);
    }
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (from, to) = (c(tmp)?, c(path)?);
    // SAFETY: two NUL-terminated paths alive for the call; no memory is handed over.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        // Only the old content is lost if this fails: a stray temporary, no harm.
        let _ = fs::remove_file(tmp);
        return Ok(());
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::ENOENT | libc::EINVAL | libc::ENOSYS) => fs::rename(tmp, path),
        _ => Err(io::Error::last_os_error()),
    }
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
        // A directory in the way is refused, never swapped aside.
        let d = dir.path().join("adir");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("x"), b"x").unwrap();
        assert!(write_with(&d, b"new", Durability::CrashSafe).is_err());
        assert_eq!(fs::read(d.join("x")).unwrap(), b"x");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
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
