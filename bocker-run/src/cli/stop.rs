//! `stop` and `restart` options (clap), Docker's for both: the signal and how long to
//! wait before SIGKILL ([`crate::container::stop::timeout_for`] fills in the default).

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// Signal to send to the container (default: the image's StopSignal, else SIGTERM)
    #[arg(short, long)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container (negative: wait for ever; default:
    /// its --stop-timeout, else 10)
    #[arg(
        short = 't',
        long = "timeout",
        visible_alias = "time",
        allow_negative_numbers = true
    )]
    pub timeout: Option<i64>,
    /// Containers (id, prefix or name)
    #[arg(required = true)]
    pub containers: Vec<String>,
}
