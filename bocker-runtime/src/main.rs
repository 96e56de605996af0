//! bocker-runtime: an OCI runtime with runc's command line (issue 14, SPEC §7).
//!
//! Global flags as runc's, then one command: `create`, `start`, `run`, `exec`, `kill`,
//! `delete`, `pause`, `resume`, `events`, `update`, `state`, `ps`, `spec`, `features`,
//! `list` (docs/RUNTIME-OCI.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_runtime::control::{self, UpdateFlags};
use bocker_runtime::exec::{self, ExecOptions, ProcessFlags};
use bocker_runtime::lifecycle::{self, CreateOptions};
use bocker_runtime::{events, features, log, signal, spec, state, tty};
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
    /// A unix socket to receive the pty master (process.terminal)
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Pass N more fds (3..3+N) to the container's process
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    /// Do not use pivot_root (accepted: bocker always pivots, as containerd never asks otherwise)
    #[arg(long)]
    no_pivot: bool,
    /// `run`: return once the container started instead of waiting for it
    #[arg(long, short = 'd')]
    detach: bool,
    /// Do not create a session keyring (accepted: bocker never creates one)
    #[arg(long)]
    no_new_keyring: bool,
    /// The container id
    id: String,
}

/// `exec`'s flags (runc's).
#[derive(clap::Args)]
struct ExecFlags {
    /// The process to run, a runtime-spec `process` JSON file
    #[arg(long, short = 'p')]
    process: Option<PathBuf>,
    /// A unix socket to receive the pty master (with -t or process.terminal)
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// Write the process's pid to this file
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Return once the process started
    #[arg(long, short = 'd')]
    detach: bool,
    /// Allocate a pseudo-terminal
    #[arg(long, short = 't')]
    tty: bool,
    /// Set an environment variable (KEY=VALUE)
    #[arg(long, short = 'e')]
    env: Vec<String>,
    /// Working directory in the container
    #[arg(long)]
    cwd: Option<String>,
    /// uid[:gid]
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Additional gids
    #[arg(long, short = 'g')]
    additional_gids: Vec<u32>,
    /// Set no_new_privs for the process
    #[arg(long)]
    no_new_privs: bool,
    /// Pass N more fds (3..3+N) to the process
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    /// The container id
    id: String,
    /// The command and its arguments (without --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// `update`'s flags (runc's): a `linux.resources` JSON file (`-` for stdin) and
/// single values on top of it.
#[derive(clap::Args)]
struct UpdateArgs {
    /// linux.resources JSON ("-": read it from stdin)
    #[arg(long, short = 'r')]
    resources: Option<PathBuf>,
    /// Memory limit in bytes
    #[arg(long)]
    memory: Option<i64>,
    /// CPU shares
    #[arg(long)]
    cpu_share: Option<u64>,
    /// CFS quota in microseconds per period
    #[arg(long)]
    cpu_quota: Option<i64>,
    /// CFS period in microseconds
    #[arg(long)]
    cpu_period: Option<u64>,
    /// Maximum number of pids
    #[arg(long)]
    pids_limit: Option<i64>,
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
    /// Run another process in a running container
    Exec(ExecFlags),
    /// Freeze every process of a container (cgroup freezer)
    Pause {
        /// The container id
        id: String,
    },
    /// Thaw a paused container
    Resume {
        /// The container id
        id: String,
    },
    /// Print a container's stats and OOM kills as JSON events (runc's shape)
    Events {
        /// Print one stats event and exit
        #[arg(long)]
        stats: bool,
        /// Time between events
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        /// The container id
        id: String,
    },
    /// Change a live container's resource limits
    Update(UpdateArgs),
    /// Send a signal (default SIGTERM) to a container's init
    Kill {
        /// Signal every process of the container's cgroup, not only its init
        #[arg(long, short = 'a')]
        all: bool,
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
            lifecycle::create(root, &id, &opts)
                .map_err(runc_terminal_error)
                .with_context(|| format!("container {id:?}"))?;
        }
        Command::Start { id } => {
            lifecycle::start(root, &id).with_context(|| format!("container {id:?}"))?;
        }
        Command::Run(f) => {
            let detach = f.detach;
            let (opts, id) = create_options(f)?;
            let ctx = || format!("container {id:?}");
            if detach {
                lifecycle::create(root, &id, &opts)
                    .map_err(runc_terminal_error)
                    .with_context(ctx)?;
                lifecycle::start(root, &id).with_context(ctx)?;
                return Ok(None);
            }
            let status = if opts.console_socket.is_none() && tty::wants_terminal(&opts.bundle) {
                tty::run(root, &id, &opts).with_context(ctx)?
            } else {
                lifecycle::run(root, &id, &opts).with_context(ctx)?
            };
            return Ok(Some(status));
        }
        Command::Exec(f) => return exec_command(root, f),
        Command::Pause { id } => {
            control::pause(root, &id).with_context(|| format!("container {id:?}"))?;
        }
        Command::Resume { id } => {
            control::resume(root, &id).with_context(|| format!("container {id:?}"))?;
        }
        Command::Events {
            stats,
            interval,
            id,
        } => {
            let ctx = || format!("container {id:?}");
            if stats {
                println!("{}", control::stats(root, &id).with_context(ctx)?);
            } else {
                events::events(root, &id, interval, |v| println!("{v}")).with_context(ctx)?;
            }
        }
        Command::Update(u) => {
            let resources = u
                .resources
                .as_deref()
                .map(control::read_resources)
                .transpose()?;
            let flags = UpdateFlags {
                memory: u.memory,
                cpu_shares: u.cpu_share,
                cpu_quota: u.cpu_quota,
                cpu_period: u.cpu_period,
                pids_limit: u.pids_limit,
            };
            let limits = control::limits(resources.as_ref(), &flags)?;
            let id = u.id;
            control::update(root, &id, &limits, resources.as_ref())
                .with_context(|| format!("container {id:?}"))?;
        }
        Command::Kill { all, id, signal } => {
            let sig =
                signal::parse(&signal).with_context(|| format!("unknown signal {signal:?}"))?;
            let ctx = || format!("container {id:?}");
            if all {
                lifecycle::kill_all(root, &id, sig).with_context(ctx)?;
            } else {
                lifecycle::kill(root, &id, sig).with_context(ctx)?;
            }
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

/// A terminal refused for want of a console socket, in runc's words.
fn runc_terminal_error(e: lifecycle::LifecycleError) -> anyhow::Error {
    match tty::is_detached_terminal(&e) {
        true => anyhow::anyhow!(tty::DETACHED),
        false => e.into(),
    }
}

/// `create`'s options from its flags.
fn create_options(f: CreateFlags) -> Result<(CreateOptions, String)> {
    let opts = CreateOptions {
        bundle: f.bundle,
        pid_file: f.pid_file,
        console_socket: f.console_socket,
        preserve_fds: f.preserve_fds,
    };
    Ok((opts, f.id))
}

/// `exec`: the process from `--process` or from the flags over the container's own.
fn exec_command(root: &std::path::Path, f: ExecFlags) -> Result<Option<i32>> {
    let id = f.id.clone();
    let ctx = || format!("container {id:?}");
    let process = match &f.process {
        Some(p) => exec::load_process(p)?,
        None => {
            let record = state::Record::load(root, &id).with_context(ctx)?;
            let (spec, _) = lifecycle::load_spec(&record.state.bundle).with_context(ctx)?;
            let base = spec.process().clone().unwrap_or_default();
            let flags = ProcessFlags {
                args: f.command,
                env: f.env,
                cwd: f.cwd,
                user: f.user,
                additional_gids: f.additional_gids,
                tty: f.tty,
                no_new_privs: f.no_new_privs,
            };
            exec::process_from_flags(&base, &flags).map_err(anyhow::Error::msg)?
        }
    };
    let opts = ExecOptions {
        console_socket: f.console_socket,
        pid_file: f.pid_file,
        detach: f.detach,
        preserve_fds: f.preserve_fds,
    };
    let status = exec::exec(root, &id, &process, &opts).with_context(ctx)?;
    Ok(status)
}
