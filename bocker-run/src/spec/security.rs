//! `run`'s security flags into the spec, as Docker maps them: `--cap-add`/`--cap-drop`
//! (moby's `TweakCapabilities`), `--privileged`, `--device` ([`super::devices`]) and
//! `--security-opt` (`no-new-privileges`, `seccomp=unconfined|PROFILE`
//! ([`super::seccomp_json`]), `systempaths=unconfined`; `apparmor=` and `label=` are
//! accepted and have no effect, as Docker on a host without AppArmor or SELinux).

use super::{defaults, devices, seccomp_json, Bundle};
use crate::cli::security::SecurityArgs;
use crate::security::capabilities;
use oci_spec::runtime::{Capabilities, Capability, LinuxDeviceCgroup, LinuxDeviceType};
use serde_json::{json, Value};
use thiserror::Error;

/// A flag value `run` refuses; the message is Docker's where it has one.
#[derive(Debug, Error)]
pub enum FlagError {
    /// Docker's daemon message (`invalid CapAdd: unknown capability: "CAP_FOO"`).
    #[error("invalid {0}: unknown capability: {1:?}")]
    Capability(&'static str, String),
    /// Docker 20.10's daemon message for a bad `no-new-privileges` value.
    #[error("invalid --security-opt 2: {0:?}")]
    SecurityOpt(String),
    /// Docker CLI 28.2.2's message for an option it does not know.
    #[error("Invalid --security-opt: {0:?}")]
    UnknownSecurityOpt(String),
    /// Any other refused value: the flag, the value and why.
    #[error("{0}")]
    Invalid(String),
}

/// Every capability Linux 5.9+ defines, in kernel order (`linux/capability.h`).
const ALL: [Capability; 41] = {
    use Capability::*;
    [
        Chown,
        DacOverride,
        DacReadSearch,
        Fowner,
        Fsetid,
        Kill,
        Setgid,
        Setuid,
        Setpcap,
        LinuxImmutable,
        NetBindService,
        NetBroadcast,
        NetAdmin,
        NetRaw,
        IpcLock,
        IpcOwner,
        SysModule,
        SysRawio,
        SysChroot,
        SysPtrace,
        SysPacct,
        SysAdmin,
        SysBoot,
        SysNice,
        SysResource,
        SysTime,
        SysTtyConfig,
        Mknod,
        Lease,
        AuditWrite,
        AuditControl,
        Setfcap,
        MacOverride,
        MacAdmin,
        Syslog,
        WakeAlarm,
        BlockSuspend,
        AuditRead,
        Perfmon,
        Bpf,
        CheckpointRestore,
    ]
};

/// Apply the security flags to a planned bundle whose process user is `uid`.
pub fn apply(args: &SecurityArgs, bundle: &mut Bundle, uid: u32) -> Result<(), FlagError> {
    let opts = SecurityOpts::parse(&args.security_opt)?;
    let caps = capability_set(args)?;
    let spec = &mut bundle.spec;
    if let Some(p) = spec.process_mut() {
        let mut c = defaults::capabilities();
        c.set_bounding(Some(caps.clone()));
        c.set_effective(Some(caps.clone()));
        c.set_permitted(Some(caps));
        p.set_capabilities(Some(capabilities::for_user(&c, uid)));
        p.set_no_new_privileges(Some(opts.no_new_privileges));
    }
    let devs = devices::parse_all(&args.device)?;
    let linux = spec.linux_mut().get_or_insert_with(Default::default);
    let mut rules: Vec<LinuxDeviceCgroup> = devs.iter().map(devices::Device::rule).collect();
    let mut nodes: Vec<_> = devs.iter().map(devices::Device::node).collect();
    if args.privileged {
        // Docker: every device allowed, /sys and the cgroupfs writable, nothing masked.
        let mut all = LinuxDeviceCgroup::default();
        all.set_allow(true);
        all.set_typ(Some(LinuxDeviceType::A));
        all.set_access(Some("rwm".into()));
        rules = vec![all];
    }
    if args.privileged || opts.systempaths_unconfined {
        linux.set_masked_paths(Some(Vec::new()));
        linux.set_readonly_paths(Some(Vec::new()));
    }
    if !rules.is_empty() {
        let mut r = linux.resources().clone().unwrap_or_default();
        r.devices_mut().get_or_insert_with(Vec::new).extend(rules);
        linux.set_resources(Some(r));
    }
    if !nodes.is_empty() {
        linux
            .devices_mut()
            .get_or_insert_with(Vec::new)
            .append(&mut nodes);
    }
    if args.privileged {
        for m in spec.mounts_mut().iter_mut().flatten() {
            let dest = m.destination().to_string_lossy().into_owned();
            if dest == "/sys" || dest == "/sys/fs/cgroup" {
                if let Some(o) = m.options_mut() {
                    o.retain(|o| o != "ro");
                }
            }
        }
    }
    match (&opts.seccomp, args.privileged) {
        // Docker: a privileged container gets no filter, whatever --security-opt says.
        (_, true) | (Some(SeccompOpt::Unconfined), _) => bundle.extras.seccomp_unconfined = true,
        (Some(SeccompOpt::Profile(path)), false) => {
            let caps = spec_caps(bundle);
            let profile = seccomp_json::load(path, &caps)?;
            crate::oci::seccomp::compile(&profile)
                .map_err(|e| FlagError::Invalid(format!("seccomp profile {path}: {e}")))?;
            let linux = bundle.spec.linux_mut().get_or_insert_with(Default::default);
            linux.set_seccomp(Some(profile));
        }
        (None, false) => {}
    }
    let record = &mut bundle.extras.record;
    record.insert("privileged".into(), args.privileged.into());
    record.insert("cap_add".into(), names_or_null(&args.cap_add));
    record.insert("cap_drop".into(), names_or_null(&args.cap_drop));
    if !args.security_opt.is_empty() {
        record.insert("security_opt".into(), json!(args.security_opt));
    }
    if !devs.is_empty() {
        // inspect's HostConfig.Devices, Docker's shape.
        let host = args
            .device
            .iter()
            .map(|d| d.split(':').next().unwrap_or_default());
        let list: Vec<Value> = devs
            .iter()
            .zip(host)
            .map(|(d, h)| {
                json!({"PathOnHost": h, "PathInContainer": d.path_in_container,
                       "CgroupPermissions": d.access})
            })
            .collect();
        record.insert("devices".into(), Value::Array(list));
    }
    Ok(())
}

/// The bounding set the process gets (what a profile's `includes.caps` test against).
fn spec_caps(bundle: &Bundle) -> Vec<Capability> {
    let p = bundle.spec.process().as_ref();
    let caps = p.and_then(|p| p.capabilities().as_ref());
    let bounding = caps.and_then(|c| c.bounding().clone()).unwrap_or_default();
    bounding.into_iter().collect()
}

/// `--cap-add` names as Docker's inspect shows them (`CAP_NET_ADMIN`, `ALL`); null when none.
fn names_or_null(names: &[String]) -> Value {
    if names.is_empty() {
        return Value::Null;
    }
    json!(names.iter().map(|n| normalize(n)).collect::<Vec<_>>())
}

/// `net_admin`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL` (moby's
/// `NormalizeLegacyCapabilities`).
fn normalize(name: &str) -> String {
    let upper = name.to_uppercase();
    if upper == "ALL" || upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

fn parse_caps(what: &'static str, names: &[String]) -> Result<(bool, Vec<Capability>), FlagError> {
    let mut all = false;
    let mut out = Vec::new();
    for n in names.iter().map(|n| normalize(n)) {
        if n == "ALL" {
            all = true;
            continue;
        }
        let cap: Capability = serde_json::from_value(Value::String(n.clone()))
            .map_err(|_| FlagError::Capability(what, n.clone()))?;
        out.push(cap);
    }
    Ok((all, out))
}

/// moby's `TweakCapabilities`: privileged or `--cap-add ALL` → every capability (less
/// the drops), `--cap-drop ALL` → only the adds, else the default set less the drops plus
/// the adds. Capabilities bocker itself does not hold (CAP_SYS_RESOURCE on some hosts)
/// cannot be given to a container: they are left out, with a warning when named.
fn capability_set(args: &SecurityArgs) -> Result<Capabilities, FlagError> {
    let (add_all, add) = parse_caps("CapAdd", &args.cap_add)?;
    let (drop_all, drop) = parse_caps("CapDrop", &args.cap_drop)?;
    let set: Vec<Capability> = if args.privileged {
        ALL.to_vec()
    } else if add_all {
        ALL.into_iter().filter(|c| !drop.contains(c)).collect()
    } else if drop_all {
        add.clone()
    } else {
        let mut s: Vec<Capability> = defaults::CAPABILITIES
            .into_iter()
            .filter(|c| !drop.contains(c))
            .collect();
        s.extend(add.iter().copied());
        s
    };
    let held = held_capabilities();
    for c in add
        .iter()
        .filter(|c| held & (1 << capabilities::number(**c)) == 0)
    {
        bocker_cli::warn(&format!(
            "warning: bocker itself does not hold {}; the container cannot have it",
            serde_json::to_value(c)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?")
        ));
    }
    Ok(set
        .into_iter()
        .filter(|c| held & (1 << capabilities::number(*c)) != 0)
        .collect())
}

/// Every capability bocker itself holds: what `--privileged` gives a container and
/// `exec --privileged` a command (moby's `caps.GetAllCapabilities`, less what this
/// process lacks, e.g. CAP_SYS_RESOURCE on some hosts).
pub fn privileged_capabilities() -> Vec<Capability> {
    let held = held_capabilities();
    ALL.into_iter()
        .filter(|c| held & (1 << capabilities::number(*c)) != 0)
        .collect()
}

/// Our own permitted set (`CapPrm` of /proc/self/status); all bits when unreadable.
fn held_capabilities() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("CapPrm:"))?;
            u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
        })
        .unwrap_or(u64::MAX)
}

