//! Privilege set-up of the container's first process (and of `exec`'d commands), from the
//! spec's `process`: [`capabilities`], [`rlimits`], the [`user`] and its groups,
//! `noNewPrivileges`, and the [`seccomp`] filter, in runc's order ([`Confinement`]).

pub mod capabilities;
pub mod rlimits;
pub mod seccomp;
pub mod user;

use crate::oci::seccomp::Program;
use crate::sys;
use oci_spec::runtime::{LinuxCapabilities, PosixRlimit, Process};
use std::io;
use thiserror::Error;
use user::ExecUser;

/// A step of [`Confinement`] that failed.
#[derive(Debug, Error)]
pub enum ConfineError {
    #[error("seccomp: {0}")]
    Profile(String),
    #[error("{step}: {source}")]
    Step {
        step: &'static str,
        source: io::Error,
    },
}

fn step(step: &'static str) -> impl FnOnce(io::Error) -> ConfineError {
    move |source| ConfineError::Step { step, source }
}

/// What confines a container process, and the order it is applied in (runc's
/// `standard_init_linux.go`):
///
/// 1. [`Confinement::drop_privileges`]: when `noNewPrivileges` is off (Docker's default,
///    so setuid tools such as `su` and `sudo` work), the seccomp filter first, while the
///    process still holds CAP_SYS_ADMIN, which installing a filter without
///    `no_new_privs` needs; then rlimits, the bounding set, the user (groups, gid, uid)
///    and the capability sets for that user ([`capabilities::for_user`]);
/// 2. the caller's last unprivileged steps (working directory, fds);
/// 3. [`Confinement::seal`]: with `noNewPrivileges` on, `no_new_privs` and then the
///    filter, as late as possible so the fewest syscalls pass through it; every signal
///    back to its default action. The caller empties the signal mask right before
///    execve (the `--init` reaper keeps everything blocked instead).
///
/// Every container process gets the filter, root or not, with or without
/// `no_new_privs`.
pub struct Confinement {
    filter: Option<Program>,
    capabilities: Option<LinuxCapabilities>,
    rlimits: Vec<PosixRlimit>,
    no_new_privileges: bool,
}

/// Which seccomp filter a container's processes get.
#[derive(Debug, Clone, Copy)]
pub enum Seccomp<'a> {
    /// Docker's default profile, built in ([`seccomp::compile`]).
    Default,
    /// None (`--security-opt seccomp=unconfined`, `--privileged`).
    Unconfined,
    /// The spec's `linux.seccomp` (`--security-opt seccomp=PROFILE.json`).
    Profile(&'a oci_spec::runtime::LinuxSeccomp),
}

impl Confinement {
    /// The confinement `process` asks for, with the built-in seccomp profile compiled
    /// (before anything is dropped: compiling allocates).
    pub fn new(process: &Process) -> Result<Self, ConfineError> {
        Self::with_seccomp(process, Seccomp::Default)
    }

    /// [`Confinement::new`] with the filter `seccomp` says.
    pub fn with_seccomp(process: &Process, seccomp: Seccomp) -> Result<Self, ConfineError> {
        let filter = match seccomp {
            Seccomp::Default => Some(seccomp::compile().map_err(ConfineError::Profile)?),
            Seccomp::Unconfined => None,
            Seccomp::Profile(p) => {
                Some(crate::oci::seccomp::compile(p).map_err(ConfineError::Profile)?)
            }
        };
        Ok(Confinement {
            filter,
            capabilities: process.capabilities().clone(),
            rlimits: process.rlimits().clone().unwrap_or_default(),
            no_new_privileges: process.no_new_privileges() == Some(true),
        })
    }

    /// Whether `no_new_privs` will be set.
    pub fn no_new_privileges(&self) -> bool {
        self.no_new_privileges
    }

    /// Step 1: from the privileged runtime to the container user.
    pub fn drop_privileges(&self, who: &ExecUser) -> Result<(), ConfineError> {
        if let (Some(f), false) = (&self.filter, self.no_new_privileges) {
            seccomp::install(f).map_err(step("seccomp"))?;
        }
        rlimits::set(&self.rlimits).map_err(step("rlimits"))?;
        if let Some(caps) = &self.capabilities {
            capabilities::drop_bounding_set(caps).map_err(step("capability bounding set"))?;
        }
        switch_user(who).map_err(step("switching user"))?;
        if let Some(caps) = &self.capabilities {
            capabilities::set(&capabilities::for_user(caps, who.uid))
                .map_err(step("capabilities"))?;
        }
        Ok(())
    }

    /// Step 3, right before execve: `no_new_privs` and the late filter when asked for,
    /// then every signal's default action (as runc: bocker itself ignores SIGPIPE, and
    /// its caller may have ignored more, which execve would pass on).
    pub fn seal(&self) -> Result<(), ConfineError> {
        if self.no_new_privileges {
            set_no_new_privs().map_err(step("no_new_privs"))?;
            if let Some(f) = &self.filter {
                seccomp::install(f).map_err(step("seccomp"))?;
            }
        }
        sys::default_signal_actions();
        Ok(())
    }
}

/// Switch to the container user, keeping the permitted set across setuid so that
/// [`capabilities::set`] can then install exactly the user's sets.
pub fn switch_user(user: &ExecUser) -> io::Result<()> {
    sys::prctl(libc::PR_SET_KEEPCAPS, 1, 0)?;
    sys::setgroups(&user.groups)?;
    sys::setresgid(user.gid)?;
    sys::setresuid(user.uid)?;
    sys::prctl(libc::PR_SET_KEEPCAPS, 0, 0)
}

/// `PR_SET_NO_NEW_PRIVS` (the spec's `process.noNewPrivileges`).
pub fn set_no_new_privs() -> io::Result<()> {
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
}
