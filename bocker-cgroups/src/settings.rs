//! Raw control-file settings: `<controller>.<knob>` = value written into a group, for
//! resources beyond [`crate::Limits`] (an OCI spec's `linux.resources`: cpuset, CFS
//! period, realtime, memory reservation/swappiness, blkio, hugetlb, v2 `unified`). The
//! file name is checked so that a setting can only name a control file of the group
//! itself: one path component, `<controller>.<knob>`, never `cgroup.*` (membership and
//! delegation are this crate's alone: `cgroup.procs`, `cgroup.subtree_control`).

use crate::error::{CgroupError, Result};

/// The controller a control file belongs to (`cpuset.cpus` → `cpuset`), or an error
/// for a name that is not one control file of a controller.
pub(crate) fn controller_of(file: &str) -> Result<&str> {
    let bad = |reason| CgroupError::InvalidValue {
        what: "cgroup setting",
        value: file.to_string(),
        reason,
    };
    let (controller, knob) = file
        .split_once('.')
        .ok_or_else(|| bad("not <controller>.<knob>"))?;
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    if !word(controller) || !word(knob) || file.contains("..") {
        return Err(bad("not <controller>.<knob>"));
    }
    if controller == "cgroup" {
        return Err(bad("cgroup.* files are the runtime's own"));
    }
    Ok(controller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_controller_file_is_named() {
        assert_eq!(controller_of("cpuset.cpus").unwrap(), "cpuset");
        assert_eq!(
            controller_of("hugetlb.2MB.limit_in_bytes").unwrap(),
            "hugetlb"
        );
        assert_eq!(controller_of("memory.swap.max").unwrap(), "memory");
        for bad in [
            "cgroup.procs",
            "cgroup.subtree_control",
            "../x.y",
            "cpu/../../x",
            "cpu.",
            "cpu",
            "",
            "a b.c",
        ] {
            assert!(controller_of(bad).is_err(), "{bad:?}");
        }
    }
}