/// `seccomp=` of `--security-opt`.
#[derive(Debug, PartialEq)]
enum SeccompOpt {
    Unconfined,
    Profile(String),
}

#[derive(Debug, Default)]
struct SecurityOpts {
    no_new_privileges: bool,
    seccomp: Option<SeccompOpt>,
    systempaths_unconfined: bool,
}

impl SecurityOpts {
    /// Docker's `parseSecurityOpt`: `key=value` (or the old `key:value`); the last wins.
    /// `no-new-privileges` alone is on; its value is Go's `strconv.ParseBool`. Off by
    /// default, as in Docker, so setuid tools such as `su` and `sudo` work.
    fn parse(opts: &[String]) -> Result<SecurityOpts, FlagError> {
        let mut out = SecurityOpts::default();
        for opt in opts {
            if opt == "no-new-privileges" {
                out.no_new_privileges = true;
                continue;
            }
            let bad = || FlagError::SecurityOpt(opt.clone());
            let unknown = || FlagError::UnknownSecurityOpt(opt.clone());
            let (key, value) = opt
                .split_once('=')
                .or_else(|| opt.split_once(':'))
                .ok_or_else(unknown)?;
            match key {
                "no-new-privileges" => {
                    out.no_new_privileges = match value {
                        "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                        "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                        _ => return Err(bad()),
                    }
                }
                "seccomp" if value == "unconfined" => out.seccomp = Some(SeccompOpt::Unconfined),
                "seccomp" => out.seccomp = Some(SeccompOpt::Profile(value.to_string())),
                "systempaths" if value == "unconfined" => out.systempaths_unconfined = true,
                // No AppArmor or SELinux in bocker: Docker on such a host ignores them too.
                "apparmor" | "label" => {}
                _ => return Err(unknown()),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Result<SecurityOpts, FlagError> {
        SecurityOpts::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn security_opt_spellings() {
        assert!(!opts(&[]).unwrap().no_new_privileges);
        assert!(opts(&["no-new-privileges"]).unwrap().no_new_privileges);
        assert!(opts(&["no-new-privileges=true"]).unwrap().no_new_privileges);
        assert!(
            !opts(&["no-new-privileges", "no-new-privileges=false"])
                .unwrap()
                .no_new_privileges
        );
        assert!(opts(&["no-new-privileges:1"]).unwrap().no_new_privileges);
        assert_eq!(
            opts(&["no-new-privileges=yes"]).unwrap_err().to_string(),
            "invalid --security-opt 2: \"no-new-privileges=yes\""
        );
        let s = opts(&["seccomp=unconfined"]).unwrap().seccomp;
        assert_eq!(s, Some(SeccompOpt::Unconfined));
        let s = opts(&["seccomp=/p.json"]).unwrap().seccomp;
        assert_eq!(s, Some(SeccompOpt::Profile("/p.json".into())));
        assert!(opts(&["apparmor=unconfined", "label=disable"]).is_ok());
        // Docker CLI 28.2.2.
        assert_eq!(
            opts(&["bogus"]).unwrap_err().to_string(),
            "Invalid --security-opt: \"bogus\""
        );
    }

    #[test]
    fn capabilities_as_moby_tweaks_them() {
        let set = |add: &[&str], drop: &[&str]| {
            let a = SecurityArgs {
                cap_add: add.iter().map(|s| s.to_string()).collect(),
                cap_drop: drop.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            };
            capabilities::mask(Some(&capability_set(&a).unwrap()))
        };
        assert_eq!(set(&[], &[]), 0xa80425fb, "Docker's default set");
        assert_eq!(set(&[], &["ALL"]), 0);
        assert_eq!(set(&["net_admin"], &["all"]), 1 << 12);
        assert_eq!(set(&[], &["CAP_CHOWN"]), 0xa80425fa);
        assert_eq!(set(&["ALL"], &["chown"]) & 1, 0);
        let a = SecurityArgs {
            cap_add: vec!["FOO".into()],
            ..Default::default()
        };
        assert_eq!(
            capability_set(&a).unwrap_err().to_string(),
            "invalid CapAdd: unknown capability: \"CAP_FOO\""
        );
    }
}
