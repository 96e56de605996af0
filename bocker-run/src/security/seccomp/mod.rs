//! Docker's default seccomp profile for the host's architecture (x86_64 or aarch64),
//! built in: the filter every container gets unless `--security-opt seccomp=…` or
//! `--privileged` says otherwise. Written with the same BPF writer as a spec's own
//! profile ([`crate::oci::seccomp::program`]): one program, a binary search over ranges
//! of syscall numbers.
//!
//! An allowlist: everything not listed fails with EPERM. `clone` is allowed without
//! namespace flags, `personality` with Docker's values, `socket` for every family but
//! AF_VSOCK; `clone3` fails with ENOSYS (its flags live in memory BPF cannot read), so
//! libcs fall back to `clone`, whose flags the filter checks. A call of another
//! architecture kills the process; x32 numbers (x86_64) get EPERM. Unconditional rules
//! cost nothing at run time: since Linux 5.11 the kernel caches "always allowed" syscall
//! numbers in a per-filter bitmap and skips the program for them.

pub mod profile;

use crate::oci::seccomp::{program, Cmp, Program, Rule, RET_ALLOW, RET_ERRNO};
use std::collections::BTreeMap;

/// The namespace flags `clone` may not carry (Docker's mask 0x7E020000).
const CLONE_NS_MASK: u64 = 0x7E02_0000;
/// `personality` values Docker allows.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];
const AF_VSOCK: u64 = 40;

fn allow_if(conds: Vec<(u32, Cmp)>) -> Rule {
    Rule {
        conds,
        ret: RET_ALLOW,
    }
}

/// The profile's rules per syscall number.
fn rules() -> BTreeMap<u32, Vec<Rule>> {
    let mut rules: BTreeMap<u32, Vec<Rule>> = profile::allowed()
        .map(|(_, nr)| (nr as u32, vec![allow_if(Vec::new())]))
        .collect();
    let clone = Cmp::MaskedEq {
        mask: CLONE_NS_MASK,
        value: 0,
    };
    rules.insert(libc::SYS_clone as u32, vec![allow_if(vec![(0, clone)])]);
    let personality = PERSONALITIES.map(|p| allow_if(vec![(0, Cmp::Eq(p))]));
    rules.insert(libc::SYS_personality as u32, personality.to_vec());
    let socket = allow_if(vec![(0, Cmp::Ne(AF_VSOCK))]);
    rules.insert(libc::SYS_socket as u32, vec![socket]);
    let enosys = Rule {
        conds: Vec::new(),
        ret: RET_ERRNO | libc::ENOSYS as u32,
    };
    rules.insert(libc::SYS_clone3 as u32, vec![enosys]);
    rules
}

/// The compiled program. `Err` only if the profile outgrew BPF (a bug, caught by the
/// unit tests).
pub fn compile() -> Result<Program, String> {
    let eperm = RET_ERRNO | libc::EPERM as u32;
    program(eperm, eperm, &rules())
}

/// Install the program on the calling thread. Needs `no_new_privs` or CAP_SYS_ADMIN;
/// never sets `no_new_privs` itself (that is the spec's `process.noNewPrivileges`, off
/// by default as in Docker, so setuid tools work).
pub fn install(program: &Program) -> std::io::Result<()> {
    crate::sys::seccomp_set_filter(program)
}

#[cfg(test)]
mod tests {
    use super::profile::{self, AARCH64_NUMBERED, AARCH64_ONLY, COMMON, UNIFIED, X86_64_ONLY};
    use crate::oci::seccomp::{eval, AUDIT_ARCH, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS};
    use libc::sock_filter;
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

    /// The two programs seccompiler 0.5 compiled for this profile before bocker wrote
    /// the filter itself (the main allowlist, then clone3 → ENOSYS), one instruction a
    /// line: `code jt jf k`.
    #[cfg(target_arch = "x86_64")]
    fn seccompiler_programs() -> Vec<Vec<sock_filter>> {
        let mut progs: Vec<Vec<sock_filter>> = Vec::new();
        for line in include_str!("x86_64_seccompiler_filter.txt").lines() {
            if line.starts_with('#') {
                progs.push(Vec::new());
                continue;
            }
            let f: Vec<&str> = line.split(' ').collect();
            let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            progs.last_mut().unwrap().push(sock_filter {
                code: hex(f[0]) as u16,
                jt: f[1].parse().unwrap(),
                jf: f[2].parse().unwrap(),
                k: hex(f[3]),
            });
        }
        progs
    }

