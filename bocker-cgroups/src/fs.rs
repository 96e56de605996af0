//! Small file helpers for cgroupfs: one write per value, pid lists, and
//! directory removal that waits for the kernel to let go.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::{CgroupError, Result};

/// Writes `value` to a cgroup control file in a single write(2), as cgroupfs
/// wants (no truncate-then-write of partial values).
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| CgroupError::io("open for writing", path, e))?;
    f.write_all(value.as_bytes())
        .map_err(|e| CgroupError::io("write", path, e))
}

/// Writes `value` only when the control file exists; returns whether it did.
pub(crate) fn write_if_exists(path: &Path, value: &str) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    write(path, value).map(|()| true)
}

/// Reads a control file with surrounding whitespace removed.
pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| CgroupError::io("read", path, e))
}

/// Reads the pids listed in `<dir>/cgroup.procs` (empty if the group is gone, or going:
/// the files of a group another process is removing answer ENODEV).
pub(crate) fn procs(dir: &Path) -> Result<Vec<i32>> {
    let path = dir.join("cgroup.procs");
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(s.lines().filter_map(|l| l.trim().parse().ok()).collect()),
        Err(e) if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENODEV) => {
            Ok(Vec::new())
        }
        Err(e) => Err(CgroupError::io("read", path, e)),
    }
}

/// Moves `pid` into the group at `dir`. The kernel may briefly refuse a task
/// that is still being born (EINVAL), so that case is retried a few times.
pub(crate) fn add_pid(dir: &Path, pid: i32) -> Result<()> {
    let path = dir.join("cgroup.procs");
    let mut tries = 0;
    loop {
        match write(&path, &pid.to_string()) {
            Err(CgroupError::Io { source, .. })
                if source.raw_os_error() == Some(libc::EINVAL) && tries < 5 =>
            {
                tries += 1;
                sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Creates one directory level; returns true if this call created it.
pub(crate) fn mkdir(path: &Path) -> Result<bool> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(CgroupError::io("mkdir", path, e)),
    }
}

/// Creates `root/rel` level by level and calls `on_level` on every level,
/// new or old (cpuset needs its values filled in wherever they are empty).
/// Pushes each directory this call creates onto `created` as soon as it
/// exists, so a caller can undo them even when a later step fails.
pub(crate) fn mkdir_levels(
    root: &Path,
    rel: &str,
    created: &mut Vec<PathBuf>,
    mut on_level: impl FnMut(&Path) -> Result<()>,
) -> Result<()> {
    let mut dir = root.to_path_buf();
    for part in rel.split('/') {
        dir.push(part);
        if mkdir(&dir)? {
            created.push(dir.clone());
        }
        on_level(&dir)?;
    }
    Ok(())
}

/// Removes a cgroup directory and any child groups below it, retrying while
/// the kernel still holds it busy (tasks exiting). A missing directory is fine.
pub(crate) fn remove_tree(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CgroupError::io("read directory", dir, e)),
    };
    for entry in entries.flatten() {
        // Control files are not directories; only child groups are.
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_tree(&entry.path())?;
        }
    }
    rmdir_retry(dir)
}

fn rmdir_retry(dir: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(CgroupError::io("rmdir", dir, e)),
        }
    }
}

/// One `rmdir` of a group's directory: `Ok(true)` when it is gone (or was), `Ok(false)`
/// when the kernel keeps it (EBUSY: processes or child groups; ENOTEMPTY).
pub(crate) fn rmdir_once(dir: &Path) -> Result<bool> {
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY)) => {
            Ok(false)
        }
        Err(e) => Err(CgroupError::io("rmdir", dir, e)),
    }
}

/// Removes a directory only if nothing lives in it any more (used for the
/// shared parent group); a busy or non-empty parent is left alone.
pub(crate) fn rmdir_if_unused(dir: &Path) -> Result<()> {
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::DirectoryNotEmpty)
                || matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY)) =>
        {
            Ok(())
        }
        Err(e) => Err(CgroupError::io("rmdir", dir, e)),
    }
}

/// Names of the child groups (subdirectories) of `dir`; empty if missing.
pub(crate) fn child_dirs(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CgroupError::io("read directory", dir, e)),
    };
    Ok(entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect())
}

/// Sends SIGKILL to every listed pid, ignoring those already gone.
pub(crate) fn sigkill_all(pids: &[i32]) {
    for &pid in pids {
        if pid > 0 {
            // The pid came from the group's own cgroup.procs; ESRCH (gone) is harmless.
            let _ = bocker_sys::sys::kill(pid, libc::SIGKILL);
        }
    }
}

/// Repeatedly kills whatever `list` reports until it reports nothing; gives
/// up with `StillBusy` after a few seconds.
pub(crate) fn kill_until_empty(dir: &Path, list: impl Fn() -> Result<Vec<i32>>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pids = list()?;
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CgroupError::StillBusy {
                path: dir.to_path_buf(),
                pids,
            });
        }
        sigkill_all(&pids);
        sleep(Duration::from_millis(10));
    }
}
