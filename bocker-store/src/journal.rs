//! Journals: what a running mutation created, so a crash can be undone.
//!
//! `pending/<token>` lists paths (relative to the store root), one per line, and is
//! flocked by its owner for as long as the mutation runs. A journal whose lock can be
//! taken belongs to a dead process: the garbage collector removes what it lists.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, StoreError};
use crate::lock::{Lock, Mode};

/// A mutation in progress; see the module docs.
#[derive(Debug)]
pub struct Journal {
    lock: Lock,
    root: PathBuf,
    entries: Vec<PathBuf>,
    /// The process that began it: only it may undo on drop (not a forked child).
    owner: u32,
    done: bool,
}

impl Journal {
    /// Starts a journal under `<root>/pending`.
    pub(crate) fn begin(root: &Path) -> Result<Journal> {
        let dir = root.join("pending");
        loop {
            let token = crate::id::random(crate::id::Kind::Container);
            let tmp = dir.join(format!(".{token}.new"));
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC | libc::O_APPEND)
                .open(&tmp)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io("creating journal", &tmp, e)),
            };
            // Lock before the journal becomes visible under its real name, so the
            // collector can never mistake a live journal for a dead one.
            let path = dir.join(&token);
            let lock = Lock::from_file(file, path.clone(), Mode::Exclusive, false)
                .map_err(|e| StoreError::io("locking journal", &tmp, e))?;
            fs::rename(&tmp, &path).ctx("publishing journal", &path)?;
            return Ok(Journal {
                lock,
                root: root.to_path_buf(),
                entries: Vec::new(),
                owner: std::process::id(),
                done: false,
            });
        }
    }

    /// Registers `path` (inside the store root) to be removed if this process dies
    /// before `finish`.
    pub fn add(&mut self, path: &Path) -> Result<()> {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let mut line = rel.as_os_str().as_encoded_bytes().to_vec();
        line.push(b'\n');
        let mut f = self.lock.file();
        f.write_all(&line)
            .ctx("writing journal", self.lock.path())?;
        self.entries.push(path.to_path_buf());
        Ok(())
    }

    /// Paths registered so far.
    pub fn entries(&self) -> &[PathBuf] {
        &self.entries
    }

    /// The mutation completed: forget the journal.
    pub fn finish(mut self) -> Result<()> {
        // Complete whatever happens next: never undo on drop from here on.
        self.done = true;
        // Empty it first: a collector that opened it just before the unlink must find
        // nothing to undo once it gets the lock.
        self.lock
            .file()
            .set_len(0)
            .ctx("truncating journal", self.lock.path())?;
        fs::remove_file(self.lock.path()).ctx("removing journal", self.lock.path())?;
        Ok(())
    }
}

/// A mutation abandoned by an error in the process that began it is undone at once (in
/// reverse order), instead of leaving its half-made objects, and their disk space, to
/// the next collection. Anything that could not be removed stays journaled for it.
impl Drop for Journal {
    fn drop(&mut self) {
        if self.done || std::process::id() != self.owner {
            return;
        }
        let mut all_gone = true;
        for path in self.entries.iter().rev() {
            let Ok(rel) = path.strip_prefix(&self.root) else {
                continue;
            };
            if rel
                .components()
                .any(|c| c == std::path::Component::ParentDir)
                || is_complete(&self.root, rel)
            {
                continue;
            }
            all_gone &= crate::fsutil::remove_path(path).is_ok();
        }
        if all_gone {
            let _ = fs::remove_file(self.lock.path());
        }
    }
}

/// Undoes the journals of dead processes under `<root>/pending`; returns how many.
pub(crate) fn undo_dead(root: &Path) -> Result<usize> {
    let dir = root.join("pending");
    let mut undone = 0;
    let Ok(rd) = fs::read_dir(&dir) else {
        return Ok(0);
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let Ok(file) = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
        else {
            continue;
        };
        let Ok(lock) = Lock::from_file(file, path.clone(), Mode::Exclusive, true) else {
            continue; // owner alive
        };
        // Finished (unlinked) in the meantime: nothing to undo.
        if lock
            .file()
            .metadata()
            .map(|m| m.nlink() == 0)
            .unwrap_or(true)
        {
            continue;
        }
        let text = fs::read(&path).ctx("reading journal", &path)?;
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            // Any bytes are a valid Unix path; a corrupt journal cannot cause UB here.
            let rel = Path::new(std::ffi::OsStr::from_bytes(line));
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
            {
                continue; // never follow a journal out of the store
            }
            if is_complete(root, rel) {
                continue; // killed after its commit point: the object is whole, keep it
            }
            crate::fsutil::remove_path(&root.join(rel))?;
        }
        fs::remove_file(&path).ctx("removing journal", &path)?;
        undone += 1;
    }
    Ok(undone)
}

