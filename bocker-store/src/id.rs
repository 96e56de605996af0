//! Object ids: `img_` / `ps_` followed by 12 random lowercase hex digits.
//!
//! Randomness only makes collisions unlikely; uniqueness comes from the exclusive
//! `mkdir` that reserves an id (see `Store::new_image_id`).

use std::fmt;

/// Number of hex digits after the prefix.
pub const HEX_LEN: usize = 12;

/// The two kinds of object the store names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Container,
}

impl Kind {
    /// The id prefix of this kind, underscore included.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Image => "img_",
            Kind::Container => "ps_",
        }
    }
}

/// Returns a fresh random id of `kind` (not yet reserved).
pub fn random(kind: Kind) -> String {
    let mut bytes = [0u8; HEX_LEN / 2];
    // getrandom only fails when the kernel has no entropy source at all; fall back to
    // time and pid mixing so an id can still be proposed (the exclusive mkdir keeps it unique).
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ u128::from(std::process::id()) << 64;
        bytes.copy_from_slice(&t.to_le_bytes()[..HEX_LEN / 2]);
    }
    let mut s = String::with_capacity(kind.prefix().len() + HEX_LEN);
    s.push_str(kind.prefix());
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// True when `s` is a well-formed id of `kind`.
pub fn is_valid(kind: Kind, s: &str) -> bool {
    s.strip_prefix(kind.prefix()).is_some_and(|hex| {
        hex.len() == HEX_LEN
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// An image id such as `img_0123456789ab`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub String);

/// A container id such as `ps_0123456789ab`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(pub String);

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ImageId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ContainerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_well_formed_and_distinct() {
        let a = random(Kind::Image);
        let b = random(Kind::Image);
        assert!(is_valid(Kind::Image, &a), "{a}");
        assert!(is_valid(Kind::Container, &random(Kind::Container)));
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + HEX_LEN);
    }

    #[test]
    fn validation_rejects_wrong_shapes() {
        assert!(!is_valid(Kind::Image, "ps_0123456789ab"));
        assert!(!is_valid(Kind::Image, "img_0123456789a"));
        assert!(!is_valid(Kind::Image, "img_0123456789abc"));
        assert!(!is_valid(Kind::Image, "img_0123456789aG"));
        assert!(!is_valid(Kind::Image, "img_../../etc/x"));
        assert!(is_valid(Kind::Container, "ps_0123456789ab"));
    }

    #[test]
    fn many_random_ids_do_not_collide() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(random(Kind::Container)));
        }
    }
}
