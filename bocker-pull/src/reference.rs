//! Image references, parsed and normalised the way Docker does it.
//!
//! `alpine` is `docker.io/library/alpine:latest`; `host:port/a/b:tag`,
//! `name@sha256:<hex>` and `name:tag@sha256:<hex>` are all accepted.

use std::fmt;

use crate::digest::Digest;

/// The longest `registry/repository` Docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Docker Hub's registry name as it appears in normalised references.
pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format '{0}': {1}")]
    Invalid(String, &'static str),
}

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (with port), e.g. `docker.io` or `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/alpine`.
    pub repository: String,
    /// Tag; `latest` when neither tag nor digest was given.
    pub tag: Option<String>,
    /// Digest pinned by the user, if any.
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parse a reference as the user typed it (`bocker pull <ref>`).
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        let bad = |why| ReferenceError::Invalid(input.to_string(), why);
        if input.is_empty() || input.len() > 4096 {
            return Err(bad("empty or too long"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse(d).map_err(|_| bad("bad digest"))?)),
            None => (input, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(bad("bad tag"));
            }
        }
        let (registry, repository) = split_registry(name);
        if repository.is_empty() || !repository.split('/').all(valid_path_component) {
            return Err(bad("repository name must be lowercase alphanumerics separated by '/', '.', '_', '__' or '-'"));
        }
        if !registry.is_empty() && !valid_host(&registry) {
            return Err(bad("bad registry host"));
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        // Docker (distribution/reference NameTotalLengthMax): the whole name, registry
        // included, is at most 255 characters; refused before any request.
        if registry.len() + 1 + repository.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(bad("repository name must not be more than 255 characters"));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some("latest".to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The seed's form: `bocker pull <name> <tag>`.
    pub fn parse_name_tag(name: &str, tag: &str) -> Result<Reference, ReferenceError> {
        if name.contains(['@']) || name.rsplit('/').next().is_some_and(|l| l.contains(':')) {
            return Err(ReferenceError::Invalid(
                name.into(),
                "name already has a tag or digest",
            ));
        }
        Reference::parse(&format!("{name}:{tag}"))
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What the manifest endpoint is asked for: the digest if pinned, else the tag.
    pub fn manifest_selector(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            // parse() always sets one of the two.
            (None, None) => "latest".into(),
        }
    }

    /// True when the registry is a loopback address or `localhost` (never decided by a
    /// DNS name's spelling; see [`crate::transport::is_loopback`]).
    pub fn is_local(&self) -> bool {
        crate::transport::is_loopback(&self.registry)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Docker's rule: the first component is a registry if it has a '.' or ':' or is `localhost`.
fn split_registry(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            let reg = if first == "index.docker.io" || first == "registry-1.docker.io" {
                DOCKER_HUB.to_string()
            } else {
                first.to_string()
            };
            (reg, rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    }
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut prev_sep = false;
    let mut run = String::new();
    for &ch in b {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            if prev_sep
                && !matches!(run.as_str(), "." | "_" | "__")
                && !run.chars().all(|c| c == '-')
            {
                return false;
            }
            prev_sep = false;
            run.clear();
        } else if b"._-".contains(&ch) {
            prev_sep = true;
            run.push(ch as char);
        } else {
            return false;
        }
    }
    true
}

fn valid_host(h: &str) -> bool {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !h.ends_with(']') => (host, Some(port)),
        _ => (h, None),
    };
    if let Some(p) = port {
        if p.parse::<u16>().is_err() {
            return false;
        }
    }
    !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".-[]:".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(norm("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(norm("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(norm("user/repo"), "docker.io/user/repo:latest");
        assert_eq!(
            norm("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(norm("localhost/foo"), "localhost/foo:latest");
        assert_eq!(norm("127.0.0.1:5000/a/b/c:v1"), "127.0.0.1:5000/a/b/c:v1");
        let d = "sha256:".to_string() + &"a".repeat(64);
        assert_eq!(
            norm(&format!("alpine@{d}")),
            format!("docker.io/library/alpine@{d}")
        );
        assert_eq!(
            norm(&format!("alpine:3@{d}")),
            format!("docker.io/library/alpine:3@{d}")
        );
        assert!(Reference::parse("127.0.0.1:5000/x").unwrap().is_local());
        assert!(!Reference::parse("quay.io/x").unwrap().is_local());
        assert!(!Reference::parse("127.0.0.1.nip.io:5000/x")
            .unwrap()
            .is_local());
        assert!(Reference::parse("[::1]:5000/x").unwrap().is_local());
    }

    #[test]
    fn names_longer_than_255_are_refused() {
        let ok = format!("127.0.0.1:5000/{}", "a".repeat(255 - 15));
        assert!(Reference::parse(&ok).is_ok());
        let long = format!("127.0.0.1:5000/{}", "a".repeat(256 - 15));
        assert!(Reference::parse(&long).is_err());
        // docker.io/library/ counts too.
        assert!(Reference::parse(&"a".repeat(240)).is_err());
    }

    #[test]
    fn seed_name_tag_form() {
        let r = Reference::parse_name_tag("centos", "7").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/centos:7");
        assert!(Reference::parse_name_tag("centos:6", "7").is_err());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "UPPER",
            "a//b",
            "a:",
            ":tag",
            "a@sha256:zz",
            "-a",
            "a:-x",
            "a b",
            "host:99999/x",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
