//! Calling sibling verbs (`bocker-<verb>`), as git calls `git-<cmd>`: beside the running
//! binary (or in `BOCKER_EXEC_PATH`), then on `PATH`. The store uses this to let
//! `bocker-net` give back a dead container's network lease without linking it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The first executable `bocker-<verb>` on the exec path.
pub fn find(verb: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("BOCKER_EXEC_PATH").filter(|p| !p.is_empty()) {
        dirs.push(PathBuf::from(p));
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(d);
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join(format!("bocker-{verb}")))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Runs `bocker-<verb> args…` with `BOCKER_ROOT=root`, quietly; true on success.
pub fn run(verb: &str, root: &Path, args: &[&str]) -> bool {
    let Some(bin) = find(verb) else { return false };
    Command::new(bin)
        .args(args)
        .env("BOCKER_ROOT", root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
