//! `bocker login [SERVER]`: check credentials against a registry (the token or basic
//! handshake a pull does) and keep them in the docker config as Docker does.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_pull::auth::Credentials;
use bocker_pull::login;
use bocker_pull::reference::Reference;
use bocker_pull::registry::Registry;
use bocker_store::cli::{exit, parse};
use clap::Parser;

/// Log in to a registry (Docker Hub by default)
#[derive(Parser)]
#[command(name = "bocker login", bin_name = "bocker login", version)]
struct Args {
    /// Registry: host[:port] (or a URL naming it)
    server: Option<String>,
    /// Username
    #[arg(short, long)]
    username: Option<String>,
    /// Password (visible to other users in `ps`: prefer --password-stdin)
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from STDIN
    #[arg(long)]
    password_stdin: bool,
    /// Allow plain HTTP to this registry (always allowed for localhost and loopback addresses)
    #[arg(long)]
    insecure: bool,
}

fn main() -> ExitCode {
    exit(run(parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let registry = login::registry_of(args.server.as_deref());
    let username = match args.username {
        Some(u) => u,
        None => ask("Username: ")?,
    };
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => p,
        (None, true) => read_stdin_password()?,
        (None, false) => ask("Password: ")?,
    };
    if username.is_empty() || password.is_empty() {
        bail!("a username and a password are required");
    }
    let creds = Credentials {
        username: username.clone(),
        password: password.clone(),
        identity_token: None,
    };
    let at = Reference {
        registry: registry.clone(),
        repository: String::new(),
        tag: None,
        digest: None,
    };
    Registry::new(&at, args.insecure, Some(creds))?
        .ping()
        .with_context(|| format!("logging in to {registry}"))?;
    login::save(&registry, &username, &password).map_err(anyhow::Error::msg)?;
    println!("Login Succeeded");
    Ok(())
}

/// The password from STDIN (Docker strips one trailing newline).
fn read_stdin_password() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut s)
        .context("reading the password from STDIN")?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}

/// One line from the terminal; not asked when STDIN is not one.
fn ask(prompt: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "cannot ask for {} without a terminal: use -u and --password-stdin",
            prompt.trim_end_matches(": ").to_lowercase()
        );
    }
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut s = String::new();
    std::io::stdin().lock().read_line(&mut s)?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}
