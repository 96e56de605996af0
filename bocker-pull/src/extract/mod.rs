//! Applying one layer tar to a directory, safely, with Docker's whiteout semantics.
//!
//! The loop reads entries with the `tar` crate but never uses its `unpack`: every path
//! goes through [`root::Root`] (openat2 RESOLVE_IN_ROOT), whiteouts are applied as the
//! target directory's [`WhiteoutStyle`] asks, and metadata is set with fd-based calls.

mod entry;
mod lower;
pub mod meta;
pub mod root;
mod sparse;

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use lower::resolve_lower_links;
use meta::Meta;
use root::{RelPath, Root};

/// How deletions are recorded in the target directory (the store driver decides).
pub use bocker_store::WhiteoutStyle;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("reading layer: {0}")]
    Read(#[source] io::Error),
    #[error("layer entry '{path}': {source}")]
    Entry { path: String, source: io::Error },
    #[error("layer entry '{0}': {1}")]
    Invalid(String, &'static str),
}

impl ExtractError {
    fn at(path: &RelPath) -> impl FnOnce(io::Error) -> ExtractError + '_ {
        move |source| ExtractError::Entry {
            path: path.display(),
            source,
        }
    }
}

/// What is left to do for a layer once its tar is read: hardlinks into lower layers
/// (overlay only) and directory mtimes, which must be set after their contents.
pub struct Extracted {
    pub dir: PathBuf,
    pub deferred_links: Vec<(RelPath, RelPath)>,
    dir_times: Vec<(RelPath, Meta)>,
    pub entries: u64,
    /// Bytes of regular file content written.
    pub file_bytes: u64,
}

impl Extracted {
    /// Resolve hardlinks into `lowers` (nearest first) and set directory times.
    pub fn finish(self, lowers: &[PathBuf]) -> Result<(), ExtractError> {
        let root = Root::open(&self.dir).map_err(|e| ExtractError::Entry {
            path: self.dir.display().to_string(),
            source: e,
        })?;
        if !self.deferred_links.is_empty() {
            resolve_lower_links(&root, &self.deferred_links, lowers)?;
        }
        for (path, m) in self.dir_times.iter().rev() {
            entry::set_dir_time(&root, path, m).map_err(ExtractError::at(path))?;
        }
        Ok(())
    }
}

/// State while one layer is applied.
struct Layer {
    root: Root,
    style: WhiteoutStyle,
    created: HashSet<RelPath>,
    dir_times: Vec<(RelPath, Meta)>,
    deferred: Vec<(RelPath, RelPath)>,
    buf: Vec<u8>,
    /// The directory the previous regular file went into (see `entry::file_parent`).
    parent_cache: Option<(RelPath, std::os::fd::OwnedFd)>,
    file_bytes: u64,
}

/// Apply the (decompressed) layer tar `input` to `dir`.
pub fn extract<R: Read>(
    input: R,
    dir: &Path,
    style: WhiteoutStyle,
) -> Result<Extracted, ExtractError> {
    let root = Root::open(dir).map_err(|e| ExtractError::Entry {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut layer = Layer {
        root,
        style,
        created: HashSet::new(),
        dir_times: Vec::new(),
        deferred: Vec::new(),
        buf: vec![0u8; 1 << 20],
        parent_cache: None,
        file_bytes: 0,
    };
    let mut archive = tar::Archive::new(input);
    let mut entries = 0;
    for e in archive.entries().map_err(ExtractError::Read)? {
        let e = e.map_err(ExtractError::Read)?;
        layer.apply(e)?;
        entries += 1;
    }
    Ok(Extracted {
        dir: dir.to_path_buf(),
        deferred_links: layer.deferred,
        dir_times: layer.dir_times,
        entries,
        file_bytes: layer.file_bytes,
    })
}

/// Read owner, mode, mtime and xattrs from the header and its PAX records.
fn entry_meta<R: Read>(e: &mut tar::Entry<R>) -> io::Result<Meta> {
    let h = e.header();
    let old = h.as_old();
    // As Go's archive/tar (Docker's parser): an empty numeric field reads as 0.
    let num = |raw: &[u8], v: io::Result<u64>| {
        if raw.iter().all(|&b| b == 0 || b == b' ') {
            Ok(0)
        } else {
            v
        }
    };
    let mut m = Meta {
        uid: num(&old.uid, h.uid())? as u32,
        gid: num(&old.gid, h.gid())? as u32,
        mode: num(&old.mode, h.mode().map(u64::from))? as u32 & 0o7777,
        mtime_sec: num(&old.mtime, h.mtime())? as i64,
        mtime_nsec: 0,
        xattrs: Vec::new(),
    };
    if let Some(pax) = e.pax_extensions()? {
        for ext in pax {
            let ext = ext?;
            let Ok(key) = ext.key() else { continue };
            let val = ext.value_bytes();
            match key {
                "uid" => m.uid = parse_num(val)?,
                "gid" => m.gid = parse_num(val)?,
                "mtime" => {
                    let s = std::str::from_utf8(val).map_err(|_| bad("pax mtime"))?;
                    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
                    m.mtime_sec = sec.parse().map_err(|_| bad("pax mtime"))?;
                    let frac: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
                    m.mtime_nsec = frac.parse().unwrap_or(0);
                }
                k if k.starts_with("SCHILY.xattr.") => {
                    let name = &k["SCHILY.xattr.".len()..];
                    if meta::xattr_allowed(name) {
                        m.xattrs.push((name.to_string(), val.to_vec()));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(m)
}

fn parse_num(v: &[u8]) -> io::Result<u32> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("pax uid/gid"))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("invalid {what}"))
}

#[cfg(test)]
mod tests;
