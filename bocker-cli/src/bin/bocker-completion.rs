//! `bocker completion bash|zsh|fish`: the shell completion script for `bocker`, made by
//! clap_complete from every installed verb's own clap definition (read through its
//! hidden `--bocker-spec`, see `bocker_cli::describe`), with container and image names
//! added for every shell (`bocker_cli::completion`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use bocker_cli::describe;
use clap::Parser;
use clap_complete::Shell;

/// Print the shell completion script for bocker
#[derive(Parser)]
#[command(name = "bocker completion", bin_name = "bocker completion", version)]
struct Args {
    /// The shell: bash, zsh or fish
    shell: Shell,
}

fn main() -> ExitCode {
    bocker_cli::exit(run(bocker_cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let bocker = dispatcher();
    let list = Command::new(&bocker)
        .arg("--list")
        .output()
        .with_context(|| format!("running {} --list", bocker.display()))?;
    let mut cmd = clap::Command::new("bocker").about("Docker re-built as small Unix binaries");
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let Some(entry) = line.strip_prefix("    ") else {
            continue;
        };
        let (verb, about) = entry.split_once(' ').unwrap_or((entry, ""));
        // A verb that cannot describe itself is still completed by name.
        let spec = Command::new(&bocker)
            .args([verb, describe::SPEC_FLAG])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        cmd = cmd.subcommand(describe::command(verb, about.trim(), &spec));
    }
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "bocker", &mut script);
    let script = String::from_utf8_lossy(&script);
    let full = bocker_cli::completion::with_names(&args.shell.to_string(), &script);
    let mut out = std::io::stdout().lock();
    match out.write_all(full.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing the script"),
    }
}

/// The `bocker` dispatcher beside this binary, else the one on `PATH`.
fn dispatcher() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("bocker")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("bocker"))
}
