//! References as `tag` and `rmi` treat them, as Docker 20.10 does: `tag` adds a
//! normalised reference (`busybox:x` is `docker.io/library/busybox:x`); `rmi` of one of
//! several references only untags, the image goes with its last reference or when named
//! by id (then all its references go with it).

use crate::image_config::config_hex;
use crate::remove::Refusal;
use crate::{ImageId, Store, StoreError};

/// Why `tag` or `rmi` refused, in Docker's words where Docker has them.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error("invalid reference format{0}")]
    Invalid(String),
    #[error("refusing to create a tag with a digest reference")]
    Digest,
    #[error("conflict: unable to delete {0} (must be forced) - image is referenced in multiple repositories")]
    MultipleRepositories(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `rmi` of one argument did.
#[derive(Debug, Default)]
pub struct Removal {
    /// References removed (`Untagged: …`), as stored.
    pub untagged: Vec<String>,
    /// The image removed, if it went.
    pub removed: Option<ImageId>,
    /// Its Docker id (`sha256:` of its config) when it has one (`Deleted: …`).
    pub docker_id: Option<String>,
}

/// Docker's normalised form of a reference to tag with: a domain (`docker.io` when
/// there is none, with `library/` for a one-part name) and a tag (`latest`).
/// Grammar of distribution/reference: lowercase path components of `[a-z0-9]` joined by
/// `.`, `_`, `__` or dashes; a tag `[\w][\w.-]{0,127}`; at most 255 characters of name.
pub fn normalize_reference(s: &str) -> Result<String, RefError> {
    if s.contains('@') {
        return Err(RefError::Digest);
    }
    let bad = RefError::Invalid(String::new());
    let name_start = s.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match s[name_start..].rfind(':') {
        Some(i) => (&s[..name_start + i], &s[name_start + i + 1..]),
        None => (s, "latest"),
    };
    let tag_ok = tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !tag_ok || name.is_empty() || name.len() > 255 {
        return Err(bad);
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    let domain = (parts.len() > 1
        && (first.contains('.') || first.contains(':') || first == "localhost"))
        .then(|| parts.remove(0));
    if let Some(d) = domain {
        let (host, port) = d.split_once(':').unwrap_or((d, "0"));
        let host_ok = !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !host_ok || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
    }
    let path = parts.join("/");
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        let shown = match domain {
            None if parts.len() == 1 => format!("library/{path}"),
            _ => path,
        };
        return Err(RefError::Invalid(format!(
            ": repository name ({shown}) must be lowercase"
        )));
    }
    if !parts.iter().all(|p| path_component_ok(p)) {
        return Err(bad);
    }
    Ok(match domain {
        Some(d) => format!("{d}/{path}:{tag}"),
        None if parts.len() == 1 => format!("docker.io/library/{path}:{tag}"),
        None => format!("docker.io/{path}:{tag}"),
    })
}

/// `[a-z0-9]+` runs joined by one `.`, one `_`, `__`, or any number of `-`.
fn path_component_ok(p: &str) -> bool {
    let b = p.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

impl Store {
    /// `tag SOURCE TARGET`: points the normalised `target` at the image `source` names;
    /// returns the stored reference. A tag already on another image moves (Docker).
    pub fn tag_image(&self, source: &str, target: &str) -> Result<String, RefError> {
        let reference = normalize_reference(target)?;
        let id = self.resolve_image(source)?;
        self.tag(&reference, &id)?;
        Ok(reference)
    }

    /// `rmi q`: a reference of an image with others only goes itself; the last
    /// reference, or the image's id, removes the image (refused while a container uses
    /// it, unless `force`) with every reference. By id, an image in several
    /// repositories needs `force` (Docker).
    pub fn remove_reference(&self, q: &str, force: bool) -> Result<Removal, RefError> {
        let by_id = crate::id::is_valid(crate::id::Kind::Image, q)
            && self
                .image_dir(&ImageId(q.into()))
                .join("image.json")
                .exists();
        let named = if by_id { None } else { self.find_reference(q) };
        if let Some((reference, id)) = named.filter(|(_, id)| self.read_image(id).is_ok()) {
            let refs = self.tags_of(&id)?;
            if refs.len() > 1 {
                self.untag(&reference)?;
                return Ok(Removal {
                    untagged: vec![reference],
                    ..Removal::default()
                });
            }
            return self.remove_with_references(&id, force);
        }
        let id = self.resolve_image(q)?;
        let refs = self.tags_of(&id)?;
        let mut repos: Vec<&str> = refs
            .iter()
            .map(|r| crate::image_list::split_tag(r).0)
            .collect();
        repos.dedup();
        if repos.len() > 1 && !force {
            return Err(RefError::MultipleRepositories(id.0));
        }
        self.remove_with_references(&id, force)
    }

    fn remove_with_references(&self, id: &ImageId, force: bool) -> Result<Removal, RefError> {
        let rec = self.read_image(id)?;
        let untagged = self.tags_of(id)?;
        self.remove_image(id, force)?;
        Ok(Removal {
            untagged,
            removed: Some(id.clone()),
            docker_id: config_hex(&rec).map(|h| format!("sha256:{h}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_as_docker() {
        let n = |s: &str| normalize_reference(s).map_err(|e| e.to_string());
        assert_eq!(n("busybox").unwrap(), "docker.io/library/busybox:latest");
        assert_eq!(n("user/app:1.0").unwrap(), "docker.io/user/app:1.0");
        assert_eq!(
            n("127.0.0.1:5000/a/b-c__d:v_1").unwrap(),
            "127.0.0.1:5000/a/b-c__d:v_1"
        );
        assert_eq!(n("localhost/x").unwrap(), "localhost/x:latest");
        assert_eq!(
            n("Busybox").unwrap_err(),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        for bad in ["", "a:", "a:-x", "-a", "a..b", "a/", "/a", "a b", "a:b:c/d"] {
            assert_eq!(n(bad).unwrap_err(), "invalid reference format", "{bad}");
        }
        assert_eq!(
            n("a@sha256:00").unwrap_err(),
            "refusing to create a tag with a digest reference"
        );
    }
}
