//! `run` flags about the image: `--pull` and `--platform` (used by `crate::image_pull`).

use clap::{Args, ValueEnum};

/// When `run` pulls its image (Docker's `--pull`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum PullPolicy {
    /// Pull only when the image is not in the store
    #[default]
    Missing,
    /// Pull before every run
    Always,
    /// Never pull: a missing image is an error
    Never,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ImageArgs {
    /// Pull the image before running: missing, always, never
    #[arg(long = "pull", value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,
    /// Platform of the image: only this host's (e.g. linux/amd64)
    #[arg(long = "platform", value_name = "OS/ARCH")]
    pub platform: Option<String>,
}
