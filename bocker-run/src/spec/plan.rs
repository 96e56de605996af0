//! Planning: `run` flags and an image config → a [`Bundle`] (OCI spec + extras), before
//! the container exists. Planning reads (env files, the seed's environment knobs) but
//! creates nothing on the host: a refused plan leaves nothing behind.

use super::image_rules::{self, ImageDefaults, RuleError};
use super::{defaults, resources, Bundle, Extras};
use crate::cli::Args;
use crate::network::NetworkMode;
use crate::security::capabilities;
use crate::security::user::MAX_ID;
use bocker_cgroups::{parse_memory, CgroupError, Limits};
use bocker_net::PortMapping;
use bocker_store::record::ImageConfig;
use oci_spec::runtime::{
    LinuxBuilder, Mount, ProcessBuilder, RootBuilder, SpecBuilder, UserBuilder,
};
use oci_spec::OciSpecError;
use std::path::PathBuf;
use thiserror::Error;

/// Seed default for `BOCKER_MEM_LIMIT` (MB).
pub const DEFAULT_MEM_MB: u64 = 512;
/// The smallest `--memory` Docker 20.10 accepts (`linuxMinMemory`, 6 MiB).
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;
/// Seed default for `BOCKER_CPU_SHARE`.
pub const DEFAULT_CPU_SHARES: u64 = 512;
/// The OCI runtime spec version the bundle follows.
pub const OCI_VERSION: &str = "1.2.0";

