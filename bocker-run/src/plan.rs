//! From `run` options and an image record to a [`Plan`]: the command, environment,
//! user, working directory, volumes and limits, with the seed's environment knobs.

use crate::cgroup_step::parse_memory;
use crate::cli::Args;
use crate::config::{self, ImageDefaults};
use crate::network::NetworkMode;
use crate::spec::Volume;
use anyhow::{bail, Context, Result};
use bocker_cgroups::Limits;
use bocker_net::PortMapping;
use bocker_store::ImageRecord;
use std::path::PathBuf;

/// Seed default for `BOCKER_MEM_LIMIT` (MB).
pub const DEFAULT_MEM_MB: u64 = 512;
/// Seed default for `BOCKER_CPU_SHARE`.
pub const DEFAULT_CPU_SHARES: u64 = 512;

/// Everything decided before the container exists.
#[derive(Debug, Clone)]
pub struct Plan {
    pub argv: Vec<String>,
    pub user_env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub volumes: Vec<Volume>,
    pub limits: Limits,
    pub network: NetworkMode,
    /// `-p` mappings (bridge mode only).
    pub ports: Vec<PortMapping>,
    pub image: ImageDefaults,
}

fn defaults(image: &ImageRecord) -> ImageDefaults {
    let c = &image.config;
    ImageDefaults {
        entrypoint: c.entrypoint.clone(),
        cmd: c.cmd.clone(),
        env: c.env.clone(),
        working_dir: c.working_dir.clone(),
        user: c.user.clone(),
    }
}

pub fn plan(args: &Args, image: &ImageRecord) -> Result<Plan> {
    let image = defaults(image);
    let argv = config::argv(&image, args.entrypoint.as_deref(), &args.command)?;
    let mut user_env = Vec::new();
    for f in &args.env_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading env file {}", f.display()))?;
        user_env.extend(config::parse_env_file(&text));
    }
    user_env.extend(args.env.iter().cloned());
    let network: NetworkMode = args.network.parse().map_err(anyhow::Error::msg)?;
    let ports = args
        .publish
        .iter()
        .map(|p| PortMapping::parse_all(p).with_context(|| format!("-p {p}")))
        .collect::<Result<Vec<_>>>()?
        .concat();
    if !ports.is_empty() && network != NetworkMode::Bridge {
        bail!(
            "-p publishes ports of a bridged container; it cannot be used with --network {}",
            args.network
        );
    }
    Ok(Plan {
        argv,
        user_env,
        cwd: config::workdir(&image, args.workdir.as_deref())?,
        user: config::user(&image, args.user.as_deref()),
        volumes: args
            .volumes
            .iter()
            .map(|v| parse_volume(v))
            .collect::<Result<_>>()?,
        limits: limits(args)?,
        network,
        ports,
        image,
    })
}

/// Flags win over the seed's knobs, which win over the seed's defaults.
pub fn limits(args: &Args) -> Result<Limits> {
    let memory_bytes = match &args.memory {
        Some(m) => parse_memory(m).with_context(|| format!("--memory {m}"))?,
        None => env_number("BOCKER_MEM_LIMIT")?.unwrap_or(DEFAULT_MEM_MB) * 1_000_000,
    };
    let cpu_shares = match args.cpu_shares {
        Some(s) => s,
        None => env_number("BOCKER_CPU_SHARE")?.unwrap_or(DEFAULT_CPU_SHARES),
    };
    Ok(Limits {
        memory_bytes: Some(memory_bytes),
        cpu_shares: Some(cpu_shares),
        cpus: args.cpus,
        pids_max: args.pids_limit.filter(|&p| p > 0),
    })
}

fn env_number(var: &str) -> Result<Option<u64>> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(Some(
            v.trim()
                .parse()
                .with_context(|| format!("{var}={v} is not a number"))?,
        )),
        _ => Ok(None),
    }
}

/// `HOST:CTR[:ro|rw]`; both absolute. A missing host directory is created, as Docker does.
pub fn parse_volume(v: &str) -> Result<Volume> {
    let parts: Vec<&str> = v.split(':').collect();
    let (host, dest, readonly) = match parts.as_slice() {
        [h, d] => (*h, *d, false),
        [h, d, "ro"] => (*h, *d, true),
        [h, d, "rw"] => (*h, *d, false),
        _ => bail!("invalid volume '{v}': expected HOST:CONTAINER[:ro|rw]"),
    };
    if !host.starts_with('/') || !dest.starts_with('/') {
        bail!(
            "invalid volume '{v}': both paths must be absolute (named volumes are not supported)"
        );
    }
    let host = PathBuf::from(host);
    if !host.exists() {
        std::fs::create_dir_all(&host)
            .with_context(|| format!("creating volume source {}", host.display()))?;
    }
    Ok(Volume {
        host,
        dest: dest.to_string(),
        readonly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_parse() {
        let v = parse_volume("/tmp:/data:ro").unwrap();
        assert_eq!((v.dest.as_str(), v.readonly), ("/data", true));
        assert!(parse_volume("rel:/x").is_err());
        assert!(parse_volume("/tmp:/x:zz").is_err());
        assert!(parse_volume("/tmp").is_err());
    }
}
