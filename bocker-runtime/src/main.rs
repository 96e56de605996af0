//! bocker-runtime: an OCI runtime with runc's command line (issue 14, SPEC §7).
//!
//! Global flags as runc's, then one command. Implemented: `create`, `start`, `run`,
//! `kill`, `delete`, `state`, `ps`, `spec`, `features`, `list`. Not yet (unknown commands,
//! never pretend ones): `exec`, `pause`, `resume`, `events`, `update` (docs/RUNTIME-OCI.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_runtime::lifecycle::{self, CreateOptions};
use bocker_runtime::{features, log, signal, spec, state};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bocker-runtime",
    about = "An OCI runtime with runc's command line"
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

/// `create`'s and `run`'s flags (runc's).
#[derive(clap::Args)]
struct CreateFlags {
    /// The bundle directory (holding config.json)
    #[arg(long, short = 'b', default_value = ".")]
    bundle: PathBuf,
    /// Write the container's init pid to this file
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// A unix socket to receive the pty master (process.terminal; not supported yet)
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Do not use pivot_root (accepted: bocker always pivots, as containerd never asks otherwise)
    #[arg(long)]
    no_pivot: bool,
    /// Do not create a session keyring (accepted: bocker never creates one)
    #[arg(long)]
    no_new_keyring: bool,
    /// The container id
    id: String,
}

#[derive(Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`
    Create(CreateFlags),
    /// Start a created container's process
    Start {
        /// The container id
        id: String,
    },
    /// Create and start a container, wait for it, delete it; exits with its status
    Run(CreateFlags),
    /// Send a signal (default SIGTERM) to a container's init
    Kill {
        /// The container id
        id: String,
        /// Signal name or number
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// List the processes in a container's cgroup
    Ps {
        /// table (ps -ef rows) or json (an array of pids)
        #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// The container id
        id: String,
    },
    /// Delete a stopped container (--force: kill it first)
    Delete {
        /// Kill a container that is not stopped, then delete it
        #[arg(long, short = 'f')]
        force: bool,
        /// The container id
        id: String,
    },
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
    match result {
        Ok(Some(status)) => ExitCode::from(status.clamp(0, 255) as u8),
        Ok(None) => bocker_cli::exit(Ok(())),
        Err(e) => {
            logger.error(&bocker_cli::one_line(&e));
            bocker_cli::exit(Err(e))
        }
    }
}

/// Runs the command; `Some(status)` is a container's exit status to pass through (`run`).
fn run(args: Args) -> Result<Option<i32>> {
    if args.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: bocker-runtime manages cgroupfs itself (use containerd's SystemdCgroup = false)");
    }
    let root = &args.root;
    match args.command {
        Command::Create(f) => {
            let (opts, id) = create_options(f)?;
            lifecycle::create(root, &id, &opts).with_context(|| format!("container {id:?}"))?;
        }
        Command::Start { id } => {
            lifecycle::start(root, &id).with_context(|| format!("container {id:?}"))?;
        }
        Command::Run(f) => {
            let (opts, id) = create_options(f)?;
            let status =
                lifecycle::run(root, &id, &opts).with_context(|| format!("container {id:?}"))?;
            return Ok(Some(status));
        }
        Command::Kill { id, signal } => {
            let sig =
                signal::parse(&signal).with_context(|| format!("unknown signal {signal:?}"))?;
            lifecycle::kill(root, &id, sig).with_context(|| format!("container {id:?}"))?;
        }
        Command::Ps { format, id } => {
            let pids = lifecycle::pids(root, &id).with_context(|| format!("container {id:?}"))?;
            if format == "json" {
                println!("{}", serde_json::to_string(&pids)?);
            } else {
                let ef = std::process::Command::new("ps")
                    .arg("-ef")
                    .output()
                    .context("ps -ef")?;
                print!(
                    "{}",
                    lifecycle::ps_table(&String::from_utf8_lossy(&ef.stdout), &pids)
                );
            }
        }
        Command::Delete { force, id } => {
            lifecycle::delete(root, &id, force).with_context(|| format!("container {id:?}"))?;
        }
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
    Ok(None)
}

/// `create`'s options from its flags; `--console-socket` is refused (no terminal yet).
fn create_options(f: CreateFlags) -> Result<(CreateOptions, String)> {
    if f.console_socket.is_some() {
        bail!("--console-socket: a terminal (process.terminal) is not supported by bocker-runtime yet");
    }
    let opts = CreateOptions {
        bundle: f.bundle,
        pid_file: f.pid_file,
    };
    Ok((opts, f.id))
}
