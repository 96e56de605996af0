//! What `bocker commit <ctr> [<img_id>|<name:tag>]` writes to.

use bocker_store::{id, names, ImageId, Store, StoreError};

use crate::commit::CommitError;

/// Where the committed image goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new untagged image.
    New,
    /// The seed's form: this existing image is replaced in place (same id).
    Replace(ImageId),
    /// A new image tagged with this normalised reference (the tag moves, as in Docker).
    Tag(String),
}

/// Reads the optional second argument: an `img_` id (or id prefix) must name an existing
/// image (the seed: "No image named '…' exists"); anything else is `REPOSITORY[:TAG]`
/// (Docker's reference grammar, `latest` by default).
pub fn parse(store: &Store, arg: Option<&str>) -> Result<Target, CommitError> {
    let Some(a) = arg else {
        return Ok(Target::New);
    };
    if a.starts_with(id::Kind::Image.prefix()) {
        return match store.resolve_image(a) {
            Ok(id) => Ok(Target::Replace(id)),
            Err(StoreError::NoSuchImage(_)) => Err(CommitError::NoSuchImage(a.to_string())),
            Err(e) => Err(e.into()),
        };
    }
    if !is_valid_reference(a) {
        return Err(CommitError::BadReference(a.to_string()));
    }
    // Stored as `pull` stores references (`docker.io/library/name:tag`), so every
    // short form finds it.
    let normal = names::reference_candidates(a)
        .pop()
        .unwrap_or_else(|| a.to_string());
    Ok(Target::Tag(normal))
}

/// Docker's `REPOSITORY[:TAG]`: path components of `[a-z0-9]` joined by `.`, `_`, `__`
/// or `-`s, an optional `host[:port]/` first, and a tag of `[A-Za-z0-9_.-]` (at most 128,
/// not starting with `.` or `-`). Digests are not accepted here (a commit has none yet).
pub fn is_valid_reference(r: &str) -> bool {
    if r.len() > 255 || r.contains('@') {
        return false;
    }
    let (repo, tag) = match r.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (r, None),
    };
    if let Some(t) = tag {
        let mut b = t.bytes();
        let first_ok = matches!(b.next(), Some(c) if c.is_ascii_alphanumeric() || c == b'_');
        if !first_ok
            || t.len() > 128
            || !b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        {
            return false;
        }
    }
    let mut parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 1 {
        let first = parts[0];
        if first.contains('.') || first.contains(':') || first == "localhost" {
            let (host, port) = first.split_once(':').unwrap_or((first, "0"));
            let ok = host.starts_with(|c: char| c.is_ascii_alphanumeric())
                && !host.contains("..")
                && host
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-'))
                && !port.is_empty()
                && port.bytes().all(|c| c.is_ascii_digit());
            if !ok {
                return false;
            }
            parts.remove(0);
        }
    }
    !parts.is_empty() && parts.iter().all(|p| is_path_component(p))
}

fn is_path_component(p: &str) -> bool {
    let b = p.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && alnum(&b[0])
        && alnum(&b[b.len() - 1])
        && b.iter()
            .all(|c| alnum(c) || matches!(c, b'.' | b'_' | b'-'))
        && !p.contains("..")
        && !p.contains("___")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_follow_docker_grammar() {
        for ok in [
            "app",
            "app:v1",
            "me/app:1.0-rc_1",
            "localhost:5000/me/app:x",
            "127.0.0.1:5000/app",
            "a.b-c__d",
        ] {
            assert!(is_valid_reference(ok), "{ok}");
        }
        for bad in [
            "App",
            "app:",
            "app:-x",
            "-app",
            "app/",
            "app@sha256:00",
            "a..b",
            "../x",
            "",
            "app:a/b",
        ] {
            assert!(!is_valid_reference(bad), "{bad}");
        }
    }
}
