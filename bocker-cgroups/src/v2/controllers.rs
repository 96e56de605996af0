//! v2 controller delegation: a child group only gets `cpu.*`, `memory.*`,
//! `pids.*` files once its parent lists the controller in cgroup.subtree_control.

use std::path::Path;

use crate::error::Result;
use crate::fs;

/// Controllers bocker uses on v2.
pub(crate) const WANTED: &[&str] = &["cpu", "memory", "pids"];

/// Enables the wanted controllers on every level from `root` down to the
/// container's parent (`root/<parent>`), skipping those a level does not offer
/// or already enables. Writes only cgroup.subtree_control, never a limit.
/// Returns the controllers enabled for the container's group.
pub(crate) fn delegate(root: &Path, parent: &str) -> Result<Vec<String>> {
    let mut level = root.to_path_buf();
    let mut enabled = enable_at(&level)?;
    for part in parent.split('/').filter(|p| !p.is_empty()) {
        level.push(part);
        // A controller can only be enabled below a level that enabled it.
        enabled = enable_at(&level)?;
    }
    Ok(enabled)
}

fn words(path: &Path) -> Vec<String> {
    fs::read(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|w| w.trim_start_matches('+').to_string())
        .collect()
}

fn enable_at(dir: &Path) -> Result<Vec<String>> {
    let control = dir.join("cgroup.subtree_control");
    let available = words(&dir.join("cgroup.controllers"));
    let already = words(&control);
    let missing: Vec<&str> = WANTED
        .iter()
        .copied()
        .filter(|c| available.iter().any(|a| a == c) && !already.iter().any(|a| a == c))
        .collect();
    if !missing.is_empty() {
        let all: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
        if fs::write(&control, &all.join(" ")).is_err() {
            // One refused controller fails the whole write; enable one by one
            // and keep whatever the kernel accepts.
            for c in &missing {
                let _ = fs::write(&control, &format!("+{c}"));
            }
        }
    }
    Ok(words(&control)
        .into_iter()
        .filter(|c| WANTED.contains(&c.as_str()))
        .collect())
}
