//! The runtime's one input, a [`Bundle`]: an OCI runtime spec (`oci_spec::runtime::Spec`,
//! the `config.json` of an OCI bundle) plus the few things bocker's runtime needs that OCI
//! has no field for ([`Extras`]). `bocker run` plans image config + flags into a bundle
//! ([`plan()`]), the container's creation binds it to the container ([`Bundle::finish`]),
//! and the runtime executes it, reading every setting OCI defines from the Spec.
//!
//! The stages of a run's data, one name each:
//! - [`image_rules`]: Docker's rules from an image config and `run` flags to the process
//!   (argv, env, working directory, user);
//! - [`plan()`]: image config + flags → a [`Bundle`], before the container exists; it
//!   creates nothing on the host;
//! - [`Bundle`]: what the runtime runs, finished when the container has an id and storage.

pub mod command;
pub mod defaults;
pub mod devices;
pub mod image_rules;
pub mod mounts;
pub mod plan;
pub mod ports;
pub mod recorded;
pub mod resources;
pub mod seccomp_json;
pub mod security;
pub mod settings;

use crate::network::NetworkMode;
use oci_spec::runtime::{Mount, Spec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

pub use plan::{plan, PlanError};

/// Host paths of the generated files bind-mounted at /etc/{hostname,hosts,resolv.conf}.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcFiles {
    pub hostname: PathBuf,
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
}

impl EtcFiles {
    /// (destination in the container, generated file on the host).
    pub fn mounts(&self) -> [(&'static str, &Path); 3] {
        [
            ("/etc/hostname", &self.hostname),
            ("/etc/hosts", &self.hosts),
            ("/etc/resolv.conf", &self.resolv_conf),
        ]
    }
}

/// What bocker's runtime needs beside the OCI spec: settings OCI has no field for.
/// Saved with the spec when a container is created (`bundle.json`, see
/// [`crate::container::saved`]): every field added later needs `#[serde(default)]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Extras {
    /// `--network`: which network the host side sets up (the namespace itself is in
    /// `linux.namespaces`).
    pub network: NetworkMode,
    /// `-p` mappings, published by the host side of the network step.
    pub ports: Vec<bocker_net::PortMapping>,
    /// Docker `-u` syntax (`name|uid[:group|gid]`, "" = root), resolved inside the
    /// container against its /etc/passwd and /etc/group; it then replaces
    /// `process.user`. `None`: `process.user` as given (an OCI runtime's behaviour).
    pub user: Option<String>,
    /// `--init`: run bocker's reaping init as PID 1 (Docker injects tini; OCI has no field).
    pub init: bool,
    /// `-i`: the container reads our stdin; otherwise its own /dev/null.
    pub stdin: bool,
    /// `--rm`: the container is removed right after it exits.
    pub auto_remove: bool,
    /// `-v` host directories: created at start, after the container exists, when missing
    /// (Docker's behaviour); planning creates nothing.
    pub volume_sources: Vec<PathBuf>,
    /// `--dns`, `--dns-search`, `--dns-option`: what the generated resolv.conf says
    /// instead of the host's (Docker's flags).
    pub dns: crate::etc_files::Dns,
    /// `--add-host name:ip` entries (validated), added to the generated /etc/hosts.
    pub add_host: Vec<String>,
    /// The generated /etc files (set when the container is created); network set-up
    /// writes the container's address into `hosts`.
    pub etc: EtcFiles,
    /// `--security-opt seccomp=unconfined` or `--privileged`: no seccomp filter at all
    /// (without it: the spec's `linux.seccomp`, else Docker's default profile).
    pub seccomp_unconfined: bool,
    /// `--stop-signal`: the signal `stop` sends first (else the image's).
    pub stop_signal: Option<String>,
    /// What the container record keeps beyond its typed fields (`ContainerConfig::extra`),
    /// besides [`Bundle::record_extra`]'s own: e.g. `labels`, `privileged`, `cap_add`,
    /// `cap_drop`, `stop_timeout` ([`security`], [`settings`]), `entrypoint` and `cmd`
    /// ([`command`]).
    pub record: BTreeMap<String, serde_json::Value>,
    /// Named and anonymous volumes (`-v NAME:/p`, `-v /p`, `--mount type=volume`): made,
    /// and their bind mounts added, when the container is created (`container::volumes`).
    pub volumes: Vec<mounts::VolumeRequest>,
}

impl Extras {
    /// Create the `-v` host directories that do not exist yet (Docker's behaviour); run
    /// at start, once the container exists, so a refused plan leaves nothing behind.
    pub fn create_volume_sources(&self) -> io::Result<()> {
        for dir in self.volume_sources.iter().filter(|d| !d.exists()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("creating volume source {}: {e}", dir.display()),
                )
            })?;
        }
        Ok(())
    }
}

