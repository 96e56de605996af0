//! v2 `pids` controller.

use std::path::Path;

use crate::error::Result;
use crate::fs;

pub(crate) fn apply(dir: &Path, value: &str) -> Result<()> {
    fs::write(&dir.join("pids.max"), value)
}
