//! `run` flags that change what the container may do: capabilities, `--privileged`,
//! `--device`, `--security-opt` (Docker's spellings; mapped by `spec::security`).

use clap::Args;

#[derive(Debug, Clone, Default, Args)]
pub struct SecurityArgs {
    /// Add Linux capabilities (NAME or CAP_NAME, or ALL)
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities (NAME or CAP_NAME, or ALL)
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Give the container every capability, every device, no seccomp filter, a writable /sys
    #[arg(long)]
    pub privileged: bool,
    /// Add a host device: HOST[:CONTAINER[:PERMISSIONS rwm]]
    #[arg(long = "device", value_name = "HOST[:CTR[:rwm]]")]
    pub device: Vec<String>,
    /// Security options: no-new-privileges[=BOOL], seccomp=unconfined|PROFILE.json,
    /// apparmor=… and label=… (accepted, no effect: no LSM here)
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
}
