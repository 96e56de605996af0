//! Human names: container names (`names/<name>`) and image references (`tags/<ref>`).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::error::{IoContext, Result, StoreError};
use crate::id::{self, ContainerId, ImageId, Kind};
use crate::journal::Journal;
use crate::lock::{Lock, Mode};
use crate::store::Store;

/// True for a valid container name, as Docker: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphanumeric())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        && name.len() <= 128
}

/// A reference as a single safe, visible file name (`/`, `%` and a leading `.` escaped,
/// so `..` or `.x` can never name the directory itself or look like a temporary file).
fn escape_ref(reference: &str) -> String {
    let e = reference.replace('%', "%25").replace('/', "%2F");
    match e.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => e,
    }
}

fn unescape_ref(file: &str) -> String {
    let file = match file.strip_prefix("%2E") {
        Some(rest) => format!(".{rest}"),
        None => file.to_string(),
    };
    file.replace("%2F", "/").replace("%25", "%")
}

/// The forms an image reference may be stored under, most specific first, so `alpine`
/// finds `docker.io/library/alpine:latest`.
pub fn reference_candidates(q: &str) -> Vec<String> {
    let last = q.rsplit('/').next().unwrap_or(q);
    let tagged = last.contains(':') || q.contains('@');
    let with_tag = if tagged {
        q.to_string()
    } else {
        format!("{q}:latest")
    };
    let mut out = vec![q.to_string()];
    if !tagged {
        out.push(with_tag.clone());
    }
    let first = q.split('/').next().unwrap_or("");
    let has_registry =
        q.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !has_registry {
        if q.contains('/') {
            out.push(format!("docker.io/{with_tag}"));
        } else {
            out.push(format!("docker.io/library/{with_tag}"));
        }
    }
    out
}

impl Store {
    fn name_path(&self, name: &str) -> PathBuf {
        self.root().join("names").join(name)
    }

    fn tag_path(&self, reference: &str) -> PathBuf {
        self.root().join("tags").join(escape_ref(reference))
    }

    /// Serialises claims and releases of names: taking over a stale name is a
    /// read-check-replace that two claimers must not interleave.
    fn lock_names(&self) -> Result<Lock> {
        Lock::acquire(&self.root().join("names").join(".lock"), Mode::Exclusive)
    }

