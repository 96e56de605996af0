//! `bocker completion bash|zsh|fish`: the shell completion script for `bocker`, made by
//! clap_complete from every installed verb's own clap definition (read through its
//! hidden `--bocker-spec`, see `bocker_cli::describe`).

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
    clap_complete::generate(args.shell, &mut cmd, "bocker", &mut std::io::stdout());
    if args.shell == Shell::Bash {
        print!("{BASH_NAMES}");
    }
    Ok(())
}

/// Bash only: container names and image references for the verbs that take them, from
/// the store the user's `bocker` sees (`ps`/`images --format`), then clap's completion.
const BASH_NAMES: &str = r#"
# bocker: container names and image references, from `bocker ps` / `bocker images`.
_bocker_names() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} words=""
    if [[ $COMP_CWORD -ge 2 && $cur != -* ]]; then
        case ${COMP_WORDS[1]} in
            rm|inspect|logs|exec|commit|stop|kill|wait|pause|unpause|top|stats|start|restart|port|attach)
                words="$(bocker ps --format '{{.Names}}' 2>/dev/null) $(bocker ps -q 2>/dev/null)" ;;
            rmi)
                words="$(bocker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>') $(bocker images -q 2>/dev/null)" ;;
            run)
                [[ $prev != -* ]] && words="$(bocker images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>') $(bocker images -q 2>/dev/null)" ;;
        esac
    fi
    if [[ -n ${words// /} ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        [[ ${#COMPREPLY[@]} -gt 0 ]] && return 0
    fi
    _bocker "$@"
}
complete -F _bocker_names -o bashdefault -o default bocker
"#;

/// The `bocker` dispatcher beside this binary, else the one on `PATH`.
fn dispatcher() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("bocker")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("bocker"))
}
