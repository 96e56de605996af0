//! A spec's own `linux.seccomp` compiled into one classic-BPF program, written with
//! [`super::bpf`] (seccompiler's filters have a single match action; a profile such as
//! Docker's default JSON needs one per rule). The semantics are libseccomp's as runc
//! applies them (runc's `libcontainer/seccomp`, libseccomp's `seccomp_rule_add(3)`):
//!
//! - A call from another architecture (or an x32 call on x86_64) kills the process:
//!   only the native architecture is filtered (`architectures` is not read).
//! - For a syscall with rules, the first rule whose conditions all hold decides the
//!   action (`action`, with `errnoRet` for `SCMP_ACT_ERRNO`/`SCMP_ACT_TRACE`, EPERM when
//!   absent as runc); no rule holding, or a syscall without rules, gets `defaultAction`
//!   (+ `defaultErrnoRet`).
//! - Entries whose action is the default are skipped (runc; libseccomp refuses them).
//! - An entry's `args` are ANDed, except that when two name the same `index` each is a
//!   rule of its own (ORed), as runc does.
//! - A rule without conditions makes the syscall unconditional with the first such
//!   rule's action, as libseccomp merges: it replaces the conditional rules before it
//!   and later rules for that syscall are dropped.
//! - Two rules with the same conditions and different actions are refused (libseccomp's
//!   EEXIST). Rules whose conditions overlap otherwise are tried in profile order
//!   (libseccomp's decision tree, ordered by argument index, may pick another of them;
//!   Docker's profiles have no such overlap).
//!
//! `SCMP_ACT_NOTIFY`, `listenerPath` and `flags` are refused. Syscall names this
//! architecture's table does not know are skipped (libseccomp's and runc's behaviour
//! for names of other architectures).

use super::bpf::{self, Asm, Cmp};
use crate::security::seccomp::profile;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, LinuxSyscall};
use seccompiler::BpfProgram;
use std::collections::BTreeMap;

/// `AUDIT_ARCH_*` of this host (linux/audit.h).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;
/// x32 syscall numbers carry this bit (`__X32_SYSCALL_BIT`) under the x86_64 arch.
#[cfg(target_arch = "x86_64")]
const X32_BIT: Option<u32> = Some(0x4000_0000);
#[cfg(target_arch = "aarch64")]
const X32_BIT: Option<u32> = None;

/// `SECCOMP_RET_*` (linux/seccomp.h).
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

/// The action's `SECCOMP_RET_*` value, its data in the low 16 bits (libseccomp's).
fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<u32, String> {
    let data = errno.unwrap_or(libc::EPERM as u32) & 0xffff;
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => RET_ALLOW,
        LinuxSeccompAction::ScmpActErrno => RET_ERRNO | data,
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => RET_KILL_THREAD,
        LinuxSeccompAction::ScmpActKillProcess => RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => RET_TRAP,
        LinuxSeccompAction::ScmpActLog => RET_LOG,
        LinuxSeccompAction::ScmpActTrace => RET_TRACE | data,
        other => return Err(format!("linux.seccomp: action {other:?} not supported yet")),
    })
}

fn op(o: LinuxSeccompOperator, value: u64, two: Option<u64>) -> Cmp {
    match o {
        LinuxSeccompOperator::ScmpCmpNe => Cmp::Ne(value),
        LinuxSeccompOperator::ScmpCmpLt => Cmp::Lt(value),
        LinuxSeccompOperator::ScmpCmpLe => Cmp::Le(value),
        LinuxSeccompOperator::ScmpCmpEq => Cmp::Eq(value),
        LinuxSeccompOperator::ScmpCmpGe => Cmp::Ge(value),
        LinuxSeccompOperator::ScmpCmpGt => Cmp::Gt(value),
        // libseccomp: (arg & value) == valueTwo.
        LinuxSeccompOperator::ScmpCmpMaskedEq => Cmp::MaskedEq {
            mask: value,
            value: two.unwrap_or(0),
        },
    }
}

/// One rule: every condition (argument index, comparison) holds → `ret`.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    conds: Vec<(u32, Cmp)>,
    ret: u32,
}

