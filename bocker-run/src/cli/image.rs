//! `run` flags about the image: `--pull` and `--platform` (used by `crate::image_pull`).

use clap::Args;

/// When `run` pulls its image (Docker's `--pull`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Pull only when the image is not in the store.
    #[default]
    Missing,
    /// Pull before every run.
    Always,
    /// Never pull: a missing image is an error.
    Never,
}

impl PullPolicy {
    /// `missing`, `always` or `never`; else Docker CLI 28.2.2's message.
    pub fn parse(s: &str) -> Result<PullPolicy, String> {
        match s {
            "missing" => Ok(PullPolicy::Missing),
            "always" => Ok(PullPolicy::Always),
            "never" => Ok(PullPolicy::Never),
            _ => Err(format!(
                "invalid pull option: '{s}': must be one of \"always\", \"missing\" or \"never\""
            )),
        }
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct ImageArgs {
    /// Pull the image before running: missing, always, never
    #[arg(long = "pull", value_name = "POLICY", default_value = "missing")]
    pub pull: String,
    /// Platform of the image: only this host's (e.g. linux/amd64)
    #[arg(long = "platform", value_name = "OS/ARCH")]
    pub platform: Option<String>,
}
