//! v1 `devices` controller: Docker's default device policy (deny everything,
//! then allow the few devices every container needs).

use std::path::Path;

use crate::error::Result;
use crate::fs;

/// The allow rules written after `a` (all) is denied, in devices.allow syntax
/// `<type> <major>:<minor> <access>`. Same set as runc/Docker's defaults:
/// mknod of any node (using it still needs a rule below), the standard
/// character devices, /dev/console, and the pty devices. /dev/net/tun is not
/// allowed (recent runc and Docker dropped it from the defaults as well).
pub const DEFAULT_ALLOWED: &[&str] = &[
    "c *:* m",     // mknod any character device
    "b *:* m",     // mknod any block device
    "c 1:3 rwm",   // /dev/null
    "c 1:5 rwm",   // /dev/zero
    "c 1:7 rwm",   // /dev/full
    "c 1:8 rwm",   // /dev/random
    "c 1:9 rwm",   // /dev/urandom
    "c 5:0 rwm",   // /dev/tty
    "c 5:1 rwm",   // /dev/console
    "c 5:2 rwm",   // /dev/ptmx
    "c 136:* rwm", // /dev/pts/*
];

/// Denies all devices, then allows [`DEFAULT_ALLOWED`] one rule per write.
pub(crate) fn apply(dir: &Path) -> Result<()> {
    fs::write(&dir.join("devices.deny"), "a")?;
    for rule in DEFAULT_ALLOWED {
        fs::write(&dir.join("devices.allow"), rule)?;
    }
    Ok(())
}
