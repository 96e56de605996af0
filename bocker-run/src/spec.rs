//! `RunSpec`: everything the runtime needs to start one container process, already
//! resolved from the image config and the command line (no store types in here).

use crate::network::NetworkMode;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub host: PathBuf,
    pub dest: String,
    pub readonly: bool,
}

/// Host paths of the generated files bind-mounted at /etc/{hostname,hosts,resolv.conf}.
#[derive(Debug, Clone, Default)]
pub struct EtcFiles {
    pub hostname: PathBuf,
    pub hosts: PathBuf,
    pub resolv_conf: PathBuf,
}

#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The container's rootfs on the host (for overlay: the mount point).
    pub rootfs: PathBuf,
    /// Command and arguments; argv[0] is looked up in the container's PATH.
    pub argv: Vec<String>,
    /// KEY=VALUE, image env then user env (later wins).
    pub env: Vec<String>,
    pub cwd: String,
    /// Docker `-u` syntax, resolved inside the container against its /etc/passwd.
    pub user: String,
    pub hostname: String,
    pub volumes: Vec<Volume>,
    pub etc: EtcFiles,
    pub read_only: bool,
    /// Run our own reaping init as PID 1.
    pub init: bool,
    /// Hand our stdin to the container (`-i`); otherwise it reads /dev/null.
    pub stdin: bool,
    /// `--rm`: the container is removed right after it exits.
    pub auto_remove: bool,
    pub network: NetworkMode,
    /// `-p` mappings, published by the host side of the network step.
    pub ports: Vec<bocker_net::PortMapping>,
    /// cgroup v1 `tasks` files the first process writes itself into (empty on v2).
    pub cgroup_tasks: Vec<PathBuf>,
}
