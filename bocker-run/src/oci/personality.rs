//! `linux.personality` (runtime spec config-linux.md "Personality"): the execution
//! domain of the container's process, set by its init with `personality(2)` before
//! `execve` (it is inherited across exec). `LINUX` is `PER_LINUX` (0), `LINUX32` is
//! `PER_LINUX32` (8, `uname -m` says i686 on x86_64). `flags` are refused: the spec
//! names none, and runc rejects them too.

use oci_spec::runtime::{LinuxPersonalityDomain, Spec};
use std::io;

/// `PER_LINUX32` from <sys/personality.h> (not in the libc crate for every target).
const PER_LINUX32: libc::c_ulong = 0x0008;

/// The persona to set, `None` when the spec has no `linux.personality`. Error: flags.
pub fn plan(spec: &Spec) -> Result<Option<libc::c_ulong>, String> {
    let Some(p) = spec.linux().as_ref().and_then(|l| l.personality().as_ref()) else {
        return Ok(None);
    };
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err("linux.personality.flags".into());
    }
    Ok(Some(match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    }))
}

/// Set `persona` for the calling process (the init, before exec).
pub fn apply(persona: Option<libc::c_ulong>) -> io::Result<()> {
    let Some(p) = persona else { return Ok(()) };
    // SAFETY: personality(2) takes a plain value; -1 is its error return.
    if unsafe { libc::personality(p) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxPersonalityBuilder, SpecBuilder};

    fn spec(domain: LinuxPersonalityDomain, flags: Vec<String>) -> Spec {
        let p = LinuxPersonalityBuilder::default()
            .domain(domain)
            .flags(flags)
            .build()
            .unwrap();
        let linux = LinuxBuilder::default().personality(p).build().unwrap();
        SpecBuilder::default().linux(linux).build().unwrap()
    }

    #[test]
    fn domains_map_to_personas_and_flags_are_refused() {
        use LinuxPersonalityDomain::*;
        assert_eq!(plan(&spec(PerLinux, vec![])).unwrap(), Some(0));
        assert_eq!(plan(&spec(PerLinux32, vec![])).unwrap(), Some(8));
        assert!(plan(&spec(PerLinux, vec!["x".into()])).is_err());
        assert_eq!(
            plan(&SpecBuilder::default().build().unwrap()).unwrap(),
            None
        );
    }
}
