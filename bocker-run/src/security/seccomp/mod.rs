//! Docker's default seccomp profile for the host's architecture (x86_64 or aarch64),
//! compiled with seccompiler. The spec's `linux.seccomp` is not read yet: every container
//! gets this built-in filter (an OCI-configured profile is future work; see
//! docs/SECURITY.md).
//!
//! An allowlist: everything not listed fails with EPERM. Unconditional allow rules cost
//! nothing at run time: since Linux 5.11 the kernel caches "always allowed" syscall
//! numbers in a per-filter bitmap and skips the BPF program for them. Only `clone`,
//! `personality` and `socket`, which carry argument checks, run BPF on each call.

pub mod profile;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

pub use seccompiler::{BackendError, Error};

/// The architecture the filter checks `seccomp_data.arch` against.
#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
/// The architecture the filter checks `seccomp_data.arch` against.
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

/// The namespace flags `clone` may not carry (Docker's mask 0x7E020000).
const CLONE_NS_MASK: u64 = 0x7E02_0000;
/// `personality` values Docker allows.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];
const AF_VSOCK: u64 = 40;

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, BackendError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value)
}

fn main_filter() -> Result<SeccompFilter, BackendError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        profile::allowed().map(|(_, nr)| (nr, Vec::new())).collect();
    rules.insert(
        libc::SYS_clone,
        vec![SeccompRule::new(vec![cond(
            0,
            SeccompCmpOp::MaskedEq(CLONE_NS_MASK),
            0,
        )?])?],
    );
    let personality = PERSONALITIES
        .iter()
        .map(|&p| SeccompRule::new(vec![cond(0, SeccompCmpOp::Eq, p)?]))
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_personality, personality);
    rules.insert(
        libc::SYS_socket,
        vec![SeccompRule::new(vec![cond(
            0,
            SeccompCmpOp::Ne,
            AF_VSOCK,
        )?])?],
    );
    SeccompFilter::new(
        rules,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        ARCH,
    )
}

/// `clone3` fails with ENOSYS (its flags live in memory BPF cannot read), so libcs fall
/// back to `clone`, whose flags the main filter checks. Installed after the main filter,
/// whose ALLOW it overrides.
fn clone3_filter() -> Result<SeccompFilter, BackendError> {
    SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        ARCH,
    )
}

/// The compiled programs, in the order they must be installed.
pub fn compile() -> Result<Vec<BpfProgram>, BackendError> {
    Ok(vec![
        main_filter()?.try_into()?,
        clone3_filter()?.try_into()?,
    ])
}

/// Install the programs on the calling thread. Needs `no_new_privs` or CAP_SYS_ADMIN;
/// never sets `no_new_privs` itself (that is the spec's `process.noNewPrivileges`, off
/// by default as in Docker, so setuid tools work), which is why it does not use
/// seccompiler's `apply_filter`.
pub fn install(programs: &[BpfProgram]) -> std::io::Result<()> {
    programs.iter().try_for_each(|p| {
        let raw: Vec<libc::sock_filter> = p
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        crate::sys::seccomp_set_filter(&raw)
    })
}

#[cfg(test)]
mod tests {
    use super::profile::{self, AARCH64_NUMBERED, AARCH64_ONLY, COMMON, UNIFIED, X86_64_ONLY};
    use std::collections::HashMap;

    /// Names that must never be allowed (escape or host-wide effect).
    const DANGEROUS: &[&str] = &[
        "SYS_mount",
        "SYS_umount2",
        "SYS_init_module",
        "SYS_finit_module",
        "SYS_unshare",
        "SYS_setns",
        "SYS_pivot_root",
        "SYS_kexec_load",
        "SYS_bpf",
        "SYS_reboot",
        "SYS_open_by_handle_at",
    ];

    /// libc 0.2.191's aarch64 (glibc, lp64) syscall constants: `SYS_<name>` → number.
    fn aarch64_table() -> HashMap<String, i64> {
        include_str!("aarch64_syscalls.txt")
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(n, nr)| (format!("SYS_{n}"), nr.parse().unwrap()))
            .collect()
    }

    #[test]
    fn host_profile_compiles_and_excludes_dangerous_calls() {
        let names: Vec<&str> = profile::allowed().map(|(n, _)| n).collect();
        for bad in DANGEROUS {
            assert!(!names.contains(bad), "{bad} must not be allowed");
        }
        assert!(names.contains(&"SYS_read") && names.contains(&"SYS_execve"));
        assert!(!super::compile().unwrap().is_empty());
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn x86_64_numbers_are_the_kernel_abi() {
        let nr: HashMap<&str, i64> = profile::allowed().collect();
        assert_eq!(nr["SYS_read"], 0);
        assert_eq!(nr["SYS_open"], 2);
        assert_eq!(nr["SYS_execve"], 59);
        assert_eq!(nr["SYS_io_pgetevents"], 333);
        assert_eq!(nr["SYS_futex_wake"], 454);
        assert_eq!(
            nr.len(),
            307,
            "one entry per syscall of Docker's x86_64 profile"
        );
    }

    /// The aarch64 build resolves `COMMON` and `AARCH64_ONLY` through `libc::SYS_*`:
    /// every name must exist in libc's aarch64 table (else that build fails), the
    /// x86_64-only names must not (else they belong in `COMMON`), and the numbered ones
    /// must be those libc lacks there.
    #[test]
    fn aarch64_table_resolves() {
        let a64 = aarch64_table();
        for n in COMMON.iter().chain(AARCH64_ONLY) {
            assert!(
                a64.contains_key(*n),
                "{n} is not an aarch64 syscall in libc"
            );
        }
        for n in X86_64_ONLY {
            assert!(
                !a64.contains_key(*n),
                "{n} exists on aarch64: move it to COMMON"
            );
        }
        for (n, _) in AARCH64_NUMBERED.iter().chain(UNIFIED) {
            assert!(!a64.contains_key(*n), "{n}: use libc::{n} on aarch64");
        }
        for bad in DANGEROUS {
            assert!(!COMMON.contains(bad) && !AARCH64_ONLY.contains(bad));
        }
        assert_eq!(a64["SYS_read"], 63);
        assert_eq!(a64["SYS_openat"], 56);
        assert_eq!(a64["SYS_execve"], 221);
        let n = COMMON.len() + AARCH64_ONLY.len() + UNIFIED.len() + AARCH64_NUMBERED.len();
        assert_eq!(n, 264, "Docker's profile on aarch64: no legacy syscalls");
    }
}
