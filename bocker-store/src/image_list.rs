//! `images` as Docker users expect it (Docker 20.10 daemon and CLI): one row per
//! reference (REPOSITORY, TAG; one `<none>` row for an untagged image), CREATED from the
//! image's own config, newest first, and `--filter dangling=|reference=|before=|since=`
//! (values of one key OR'ed, keys AND'ed; `images REPO[:TAG]` is `reference=REPO[:TAG]`).

use std::collections::BTreeMap;

use crate::{ImageId, ImageRecord, Store, StoreError};

/// Why a filter was refused, in Docker's words.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad format of filter (expected name=value)")]
    Format,
    #[error("Invalid filter '{0}'")]
    Unknown(String),
    #[error("Invalid filter 'dangling=[{0}]'")]
    Dangling(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `--filter` terms by key.
#[derive(Debug, Default, Clone)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses `key=value` terms; refuses unknown keys (Docker: `Invalid filter 'foo'`).
    pub fn parse(terms: &[String]) -> Result<Filters, FilterError> {
        let mut f = Filters::default();
        for t in terms {
            let (k, v) = t.split_once('=').ok_or(FilterError::Format)?;
            let k = k.trim().to_ascii_lowercase();
            if !matches!(k.as_str(), "dangling" | "reference" | "before" | "since") {
                return Err(FilterError::Unknown(k));
            }
            if k == "dangling"
                && !matches!(
                    v.to_ascii_lowercase().as_str(),
                    "true" | "false" | "1" | "0"
                )
            {
                return Err(FilterError::Dangling(v.to_string()));
            }
            f.add(&k, v);
        }
        Ok(f)
    }

    /// Adds one term (`images REPO[:TAG]` adds `reference`).
    pub fn add(&mut self, key: &str, value: &str) {
        self.0.entry(key.into()).or_default().push(value.into());
    }

    fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }
}

/// One row of `images`: an image under one of its references.
#[derive(Debug, Clone)]
pub struct ImageRow {
    pub image: ImageRecord,
    /// Familiar repository name (`busybox`, `127.0.0.1:5000/app`), or `<none>`.
    pub repository: String,
    pub tag: String,
    /// The manifest digest the row's repository was pulled by, or `<none>`.
    pub digest: String,
    /// RFC 3339, from the image's config.
    pub created: String,
}

/// `docker.io/library/alpine:latest` as Docker shows it: `alpine:latest`.
pub fn familiar(reference: &str) -> &str {
    reference
        .strip_prefix("docker.io/library/")
        .or_else(|| reference.strip_prefix("docker.io/"))
        .unwrap_or(reference)
}

/// `host:5000/repo:tag` into `host:5000/repo` and `tag` (the colon after the last `/`;
/// `latest` when there is none).
pub fn split_tag(reference: &str) -> (&str, &str) {
    let reference = reference.split('@').next().unwrap_or(reference);
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[name_start..].rfind(':') {
        Some(i) => (
            &reference[..name_start + i],
            &reference[name_start + i + 1..],
        ),
        None => (reference, "latest"),
    }
}

