//! bocker-runtime: an OCI runtime with runc's command line (issue 14, SPEC §7).
//!
//! Global flags as runc's, then one command. Implemented: `spec`, `features`, `state`,
//! `list`. The lifecycle commands (`create`, `start`, `kill`, `delete`, `run`, `exec`,
//! `ps`, `pause`, `resume`, `events`) come with bocker-run's OCI-spec seam
//! (docs/RUNTIME-OCI.md); until then they are unknown commands, never pretend ones.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_runtime::{features, log, spec, state};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bocker-runtime",
    about = "An OCI runtime with runc's command line (spec, features, state, list so far)"
)]
struct Args {
    /// Directory of the containers' state files (a tmpfs)
    #[arg(long, default_value = "/run/bocker-runtime")]
    root: PathBuf,
    /// Also write errors (and --debug lines) to this file
    #[arg(long)]
    log: Option<PathBuf>,
    /// Format of --log lines
    #[arg(long, value_enum, default_value = "text")]
    log_format: log::Format,
    /// Log debug lines
    #[arg(long)]
    debug: bool,
    /// Use systemd cgroups (not supported: bocker drives cgroupfs itself)
    #[arg(long)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new config.json for a bundle (never over an existing one)
    Spec {
        /// A spec for a user namespace mapping the caller to root
        #[arg(long)]
        rootless: bool,
        /// The bundle directory (default: the current directory)
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
    },
    /// Print what this runtime supports, as JSON (OCI runtime spec features.md)
    Features,
    /// Print a container's state as JSON
    State {
        /// The container id
        id: String,
    },
    /// List the containers under --root
    List {
        /// table or json
        #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// Print only the ids
        #[arg(long, short = 'q')]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    let logger = log::Logger {
        path: args.log.clone(),
        format: args.log_format,
        debug: args.debug,
    };
    logger.debug(&format!(
        "bocker-runtime {:?}",
        std::env::args().skip(1).collect::<Vec<_>>()
    ));
    let result = run(args);
    if let Err(e) = &result {
        logger.error(&bocker_cli::one_line(e));
    }
    bocker_cli::exit(result)
}

fn run(args: Args) -> Result<()> {
    if args.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: bocker-runtime manages cgroupfs itself (use containerd's SystemdCgroup = false)");
    }
    match args.command {
        Command::Spec { rootless, bundle } => {
            // SAFETY: geteuid and getegid cannot fail and touch no memory.
            let ids = rootless.then(|| unsafe { (libc::geteuid(), libc::getegid()) });
            spec::write_new(&bundle, &spec::default_spec(ids))?;
        }
        Command::Features => print!("{}", features::to_json()),
        Command::State { id } => {
            let record = state::Record::load(&args.root, &id)
                .with_context(|| format!("container {id:?}"))?;
            println!("{}", serde_json::to_string_pretty(&record.current())?);
        }
        Command::List { format, quiet } => {
            let (states, warnings) = state::list(&args.root)?;
            for w in warnings {
                eprintln!("bocker-runtime list: {w}");
            }
            if quiet {
                states.iter().for_each(|s| println!("{}", s.id));
            } else if format == "json" {
                println!("{}", serde_json::to_string(&states)?);
            } else {
                print!("{}", state::table(&states));
            }
        }
    }
    Ok(())
}
