//! `bocker logs <ctr> [-f] [-t] [-n N] [--since T] [--until T]`: replay a container's
//! recorded output, stdout to stdout and stderr to stderr, as the container wrote it;
//! with `-f`, go on following it (across rotation) until the container exits.

use anyhow::{Context, Result};
use bocker_store::{cli, liveness, log, ContainerId, Status, Store};
use clap::Parser;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

/// Show a container's output (stdout to stdout, stderr to stderr)
#[derive(Parser)]
#[command(name = "bocker logs", version)]
struct Args {
    /// Container id, unique prefix or name
    container: String,
    /// Follow the output until the container exits
    #[arg(short, long)]
    follow: bool,
    /// Prefix each line with its RFC 3339 timestamp
    #[arg(short, long)]
    timestamps: bool,
    /// Only the last N lines ("all" for everything)
    #[arg(short = 'n', long, value_name = "N", default_value = "all")]
    tail: String,
    /// Only lines since a time: RFC 3339, Unix seconds, or a duration ago (10m, 1h30m)
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only lines before a time (same forms as --since)
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
}

fn main() -> ExitCode {
    cli::exit(run(&cli::parse::<Args>()))
}

/// Docker's time forms: RFC 3339 (a date alone too), Unix seconds, a duration ago.
fn time_arg(flag: &str, v: &str) -> Result<SystemTime> {
    if let Ok(t) = humantime::parse_rfc3339_weak(v) {
        return Ok(t);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{v}T00:00:00Z")) {
        return Ok(t);
    }
    if let Ok(secs) = v.parse::<f64>() {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)));
    }
    let ago = humantime::parse_duration(v).with_context(|| format!("{flag} {v}: not a time"))?;
    Ok(SystemTime::now() - ago)
}

fn run(args: &Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let id = store.resolve_container(&args.container)?;
    let path = store.container_dir(&id).join("log");
    let since = args
        .since
        .as_deref()
        .map(|v| time_arg("--since", v))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|v| time_arg("--until", v))
        .transpose()?;
    let tail: Option<usize> = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(
            n.parse()
                .with_context(|| format!("--tail {n}: not a number"))?,
        ),
    };
    if !path.exists() {
        return Ok(()); // created but never started: nothing was written yet
    }
    // The live file's length first: what follows is read from there on.
    let offset = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut records =
        log::lines(&log::read_all(&path).with_context(|| format!("reading {}", path.display()))?);
    if args.follow {
        // Written after we measured: followed below, not printed twice.
        let live = std::fs::read(&path).unwrap_or_default();
        let late = log::lines(&log::parse_all(
            live.get(offset as usize..).unwrap_or_default(),
        ));
        records.truncate(records.len().saturating_sub(late.len()));
    }
    let mut records = log::between(records, since, until);
    if let Some(n) = tail {
        records = records.split_off(records.len().saturating_sub(n));
    }
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    log::replay(&records, args.timestamps, &mut out, &mut err).context("writing output")?;
    if !args.follow {
        return Ok(());
    }
    let done = || !running(&store, &id);
    let mut emit = |recs: Vec<log::Record>| {
        let recs = log::between(recs, since, until);
        log::replay(&recs, args.timestamps, &mut out, &mut err)
    };
    match log::follow(&path, offset, &done, &mut emit) {
        // Our reader went away (`| head`): done.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("following the log"),
    }
}

/// Whether the container still runs (recorded running, its supervisor alive).
fn running(store: &Store, id: &ContainerId) -> bool {
    store
        .read_container(id)
        .is_ok_and(|r| match r.state.status {
            Status::Running => liveness::supervisor_alive(&r),
            Status::Created => true,
            _ => false,
        })
}