/// The runtime's one input: an OCI runtime spec and bocker's extras. Serializable: a
/// container's finished bundle is what `start` and `restart` run again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    pub spec: Spec,
    pub extras: Extras,
}

impl Bundle {
    /// Bind a planned bundle to its container: the root path, the hostname (when not
    /// given: `default_hostname` — the container id, or the host's name in host network
    /// mode, as Docker — also `HOSTNAME` in the environment unless the image or `-e` set it),
    /// the generated /etc files, and the cgroup path. A user volume at one of the /etc
    /// files' destinations wins over the generated file (Docker's behaviour).
    pub fn finish(
        &mut self,
        default_hostname: &str,
        rootfs: &Path,
        etc: EtcFiles,
        cgroups_path: &Path,
    ) {
        let mut root = self.spec.root().clone().unwrap_or_default();
        root.set_path(rootfs.to_path_buf());
        self.spec.set_root(Some(root));
        if self.spec.hostname().is_none() {
            self.spec.set_hostname(Some(default_hostname.to_string()));
            if let Some(p) = self.spec.process_mut() {
                let env = p.env_mut().get_or_insert_with(Vec::new);
                if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
                    // Where Docker's order puts it: right after the default PATH.
                    let default_path = format!("PATH={}", image_rules::DEFAULT_PATH);
                    let at = usize::from(env.first() == Some(&default_path));
                    env.insert(at, format!("HOSTNAME={default_hostname}"));
                }
            }
        }
        // Last, so that they land on top of a user volume at /etc (as Docker's, whose
        // mounts are sorted by destination).
        let mounts = self.spec.mounts_mut().get_or_insert_with(Vec::new);
        let generated = etc_mounts(mounts, &etc);
        mounts.extend(generated);
        if let Some(linux) = self.spec.linux_mut() {
            linux.set_cgroups_path(Some(cgroups_path.to_path_buf()));
        }
        self.extras.etc = etc;
    }

    /// The user's volumes: the spec's bind mounts other than the generated /etc files.
    pub fn volumes(&self) -> impl Iterator<Item = &Mount> {
        let etc = self.extras.etc.mounts();
        self.spec
            .mounts()
            .iter()
            .flatten()
            .filter(|m| m.typ().as_deref() == Some("bind"))
            .filter(move |m| {
                !etc.iter()
                    .any(|(_, src)| m.source().as_deref() == Some(*src))
            })
    }

    /// Whether the container's processes run with `no_new_privs` (`--security-opt
    /// no-new-privileges`; Docker's default: no).
    pub fn no_new_privileges(&self) -> bool {
        let process = self.spec.process().as_ref();
        process.and_then(|p| p.no_new_privileges()) == Some(true)
    }

    /// What the container record keeps of the bundle beyond its typed fields (in
    /// `ContainerConfig::extra`): `no_new_privileges`, so that `exec` gives its commands
    /// the container's setting, as Docker does.
    pub fn record_extra(&self) -> BTreeMap<String, serde_json::Value> {
        let mut extra = self.extras.record.clone();
        extra.extend(recorded::record(self));
        extra.insert(
            RECORD_NO_NEW_PRIVILEGES.to_string(),
            self.no_new_privileges().into(),
        );
        extra
    }

    /// The seccomp filter the container's processes get.
    pub fn seccomp(&self) -> crate::security::Seccomp<'_> {
        let linux = self.spec.linux().as_ref();
        match linux.and_then(|l| l.seccomp().as_ref()) {
            _ if self.extras.seccomp_unconfined => crate::security::Seccomp::Unconfined,
            Some(profile) => crate::security::Seccomp::Profile(profile),
            None => crate::security::Seccomp::Default,
        }
    }

    /// The spec's device cgroup allow rules (`--device`, `--privileged`) in
    /// bocker-cgroups' terms, to add to the default policy.
    pub fn device_rules(&self) -> Vec<bocker_cgroups::DeviceRule> {
        let linux = self.spec.linux().as_ref();
        let resources = linux.and_then(|l| l.resources().as_ref());
        let rules = resources.and_then(|r| r.devices().as_ref());
        rules
            .into_iter()
            .flatten()
            .filter(|d| d.allow())
            .map(|d| bocker_cgroups::DeviceRule {
                kind: match d.typ() {
                    Some(oci_spec::runtime::LinuxDeviceType::C) => 'c',
                    Some(oci_spec::runtime::LinuxDeviceType::B) => 'b',
                    _ => 'a',
                },
                major: d.major().and_then(|m| u32::try_from(m).ok()),
                minor: d.minor().and_then(|m| u32::try_from(m).ok()),
                access: static_access(d.access().as_deref().unwrap_or("rwm")),
            })
            .collect()
    }

    /// The hostname the container gets ("" when unset).
    pub fn hostname(&self) -> &str {
        self.spec.hostname().as_deref().unwrap_or("")
    }
}

