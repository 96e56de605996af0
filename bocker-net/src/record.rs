//! Small JSON records beside the leases: who is attached with what, and which
//! host ports are taken. Written through a temporary file and a rename.

use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::config::NetConfig;
use crate::error::{IoContext, NetError, Result};
use crate::ports::PortMapping;

/// `<state_dir>/endpoints/<owner>.json`: one attached owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub owner: String,
    pub ip: Ipv4Addr,
    pub host_veth: String,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
}

/// `<state root>/ports/<proto>-<port>.json`: a host port taken by a mapping, on
/// any bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortClaim {
    pub owner: String,
    #[serde(default)]
    pub bridge: String,
    pub ip: Ipv4Addr,
    pub mapping: PortMapping,
}

pub fn endpoint_path(cfg: &NetConfig, owner: &str) -> PathBuf {
    cfg.endpoints_dir().join(format!("{owner}.json"))
}

pub fn claim_path(cfg: &NetConfig, m: &PortMapping) -> PathBuf {
    cfg.ports_dir()
        .join(format!("{}-{}.json", m.proto, m.host_port))
}

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            NetError::io(
                format!("parsing {}", path.display()),
                std::io::Error::new(ErrorKind::InvalidData, e),
            )
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NetError::io(format!("reading {}", path.display()), e)),
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Our records are plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Replace `path` atomically.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = write_temp(path, value)?;
    fs::rename(&tmp, path).ctx(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Create `path` only if it does not exist yet; `Ok(false)` if it does.
pub fn create_new<T: Serialize>(path: &Path, value: &T) -> Result<bool> {
    let tmp = write_temp(path, value)?;
    // link(2) fails if the target exists: an atomic exclusive create of a
    // complete file.
    let res = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match res {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(NetError::io(format!("creating {}", path.display()), e)),
    }
}

/// Write `value` to a temporary beside `path`, making the directory on first use.
fn write_temp<T: Serialize>(path: &Path, value: &T) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("record");
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    let bytes = encode(value);
    match fs::write(&tmp, &bytes) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
            fs::write(&tmp, &bytes)
        }
        other => other,
    }
    .ctx(|| format!("writing {}", tmp.display()))?;
    Ok(tmp)
}

/// Every record of a directory, skipping temporaries.
pub fn list<T: DeserializeOwned>(dir: &Path) -> Result<Vec<T>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetError::io(format!("reading {}", dir.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.ctx(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        if let Some(v) = read(&entry.path())? {
            out.push(v);
        }
    }
    Ok(out)
}
