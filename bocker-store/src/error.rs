//! The store's typed errors: callers branch on "not found" and "ambiguous".

use std::io;
use std::path::PathBuf;

/// Errors from the store library.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The seed's message, kept verbatim.
    #[error("No image named '{0}' exists")]
    NoSuchImage(String),
    /// The seed's message, kept verbatim.
    #[error("No container named '{0}' exists")]
    NoSuchContainer(String),
    /// A prefix or name matched more than one object.
    #[error("'{query}' is ambiguous: it matches {}", .matches.join(", "))]
    Ambiguous { query: String, matches: Vec<String> },
    /// A container name is already taken.
    #[error("the name '{name}' is already in use by container {owner}")]
    NameInUse { name: String, owner: String },
    /// A name that cannot be a container name or tag.
    #[error("invalid name '{0}': use letters, digits and [_.-], starting with a letter or digit")]
    InvalidName(String),
    /// The store was created with another driver than the one requested.
    #[error("the store at {root} uses the {existing} driver, but {requested} was requested (BOCKER_DRIVER)")]
    DriverMismatch {
        root: PathBuf,
        existing: String,
        requested: String,
    },
    /// The chosen snapshot driver cannot work on this filesystem.
    #[error("the {driver} driver cannot be used at {root}: {reason}")]
    DriverUnusable {
        driver: String,
        root: PathBuf,
        reason: String,
    },
    /// An unknown driver name.
    #[error("unknown snapshot driver '{0}' (use btrfs or overlay)")]
    UnknownDriver(String),
    /// A record on disk could not be parsed.
    #[error("corrupt record {path}: {source}")]
    CorruptRecord {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Any I/O error, with the path it concerned.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl StoreError {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Adds path context to `io::Result`s.
pub(crate) trait IoContext<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| StoreError::io(action, path, e))
    }
}

impl<T> IoContext<T> for nix::Result<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| StoreError::io(action, path, io::Error::from(e)))
    }
}