    /// The kernel's verdict over stacked filters: the most restrictive action
    /// (`seccomp_run_filters`: the lowest `ACTION_ONLY` value as a signed int).
    fn stacked(progs: &[Vec<sock_filter>], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        progs
            .iter()
            .map(|p| eval(p, arch, nr, args))
            .min_by_key(|&r| (r & 0xffff_0000) as i32)
            .unwrap()
    }

    /// The new program decides every syscall number (native, x32, out of range, another
    /// architecture) and every argument case of the conditional rules exactly as the
    /// two seccompiler programs did.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn decides_exactly_as_the_seccompiler_filters_did() {
        let old = seccompiler_programs();
        assert_eq!(old.len(), 2);
        assert_eq!(old[0].len(), 1597, "the linear chain being replaced");
        let new = super::compile().unwrap();
        assert!(new.len() < 200, "{} instructions", new.len());
        let mut numbers: Vec<u32> = (0..1100).collect();
        numbers.extend((0x4000_0000..0x4000_0000 + 1100).chain([0x3fff_ffff, u32::MAX]));
        let mut values: Vec<u64> = vec![0, 1, 8, 0x11, 40, 41, 0x20000, 0x20008, 0xffff_ffff];
        values.extend((0..64).map(|b| 1u64 << b));
        values.extend([
            0x1_0000_0000 | 40,
            0x1_0000_0000,
            u64::MAX,
            0x7E02_0000,
            0x0100_0011,
        ]);
        let mut checked = 0;
        for arch in [AUDIT_ARCH, 0x4000_0003, 0xC000_00B7] {
            for &nr in &numbers {
                let conditional = [libc::SYS_clone, libc::SYS_personality, libc::SYS_socket]
                    .contains(&i64::from(nr));
                let arg_sets: Vec<[u64; 6]> = if conditional {
                    values.iter().map(|&v| [v, v, 0, 0, 0, v]).collect()
                } else {
                    vec![[0; 6], [u64::MAX; 6]]
                };
                for args in arg_sets {
                    let (was, is) = (stacked(&old, arch, nr, args), eval(&new, arch, nr, args));
                    assert_eq!(was, is, "arch {arch:#x} nr {nr} args {args:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000);
        // And the decisions are the profile's (not two equal mistakes).
        let v = |nr: i64, a0: u64| eval(&new, AUDIT_ARCH, nr as u32, [a0, 0, 0, 0, 0, 0]);
        assert_eq!(v(libc::SYS_read, 0), RET_ALLOW);
        assert_eq!(v(libc::SYS_mount, 0), RET_ERRNO | libc::EPERM as u32);
        assert_eq!(v(libc::SYS_clone3, 0), RET_ERRNO | libc::ENOSYS as u32);
        assert_eq!(v(libc::SYS_clone, 0x11), RET_ALLOW);
        let newuser = libc::CLONE_NEWUSER as u64;
        assert_eq!(v(libc::SYS_clone, newuser), RET_ERRNO | libc::EPERM as u32);
        assert_eq!(v(libc::SYS_socket, 40), RET_ERRNO | libc::EPERM as u32);
        assert_eq!(v(libc::SYS_socket, 2), RET_ALLOW);
        assert_eq!(v(libc::SYS_personality, 8), RET_ALLOW);
        assert_eq!(v(libc::SYS_personality, 1), RET_ERRNO | libc::EPERM as u32);
        assert_eq!(eval(&new, 0x4000_0003, 0, [0; 6]), RET_KILL_PROCESS);
    }

    /// Every number's decision takes a handful of comparisons, not one per allowed
    /// syscall: the kernel runs the program once per number when it attaches it.
    #[test]
    fn the_search_is_shallow() {
        /// The longest path from `pc` to a return or an argument load (where a rule
        /// block begins).
        fn depth(p: &[sock_filter], pc: usize) -> usize {
            let i = &p[pc];
            match i.code {
                0x06 => 1,
                0x20 if i.k >= 16 => 0,
                0x05 => 1 + depth(p, pc + 1 + i.k as usize),
                0x15 | 0x25 | 0x35 => {
                    let t = depth(p, pc + 1 + usize::from(i.jt));
                    1 + t.max(depth(p, pc + 1 + usize::from(i.jf)))
                }
                _ => 1 + depth(p, pc + 1),
            }
        }
        let d = depth(&super::compile().unwrap(), 0);
        assert!(d < 16, "{d} instructions on the longest path");
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
