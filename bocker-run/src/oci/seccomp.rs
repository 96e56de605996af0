//! A spec's own `linux.seccomp` compiled with seccompiler (as bocker's built-in profile
//! is, `security::seccomp`): `defaultAction` (+ `defaultErrnoRet`) is the filter's
//! mismatch action, the `syscalls` entries its rules, each entry's `args` ANDed as
//! libseccomp does. One filter has one match action, so a profile whose entries use more
//! than one action other than the default is refused, as are `SCMP_ACT_NOTIFY`,
//! `listenerPath` and `flags`. Syscall names this architecture's table does not know
//! are skipped (libseccomp's and runc's behaviour for names of other architectures).
//! Only the native architecture is filtered (`architectures` is not read).

use crate::security::seccomp::profile;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<SeccompAction, String> {
    Ok(match a {
        LinuxSeccompAction::ScmpActAllow => SeccompAction::Allow,
        LinuxSeccompAction::ScmpActErrno => {
            SeccompAction::Errno(errno.unwrap_or(libc::EPERM as u32))
        }
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            SeccompAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => SeccompAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => SeccompAction::Trap,
        LinuxSeccompAction::ScmpActLog => SeccompAction::Log,
        LinuxSeccompAction::ScmpActTrace => SeccompAction::Trace(errno.unwrap_or(0)),
        other => return Err(format!("linux.seccomp: action {other:?} not supported yet")),
    })
}

fn op(o: LinuxSeccompOperator, value: u64, two: Option<u64>) -> (SeccompCmpOp, u64) {
    match o {
        LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, value),
        LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, value),
        LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, value),
        LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, value),
        LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, value),
        LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, value),
        // libseccomp: (arg & value) == valueTwo.
        LinuxSeccompOperator::ScmpCmpMaskedEq => (SeccompCmpOp::MaskedEq(value), two.unwrap_or(0)),
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
    let numbers: BTreeMap<&str, i64> = profile::allowed()
        .map(|(n, nr)| (n.strip_prefix("SYS_").unwrap_or(n), nr))
        .chain(extra_numbers())
        .collect();
    let mut matched: Option<SeccompAction> = None;
    let mut rules: BTreeMap<i64, Option<Vec<SeccompRule>>> = BTreeMap::new();
    for sc in s.syscalls().iter().flatten() {
        let act = action(sc.action(), sc.errno_ret())?;
        if act == default {
            continue;
        }
        match &matched {
            Some(m) if *m != act => {
                return Err("linux.seccomp: syscalls with more than one action besides the default are not supported yet".into())
            }
            _ => matched = Some(act),
        }
        let conds = sc
            .args()
            .iter()
            .flatten()
            .map(|a| {
                let (o, v) = op(a.op(), a.value(), a.value_two());
                let index =
                    u8::try_from(a.index()).map_err(|_| "linux.seccomp: arg index".to_string())?;
                SeccompCondition::new(index, SeccompCmpArgLen::Qword, o, v)
                    .map_err(|e| format!("linux.seccomp: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rule = if conds.is_empty() {
            None
        } else {
            Some(SeccompRule::new(conds).map_err(|e| format!("linux.seccomp: {e}"))?)
        };
        for name in sc.names() {
            let Some(&nr) = numbers.get(name.as_str()) else {
                continue;
            };
            let entry = rules.entry(nr).or_insert_with(|| Some(Vec::new()));
            match (&rule, entry.as_mut()) {
                // An unconditional entry matches every call: it wins.
                (None, _) => *entry = None,
                (Some(r), Some(v)) => v.push(r.clone()),
                (Some(_), None) => {}
            }
        }
    }
    let rules = rules
        .into_iter()
        .map(|(nr, r)| (nr, r.unwrap_or_default()))
        .collect();
    let matched = matched.unwrap_or(SeccompAction::Allow);
    if matched == default {
        // Nothing differs from the default: a filter of the default alone.
        let f = SeccompFilter::new(BTreeMap::new(), default.clone(), SeccompAction::Allow, ARCH);
        let f = match f {
            Ok(f) => f,
            Err(_) => SeccompFilter::new(BTreeMap::new(), default, SeccompAction::Log, ARCH)
                .map_err(|e| format!("linux.seccomp: {e}"))?,
        };
        return f
            .try_into()
            .map_err(|e: seccompiler::BackendError| format!("linux.seccomp: {e}"));
    }
    SeccompFilter::new(rules, default, matched, ARCH)
        .map_err(|e| format!("linux.seccomp: {e}"))?
        .try_into()
        .map_err(|e: seccompiler::BackendError| format!("linux.seccomp: {e}"))
}

/// Syscalls Docker's allowlist leaves out but profiles name (so they can be denied).
fn extra_numbers() -> impl Iterator<Item = (&'static str, i64)> {
    [
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("unshare", libc::SYS_unshare),
        ("setns", libc::SYS_setns),
        ("pivot_root", libc::SYS_pivot_root),
        ("clone", libc::SYS_clone),
        ("clone3", libc::SYS_clone3),
        ("personality", libc::SYS_personality),
        ("socket", libc::SYS_socket),
        ("ptrace", libc::SYS_ptrace),
        ("reboot", libc::SYS_reboot),
        ("bpf", libc::SYS_bpf),
        ("kexec_load", libc::SYS_kexec_load),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("delete_module", libc::SYS_delete_module),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("sethostname", libc::SYS_sethostname),
        ("setdomainname", libc::SYS_setdomainname),
        ("getcwd", libc::SYS_getcwd),
        ("chmod", libc::SYS_chmod),
        ("fchmod", libc::SYS_fchmod),
        ("mkdir", libc::SYS_mkdir),
        ("mkdirat", libc::SYS_mkdirat),
        ("getpid", libc::SYS_getpid),
    ]
    .into_iter()
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
