//! `run` flags for ports beside `-p`: `-P/--publish-all` and `--expose`, as Docker
//! spells them (planned in `spec::ports`).

use clap::Args;

/// Docker's `-P` and `--expose`.
#[derive(Debug, Clone, Default, Args)]
pub struct PortArgs {
    /// Publish every exposed port (the image's EXPOSE and --expose) to a free host port
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports: PORT[-PORT][/tcp|/udp]
    #[arg(long = "expose", value_name = "PORT")]
    pub expose: Vec<String>,
}
