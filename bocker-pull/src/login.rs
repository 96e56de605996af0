//! `docker login`/`logout`'s file: `auths.<server>.auth` (base64 of `user:password`)
//! in `~/.docker/config.json` (`$DOCKER_CONFIG/config.json`), as Docker's CLI writes
//! it. Every other key and entry of the file is kept as it was; the file is written
//! to a temporary file beside it, mode 0600, and renamed over it (atomic).
//!
//! With a credential helper configured for the registry (`credHelpers.<host>`, else
//! `credsStore`), Docker 20.10 keeps the secret in the helper instead: `login` runs
//! `docker-credential-<name> store` and leaves an empty `auths.<server>` entry (the mark
//! that one is logged in), `logout` runs `docker-credential-<name> erase` and removes the
//! entry; a failed erase is a warning, as Docker's.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::auth::{docker_config_path, helper_erase, helper_for, helper_store};
use crate::reference::DOCKER_HUB;

/// The `auths` key Docker uses for `registry`: Docker Hub's legacy URL, else the host.
pub fn server_key(registry: &str) -> String {
    if registry == DOCKER_HUB || registry == "index.docker.io" || registry == "registry-1.docker.io"
    {
        "https://index.docker.io/v1/".into()
    } else {
        registry.to_string()
    }
}

/// The registry a `login`/`logout` argument names: `https://host/…` → `host`; none → Docker Hub.
pub fn registry_of(server: Option<&str>) -> String {
    let Some(s) = server else {
        return DOCKER_HUB.into();
    };
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.into(),
        h => h.to_string(),
    }
}

fn path() -> Result<PathBuf, String> {
    docker_config_path()
        .ok_or_else(|| "no HOME and no DOCKER_CONFIG: nowhere to keep credentials".into())
}

fn read(path: &Path) -> Result<Map<String, Value>, String> {
    match fs::read(path) {
        Ok(t) if t.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(t) => match serde_json::from_slice(&t) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("{}: not a JSON object", path.display())),
            Err(e) => Err(format!("parsing {}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// Write `cfg` to `path` atomically (a 0600 temporary file renamed over it).
fn write(path: &Path, cfg: &Map<String, Value>) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".config.json.{}", std::process::id()));
    let r = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // Serialising a JSON value cannot fail.
        let mut text = serde_json::to_vec_pretty(cfg).unwrap_or_default();
        text.push(b'\n');
        f.write_all(&text)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = r {
        let _ = fs::remove_file(&tmp);
        return Err(format!("writing {}: {e}", path.display()));
    }
    Ok(())
}

/// Store `user`/`password` for `registry`, in its credential helper when the config
/// names one; returns the file written.
pub fn save(registry: &str, user: &str, password: &str) -> Result<PathBuf, String> {
    let path = path()?;
    let mut cfg = read(&path)?;
    let key = server_key(registry);
    let helper = helper_for(&cfg, registry);
    if let Some(h) = &helper {
        helper_store(h, &key, user, password)?;
    }
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    if let Some(m) = auths.as_object_mut() {
        let entry = m.entry(key).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() || helper.is_some() {
            *entry = Value::Object(Map::new());
        }
        if let (Some(e), None) = (entry.as_object_mut(), &helper) {
            e.insert("auth".into(), Value::String(auth));
        }
    }
    write(&path, &cfg)?;
    Ok(path)
}

/// What `logout` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LoggedOut {
    /// The config had an entry for the registry (else: "Not logged in").
    pub was_logged_in: bool,
    /// The credential helper could not erase the secret (Docker prints it as a warning).
    pub warning: Option<String>,
}

/// Remove `registry`'s entry (under any key naming it), and its secret from the
/// credential helper the config names for it.
pub fn remove(registry: &str) -> Result<LoggedOut, String> {
    let path = path()?;
    let mut cfg = read(&path)?;
    let helper = helper_for(&cfg, registry);
    let Some(auths) = cfg.get_mut("auths").and_then(Value::as_object_mut) else {
        return Ok(LoggedOut::default());
    };
    let keys: Vec<String> = auths
        .keys()
        .filter(|k| registry_of(Some(k)) == registry)
        .cloned()
        .collect();
    if keys.is_empty() {
        return Ok(LoggedOut::default());
    }
    for k in &keys {
        auths.remove(k);
    }
    let warning = helper.and_then(|h| {
        keys.iter()
            .find_map(|k| helper_erase(&h, k).err())
            .map(|e| format!("could not erase credentials: {e}"))
    });
    write(&path, &cfg)?;
    Ok(LoggedOut {
        was_logged_in: true,
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_named_as_docker_names_them() {
        assert_eq!(registry_of(None), "docker.io");
        assert_eq!(
            registry_of(Some("https://index.docker.io/v1/")),
            "docker.io"
        );
        assert_eq!(registry_of(Some("127.0.0.1:5000")), "127.0.0.1:5000");
        assert_eq!(
            registry_of(Some("http://127.0.0.1:5000/v2/")),
            "127.0.0.1:5000"
        );
        assert_eq!(server_key("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(server_key("quay.io"), "quay.io");
    }
}
