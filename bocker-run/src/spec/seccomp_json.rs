//! `--security-opt seccomp=PROFILE.json`: Docker's seccomp profile format (moby's
//! `profiles/seccomp`) read into the OCI spec's `linux.seccomp`. Docker's extra fields
//! are resolved here as Docker resolves them: `name` (the old single-name form) joins
//! `names`; an entry whose `includes`/`excludes` name capabilities or architectures is
//! kept only when the container's capabilities and this host's architecture match;
//! `archMap` gives `architectures`. `minKernel` is not checked (the entry is kept).

use super::security::FlagError;
use oci_spec::runtime::{Capability, LinuxSeccomp};
use serde_json::{json, Map, Value};

/// Docker's name of this host's architecture (`runtime.GOARCH`).
#[cfg(target_arch = "x86_64")]
const GOARCH: &str = "amd64";
#[cfg(target_arch = "aarch64")]
const GOARCH: &str = "arm64";

/// Read the profile at `path` for a container holding `caps`.
pub fn load(path: &str, caps: &[Capability]) -> Result<LinuxSeccomp, FlagError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        // Docker CLI's message.
        FlagError::Invalid(format!("opening seccomp profile ({path}) failed: {e}"))
    })?;
    let bad = |e: String| FlagError::Invalid(format!("decoding seccomp profile {path}: {e}"));
    let docker: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let oci = to_oci(&docker, caps).map_err(bad)?;
    serde_json::from_value(oci).map_err(|e| bad(e.to_string()))
}

fn cap_names(caps: &[Capability]) -> Vec<String> {
    caps.iter()
        .filter_map(|c| serde_json::to_value(c).ok()?.as_str().map(str::to_string))
        .collect()
}

/// Whether a `includes`/`excludes` filter matches the container.
fn filter_matches(f: &Value, caps: &[String], all_when_empty: bool) -> bool {
    let list = |k: &str| -> Vec<String> {
        f.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (want_caps, arches) = (list("caps"), list("arches"));
    if all_when_empty {
        // includes: every listed capability held, and this arch listed (when any).
        want_caps.iter().all(|c| caps.contains(c))
            && (arches.is_empty() || arches.iter().any(|a| a == GOARCH))
    } else {
        // excludes: any listed capability held, or this arch listed.
        want_caps.iter().any(|c| caps.contains(c)) || arches.iter().any(|a| a == GOARCH)
    }
}

/// Docker's profile JSON → the OCI `linux.seccomp` JSON.
fn to_oci(docker: &Value, caps: &[Capability]) -> Result<Value, String> {
    let obj = docker.as_object().ok_or("not a JSON object")?;
    let caps = cap_names(caps);
    let mut out = Map::new();
    for k in ["defaultAction", "defaultErrnoRet", "listenerPath", "flags"] {
        if let Some(v) = obj.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    let mut arches: Vec<Value> = obj
        .get("architectures")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for m in obj
        .get("archMap")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        arches.extend(m.get("architecture").cloned());
        arches.extend(
            m.get("subArchitectures")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
    }
    if !arches.is_empty() {
        out.insert("architectures".into(), Value::Array(arches));
    }
    let mut syscalls = Vec::new();
    for s in obj
        .get("syscalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let keep = s
            .get("includes")
            .is_none_or(|f| filter_matches(f, &caps, true))
            && !s
                .get("excludes")
                .is_some_and(|f| filter_matches(f, &caps, false));
        if !keep {
            continue;
        }
        let mut names: Vec<Value> = s
            .get("names")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        names.extend(s.get("name").cloned());
        if names.is_empty() {
            return Err("a syscalls entry without names".into());
        }
        let mut e =
            json!({ "names": names, "action": s.get("action").cloned().unwrap_or(Value::Null) });
        for k in ["errnoRet", "args"] {
            if let Some(v) = s.get(k).filter(|v| !v.is_null()) {
                e[k] = v.clone();
            }
        }
        syscalls.push(e);
    }
    out.insert("syscalls".into(), Value::Array(syscalls));
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_profile_fields_resolve() {
        let docker = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"name": "chown", "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["fchown"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_CHOWN"]}}
            ]
        });
        let oci = to_oci(&docker, &[Capability::Chown]).unwrap();
        let s: LinuxSeccomp = serde_json::from_value(oci).unwrap();
        let calls = s.syscalls().as_ref().unwrap();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].names(), &["mkdir", "mkdirat"]);
        assert_eq!(s.architectures().as_ref().unwrap().len(), 2);
    }
}
