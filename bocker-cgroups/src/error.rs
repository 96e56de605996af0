//! The one error type of this crate: callers branch on the variant.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while managing a container's cgroups.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A file system operation on a cgroup file or directory failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A cgroup parent or name that is not a safe relative path.
    #[error("invalid cgroup name {0:?}: use letters, digits, '-', '_' and '.' (parents may nest with '/')")]
    InvalidName(String),
    /// A limit or unit string that cannot be used.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidValue {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    /// `BOCKER_CGROUP_VERSION` holds something other than 1 or 2.
    #[error("BOCKER_CGROUP_VERSION must be 1 or 2, not {0:?}")]
    BadVersionOverride(String),
    /// Neither a cgroup v1 controller nor a cgroup2 file system is mounted.
    #[error("no cgroup hierarchy mounted (looked in {0})")]
    NoHierarchy(&'static str),
    /// `Cgroup::open` found no directory for the group.
    #[error("cgroup {0} does not exist")]
    NotFound(String),
    /// Processes were still in the group after killing them.
    #[error("processes {pids:?} still in cgroup {} after kill", path.display())]
    StillBusy { path: PathBuf, pids: Vec<i32> },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, CgroupError>;

impl CgroupError {
    /// Whether a file system operation failed because the path does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, CgroupError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        CgroupError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
