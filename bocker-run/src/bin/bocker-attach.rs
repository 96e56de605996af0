//! `bocker attach [--no-stdin] [--detach-keys KEYS] [--sig-proxy=BOOL] <ctr>`: attach
//! our terminal (or pipes) to a running container started detached (`run -d`, `start`),
//! as `docker attach`: its output from now on, our stdin to its stdin when it was
//! created with `-i`, signals forwarded (unless `--sig-proxy=false`), and its exit
//! status when it ends; the detach keys (a `-t` container) leave it running. One
//! attached caller at a time.

use std::process::ExitCode;

use anyhow::{bail, Context};
use bocker_run::attach::{self, Caller};
use bocker_run::container::saved;
use bocker_store::{liveness, Store};
use clap::Parser;

/// Attach local standard input, output, and error streams to a running container
#[derive(Parser)]
#[command(name = "bocker-attach")]
struct Args {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    no_stdin: bool,
    /// Keys that detach from a -t container, leaving it running
    #[arg(
        long = "detach-keys",
        value_name = "KEYS",
        default_value = "ctrl-p,ctrl-q"
    )]
    detach_keys: String,
    /// Proxy all received signals to the process (`--sig-proxy=false`: they end attach only)
    #[arg(
        long = "sig-proxy",
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    sig_proxy: bool,
    /// Container (id, prefix or name)
    container: String,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    match connect(&args) {
        Ok(caller) => ExitCode::from(caller.attach() as u8),
        Err(e) => bocker_cli::exit(Err(e)),
    }
}

fn connect(args: &Args) -> anyhow::Result<Caller> {
    let Some(keys) = attach::parse_detach_keys(&args.detach_keys) else {
        bail!("invalid --detach-keys {:?}", args.detach_keys);
    };
    let store = Store::open().context("opening the store")?;
    let id = store.resolve_container(&args.container)?;
    let rec = store.read_container(&id)?;
    // Docker's messages, word for word.
    if !liveness::is_running(&rec) {
        bail!("You cannot attach to a stopped container, start it first");
    }
    if rec.state.paused {
        bail!("You cannot attach to a paused container, unpause it first");
    }
    let (bundle, _) = saved::load(&store, &id)?;
    let tty = bundle.spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    let stdin = !args.no_stdin && bundle.extras.stdin;
    let sock = store.container_dir(&id).join("attach.sock");
    let mut caller = Caller::connect(&sock, stdin, tty).map_err(|_| {
        anyhow::anyhow!(
            "attaching to {}: its `run` is still attached in the foreground (detach it \
             with the detach keys first)",
            args.container
        )
    })?;
    caller.set_detach_keys(keys);
    caller.set_sig_proxy(args.sig_proxy);
    Ok(caller)
}