/// An entry's rules: one, or one per condition when an index repeats (runc).
fn rules_of(sc: &LinuxSyscall, ret: u32) -> Result<Vec<Rule>, String> {
    let conds = sc
        .args()
        .iter()
        .flatten()
        .map(|a| match u32::try_from(a.index()) {
            Ok(i) if i < 6 => Ok((i, op(a.op(), a.value(), a.value_two()))),
            _ => Err(format!("linux.seccomp: arg index {} (0 to 5)", a.index())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = [false; 6];
    let repeats = conds
        .iter()
        .any(|(i, _)| std::mem::replace(&mut seen[*i as usize], true));
    Ok(if repeats {
        conds
            .into_iter()
            .map(|c| Rule {
                conds: vec![c],
                ret,
            })
            .collect()
    } else {
        vec![Rule { conds, ret }]
    })
}

/// Add `rule` to a syscall's list as libseccomp merges (module doc).
fn merge(rules: &mut Vec<Rule>, rule: Rule, name: &str) -> Result<(), String> {
    if rules.first().is_some_and(|r| r.conds.is_empty()) {
        return Ok(());
    }
    if rule.conds.is_empty() {
        *rules = vec![rule];
        return Ok(());
    }
    match rules.iter().find(|r| r.conds == rule.conds) {
        Some(r) if r.ret != rule.ret => Err(format!(
            "linux.seccomp: {name}: two rules with the same arguments and different actions"
        )),
        Some(_) => Ok(()),
        None => {
            rules.push(rule);
            Ok(())
        }
    }
}

/// The spec's profile as one BPF program; `Err` is a one-line reason naming the field.
pub fn compile(s: &LinuxSeccomp) -> Result<BpfProgram, String> {
    if s.listener_path().is_some() {
        return Err("linux.seccomp.listenerPath: not supported yet".into());
    }
    if s.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err("linux.seccomp.flags: not supported yet".into());
    }
    let default = action(s.default_action(), s.default_errno_ret())?;
    let numbers = numbers();
    let mut calls: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    for sc in s.syscalls().iter().flatten() {
        let ret = action(sc.action(), sc.errno_ret())?;
        if ret == default {
            continue;
        }
        let rules = rules_of(sc, ret)?;
        for name in sc.names() {
            let Some(&nr) = numbers.get(name.as_str()) else {
                continue;
            };
            let list = calls.entry(nr as u32).or_default();
            for r in &rules {
                merge(list, r.clone(), name)?;
            }
        }
    }
    program(default, &calls).map_err(|e| format!("linux.seccomp: {e}"))
}

/// Check the arch, then per syscall number either its one action or a jump to its
/// block of rules; the blocks follow the default's return.
fn program(default: u32, calls: &BTreeMap<u32, Vec<Rule>>) -> Result<BpfProgram, String> {
    let mut a = Asm::default();
    let native = a.label();
    a.load(bpf::ARCH);
    a.jeq(AUDIT_ARCH, Some(native), None);
    a.ret(RET_KILL_PROCESS);
    a.mark(native);
    a.load(bpf::NR);
    if let Some(bit) = X32_BIT {
        let not_x32 = a.label();
        a.jge(bit, None, Some(not_x32));
        a.ret(RET_KILL_PROCESS);
        a.mark(not_x32);
    }
    let mut blocks = Vec::new();
    for (&nr, rules) in calls {
        let next = a.label();
        a.jeq(nr, None, Some(next));
        match rules.as_slice() {
            [one] if one.conds.is_empty() => a.ret(one.ret),
            _ => {
                let block = a.label();
                a.ja(block);
                blocks.push((block, rules));
            }
        }
        a.mark(next);
    }
    a.ret(default);
    for (block, rules) in blocks {
        a.mark(block);
        for r in rules {
            let next = a.label();
            for &(i, cmp) in &r.conds {
                a.arg(i, cmp, next);
            }
            a.ret(r.ret);
            a.mark(next);
        }
        a.ret(default);
    }
    a.assemble()
}

/// This architecture's syscall table, `name number` per line: libc 0.2.191's constants
/// (x86_64: `gnu/b64/x86_64/not_x32.rs`; aarch64: the list the built-in profile's tests
/// use), so a profile can name any syscall libc knows, not only Docker's allowlist.
#[cfg(target_arch = "x86_64")]
const TABLE: &str = include_str!("x86_64_syscalls.txt");
#[cfg(target_arch = "aarch64")]
const TABLE: &str = include_str!("../security/seccomp/aarch64_syscalls.txt");

/// Name → number: [`TABLE`], and the built-in profile's numbers libc lacks.
fn numbers() -> BTreeMap<&'static str, i64> {
    TABLE
        .lines()
        .filter_map(|l| {
            let (name, nr) = l.split_once(' ')?;
            Some((name, nr.parse().ok()?))
        })
        .chain(profile::allowed().map(|(n, nr)| (n.strip_prefix("SYS_").unwrap_or(n), nr)))
        .collect()
}

/// Install `program` on the calling thread with `seccomp(SECCOMP_SET_MODE_FILTER)` and no
/// more: unlike `seccompiler::apply_filter`, it does not set `no_new_privs` (the spec's
/// `noNewPrivileges: false` must stay false), so the caller needs CAP_SYS_ADMIN.
pub fn install_keeping_privs(program: &BpfProgram) -> std::io::Result<()> {
    let prog = libc::sock_fprog {
        len: u16::try_from(program.len())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `program`'s instructions (seccompiler's sock_filter has
    // libc's layout), alive for the call; the kernel copies them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(json: &str) -> BpfProgram {
        compile(&serde_json::from_str(json).unwrap()).unwrap()
    }

    /// The action `prog` returns for syscall `nr` with `args`.
    fn verdict(prog: &BpfProgram, nr: i64, args: [u64; 6]) -> u32 {
        bpf::eval(prog, AUDIT_ARCH, nr as u32, args)
    }

    const EPERM: u32 = RET_ERRNO | 1;
    const ENOSYS: u32 = RET_ERRNO | 38;

    #[test]
    fn each_rule_has_its_own_action_and_errno() {
        let p = compiled(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["fchmod"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["getpid"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["keyctl"], "action": "SCMP_ACT_TRAP"},
                {"names": ["no_such_call"], "action": "SCMP_ACT_KILL"}
            ]}"#,
        );
        let none = [0; 6];
        assert_eq!(verdict(&p, libc::SYS_mkdir, none), EPERM);
        assert_eq!(verdict(&p, libc::SYS_mkdirat, none), EPERM);
        assert_eq!(verdict(&p, libc::SYS_chmod, none), ENOSYS);
        // runc: SCMP_ACT_ERRNO without errnoRet is EPERM.
        assert_eq!(verdict(&p, libc::SYS_fchmod, none), EPERM);
        assert_eq!(verdict(&p, libc::SYS_getpid, none), RET_KILL_PROCESS);
        assert_eq!(verdict(&p, libc::SYS_read, none), RET_ALLOW);
        // A syscall outside Docker's allowlist is named too (libc's whole table).
        assert_eq!(verdict(&p, libc::SYS_keyctl, none), RET_TRAP);
        // Another architecture, and x32's numbers on x86_64, are killed.
        assert_eq!(bpf::eval(&p, 0x4000_0003, 39, none), RET_KILL_PROCESS);
        if let Some(bit) = X32_BIT {
            let x32_mkdir = bit | libc::SYS_mkdir as u32;
            assert_eq!(bpf::eval(&p, AUDIT_ARCH, x32_mkdir, none), RET_KILL_PROCESS);
        }
    }

    /// The shape of Docker's default profile: an allowlist with conditional ALLOW rules
    /// and an ERRNO(ENOSYS) rule, over a default of ERRNO(EPERM).
    #[test]
    fn docker_shaped_allowlist_with_conditions() {
        let p = compiled(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": [
                {"names": ["read", "write", "getpid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
                 "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
                {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_LT"},
                          {"index": 1, "value": 3, "op": "SCMP_CMP_NE"}]},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
            ]}"#,
        );
        let a = |x: u64| [x, 0, 0, 0, 0, 0];
        assert_eq!(verdict(&p, libc::SYS_read, a(0)), RET_ALLOW);
        assert_eq!(verdict(&p, libc::SYS_mount, a(0)), EPERM);
        // Entries with the default action are skipped: mkdir gets the default.
        assert_eq!(verdict(&p, libc::SYS_mkdir, a(0)), EPERM);
        assert_eq!(verdict(&p, libc::SYS_personality, a(0)), RET_ALLOW);
        assert_eq!(
            verdict(&p, libc::SYS_personality, a(0xffff_ffff)),
            RET_ALLOW
        );
        assert_eq!(verdict(&p, libc::SYS_personality, a(8)), EPERM);
        assert_eq!(verdict(&p, libc::SYS_clone, a(0x11)), RET_ALLOW);
        let newns = libc::CLONE_NEWNS as u64;
        assert_eq!(verdict(&p, libc::SYS_clone, a(newns | 0x11)), EPERM);
        assert_eq!(verdict(&p, libc::SYS_clone3, a(0)), ENOSYS);
        // socket: AF_VSOCK → EAFNOSUPPORT; else ALLOW when domain < 100 and type != 3.
        assert_eq!(verdict(&p, libc::SYS_socket, a(40)), RET_ERRNO | 97);
        assert_eq!(verdict(&p, libc::SYS_socket, [2, 1, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(verdict(&p, libc::SYS_socket, [2, 3, 0, 0, 0, 0]), EPERM);
        assert_eq!(verdict(&p, libc::SYS_socket, a(1 << 32)), EPERM);
    }

    #[test]
    fn libseccomp_merges_unconditional_and_repeated_index_rules() {
        let p = compiled(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                 "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                 "args": [{"index": 1, "value": 7, "op": "SCMP_CMP_EQ"},
                          {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
            ]}"#,
        );
        // The first unconditional rule replaces the one before it and wins over later.
        assert_eq!(verdict(&p, libc::SYS_chmod, [0; 6]), ENOSYS);
        // Two conditions on one index are ORed (runc).
        assert_eq!(verdict(&p, libc::SYS_mkdir, [0, 7, 0, 0, 0, 0]), EPERM);
        assert_eq!(verdict(&p, libc::SYS_mkdir, [0, 9, 0, 0, 0, 0]), EPERM);
        assert_eq!(verdict(&p, libc::SYS_mkdir, [0, 8, 0, 0, 0, 0]), RET_ALLOW);
    }

    /// Docker's default is an allowlist of some 350 names: the arch check must reach
    /// past all of them.
    #[test]
    fn an_allowlist_of_every_known_syscall_compiles() {
        // Docker's list leaves clone and clone3 to their own entries (an unconditional
        // ALLOW for them first would make the later rules dead, as in libseccomp).
        let names: Vec<&str> = numbers()
            .into_keys()
            .filter(|n| !n.starts_with("clone"))
            .collect();
        let json = serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "syscalls": [
                {"names": names, "action": "SCMP_ACT_ALLOW"},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}
            ]
        });
        let p = compile(&serde_json::from_value(json).unwrap()).unwrap();
        assert!(p.len() < bpf::MAX_INSNS, "{}", p.len());
        assert_eq!(verdict(&p, libc::SYS_read, [0; 6]), RET_ALLOW);
        assert_eq!(verdict(&p, libc::SYS_clone3, [0; 6]), ENOSYS);
        assert_eq!(
            verdict(&p, libc::SYS_clone, [0x11, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        let newns = libc::CLONE_NEWNS as u64;
        assert_eq!(verdict(&p, libc::SYS_clone, [newns, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(verdict(&p, 1000, [0; 6]), EPERM);
        assert_eq!(bpf::eval(&p, 0x4000_0003, 0, [0; 6]), RET_KILL_PROCESS);
    }

    #[test]
    fn the_table_knows_this_architectures_names() {
        let n = numbers();
        assert_eq!(n["mkdir"], libc::SYS_mkdir);
        assert_eq!(n["clone3"], libc::SYS_clone3);
        assert_eq!(n["keyctl"], libc::SYS_keyctl);
        assert!(n.len() > 300, "{}", n.len());
    }

    #[test]
    fn conflicts_notify_listener_and_flags_are_refused() {
        let err = |json: &str| compile(&serde_json::from_str(json).unwrap()).unwrap_err();
        let arg = r#"[{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]"#;
        let e = err(&format!(
            r#"{{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": {arg}}},
                {{"names": ["chmod"], "action": "SCMP_ACT_KILL", "args": {arg}}}]}}"#
        ));
        assert!(
            e.contains("chmod: two rules with the same arguments"),
            "{e}"
        );
        let e = err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["chmod"], "action": "SCMP_ACT_NOTIFY"}]}"#);
        assert!(e.contains("not supported"), "{e}");
        let e = err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x"}"#);
        assert!(e.contains("listenerPath"), "{e}");
        let e = err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}"#);
        assert!(e.contains("flags"), "{e}");
    }
}
