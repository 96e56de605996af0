//! `--device HOST[:CONTAINER[:PERMISSIONS]]` (Docker's `parseDevice`): the host node's
//! type and numbers, a node of the same numbers in the container's /dev
//! (`linux.devices`) and an allow rule in its device cgroup (`linux.resources.devices`).
//! bocker makes character devices directly under /dev; other paths and block devices
//! are refused with a one-line error.

use super::security::FlagError;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

/// One `--device`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub path_in_container: String,
    pub major: i64,
    pub minor: i64,
    /// The host node's mode bits (Docker copies them).
    pub mode: u32,
    /// Cgroup access letters (`rwm` by default).
    pub access: String,
}

impl Device {
    /// The node made in the container (`linux.devices`).
    pub fn node(&self) -> LinuxDevice {
        let mut d = LinuxDevice::default();
        d.set_path(self.path_in_container.clone().into());
        d.set_typ(LinuxDeviceType::C);
        d.set_major(self.major);
        d.set_minor(self.minor);
        d.set_file_mode(Some(self.mode & 0o7777));
        d.set_uid(Some(0));
        d.set_gid(Some(0));
        d
    }

    /// The allow rule of the device cgroup (`linux.resources.devices`).
    pub fn rule(&self) -> LinuxDeviceCgroup {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(LinuxDeviceType::C));
        r.set_major(Some(self.major));
        r.set_minor(Some(self.minor));
        r.set_access(Some(self.access.clone()));
        r
    }
}

fn valid_access(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.chars().all(|c| "rwm".contains(c))
}

/// Parse every `--device` and read its host node.
pub fn parse_all(flags: &[String]) -> Result<Vec<Device>, FlagError> {
    flags.iter().map(|f| parse(f)).collect()
}

fn parse(flag: &str) -> Result<Device, FlagError> {
    let bad = |why: &str| FlagError::Invalid(format!("--device {flag}: {why}"));
    let parts: Vec<&str> = flag.split(':').collect();
    let (host, ctr, access) = match parts[..] {
        [h] => (h, h, "rwm"),
        // Docker: `HOST:rw` is the permissions, not a path.
        [h, a] if valid_access(a) => (h, h, a),
        [h, c] => (h, c, "rwm"),
        [h, c, a] => (h, c, a),
        _ => return Err(bad("expected HOST[:CONTAINER[:PERMISSIONS]]")),
    };
    if !valid_access(access) {
        // Docker CLI's `validateDevice` message.
        return Err(FlagError::Invalid(format!("bad mode specified: {access}")));
    }
    if !ctr.starts_with('/') {
        return Err(FlagError::Invalid(format!("{ctr} is not an absolute path")));
    }
    let meta = std::fs::metadata(host).map_err(|e| {
        // Docker's daemon message.
        FlagError::Invalid(format!(
            "error gathering device information while adding custom device {host:?}: {e}"
        ))
    })?;
    if !meta.file_type().is_char_device() {
        return Err(bad("only character devices are supported"));
    }
    let name = ctr.strip_prefix("/dev/").unwrap_or_default();
    if name.is_empty() || name.contains('/') {
        return Err(bad("the container path must be /dev/NAME"));
    }
    let rdev = meta.rdev();
    Ok(Device {
        path_in_container: ctr.to_string(),
        major: i64::from(libc::major(rdev)),
        minor: i64::from(libc::minor(rdev)),
        mode: meta.permissions().mode(),
        access: access.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_spellings() {
        let d = parse("/dev/null").unwrap();
        assert_eq!(
            (d.path_in_container.as_str(), d.major, d.minor),
            ("/dev/null", 1, 3)
        );
        assert_eq!(d.access, "rwm");
        let d = parse("/dev/null:/dev/mynull:r").unwrap();
        assert_eq!(
            (d.path_in_container.as_str(), d.access.as_str()),
            ("/dev/mynull", "r")
        );
        assert_eq!(parse("/dev/zero:rw").unwrap().access, "rw");
        assert!(parse("/dev/null:/dev/x:rwx").is_err());
        assert!(parse("/nonexistent").is_err());
        assert!(parse("/dev/null:/dev/a/b").is_err());
    }
}
