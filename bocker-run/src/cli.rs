//! `bocker run` options (clap), as Docker spells them.

pub mod config;
pub mod image;
pub mod security;
pub mod stop;

use clap::{ArgAction, Parser};
use std::path::PathBuf;

pub mod mounts;
pub mod ports;

#[derive(Debug, Parser)]
#[command(
    name = "bocker-run",
    about = "Create a container from an image and run a command in it",
    disable_help_flag = true
)]
pub struct Args {
    /// Print help (`-h` is --hostname, as in Docker)
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Run in the background: print the container id and return at once
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Remove the container (record, storage, cgroup) when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables (KEY=VALUE, or KEY to copy ours)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Read environment variables from a file
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// User: name|uid[:group|gid], resolved from the image's /etc/passwd and /etc/group
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Override the image's entrypoint ("" clears it)
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container hostname (default: the container id)
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Bind mount a host path: HOST:CONTAINER[:ro|rw]
    #[arg(short = 'v', long = "volume", value_name = "HOST:CTR[:ro]")]
    pub volumes: Vec<String>,
    /// Mount the container's root filesystem read-only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Run a tiny reaping init as PID 1
    #[arg(long)]
    pub init: bool,
    /// Keep stdin attached (no terminal)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal (the container's own /dev/pts/N)
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Keys that detach an -it session, leaving the container running
    #[arg(
        long = "detach-keys",
        value_name = "KEYS",
        default_value = "ctrl-p,ctrl-q"
    )]
    pub detach_keys: String,
    /// Memory limit (e.g. 512m); default BOCKER_MEM_LIMIT MB, else 512 MB
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// CPU shares; default BOCKER_CPU_SHARE, else 512
    #[arg(long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// Number of CPUs (CFS quota), e.g. 1.5
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Maximum number of processes (0 or -1: unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Network: bridge (own namespace, an address on the bridge), none (loopback only) or host
    #[arg(long, visible_alias = "net", default_value = "bridge")]
    pub network: String,
    /// Publish a container port: [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]
    #[arg(short = 'p', long = "publish", value_name = "PORTS")]
    pub publish: Vec<String>,
    /// Custom DNS server (replaces the host's nameservers)
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// Custom DNS search domain (replaces the host's)
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// DNS option for resolv.conf (replaces the host's)
    #[arg(long = "dns-option", value_name = "OPT")]
    pub dns_option: Vec<String>,
    /// Add a line to /etc/hosts: NAME:IP or NAME:host-gateway
    #[arg(long = "add-host", value_name = "NAME:IP")]
    pub add_host: Vec<String>,
    /// Log rotation: max-size=SIZE (e.g. 10m), max-file=N (default 20m × 5, Docker's local driver)
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    #[command(flatten)]
    pub security: security::SecurityArgs,
    #[command(flatten)]
    pub config: config::ConfigArgs,
    #[command(flatten)]
    pub image_opts: image::ImageArgs,
    #[command(flatten)]
    pub mounts: mounts::MountArgs,
    #[command(flatten)]
    pub ports: ports::PortArgs,
    /// Image id, unique id prefix or name:tag
    pub image: String,
    /// Command and arguments (replace the image's Cmd)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}