    /// Claims container name `name` for `id` (exclusive create); registered in `p`.
    /// A name left behind by a container that no longer exists is taken over.
    pub fn claim_name(&self, name: &str, id: &ContainerId, p: &mut Journal) -> Result<()> {
        if !is_valid_name(name) {
            return Err(StoreError::InvalidName(name.to_string()));
        }
        let path = self.name_path(name);
        let _names = self.lock_names()?;
        for _ in 0..2 {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut f) => {
                    p.add(&path)?;
                    f.write_all(id.0.as_bytes()).ctx("writing", &path)?;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // Claims are serialised by the names lock, so an empty or junk
                    // file is a leftover of a killed claimer, as stale as a dead owner.
                    let owner = fs::read_to_string(&path).unwrap_or_default();
                    if id::is_valid(Kind::Container, &owner)
                        && self.container_dir(&ContainerId(owner.clone())).exists()
                    {
                        return Err(StoreError::NameInUse {
                            name: name.to_string(),
                            owner,
                        });
                    }
                    let _ = fs::remove_file(&path); // stale: owner is gone
                }
                Err(e) => return Err(StoreError::io("claiming name", &path, e)),
            }
        }
        Err(StoreError::NameInUse {
            name: name.to_string(),
            owner: String::new(),
        })
    }

    /// Releases `name` if it still belongs to `id`.
    pub fn release_name(&self, name: &str, id: &ContainerId) -> Result<()> {
        if !is_valid_name(name) {
            return Ok(()); // never a path of ours
        }
        let path = self.name_path(name);
        let _names = self.lock_names()?;
        if fs::read_to_string(&path)
            .map(|o| o == id.0)
            .unwrap_or(false)
        {
            fs::remove_file(&path).ctx("releasing name", &path)?;
        }
        Ok(())
    }

    /// The container holding `name`, if any.
    pub fn lookup_name(&self, name: &str) -> Option<ContainerId> {
        if !is_valid_name(name) {
            return None;
        }
        fs::read_to_string(self.name_path(name))
            .ok()
            .filter(|owner| id::is_valid(Kind::Container, owner))
            .map(ContainerId)
    }

    /// Points `reference` at image `id` (atomic replace: a tag moves, images stay).
    pub fn tag(&self, reference: &str, id: &ImageId) -> Result<()> {
        if reference.is_empty() || !id::is_valid(Kind::Image, &id.0) {
            return Err(StoreError::InvalidName(format!("{reference} -> {id}")));
        }
        crate::atomic::write(&self.tag_path(reference), id.0.as_bytes())
    }

    /// Removes `reference`.
    pub fn untag(&self, reference: &str) -> Result<()> {
        if reference.is_empty() {
            return Ok(());
        }
        let p = self.tag_path(reference);
        match fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(StoreError::io("untagging", &p, e))
            }
            _ => Ok(()),
        }
    }

    /// The image `reference` (in any of its accepted forms) points at.
    pub fn lookup_tag(&self, reference: &str) -> Option<ImageId> {
        reference_candidates(reference)
            .iter()
            .filter(|c| !c.is_empty())
            .find_map(|c| fs::read_to_string(self.tag_path(c)).ok())
            .filter(|owner| id::is_valid(Kind::Image, owner))
            .map(ImageId)
    }

    /// All references pointing at `id`, sorted.
    pub fn tags_of(&self, id: &ImageId) -> Result<Vec<String>> {
        let mut out: Vec<String> = self
            .all_tags()?
            .into_iter()
            .filter(|(_, owner)| owner == id)
            .map(|(r, _)| r)
            .collect();
        out.sort();
        Ok(out)
    }

    /// Every (reference, image) pair.
    pub fn all_tags(&self) -> Result<Vec<(String, ImageId)>> {
        let dir = self.root().join("tags");
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).ctx("listing", &dir)?.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if file.starts_with('.') {
                continue; // an atomic write in progress
            }
            if let Ok(owner) = fs::read_to_string(e.path()) {
                out.push((unescape_ref(&file), ImageId(owner)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker_rules() {
        assert!(is_valid_name("web-1.a_b"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("-web"));
        assert!(!is_valid_name("a/b"));
        assert!(!is_valid_name(".."));
        assert!(!is_valid_name("a b"));
    }

    #[test]
    fn references_escape_round_trip() {
        for r in [
            "docker.io/library/alpine:latest",
            "127.0.0.1:5000/a/b:c",
            "odd%2F/x",
        ] {
            let e = escape_ref(r);
            assert!(!e.contains('/'));
            assert_eq!(unescape_ref(&e), r);
        }
    }

    #[test]
    fn short_references_find_normalised_tags() {
        assert_eq!(
            reference_candidates("alpine"),
            ["alpine", "alpine:latest", "docker.io/library/alpine:latest"]
        );
        assert_eq!(
            reference_candidates("user/app:1"),
            ["user/app:1", "docker.io/user/app:1"]
        );
        assert_eq!(
            reference_candidates("localhost:5000/app"),
            ["localhost:5000/app", "localhost:5000/app:latest"]
        );
    }

    #[test]
    fn only_one_of_many_racing_claimers_takes_over_a_stale_name() {
        let (_d, s) = crate::store::test_store();
        let s = std::sync::Arc::new(s);
        for round in 0..100 {
            let name = format!("web{round}");
            // Left behind by a container that is gone.
            fs::write(s.name_path(&name), "ps_dead00000000").unwrap();
            let n = 6;
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
            let threads: Vec<_> = (0..n)
                .map(|i| {
                    let (s, barrier, name) = (s.clone(), barrier.clone(), name.clone());
                    std::thread::spawn(move || {
                        let id = ContainerId(format!("ps_{round:06x}{i:06x}"));
                        fs::create_dir_all(s.container_dir(&id)).unwrap();
                        let mut p = s.begin().unwrap();
                        barrier.wait();
                        let won = s.claim_name(&name, &id, &mut p).is_ok();
                        p.finish().unwrap();
                        won
                    })
                })
                .collect();
            let winners = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|w| *w)
                .count();
            assert_eq!(
                winners, 1,
                "round {round}: {winners} containers own '{name}'"
            );
        }
    }

    #[test]
    fn names_and_tags_holding_something_else_than_an_id_resolve_to_nothing() {
        let (_d, s) = crate::store::test_store();
        // A record outside images/ reachable by a hostile tag or name file.
        let outside = s.root().join("victim");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("image.json"), "{}").unwrap();
        fs::write(outside.join("container.json"), "{}").unwrap();
        fs::write(s.tag_path("evil:latest"), "../victim").unwrap();
        fs::write(s.name_path("evil"), "../victim").unwrap();
        assert!(s.lookup_tag("evil:latest").is_none());
        assert!(s.lookup_name("evil").is_none());
        assert!(matches!(
            s.resolve_image("evil:latest"),
            Err(StoreError::NoSuchImage(_))
        ));
        assert!(matches!(
            s.resolve_container("evil"),
            Err(StoreError::NoSuchContainer(_))
        ));
    }

    #[test]
    fn every_reference_is_a_plain_visible_file_in_tags() {
        let (_d, s) = crate::store::test_store();
        let id = ImageId("img_0123456789ab".into());
        for r in [".hidden:1", "..", "."] {
            s.tag(r, &id).unwrap();
            assert_eq!(s.lookup_tag(r), Some(id.clone()), "{r}");
        }
        assert_eq!(s.tags_of(&id).unwrap(), [".", "..", ".hidden:1"]);
        assert!(s.tag("", &id).is_err());
        for r in [".hidden:1", "..", "."] {
            s.untag(r).unwrap();
        }
        assert!(s.tags_of(&id).unwrap().is_empty());
    }
}
