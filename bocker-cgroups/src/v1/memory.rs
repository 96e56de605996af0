//! v1 `memory` controller: a hard limit that OOM-kills instead of swapping.

use std::path::Path;

use crate::error::Result;
use crate::fs;

/// Sets memory.limit_in_bytes, then memory.memsw.limit_in_bytes (memory plus
/// swap) to the same value where swap accounting exists, so the container
/// cannot page out past its limit: it is OOM-killed instead, as with Docker's
/// `--memory X --memory-swap X`. The order matters: memsw may never be below
/// the memory limit, and a fresh group starts unlimited.
pub(crate) fn apply(dir: &Path, bytes: u64) -> Result<()> {
    let v = bytes.to_string();
    fs::write(&dir.join("memory.limit_in_bytes"), &v)?;
    fs::write_if_exists(&dir.join("memory.memsw.limit_in_bytes"), &v)?;
    Ok(())
}
