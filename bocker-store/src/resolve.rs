//! Turning what a user typed into an id: exact id, name or reference, unique prefix.

use crate::error::{Result, StoreError};
use crate::id::{self, ContainerId, ImageId, Kind};
use crate::store::Store;

/// Matches `query` against `ids` as an id prefix, with or without the `img_`/`ps_` prefix.
/// The prefix must reach into the hex part: every id starts with `ps_` (or `p`), so
/// `bocker rm ps_` must not pick the only container there is (issue 13).
pub fn by_prefix<'a>(kind: Kind, query: &str, ids: &'a [String]) -> Vec<&'a String> {
    let hex = query.strip_prefix(kind.prefix()).unwrap_or(query);
    if hex.is_empty() {
        return Vec::new();
    }
    ids.iter()
        .filter(|id| {
            id.get(kind.prefix().len()..)
                .is_some_and(|h| h.starts_with(hex))
        })
        .collect()
}

fn pick<'a>(query: &str, found: Vec<&'a String>) -> Option<Result<&'a String>> {
    match found.len() {
        0 => None,
        1 => Some(Ok(found[0])),
        _ => Some(Err(StoreError::Ambiguous {
            query: query.to_string(),
            matches: found.into_iter().cloned().collect(),
        })),
    }
}

impl Store {
    /// Resolves an image id, reference (`name:tag`, short forms too) or unique id prefix.
    pub fn resolve_image(&self, query: &str) -> Result<ImageId> {
        if id::is_valid(Kind::Image, query)
            && self
                .image_dir(&ImageId(query.into()))
                .join("image.json")
                .exists()
        {
            return Ok(ImageId(query.into()));
        }
        if let Some(id) = self.lookup_tag(query) {
            if self.image_dir(&id).join("image.json").exists() {
                return Ok(id);
            }
        }
        let ids: Vec<String> = self.image_ids()?.into_iter().map(|i| i.0).collect();
        match pick(query, by_prefix(Kind::Image, query, &ids)) {
            Some(r) => r.map(|s| ImageId(s.clone())),
            None => Err(StoreError::NoSuchImage(query.into())),
        }
    }

    /// Resolves a container id, `--name`, or unique id prefix.
    pub fn resolve_container(&self, query: &str) -> Result<ContainerId> {
        if id::is_valid(Kind::Container, query)
            && self
                .container_dir(&ContainerId(query.into()))
                .join("container.json")
                .exists()
        {
            return Ok(ContainerId(query.into()));
        }
        if let Some(id) = self.lookup_name(query) {
            if self.container_dir(&id).join("container.json").exists() {
                return Ok(id);
            }
        }
        let ids: Vec<String> = self.container_ids()?.into_iter().map(|i| i.0).collect();
        match pick(query, by_prefix(Kind::Container, query, &ids)) {
            Some(r) => r.map(|s| ContainerId(s.clone())),
            None => Err(StoreError::NoSuchContainer(query.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_with_and_without_kind() {
        let ids = vec![
            "img_abc000000000".to_string(),
            "img_abd000000000".to_string(),
        ];
        assert_eq!(by_prefix(Kind::Image, "img_abc", &ids).len(), 1);
        assert_eq!(by_prefix(Kind::Image, "abc", &ids).len(), 1);
        assert_eq!(by_prefix(Kind::Image, "ab", &ids).len(), 2);
        assert_eq!(by_prefix(Kind::Image, "", &ids).len(), 0);
        assert_eq!(by_prefix(Kind::Image, "x", &ids).len(), 0);
        // Only the kind's prefix, or a piece of it, names no id.
        assert_eq!(by_prefix(Kind::Image, "img_", &ids).len(), 0);
        assert_eq!(by_prefix(Kind::Image, "im", &ids).len(), 0);
        let one = vec!["ps_0123456789ab".to_string()];
        assert_eq!(by_prefix(Kind::Container, "ps_", &one).len(), 0);
        assert_eq!(by_prefix(Kind::Container, "p", &one).len(), 0);
        assert_eq!(by_prefix(Kind::Container, "ps_0", &one).len(), 1);
    }

    #[test]
    fn ambiguity_is_an_error_naming_the_matches() {
        let ids = vec![
            "img_abc000000000".to_string(),
            "img_abd000000000".to_string(),
        ];
        let e = pick("ab", by_prefix(Kind::Image, "ab", &ids))
            .unwrap()
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("ambiguous") && msg.contains("img_abc000000000"),
            "{msg}"
        );
    }
}