/// Why a `run` could not be planned; each names the refused input and the reason.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("reading env file {path}: {source}")]
    EnvFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--network {0}: {1}")]
    Network(String, String),
    #[error("-p {0}: {1}")]
    Port(String, bocker_net::NetError),
    #[error("-p publishes ports of a bridged container; it cannot be used with --network {0}")]
    PortsNeedBridge(String),
    #[error("invalid volume '{0}': {1}")]
    Volume(String, &'static str),
    #[error(transparent)]
    Mount(#[from] super::mounts::MountError),
    /// Docker's CLI message for a bad `--expose`.
    #[error("invalid range format for --expose: {0}")]
    Expose(String),
    #[error("--memory {0}: {1}")]
    Memory(String, CgroupError),
    /// Docker 20.10's daemon message, word for word (`linuxMinMemory`).
    #[error("Minimum memory limit allowed is 6MB")]
    MemoryTooLow,
    /// Docker 20.10's daemon message, word for word.
    #[error("Range of CPUs is from 0.01 to {0}.00, as there are only {0} CPUs available")]
    Cpus(u32),
    #[error("{var}={value} is not a number")]
    Knob { var: &'static str, value: String },
    #[error(transparent)]
    Flag(#[from] super::security::FlagError),
    #[error("building the runtime spec: {0}")]
    Spec(#[from] OciSpecError),
    /// `--dns*` or `--add-host` values that cannot go into resolv.conf / hosts.
    #[error("{0}")]
    Names(std::io::Error),
}

/// A `-v HOST:CTR[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub host: PathBuf,
    pub dest: String,
    pub readonly: bool,
}

impl Volume {
    /// The bind mount: `rbind`, plus `ro,nosuid,nodev` when read-only.
    pub fn mount(&self) -> Mount {
        let opts: &[&str] = if self.readonly {
            &["rbind", "rprivate", "ro", "nosuid", "nodev"]
        } else {
            &["rbind", "rprivate"]
        };
        defaults::mount(&self.dest, "bind", self.host.clone(), opts)
    }
}

fn image_defaults(c: &ImageConfig) -> ImageDefaults {
    ImageDefaults {
        entrypoint: c.entrypoint.clone(),
        cmd: c.cmd.clone(),
        env: c.env.clone(),
        working_dir: c.working_dir.clone(),
        user: c.user.clone(),
    }
}

/// Plan a `run`: Docker's rules for the process, Docker's defaults for everything else.
/// The root path, the default hostname, the /etc files and the cgroup path are set when
/// the container is created ([`Bundle::finish`]).
pub fn plan(args: &Args, image: &ImageConfig) -> Result<Bundle, PlanError> {
    let (image_config, exposed) = (image, super::ports::exposed(args, image)?);
    let image = image_defaults(image);
    let argv = image_rules::argv(&image, args.entrypoint.as_deref(), &args.command)?;
    let env = image_rules::env(&image, args.hostname.as_deref(), &user_env(args)?)?;
    let cwd = image_rules::workdir(&image, args.workdir.as_deref())?;
    let user = image_rules::user(&image, args.user.as_deref());
    let network: NetworkMode = args
        .network
        .parse()
        .map_err(|e| PlanError::Network(args.network.clone(), e))?;
    let ports = ports(args, network)?;
    let volumes = args
        .volumes
        .iter()
        .filter(|v| !super::mounts::is_volume(v))
        .map(|v| parse_volume(v))
        .collect::<Result<Vec<_>, _>>()?;
    let limits = limits(args)?;

    let (uid, gid) = numeric_user(&user);
    let process = ProcessBuilder::default()
        .terminal(false)
        .user(UserBuilder::default().uid(uid).gid(gid).build()?)
        .args(argv)
        .env(env)
        .cwd(cwd)
        .capabilities(capabilities::for_user(&defaults::capabilities(), uid))
        .rlimits(defaults::rlimits()?)
        .no_new_privileges(false)
        .build()?;
    let mut mounts = defaults::standard_mounts();
    mounts.extend(volumes.iter().map(Volume::mount));
    let linux = LinuxBuilder::default()
        .namespaces(defaults::namespaces(network.own_netns()))
        .resources(resources::to_spec(&limits))
        .masked_paths(defaults::paths(defaults::MASKED_PATHS))
        .readonly_paths(defaults::paths(defaults::READONLY_PATHS))
        .build()?;
    let mut spec = SpecBuilder::default()
        .version(OCI_VERSION)
        .root(
            RootBuilder::default()
                .path("")
                .readonly(args.read_only)
                .build()?,
        )
        .process(process)
        .mounts(mounts)
        .linux(linux)
        .build()?;
    spec.set_hostname(args.hostname.clone());
    // Bad DNS or --add-host flags are refused here, before anything is made.
    let dns = crate::etc_files::Dns::new(&args.dns, &args.dns_search, &args.dns_option)
        .map_err(PlanError::Names)?;
    crate::etc_files::add_host_lines(&args.add_host).map_err(PlanError::Names)?;
    let mut bundle = Bundle {
        spec,
        extras: Extras {
            network,
            ports,
            user: Some(user),
            init: args.init,
            stdin: args.interactive,
            auto_remove: args.rm,
            volume_sources: volumes.into_iter().map(|v| v.host).collect(),
            dns,
            add_host: args.add_host.clone(),
            ..Default::default()
        },
    };
    super::security::apply(&args.security, &mut bundle, uid)?;
    super::settings::apply(&args.config, &mut bundle)?;
    super::mounts::add(args, &mut bundle)?;
    super::ports::add(args, &exposed, &mut bundle)?;
    super::command::record(args, image_config, &mut bundle);
    Ok(bundle)
}

/// `--env-file` lines, then `-e` (later wins).
fn user_env(args: &Args) -> Result<Vec<String>, PlanError> {
    let mut out = Vec::new();
    for f in &args.env_file {
        let text = std::fs::read_to_string(f).map_err(|source| PlanError::EnvFile {
            path: f.clone(),
            source,
        })?;
        out.extend(image_rules::parse_env_file(&text)?);
    }
    out.extend(args.env.iter().cloned());
    Ok(out)
}

fn ports(args: &Args, network: NetworkMode) -> Result<Vec<PortMapping>, PlanError> {
    let ports = args
        .publish
        .iter()
        .map(|p| PortMapping::parse_all(p).map_err(|e| PlanError::Port(p.clone(), e)))
        .collect::<Result<Vec<Vec<PortMapping>>, _>>()?
        .concat();
    if !ports.is_empty() && network != NetworkMode::Bridge {
        return Err(PlanError::PortsNeedBridge(args.network.clone()));
    }
    Ok(ports)
}

/// `uid` or `uid:gid` as numbers; anything else (names, ids out of range, which the
/// resolution at start refuses) is resolved inside the container at start, so the spec
/// says root until then.
fn numeric_user(user: &str) -> (u32, u32) {
    let (u, g) = user.split_once(':').unwrap_or((user, "0"));
    let id = |s: &str| s.parse::<u32>().ok().filter(|&v| i64::from(v) <= MAX_ID);
    match (id(u), id(g)) {
        (Some(u), Some(g)) => (u, g),
        _ => (0, 0),
    }
}

/// Flags win over the seed's knobs, which win over the seed's defaults.
pub fn limits(args: &Args) -> Result<Limits, PlanError> {
    let memory_bytes = match &args.memory {
        Some(m) => match parse_memory(m).map_err(|e| PlanError::Memory(m.clone(), e))? {
            // Docker: `--memory 0` is no limit; below 6 MiB is refused.
            0 => None,
            b if b < MIN_MEMORY => return Err(PlanError::MemoryTooLow),
            b => Some(b),
        },
        None => Some(env_number("BOCKER_MEM_LIMIT")?.unwrap_or(DEFAULT_MEM_MB) * 1_000_000),
    };
    let cpu_shares = match args.cpu_shares {
        Some(s) => s,
        None => env_number("BOCKER_CPU_SHARE")?.unwrap_or(DEFAULT_CPU_SHARES),
    };
    Ok(Limits {
        memory_bytes,
        cpu_shares: Some(cpu_shares),
        cpus: cpus(args.cpus)?,
        pids_max: args.pids_limit.filter(|&p| p > 0),
    })
}

/// `--cpus`: 0 means no limit; below 0, above the CPUs we may run on, or not a number
/// is refused (Docker 20.10's `verifyContainerResources`).
fn cpus(flag: Option<f64>) -> Result<Option<f64>, PlanError> {
    let Some(cpus) = flag.filter(|&c| c != 0.0) else {
        return Ok(None);
    };
    let n = crate::sys::online_cpus().unwrap_or(1);
    if !(cpus > 0.0 && cpus <= f64::from(n)) {
        return Err(PlanError::Cpus(n));
    }
    Ok(Some(cpus))
}

fn env_number(var: &'static str) -> Result<Option<u64>, PlanError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| PlanError::Knob { var, value: v }),
        _ => Ok(None),
    }
}

/// `HOST:CTR[:ro|rw]`, both absolute. Nothing is created here: a missing host directory
/// is created at start ([`Extras::volume_sources`]), as Docker does.
pub fn parse_volume(v: &str) -> Result<Volume, PlanError> {
    let parts: Vec<&str> = v.split(':').collect();
    let (host, dest, readonly) = match parts.as_slice() {
        [h, d] => (*h, *d, false),
        [h, d, modes] if super::mounts::bind_readonly(modes).is_some() => {
            (*h, *d, super::mounts::bind_readonly(modes) == Some(true))
        }
        _ => {
            return Err(PlanError::Volume(
                v.to_string(),
                "expected HOST:CONTAINER[:ro|rw]",
            ))
        }
    };
    if !host.starts_with('/') || !dest.starts_with('/') {
        return Err(PlanError::Volume(
            v.to_string(),
            "both paths must be absolute",
        ));
    }
    Ok(Volume {
        host: PathBuf::from(host),
        dest: dest.to_string(),
        readonly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use oci_spec::runtime::LinuxNamespaceType;

    #[test]
    fn volumes_parse() {
        let v = parse_volume("/tmp:/data:ro").unwrap();
        assert_eq!((v.dest.as_str(), v.readonly), ("/data", true));
        assert!(parse_volume("rel:/x").is_err());
        assert!(parse_volume("/tmp:/x:zz").is_err());
        assert!(parse_volume("/tmp").is_err());
    }

    #[test]
    fn planning_creates_no_volume_source() {
        let dir = std::env::temp_dir().join(format!("bocker-plan-{}", std::process::id()));
        let arg = format!("{}:/data", dir.display());
        let args = Args::parse_from(["bocker-run", "-v", &arg, "img", "true"]);
        let b = plan(&args, &ImageConfig::default()).unwrap();
        assert!(!dir.exists(), "planning must not create {}", dir.display());
        assert_eq!(b.extras.volume_sources, vec![dir]);
    }

    #[test]
    fn the_spec_carries_what_oci_defines() {
        let args = Args::parse_from([
            "bocker-run",
            "--read-only",
            "--network",
            "host",
            "-u",
            "1000:100",
            "--pids-limit",
            "7",
            "img",
            "sleep",
            "1",
        ]);
        let b = plan(&args, &ImageConfig::default()).unwrap();
        let s = &b.spec;
        let p = s.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &["sleep", "1"]);
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 100));
        // Docker 20.10: off unless --security-opt no-new-privileges.
        assert_eq!(p.no_new_privileges(), Some(false));
        // A non-root user starts without capabilities but the bounding set (Docker).
        assert!(p
            .capabilities()
            .as_ref()
            .unwrap()
            .effective()
            .as_ref()
            .unwrap()
            .is_empty());
        let caps = p.capabilities().as_ref().unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
        assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
        let linux = s.linux().as_ref().unwrap();
        let ns = linux.namespaces().as_ref().unwrap();
        assert!(!ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network));
        assert!(ns.iter().any(|n| n.typ() == LinuxNamespaceType::Pid));
        let pids = linux.resources().as_ref().unwrap().pids().as_ref().unwrap();
        assert_eq!(pids.limit(), 7);
        let masked = linux.masked_paths().as_ref().unwrap();
        assert!(masked.contains(&"/proc/kcore".to_string()));
        assert_eq!(b.extras.user.as_deref(), Some("1000:100"));
        assert!(s.hostname().is_none(), "the container id, set at create");
    }

    #[test]
    fn refusals_name_the_input() {
        let args = Args::parse_from([
            "bocker-run",
            "--network",
            "none",
            "-p",
            "80:80",
            "i",
            "true",
        ]);
        let e = plan(&args, &ImageConfig::default()).unwrap_err();
        assert!(matches!(e, PlanError::PortsNeedBridge(_)), "{e}");
        let args = Args::parse_from(["bocker-run", "--cpus", "100000", "i", "true"]);
        let e = plan(&args, &ImageConfig::default()).unwrap_err();
        assert!(
            e.to_string().starts_with("Range of CPUs is from 0.01 to "),
            "{e}"
        );
        let args = Args::parse_from(["bocker-run", "-m", "4m", "i", "true"]);
        let e = plan(&args, &ImageConfig::default()).unwrap_err();
        assert_eq!(e.to_string(), "Minimum memory limit allowed is 6MB");
        let args = Args::parse_from(["bocker-run", "-m", "lots", "i", "true"]);
        let e = plan(&args, &ImageConfig::default()).unwrap_err();
        assert!(e.to_string().starts_with("--memory lots"), "{e}");
    }
}
