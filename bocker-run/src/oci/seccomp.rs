//! A spec's own `linux.seccomp` compiled into one classic-BPF program, written with
//! [`super::bpf`] (a profile such as Docker's default JSON needs an action per rule);
//! [`program`] also writes the built-in default profile (`security::seccomp`). The
//! semantics are libseccomp's as runc applies them (runc's `libcontainer/seccomp`, libseccomp's `seccomp_rule_add(3)`):
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

#[cfg(test)]
pub(crate) use super::bpf::eval;
use super::bpf::{self, Asm, Label};
pub use super::bpf::{Cmp, Program};
use crate::security::seccomp::profile;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, LinuxSyscall};
use std::collections::BTreeMap;

/// `AUDIT_ARCH_*` of this host (linux/audit.h).
#[cfg(target_arch = "x86_64")]
pub(crate) const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
pub(crate) const AUDIT_ARCH: u32 = 0xC000_00B7;
/// x32 syscall numbers carry this bit (`__X32_SYSCALL_BIT`) under the x86_64 arch.
#[cfg(target_arch = "x86_64")]
pub(crate) const X32_BIT: Option<u32> = Some(0x4000_0000);
#[cfg(target_arch = "aarch64")]
pub(crate) const X32_BIT: Option<u32> = None;

/// `SECCOMP_RET_*` (linux/seccomp.h).
pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;

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
pub(crate) struct Rule {
    pub conds: Vec<(u32, Cmp)>,
    pub ret: u32,
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
pub fn compile(s: &LinuxSeccomp) -> Result<Program, String> {
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
    let x32 = RET_KILL_PROCESS;
    program(default, x32, &calls).map_err(|e| format!("linux.seccomp: {e}"))
}

/// Where a run of syscall numbers goes: straight to an action, or to the block of its
/// rules.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Ret(u32),
    Rules(usize),
}

/// The program: the arch check, then a binary search over ranges of syscall numbers
/// with one target each (numbers without rules get `default`; on x86_64, x32 numbers,
/// `__X32_SYSCALL_BIT` and up, get `x32`), the rule blocks after it.
///
/// A search instead of one `jeq` per syscall: Docker's allowlist makes a few dozen ranges,
/// so any number is decided after six or seven comparisons, and the kernel's attach, which
/// runs the program once per syscall number to find the "always allowed" ones
/// (`seccomp_cache_prepare`, Linux 5.11), walks a few instructions instead of hundreds.
pub(crate) fn program(
    default: u32,
    x32: u32,
    calls: &BTreeMap<u32, Vec<Rule>>,
) -> Result<Program, String> {
    let mut a = Asm::default();
    let native = a.label();
    a.load(bpf::ARCH);
    a.jeq(AUDIT_ARCH, Some(native), None);
    a.ret(RET_KILL_PROCESS);
    a.mark(native);
    a.load(bpf::NR);
    let mut blocks: Vec<&[Rule]> = Vec::new();
    let mut ranges: Vec<(u32, Target)> = vec![(0, Target::Ret(default))];
    for (&nr, rules) in calls {
        if X32_BIT.is_some_and(|bit| nr >= bit) {
            break;
        }
        let t = match rules.as_slice() {
            [one] if one.conds.is_empty() => Target::Ret(one.ret),
            _ => {
                blocks.push(rules);
                Target::Rules(blocks.len() - 1)
            }
        };
        push(&mut ranges, nr, t);
        if let Some(next) = nr.checked_add(1) {
            push(&mut ranges, next, Target::Ret(default));
        }
    }
    if let Some(bit) = X32_BIT {
        push(&mut ranges, bit, Target::Ret(x32));
    }
    let block_labels: Vec<Label> = blocks.iter().map(|_| a.label()).collect();
    search(&mut a, &ranges, &block_labels);
    for (rules, block) in blocks.into_iter().zip(block_labels) {
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

/// Numbers from `from` on go to `t` (until a later push): replaces a range that starts
/// at `from`, and extends the last range when its target is the same.
fn push(ranges: &mut Vec<(u32, Target)>, from: u32, t: Target) {
    if ranges.last().is_some_and(|r| r.0 == from) {
        ranges.pop();
    }
    if ranges.last().is_none_or(|r| r.1 != t) {
        ranges.push((from, t));
    }
}

/// Instructions [`search`] writes for `ranges`.
fn search_len(ranges: &[(u32, Target)]) -> usize {
    match ranges.len() {
        0 | 1 => 1,
        n => {
            let left = search_len(&ranges[..n / 2]);
            1 + usize::from(left > usize::from(u8::MAX)) + left + search_len(&ranges[n / 2..])
        }
    }
}

/// With the syscall number in A: `ranges` (sorted by their first number, each reaching
/// to the next) split in halves on the middle range's first number, down to one range,
/// whose target is a return or a jump to its rule block.
fn search(a: &mut Asm, ranges: &[(u32, Target)], blocks: &[Label]) {
    let n = ranges.len();
    if n <= 1 {
        match ranges.first().map(|r| r.1) {
            Some(Target::Ret(v)) => a.ret(v),
            Some(Target::Rules(i)) => a.ja(blocks[i]),
            None => unreachable!("the ranges start with number 0"),
        }
        return;
    }
    let (left, right) = ranges.split_at(n / 2);
    let upper = a.label();
    if search_len(left) > usize::from(u8::MAX) {
        // Too far for a conditional jump: over a `ja`, which has 32 bits.
        let lower = a.label();
        a.jge(right[0].0, None, Some(lower));
        a.ja(upper);
        a.mark(lower);
    } else {
        a.jge(right[0].0, Some(upper), None);
    }
    search(a, left, blocks);
    a.mark(upper);
    search(a, right, blocks);
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
/// more: it does not set `no_new_privs` (the spec's `noNewPrivileges: false` must stay
/// false), so the caller needs CAP_SYS_ADMIN unless `no_new_privs` is set already.
pub fn install_keeping_privs(program: &Program) -> std::io::Result<()> {
    crate::sys::seccomp_set_filter(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(json: &str) -> Program {
        compile(&serde_json::from_str(json).unwrap()).unwrap()
    }

    /// The action `prog` returns for syscall `nr` with `args`.
    fn verdict(prog: &Program, nr: i64, args: [u64; 6]) -> u32 {
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

    /// Every other syscall allowed: hundreds of one-number ranges, so the search's
    /// upper levels jump further than a conditional jump reaches (255) and go through
    /// `ja`. Each number still gets its own action.
    #[test]
    fn a_sparse_profile_searches_past_the_conditional_jump_range() {
        let table = numbers();
        let even: Vec<&str> = table
            .iter()
            .filter(|(_, &nr)| nr % 2 == 0)
            .map(|(&n, _)| n)
            .collect();
        let json = serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "syscalls": [{"names": even, "action": "SCMP_ACT_ALLOW"}]
        });
        let p = compile(&serde_json::from_value(json).unwrap()).unwrap();
        assert!(p.iter().any(|i| i.code == 0x05), "no long jump was needed");
        let known: std::collections::BTreeSet<i64> = table.values().copied().collect();
        for nr in 0..1100u32 {
            let want = if nr % 2 == 0 && known.contains(&i64::from(nr)) {
                RET_ALLOW
            } else {
                EPERM
            };
            assert_eq!(verdict(&p, i64::from(nr), [0; 6]), want, "nr {nr}");
        }
        if let Some(bit) = X32_BIT {
            assert_eq!(bpf::eval(&p, AUDIT_ARCH, bit, [0; 6]), RET_KILL_PROCESS);
        }
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
