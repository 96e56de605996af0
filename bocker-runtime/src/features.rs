//! `bocker-runtime features`: what this runtime supports, in runc's JSON shape (OCI
//! runtime spec "features.md": `ociVersionMin`/`Max`, `hooks`, `mountOptions`, `linux`).
//!
//! Only facts true of bocker's runtime library today, each with where it lives; a list
//! grows when the code it names does (docs/RUNTIME-OCI.md tracks what is missing):
//! - namespaces: bocker-run's clone flags (mount, uts, ipc, pid, network) and its
//!   `unshare(CLONE_NEWCGROUP)`, `user` (with uid/gid mappings, or joined by path); no
//!   `time` yet;
//! - capabilities: bocker-run's capability masks are by number, so every capability the
//!   kernel headers name (`CAP_CHOWN` … `CAP_CHECKPOINT_RESTORE`, 0–40);
//! - cgroup: v1 and v2 through bocker-cgroups' cgroupfs code; no systemd driver;
//! - seccomp: a spec's `linux.seccomp` compiled into BPF (`bocker_run::oci::seccomp`)
//!   for x86_64; the actions and operators listed are those it maps (each rule its own
//!   action);
//! - hooks: all six kinds the runtime spec names, run by `bocker_run::oci::hooks`
//!   (`prestart`, `createRuntime`, `createContainer`, `startContainer`, `poststart`,
//!   `poststop`);
//! - no AppArmor, SELinux, Intel RDT.

use oci_spec::runtime::Features;
use serde_json::json;

/// The hook kinds this runtime runs (runtime spec config.md, runc's `features` order).
pub const HOOKS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// The oldest OCI runtime spec version a bundle may declare.
pub const OCI_VERSION_MIN: &str = "1.0.0";
/// The newest OCI runtime spec version whose fields bocker reads: the one oci-spec's types
/// follow (1.1.0 for oci-spec 0.10).
pub const OCI_VERSION_MAX: &str = oci_spec::runtime::VERSION;

/// Linux capabilities by their spec names, numbered 0..=40 as in `linux/capability.h`.
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// This runtime's features (see the module doc for the source of each fact), typed by
/// oci-spec's `Features` so the shape is the spec's.
pub fn features() -> Features {
    let value = json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": HOOKS,
        "mountOptions": [],
        "linux": {
            "namespaces": ["mount", "uts", "ipc", "pid", "network", "cgroup", "user"],
            "capabilities": CAPABILITIES.as_slice(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": [
                    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"
                ],
                "operators": [
                    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
                ],
                "archs": ["SCMP_ARCH_X86_64"]
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        }
    });
    // A true invariant: the literal above is checked against oci-spec's types by the tests.
    serde_json::from_value(value).expect("the features literal has the spec's shape")
}

/// [`features`] as `runc features` prints it: indented JSON, one trailing newline.
pub fn to_json() -> String {
    let mut s = serde_json::to_string_pretty(&features()).expect("plain data serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json() -> serde_json::Value {
        serde_json::from_str(&to_json()).unwrap()
    }

    #[test]
    fn has_runcs_top_level_shape() {
        let v = json();
        assert_eq!(v["ociVersionMin"], "1.0.0");
        assert!(v["ociVersionMax"].as_str().unwrap().starts_with("1."));
        assert!(v["hooks"].is_array());
        assert!(v["mountOptions"].is_array());
        assert!(v["linux"].is_object());
    }

    #[test]
    fn claims_only_what_bocker_does() {
        let v = json();
        let ns: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(
            ns,
            ["mount", "uts", "ipc", "pid", "network", "cgroup", "user"]
        );
        assert_eq!(v["linux"]["cgroup"]["systemd"], false);
        assert_eq!(v["linux"]["cgroup"]["v1"], true);
        assert_eq!(v["linux"]["apparmor"]["enabled"], false);
        assert_eq!(v["linux"]["selinux"]["enabled"], false);
        assert_eq!(v["linux"]["seccomp"]["enabled"], true);
        assert!(v["linux"]["seccomp"]["actions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("SCMP_ACT_ERRNO")));
        // Every hook kind: the runtime runs them all (oci::hooks).
        assert_eq!(v["hooks"], serde_json::json!(HOOKS));
    }

    #[test]
    fn capabilities_are_numbered_as_the_kernel_does() {
        assert_eq!(CAPABILITIES[0], "CAP_CHOWN");
        assert_eq!(CAPABILITIES[21], "CAP_SYS_ADMIN");
        assert_eq!(CAPABILITIES[40], "CAP_CHECKPOINT_RESTORE");
        assert_eq!(
            json()["linux"]["capabilities"].as_array().unwrap().len(),
            41
        );
    }
}
