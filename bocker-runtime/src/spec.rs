//! `bocker-runtime spec`: a starting `config.json` for a bundle, as `runc spec` writes one.
//!
//! The spec comes from the `oci-spec` crate's defaults (OCI runtime spec 1.0.2 shapes),
//! adjusted to runc's choices: an interactive `sh` (`terminal: true`), hostname of the
//! runtime's name. `--rootless` maps the caller's euid/egid to root in a user namespace
//! (runc's `spec --rootless`). An existing `config.json` is never overwritten (runc:
//! "File config.json exists. Remove it first").

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

/// The file name of a bundle's runtime configuration (OCI runtime spec, "Filesystem Bundle").
pub const CONFIG_FILE: &str = "config.json";

/// Why [`write_new`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The bundle already has a `config.json` (or anything by that name, a symlink too).
    #[error("File {CONFIG_FILE} exists. Remove it first")]
    Exists,
    /// The bundle directory is missing or unwritable.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// The spec did not serialize (a bug: every default serializes).
    #[error("encoding the spec: {0}")]
    Encode(#[from] serde_json::Error),
}

/// runc's default spec: `sh` on a terminal as root, the usual namespaces, masked and
/// read-only paths, the default capabilities. With `rootless`, the namespaces gain `user`,
/// uid and gid `euid`/`egid` map to 0, and the mounts are those a user namespace may make.
pub fn default_spec(rootless: Option<(u32, u32)>) -> Spec {
    let mut spec = match rootless {
        Some((uid, gid)) => Spec::rootless(uid, gid),
        None => Spec::default(),
    };
    spec.set_hostname(Some("bocker".to_string()));
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(true));
    }
    spec
}

/// Writes `spec` as `<bundle>/config.json` (pretty JSON, tab-indented as runc's) and
/// returns its path. Creates the file exclusively (`O_EXCL`, no symlink followed), so an
/// existing one gives [`SpecError::Exists`] and stays untouched; a failed write removes
/// the partial file.
pub fn write_new(bundle: &Path, spec: &Spec) -> Result<PathBuf, SpecError> {
    let mut text = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut text, fmt);
    serde::Serialize::serialize(spec, &mut ser)?;
    text.push(b'\n');
    let path = bundle.join(CONFIG_FILE);
    let io_err = |source| SpecError::Io {
        path: path.clone(),
        source,
    };
    let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(SpecError::Exists),
        Err(e) => return Err(io_err(e)),
    };
    if let Err(e) = file.write_all(&text).and_then(|()| file.sync_all()) {
        let _ = std::fs::remove_file(&path);
        return Err(io_err(e));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_runc_shaped_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_new(dir.path(), &default_spec(None)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["process"]["terminal"], true);
        assert_eq!(v["process"]["args"], serde_json::json!(["sh"]));
        assert_eq!(v["root"]["path"], "rootfs");
        assert!(v["ociVersion"].as_str().unwrap().starts_with("1."));
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        for want in ["pid", "network", "ipc", "uts", "mount"] {
            assert!(ns.contains(&want), "{want} missing from {ns:?}");
        }
        assert!(!ns.contains(&"user"));
        // It loads back as a spec.
        Spec::load(&path).unwrap();
    }

    #[test]
    fn rootless_maps_the_caller_to_root_in_a_user_namespace() {
        let spec = default_spec(Some((1000, 1001)));
        let v = serde_json::to_value(&spec).unwrap();
        let ns = v["linux"]["namespaces"].as_array().unwrap();
        assert!(ns.iter().any(|n| n["type"] == "user"));
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 1000);
        assert_eq!(v["linux"]["uidMappings"][0]["containerID"], 0);
        assert_eq!(v["linux"]["gidMappings"][0]["hostID"], 1001);
    }

    #[test]
    fn never_overwrites_an_existing_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, "mine").unwrap();
        let err = write_new(dir.path(), &default_spec(None)).unwrap_err();
        assert!(matches!(err, SpecError::Exists));
        assert_eq!(err.to_string(), "File config.json exists. Remove it first");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    }

    #[test]
    fn never_follows_a_symlink_named_config_json() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join(CONFIG_FILE)).unwrap();
        assert!(matches!(
            write_new(dir.path(), &default_spec(None)),
            Err(SpecError::Exists)
        ));
        assert!(!target.exists());
    }

    #[test]
    fn a_missing_bundle_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_new(&dir.path().join("nope"), &default_spec(None)).unwrap_err();
        assert!(err.to_string().contains("nope/config.json"), "{err}");
    }
}
