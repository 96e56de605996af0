//! v1 `devices` controller: deny everything, then allow the default rules.

use std::path::Path;

use crate::device_rules::{DeviceRule, DEFAULT_DEVICE_RULES};
use crate::error::Result;
use crate::fs;

/// Denies all devices, then writes each default rule to devices.allow.
pub(crate) fn apply(dir: &Path) -> Result<()> {
    fs::write(&dir.join("devices.deny"), "a")?;
    for rule in DEFAULT_DEVICE_RULES {
        fs::write(&dir.join("devices.allow"), &rule.to_v1())?;
    }
    Ok(())
}

/// Adds `rules` to the group's devices.allow (`--device`, `--privileged`).
pub(crate) fn allow(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    for rule in rules {
        fs::write(&dir.join("devices.allow"), &rule.to_v1())?;
    }
    Ok(())
}