/// Go's `path.Match` for the patterns `reference=` takes: `*` and `?` within one path
/// segment, `[…]` classes (with `^` negation and ranges), `\` escapes.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len())
            .take_while(|&i| i == 0 || n[i - 1] != '/')
            .any(|i| glob_at(&p[1..], &n[i..])),
        Some('?') => n.first().is_some_and(|&c| c != '/') && glob_at(&p[1..], &n[1..]),
        Some('[') => {
            let Some(&c) = n.first() else { return false };
            let Some(end) = p.iter().skip(2).position(|&x| x == ']').map(|i| i + 2) else {
                return false;
            };
            let (neg, class) = match p[1] {
                '^' => (true, &p[2..end]),
                _ => (false, &p[1..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != neg && c != '/' && glob_at(&p[end + 1..], &n[1..])
        }
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && glob_at(&p[2..], &n[1..]),
        Some(c) => n.first() == Some(c) && glob_at(&p[1..], &n[1..]),
    }
}

/// Docker's `FamiliarMatch`: the pattern against `repo:tag`, then against `repo`.
fn reference_matches(pattern: &str, repo: &str, tag: &str) -> bool {
    glob(pattern, &format!("{repo}:{tag}")) || glob(pattern, repo)
}

impl Store {
    /// The rows of `images`, newest image first, filtered.
    pub fn image_rows(&self, filters: &Filters) -> Result<Vec<ImageRow>, FilterError> {
        let created_of = |q: &str| -> Result<String, FilterError> {
            let id = self.resolve_image(q)?;
            Ok(self.image_created(&self.read_image(&id)?))
        };
        let before: Vec<String> = filters
            .get("before")
            .iter()
            .map(|q| created_of(q))
            .collect::<Result<_, _>>()?;
        let since: Vec<String> = filters
            .get("since")
            .iter()
            .map(|q| created_of(q))
            .collect::<Result<_, _>>()?;
        let dangling = filters.get("dangling");
        let patterns = filters.get("reference");

        let mut by_image: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (reference, ImageId(owner)) in self.all_tags()? {
            by_image.entry(owner).or_default().push(reference);
        }
        let mut images: Vec<(String, ImageRecord)> = self
            .list_images()?
            .into_iter()
            .map(|r| (self.image_created(&r), r))
            .collect();
        images.sort_by(|a, b| (&b.0, &b.1.id).cmp(&(&a.0, &a.1.id)));

        let mut rows = Vec::new();
        for (created, img) in images {
            let when = parse_time(&created);
            if before.iter().any(|b| when >= parse_time(b))
                || since.iter().any(|s| when <= parse_time(s))
            {
                continue;
            }
            let mut refs = by_image.remove(&img.id).unwrap_or_default();
            refs.sort();
            let is_dangling = refs.is_empty();
            if !dangling.is_empty()
                && !dangling
                    .iter()
                    .any(|d| matches!(d.to_ascii_lowercase().as_str(), "true" | "1") == is_dangling)
            {
                continue;
            }
            let pulled_repo = img
                .reference
                .as_deref()
                .map(|r| split_tag(familiar(r)).0.to_string());
            let mut kept = 0;
            for r in &refs {
                let (repo, tag) = split_tag(familiar(r));
                if !patterns.is_empty() && !patterns.iter().any(|p| reference_matches(p, repo, tag))
                {
                    continue;
                }
                kept += 1;
                let digest = match (&img.digest, &pulled_repo) {
                    (Some(d), Some(p)) if p == repo => d.clone(),
                    _ => "<none>".into(),
                };
                rows.push(ImageRow {
                    image: img.clone(),
                    repository: repo.into(),
                    tag: tag.into(),
                    digest,
                    created: created.clone(),
                });
            }
            if kept == 0 && patterns.is_empty() {
                rows.push(ImageRow {
                    image: img.clone(),
                    repository: "<none>".into(),
                    tag: "<none>".into(),
                    digest: img.digest.clone().unwrap_or_else(|| "<none>".into()),
                    created,
                });
            }
        }
        Ok(rows)
    }
}

fn parse_time(ts: &str) -> std::time::SystemTime {
    humantime::parse_rfc3339_weak(ts).unwrap_or(std::time::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_names_and_tags() {
        assert_eq!(familiar("docker.io/library/alpine:3"), "alpine:3");
        assert_eq!(familiar("docker.io/user/app:1"), "user/app:1");
        assert_eq!(
            split_tag("127.0.0.1:5000/a/b:v1"),
            ("127.0.0.1:5000/a/b", "v1")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/a"),
            ("127.0.0.1:5000/a", "latest")
        );
        assert_eq!(split_tag("busybox@sha256:00"), ("busybox", "latest"));
    }

    #[test]
    fn globs_as_go_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(!glob("*", "127.0.0.1:5000/app"));
        assert!(glob("*/app", "127.0.0.1:5000/app"));
        assert!(glob("b?sybox:1.3[0-9]", "busybox:1.36"));
        assert!(!glob("b[^u]sybox", "busybox"));
        assert!(reference_matches("busybox", "busybox", "1.36"));
        assert!(reference_matches("busybox:1.*", "busybox", "1.36"));
        assert!(!reference_matches("busybox:2", "busybox", "1.36"));
    }

    #[test]
    fn unknown_filters_are_refused() {
        let f = |t: &str| Filters::parse(&[t.to_string()]);
        assert_eq!(
            f("label=x").unwrap_err().to_string(),
            "Invalid filter 'label'"
        );
        assert_eq!(
            f("dangling=maybe").unwrap_err().to_string(),
            "Invalid filter 'dangling=[maybe]'"
        );
        assert!(matches!(f("dangling"), Err(FilterError::Format)));
        assert!(f("reference=busy*").is_ok());
    }
}
