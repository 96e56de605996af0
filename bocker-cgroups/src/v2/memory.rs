//! v2 `memory` controller: memory.max, and no swap so the limit is hard.

use std::path::Path;

use crate::error::Result;
use crate::fs;

/// Writes memory.max, and memory.swap.max=0 where swap accounting exists.
/// Returns false when the swap file is absent (limit holds for RAM only).
pub(crate) fn apply(dir: &Path, bytes: u64) -> Result<bool> {
    fs::write(&dir.join("memory.max"), &bytes.to_string())?;
    fs::write_if_exists(&dir.join("memory.swap.max"), "0")
}
