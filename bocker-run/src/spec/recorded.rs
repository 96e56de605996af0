//! The privileges a container's first process was planned with, kept in its record so
//! that `exec` gives its commands the same, as Docker's exec inherits the container's
//! capabilities, rlimits and seccomp profile (runc's `setns` process): a `--cap-drop ALL`
//! container's exec'd shell has no capability either. Records written before these keys
//! existed read as Docker's defaults.

use super::{defaults, Bundle};
use crate::security::{ConfineError, Confinement, Seccomp};
use bocker_store::ContainerConfig;
use oci_spec::runtime::{Capability, LinuxSeccomp, PosixRlimit};
use serde_json::Value;
use std::collections::BTreeMap;

/// Record key: the capability set (bounding = effective = permitted for root).
pub const CAPABILITIES: &str = "capabilities";
/// Record key: `process.rlimits`.
pub const RLIMITS: &str = "rlimits";
/// Record key: `"unconfined"` or the spec's `linux.seccomp`; absent: the default profile.
pub const SECCOMP: &str = "seccomp";

/// The recorded privileges of a container's processes (beside `no_new_privileges`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privileges {
    /// `None`: Docker's default set.
    pub capabilities: Option<Vec<Capability>>,
    /// `None`: Docker's default rlimits.
    pub rlimits: Option<Vec<PosixRlimit>>,
    pub seccomp_unconfined: bool,
    /// `--security-opt seccomp=PROFILE` as the spec carries it.
    pub seccomp_profile: Option<LinuxSeccomp>,
}

/// The record keys of `bundle`'s privileges.
pub fn record(bundle: &Bundle) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let process = bundle.spec.process().as_ref();
    let caps = process.and_then(|p| p.capabilities().as_ref());
    if let Some(b) = caps.and_then(|c| c.bounding().as_ref()) {
        let mut list: Vec<Capability> = b.iter().copied().collect();
        list.sort_by_key(|c| crate::security::capabilities::number(*c));
        out.insert(
            CAPABILITIES.into(),
            serde_json::to_value(list).unwrap_or_default(),
        );
    }
    if let Some(r) = process.and_then(|p| p.rlimits().as_ref()) {
        out.insert(RLIMITS.into(), serde_json::to_value(r).unwrap_or_default());
    }
    match bundle.seccomp() {
        Seccomp::Unconfined => {
            out.insert(SECCOMP.into(), "unconfined".into());
        }
        Seccomp::Profile(p) => {
            out.insert(SECCOMP.into(), serde_json::to_value(p).unwrap_or_default());
        }
        Seccomp::Default => {}
    }
    out
}

/// The privileges recorded in `config` (defaults for what is missing or unreadable).
pub fn of(config: &ContainerConfig) -> Privileges {
    let get = |k: &str| config.extra.get(k).cloned();
    let seccomp = get(SECCOMP);
    Privileges {
        capabilities: get(CAPABILITIES).and_then(|v| serde_json::from_value(v).ok()),
        rlimits: get(RLIMITS).and_then(|v| serde_json::from_value(v).ok()),
        seccomp_unconfined: seccomp.as_ref().and_then(Value::as_str) == Some("unconfined"),
        seccomp_profile: seccomp
            .filter(Value::is_object)
            .and_then(|v| serde_json::from_value(v).ok()),
    }
}

impl Privileges {
    /// The confinement of an exec'd command: these privileges, `no_new_privs` as given.
    pub fn confinement(&self, no_new_privileges: bool) -> Result<Confinement, ConfineError> {
        let mut process = defaults::process_settings(no_new_privileges)
            .map_err(|e| ConfineError::Profile(e.to_string()))?;
        if let Some(list) = &self.capabilities {
            let set: oci_spec::runtime::Capabilities = list.iter().copied().collect();
            let mut c = defaults::capabilities();
            c.set_bounding(Some(set.clone()));
            c.set_effective(Some(set.clone()));
            c.set_permitted(Some(set));
            process.set_capabilities(Some(c));
        }
        if let Some(r) = &self.rlimits {
            process.set_rlimits(Some(r.clone()));
        }
        let seccomp = match &self.seccomp_profile {
            _ if self.seccomp_unconfined => Seccomp::Unconfined,
            Some(p) => Seccomp::Profile(p),
            None => Seccomp::Default,
        };
        Confinement::with_seccomp(&process, seccomp)
    }
}
