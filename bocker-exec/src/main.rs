//! `bocker exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u USER] [--privileged] <ctr> <cmd…>`: run a command
//! inside a running container's namespaces and cgroup, as the seed's `bocker_exec` did
//! (without grepping `ps` for the container's pid), and pass its exit status through.

use anyhow::{Context, Result};
use bocker_exec::process::Failed;
use bocker_exec::runtime::{self, exit_code};
use bocker_exec::{attach, cli::Args, enter, identity, process, spec, target, tty};
use bocker_store::{cli, Store};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Messages say `bocker exec: …` as every verb's do (docs/CLI.md); exec parses with
    // clap itself (for its own usage status), so `bocker_cli::parse` does not name it.
    cli::set_verb("exec");
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit_code::ENGINE as u8
            } else {
                0
            });
        }
    };
    let code = match exec(&args) {
        Ok(code) => code,
        Err(e) => {
            cli::report(&e);
            match e.downcast_ref::<Failed>() {
                Some(f) => f.code,
                None => exit_code::ENGINE,
            }
        }
    };
    ExitCode::from(code as u8)
}

fn exec(args: &Args) -> Result<i32> {
    let store = Store::open().context("opening the store")?;
    let ctr = target::find(&store, &args.container)?;
    let spec = spec::build(args, &ctr.record, |k| std::env::var(k).ok())?;
    let cgroups = enter::open_cgroups(&ctr.record).context("the container's cgroup")?;
    enter::namespaces(&ctr.pidfd).context("entering the container's namespaces")?;
    let user = identity::resolve(&spec.user).map_err(Failed::from)?;
    let pty = match spec.tty && !spec.detach {
        true => Some(tty::open().context("allocating a terminal")?),
        false => None,
    };
    let confinement =
        runtime::confinement(spec.no_new_privileges, &spec.privileges).map_err(Failed::from)?;
    let io = process::Stdio::for_exec(&spec, pty);
    let join = || enter::cgroup(&cgroups, &ctr.pidfd);
    let started = process::spawn(&spec, &user, io, &confinement, join).map_err(Failed::from)?;
    attach::attach(started, spec.stdin).context("attached to the command")
}
