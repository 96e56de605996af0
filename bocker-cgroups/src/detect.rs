//! Which cgroup version this host uses, read from /proc/self/mountinfo.

use std::path::{Path, PathBuf};

use crate::error::{CgroupError, Result};
use crate::Hierarchy;

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One cgroup-related line of mountinfo.
#[derive(Debug, PartialEq)]
pub(crate) struct CgroupMount {
    pub mount_point: PathBuf,
    /// true for `cgroup2`, false for v1 `cgroup`.
    pub v2: bool,
    /// v1 super options (controllers such as `cpu`, `memory`, `name=systemd`).
    pub options: Vec<String>,
}

/// Picks the hierarchy: `BOCKER_CGROUP_VERSION` if set, else v1 when a cpu,
/// memory or pids v1 controller is mounted, else v2.
pub(crate) fn detect() -> Result<Hierarchy> {
    let text =
        std::fs::read_to_string(MOUNTINFO).map_err(|e| CgroupError::io("read", MOUNTINFO, e))?;
    let mounts = parse_mountinfo(&text);
    let forced = std::env::var("BOCKER_CGROUP_VERSION").ok();
    choose(&mounts, forced.as_deref(), |p| {
        std::fs::read_to_string(p.join("cgroup.controllers")).unwrap_or_default()
    })
}

/// The decision, separate from the file system so it can be unit-tested.
pub(crate) fn choose(
    mounts: &[CgroupMount],
    forced: Option<&str>,
    controllers_of: impl Fn(&Path) -> String,
) -> Result<Hierarchy> {
    let v1_root = mounts
        .iter()
        .filter(|m| !m.v2)
        .find(|m| {
            m.options
                .iter()
                .any(|o| matches!(o.as_str(), "memory" | "cpu" | "pids"))
        })
        .map(|m| {
            m.mount_point
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| m.mount_point.clone())
        });
    let v2_mounts: Vec<&CgroupMount> = mounts.iter().filter(|m| m.v2).collect();
    let v2_with_controllers = v2_mounts
        .iter()
        .find(|m| !controllers_of(&m.mount_point).trim().is_empty())
        .map(|m| m.mount_point.clone());
    // A cgroup2 mount without controllers still groups and kills processes.
    let v2_root = v2_with_controllers
        .clone()
        .or_else(|| v2_mounts.first().map(|m| m.mount_point.clone()));
    let default = PathBuf::from("/sys/fs/cgroup");
    match forced.map(str::trim) {
        Some("1") => Ok(Hierarchy::V1 {
            root: v1_root.unwrap_or(default),
        }),
        Some("2") => Ok(Hierarchy::V2 {
            root: v2_root.unwrap_or(default),
        }),
        Some(other) if !other.is_empty() => Err(CgroupError::BadVersionOverride(other.into())),
        _ => match (v1_root, v2_root) {
            (Some(root), _) => Ok(Hierarchy::V1 { root }),
            (None, Some(root)) => Ok(Hierarchy::V2 { root }),
            (None, None) => Err(CgroupError::NoHierarchy(MOUNTINFO)),
        },
    }
}

/// Keeps the cgroup and cgroup2 lines of a mountinfo text.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<CgroupMount> {
    // "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <source> <super opts>"
    let (left, right) = line.split_once(" - ")?;
    let mount_point = left.split(' ').nth(4)?;
    let mut r = right.split(' ');
    let fstype = r.next()?;
    let _source = r.next()?;
    let super_opts = r.next().unwrap_or("");
    let v2 = match fstype {
        "cgroup2" => true,
        "cgroup" => false,
        _ => return None,
    };
    Some(CgroupMount {
        mount_point: PathBuf::from(unescape(mount_point)),
        v2,
        options: super_opts.split(',').map(str::to_string).collect(),
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).and_then(|d| {
            d.iter()
                .all(|c| (b'0'..=b'7').contains(c))
                .then(|| d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0')))
        });
        match octal {
            Some(v) if b[i] == b'\\' && v <= 0xff => {
                out.push(v as u8);
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const UNIFIED: &str = "\
25 20 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
26 20 0:24 / /my\\040mnt rw - ext4 /dev/sda1 rw
";

    fn none(_: &Path) -> String {
        String::new()
    }

    #[test]
    fn hybrid_host_is_v1_unless_overridden() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 5);
        let v1 = Hierarchy::V1 {
            root: "/sys/fs/cgroup".into(),
        };
        assert_eq!(choose(&m, None, none).unwrap(), v1);
        assert_eq!(choose(&m, Some("1"), none).unwrap(), v1);
        assert_eq!(
            choose(&m, Some("2"), none).unwrap(),
            Hierarchy::V2 {
                root: "/sys/fs/cgroup/unified".into()
            }
        );
        assert!(matches!(
            choose(&m, Some("3"), none),
            Err(CgroupError::BadVersionOverride(_))
        ));
    }

    #[test]
    fn unified_host_is_v2() {
        let m = parse_mountinfo(UNIFIED);
        assert_eq!(m.len(), 1);
        let got = choose(&m, None, |_| "cpu memory pids\n".to_string()).unwrap();
        assert_eq!(
            got,
            Hierarchy::V2 {
                root: "/sys/fs/cgroup".into()
            }
        );
        assert!(choose(&[], None, none).is_err());
    }

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape("/my\\040mnt"), "/my mnt");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
