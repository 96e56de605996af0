//! `run` flags for mounts beside `-v`: `--mount` and `--tmpfs`, as Docker spells them
//! (planned in `spec::mounts`).

use clap::Args;

/// Docker's `--mount` and `--tmpfs`.
#[derive(Debug, Clone, Default, Args)]
pub struct MountArgs {
    /// Attach a filesystem: type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…][,tmpfs-mode=…][,bind-propagation=…][,volume-nocopy]
    #[arg(long = "mount", value_name = "SPEC")]
    pub mount: Vec<String>,
    /// Mount a tmpfs: PATH[:OPTIONS] (Docker's defaults: rw,nosuid,nodev,noexec)
    #[arg(long = "tmpfs", value_name = "PATH[:OPTS]")]
    pub tmpfs: Vec<String>,
}
