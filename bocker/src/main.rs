//! `bocker`: the dispatcher. `bocker <verb> args…` execs `bocker-<verb>`, found first
//! beside this executable (or in `BOCKER_EXEC_PATH`), then on `PATH`, like git and cargo.
//! Any `bocker-foo` on PATH is a verb.

mod docker_verbs;
mod suggest;
mod verbs;

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: bocker <verb> [args…]
       bocker help [verb]     show help for bocker or a verb
       bocker --list          list the verbs found, with one line each
       bocker --version";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(first) = args.next() else {
        // Docker prints its help on stdout and exits 0.
        print_help();
        return ExitCode::SUCCESS;
    };
    let rest: Vec<OsString> = args.collect();
    match first.to_str() {
        // `bocker version [--format]` is the verb binary when installed beside us.
        Some("version") if verbs::find(&verbs::search_path(), "version").is_some() => {
            dispatch(&first, rest)
        }
        Some("--version" | "-V" | "version") => {
            println!("bocker {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--list") => {
            print_list(&mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Some("help" | "--help" | "-h") => match rest.first() {
            Some(verb) => dispatch(verb, vec![OsString::from("--help")]),
            None => {
                print_help();
                ExitCode::SUCCESS
            }
        },
        _ => dispatch(&first, rest),
    }
}

/// `bocker help`: what bocker is, the usage and the verbs, on stdout.
fn print_help() {
    println!("bocker: Docker re-built as small Unix binaries.\n\n{USAGE}\n");
    print_list(&mut std::io::stdout());
}

/// Replaces this process with `bocker-<verb>`; returns only if that fails.
fn dispatch(verb: &OsString, args: Vec<OsString>) -> ExitCode {
    let Some(verb) = verb.to_str().filter(|v| verbs::is_verb_name(v)) else {
        eprintln!(
            "bocker: '{}' is not a bocker verb; see 'bocker --list'",
            verb.to_string_lossy()
        );
        return ExitCode::FAILURE;
    };
    let dirs = verbs::search_path();
    let Some(path) = verbs::find(&dirs, verb) else {
        if docker_verbs::is_docker_verb(verb) {
            eprintln!("bocker: '{verb}' is not implemented yet");
            return ExitCode::FAILURE;
        }
        let known: Vec<String> = verbs::list(&dirs).into_iter().map(|v| v.name).collect();
        match suggest::nearest(verb, &known) {
            Some(s) => eprintln!("bocker: '{verb}' is not a bocker verb. Did you mean '{s}'?"),
            None => eprintln!("bocker: '{verb}' is not a bocker verb; see 'bocker --list'"),
        }
        return ExitCode::FAILURE;
    };
    let mut cmd = Command::new(&path);
    cmd.args(args);
    if let Some(exec_dir) = verbs::exec_dir() {
        // Verbs call their siblings through these, as git exports GIT_EXEC_PATH.
        cmd.env("BOCKER_EXEC_PATH", &exec_dir);
        cmd.env("BOCKER", exec_dir.join("bocker"));
    }
    // exec only returns on failure: signals and exit status then belong to the verb.
    let err = cmd.exec();
    eprintln!("bocker: cannot run {}: {err}", path.display());
    ExitCode::from(126)
}

fn print_list(out: &mut dyn std::io::Write) {
    let found = verbs::list(&verbs::search_path());
    let summaries = verbs::summaries(&found);
    let width = found.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let _ = writeln!(out, "verbs:");
    for (v, s) in found.iter().zip(summaries) {
        let _ = writeln!(out, "    {:width$}  {}", v.name, s);
    }
}
