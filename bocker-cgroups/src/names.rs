//! Cgroup parent and group names are joined onto /sys/fs/cgroup paths, so they
//! must never climb out (`..`), be absolute, or smuggle odd characters.

use crate::error::{CgroupError, Result};

/// The default parent group, overridable with `BOCKER_CGROUP_PARENT`.
pub fn default_parent() -> String {
    std::env::var("BOCKER_CGROUP_PARENT")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "bocker".to_string())
}

/// Checks one path component: a group's own name.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CgroupError::InvalidName(name.to_string()))
    }
}

/// Checks a group's parent for [`crate::Cgroup::create`]/[`crate::Cgroup::open`]: empty
/// (the group directly at the hierarchy's root, as an OCI `cgroupsPath` of one
/// component, runtime spec config-linux.md "Cgroups Path") or a [`check_parent`] one.
pub(crate) fn check_parent_or_root(parent: &str) -> Result<()> {
    if parent.is_empty() {
        Ok(())
    } else {
        check_parent(parent)
    }
}

/// `<parent>/<name>` relative to a hierarchy's root; `name` alone for an empty parent.
pub(crate) fn group_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Checks a parent: one or more safe components separated by '/'.
pub(crate) fn check_parent(parent: &str) -> Result<()> {
    if parent.split('/').all(|c| check_name(c).is_ok()) {
        Ok(())
    } else {
        Err(CgroupError::InvalidName(parent.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape() {
        assert!(check_name("ps_0123abc").is_ok());
        for bad in ["", ".", "..", "a/b", "/x", "a b", "x\n", "ü"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_parent("bocker").is_ok());
        assert!(check_parent("bocker/nested").is_ok());
        for bad in ["", "/bocker", "bocker/", "a//b", "a/../b", ".."] {
            assert!(check_parent(bad).is_err(), "{bad:?}");
        }
        // Only create/open take the hierarchy's root as a parent.
        assert!(check_parent_or_root("").is_ok());
        assert!(check_parent_or_root("/x").is_err());
        assert_eq!(group_path("", "cgrouptest"), "cgrouptest");
        assert_eq!(group_path("a/b", "c"), "a/b/c");
    }
}
