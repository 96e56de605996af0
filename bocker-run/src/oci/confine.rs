//! The privilege sequence of an OCI process (the container's init, and every `exec`'d
//! process), from its `process` object and the container's `linux.seccomp`, in runc's
//! order (`standard_init_linux.go`, `setns_init_linux.go`):
//!
//! 1. [`OciConfinement::drop_privileges`]: rlimits; the spec's seccomp filter while
//!    still privileged when `noNewPrivileges` is off (installing one without
//!    `no_new_privs` needs CAP_SYS_ADMIN); the bounding set; the user (groups, gid, uid,
//!    keeping the permitted set); the capability sets exactly as given (the runtime
//!    spec's sets, not Docker's per-user ones);
//! 2. the caller's unprivileged steps (working directory, fds);
//! 3. [`OciConfinement::seal`]: `no_new_privs` when asked for;
//! 4. [`OciConfinement::late_filter`]: with `no_new_privs`, the filter last, right before
//!    `execve` (the init installs it after the start gate).
//!
//! Unlike bocker's own containers ([`crate::security::Confinement`], the built-in
//! profile), the filter is the spec's own, or none when the spec has none.

use super::bpf::Program;
use super::seccomp;
use crate::security::{self, capabilities, rlimits, user::ExecUser};
use oci_spec::runtime::{LinuxCapabilities, LinuxSeccomp, PosixRlimit, Process};
use std::io;

/// What confines one OCI process (see the module doc for the order).
pub struct OciConfinement {
    filter: Option<Program>,
    capabilities: Option<LinuxCapabilities>,
    rlimits: Vec<PosixRlimit>,
    no_new_privileges: bool,
}

fn step(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// `caps` with only those ambient capabilities the kernel lets us raise: each must be
/// both permitted and inheritable (capabilities(7)). runc warns about the others and
/// goes on (`runc spec` itself asks for ambient capabilities it leaves out of
/// `inheritable`), so the rest are dropped, not an error.
pub fn raisable_ambient(caps: &LinuxCapabilities) -> LinuxCapabilities {
    let mut out = caps.clone();
    if let Some(ambient) = caps.ambient() {
        let has = |set: &Option<_>, c| {
            let set: &Option<std::collections::HashSet<_>> = set;
            set.as_ref().is_some_and(|s| s.contains(c))
        };
        let kept = ambient
            .iter()
            .filter(|c| has(caps.permitted(), *c) && has(caps.inheritable(), *c))
            .copied()
            .collect();
        out.set_ambient(Some(kept));
    }
    out
}

impl OciConfinement {
    /// Compile `seccomp` (allocates, so before anything is dropped) and take `process`'s
    /// capabilities, rlimits and `noNewPrivileges`. `Err`: one line naming the field.
    pub fn new(process: &Process, seccomp: Option<&LinuxSeccomp>) -> Result<Self, String> {
        let filter = seccomp.map(seccomp::compile).transpose()?;
        Ok(OciConfinement {
            filter,
            capabilities: process.capabilities().clone(),
            rlimits: process.rlimits().clone().unwrap_or_default(),
            no_new_privileges: process.no_new_privileges() == Some(true),
        })
    }

    /// Step 1: from the privileged runtime to `who` with the spec's capabilities.
    pub fn drop_privileges(&self, who: &ExecUser) -> io::Result<()> {
        rlimits::set(&self.rlimits).map_err(step("process.rlimits"))?;
        if !self.no_new_privileges {
            if let Some(f) = &self.filter {
                seccomp::install_keeping_privs(f).map_err(step("linux.seccomp"))?;
            }
        }
        if let Some(caps) = &self.capabilities {
            capabilities::drop_bounding_set(caps).map_err(step("capability bounding set"))?;
        }
        security::switch_user(who).map_err(step("process.user"))?;
        if let Some(caps) = &self.capabilities {
            capabilities::set(&raisable_ambient(caps)).map_err(step("process.capabilities"))?;
        }
        Ok(())
    }

    /// Step 3: `no_new_privs` when `process.noNewPrivileges`.
    pub fn seal(&self) -> io::Result<()> {
        if self.no_new_privileges {
            security::set_no_new_privs().map_err(step("no_new_privs"))?;
        }
        Ok(())
    }

    /// Step 4, right before `execve`: the filter, when it was held back for
    /// `no_new_privs` (else it is on since step 1).
    pub fn late_filter(&self) -> io::Result<()> {
        match (&self.filter, self.no_new_privileges) {
            (Some(f), true) => seccomp::install_keeping_privs(f).map_err(step("linux.seccomp")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permitted_and_inheritable_ambient_capabilities_are_raised() {
        // `runc spec`'s default: ambient = bounding = permitted, no inheritable.
        let caps: LinuxCapabilities = serde_json::from_value(serde_json::json!({
            "bounding": ["CAP_KILL", "CAP_CHOWN"],
            "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "effective": ["CAP_KILL", "CAP_CHOWN"],
            "inheritable": ["CAP_CHOWN"],
            "ambient": ["CAP_KILL", "CAP_CHOWN"]
        }))
        .unwrap();
        let out = raisable_ambient(&caps);
        let ambient: Vec<_> = out.ambient().clone().unwrap().into_iter().collect();
        assert_eq!(ambient, [oci_spec::runtime::Capability::Chown]);
        assert_eq!(out.permitted(), caps.permitted());
    }
}
