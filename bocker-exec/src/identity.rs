//! `-u`: the user is resolved by bocker-run's parser against the container's own
//! /etc/passwd and /etc/group, read (never executed, no NSS) after entering its mount
//! namespace, exactly as `run -u` resolves it against the image's.

use crate::runtime::{resolve_user, ExecUser, StartFailure};
use crate::sys;
use std::ffi::CStr;
use std::io::{self, Read};

/// Largest passwd/group file read; the rest of a bigger file is ignored.
const MAX_FILE: u64 = 1 << 20;

/// Resolve a Docker user spec (`name`, `uid`, `name:group`, …; empty = root) inside
/// the container whose mount namespace we are in.
pub fn resolve(spec: &str) -> Result<ExecUser, StartFailure> {
    let read =
        |p: &CStr| read_small(p).map_err(|e| StartFailure::engine(format!("reading {p:?}: {e}")));
    let (passwd, group) = (read(c"/etc/passwd")?, read(c"/etc/group")?);
    resolve_user(spec, &passwd, &group).map_err(|e| StartFailure::engine(e.to_string()))
}

/// The text of a regular file of the container, "" when absent. Non-blocking open and a
/// file-type check: a FIFO or device planted there cannot hang or feed us.
fn read_small(path: &CStr) -> io::Result<String> {
    let fd = match sys::open(path, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e),
    };
    let file = std::fs::File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