/// True when `rel` is (or lies inside) an image or container whose record exists, or is
/// the name of such a container: a record is the commit point of its object.
fn is_complete(root: &Path, rel: &Path) -> bool {
    use crate::id::{is_valid, Kind};
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    let (Some(dir), Some(id)) = (parts.next(), parts.next()) else {
        return false;
    };
    let record = |kind, id: &str, file| {
        is_valid(kind, id) && root.join(dir.as_ref()).join(id).join(file).exists()
    };
    match dir.as_ref() {
        "images" => record(Kind::Image, &id, "image.json"),
        "containers" => record(Kind::Container, &id, "container.json"),
        "names" => fs::read_to_string(root.join(rel)).is_ok_and(|owner| {
            is_valid(Kind::Container, &owner)
                && root
                    .join("containers")
                    .join(&owner)
                    .join("container.json")
                    .exists()
        }),
        _ => false,
    }
}

#[cfg(test)]
impl Journal {
    /// Lets the journal go as a killed process would: lock released, nothing undone.
    pub(crate) fn abandon(mut self) {
        self.owner = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_mutation_is_undone_at_once() {
        let r = root();
        let staged = r.path().join("layers/.tmp-x");
        fs::create_dir_all(staged.join("deep")).unwrap();
        fs::write(staged.join("deep/big"), b"x").unwrap();
        let mut p = Journal::begin(r.path()).unwrap();
        p.add(&staged).unwrap();
        drop(p); // an error path returned early
        assert!(
            !staged.exists(),
            "the failed mutation's layer is left behind"
        );
        assert_eq!(fs::read_dir(r.path().join("pending")).unwrap().count(), 0);
    }

    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("pending")).unwrap();
        d
    }

    #[test]
    fn live_journal_is_left_alone_and_finish_forgets() {
        let r = root();
        let victim = r.path().join("half");
        fs::create_dir(&victim).unwrap();
        let mut p = Journal::begin(r.path()).unwrap();
        p.add(&victim).unwrap();
        assert_eq!(undo_dead(r.path()).unwrap(), 0);
        assert!(victim.exists());
        p.finish().unwrap();
        assert_eq!(fs::read_dir(r.path().join("pending")).unwrap().count(), 0);
        assert!(victim.exists(), "finish must not remove what it registered");
    }

    #[test]
    fn dead_journal_is_undone() {
        let r = root();
        let victim = r.path().join("half");
        fs::create_dir_all(victim.join("deep")).unwrap();
        fs::write(victim.join("deep/f"), b"x").unwrap();
        let mut p = Journal::begin(r.path()).unwrap();
        p.add(&victim).unwrap();
        // Simulate death: release the lock without finishing or undoing.
        p.abandon();
        assert_eq!(undo_dead(r.path()).unwrap(), 1);
        assert!(!victim.exists());
        assert_eq!(fs::read_dir(r.path().join("pending")).unwrap().count(), 0);
    }

    #[test]
    fn journal_cannot_point_outside_the_store() {
        let r = root();
        let outside = tempfile::tempdir().unwrap();
        let canary = outside.path().join("canary");
        fs::write(&canary, b"keep").unwrap();
        fs::write(
            r.path().join("pending/evil"),
            format!("../{}\n{}\n", canary.display(), canary.display()),
        )
        .unwrap();
        undo_dead(r.path()).unwrap();
        assert!(canary.exists());
    }

    #[test]
    fn a_complete_object_is_never_undone() {
        let r = root();
        let img = r.path().join("images/img_0123456789ab");
        let ctr = r.path().join("containers/ps_0123456789ab");
        fs::create_dir_all(&img).unwrap();
        fs::create_dir_all(&ctr).unwrap();
        fs::create_dir_all(r.path().join("names")).unwrap();
        let name = r.path().join("names/web");
        let mut p = Journal::begin(r.path()).unwrap();
        p.add(&img).unwrap();
        p.add(&ctr).unwrap();
        p.add(&name).unwrap();
        // Killed after the records were written (the commit point), before `finish`.
        fs::write(img.join("image.json"), b"{}").unwrap();
        fs::write(ctr.join("container.json"), b"{}").unwrap();
        fs::write(&name, b"ps_0123456789ab").unwrap();
        p.abandon();
        assert_eq!(undo_dead(r.path()).unwrap(), 1);
        assert!(
            img.join("image.json").exists(),
            "a complete image was undone"
        );
        assert!(
            ctr.join("container.json").exists(),
            "a complete container was undone"
        );
        assert!(name.exists(), "the name of a complete container was undone");
    }
}