/// A cgroup access string as one of the static ones bocker-cgroups' rules hold
/// (letters out of `rwm`; validated when planned).
fn static_access(s: &str) -> &'static str {
    let has = |c| s.contains(c);
    match (has('r'), has('w'), has('m')) {
        (true, true, true) => "rwm",
        (true, true, false) => "rw",
        (true, false, true) => "rm",
        (true, false, false) => "r",
        (false, true, true) => "wm",
        (false, true, false) => "w",
        (false, false, true) => "m",
        (false, false, false) => "",
    }
}

/// The key of [`Bundle::no_new_privileges`] in a container record's `config`.
pub const RECORD_NO_NEW_PRIVILEGES: &str = "no_new_privileges";

/// The `no_new_privs` setting a container was started with, from its record (false for
/// records written before it was kept: Docker's default).
pub fn recorded_no_new_privileges(config: &bocker_store::ContainerConfig) -> bool {
    let value = config.extra.get(RECORD_NO_NEW_PRIVILEGES);
    value.and_then(serde_json::Value::as_bool).unwrap_or(false)
}

/// Bind mounts of the generated /etc files whose destination no user mount takes
/// (Docker: a `-v` at /etc/hosts replaces the generated file, its `ro` kept).
fn etc_mounts(existing: &[Mount], etc: &EtcFiles) -> Vec<Mount> {
    etc.mounts()
        .into_iter()
        .filter(|(dest, _)| !existing.iter().any(|m| m.destination() == Path::new(dest)))
        .map(|(dest, src)| defaults::mount(dest, "bind", src, &["rbind", "rprivate"]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;
    use bocker_store::record::ImageConfig;
    use clap::Parser;

    fn finished(flags: &[&str]) -> Bundle {
        let argv = ["bocker-run"].iter().chain(flags).chain(&["img", "true"]);
        let mut b = plan(&Args::parse_from(argv), &ImageConfig::default()).unwrap();
        let etc = EtcFiles {
            hostname: "/c/hostname".into(),
            hosts: "/c/hosts".into(),
            resolv_conf: "/c/resolv.conf".into(),
        };
        b.finish("c1", Path::new("/c/rootfs"), etc, Path::new("bocker/c1"));
        b
    }

    fn env(b: &Bundle) -> Vec<String> {
        b.spec.process().as_ref().unwrap().env().clone().unwrap()
    }

    #[test]
    fn finish_binds_the_bundle_to_its_container() {
        let b = finished(&["-v", "/d:/data"]);
        assert_eq!(b.hostname(), "c1");
        let path = format!("PATH={}", image_rules::DEFAULT_PATH);
        assert_eq!(env(&b)[..2], [path, "HOSTNAME=c1".to_string()]);
        let root = b.spec.root().as_ref().unwrap();
        assert_eq!(root.path(), Path::new("/c/rootfs"));
        let cg = b.spec.linux().as_ref().unwrap().cgroups_path().clone();
        assert_eq!(cg, Some(PathBuf::from("bocker/c1")));
        let vols: Vec<_> = b.volumes().map(|m| m.destination().clone()).collect();
        assert_eq!(
            vols,
            [PathBuf::from("/data")],
            "the /etc files are no volumes"
        );
    }

    /// The bundle's Spec is a real OCI `config.json`: it saves, loads back unchanged, and
    /// uses the spec's field names (what `bocker-runtime` will read from a bundle).
    #[test]
    fn the_spec_is_an_oci_config_json() {
        let b = finished(&["--read-only", "-v", "/d:/data:ro"]);
        let dir = std::env::temp_dir().join(format!("bocker-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        b.spec.save(&path).unwrap();
        let json = std::fs::read_to_string(&path).unwrap();
        let loaded = Spec::load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(loaded, b.spec);
        for field in [
            "\"ociVersion\":\"1.2.0\"",
            "\"noNewPrivileges\":false",
            "\"CAP_NET_BIND_SERVICE\"",
            "\"maskedPaths\"",
            "\"readonlyPaths\"",
            "\"cgroupsPath\":\"bocker/c1\"",
            "\"readonly\":true",
            "\"RLIMIT_NOFILE\"",
        ] {
            assert!(json.contains(field), "{field} missing from {json}");
        }
    }

    #[test]
    fn a_given_hostname_is_kept() {
        let b = finished(&["--hostname", "web"]);
        assert_eq!(b.hostname(), "web");
        let e = env(&b);
        assert!(e.contains(&"HOSTNAME=web".to_string()));
        assert!(!e.iter().any(|v| v == "HOSTNAME=c1"));
    }
}
