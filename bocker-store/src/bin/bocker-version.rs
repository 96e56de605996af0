//! `bocker version`: bocker's version as Docker's `docker version` shapes it
//! (`{{.Client.Version}}`, `{{.Server.Version}}`: one program is both here).

use std::process::ExitCode;

use anyhow::Result;
use bocker_store::cli;
use clap::Parser;

/// Show the bocker version information
#[derive(Parser)]
#[command(name = "bocker version", bin_name = "bocker version", version)]
struct Args {
    /// A Go template ('{{.Server.Version}}', '{{json .}}')
    #[arg(short, long)]
    format: Option<String>,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let part = serde_json::json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "Os": "linux",
        "Arch": go_arch(std::env::consts::ARCH),
    });
    let v = serde_json::json!({ "Client": part, "Server": part });
    match args.format.as_deref() {
        None => print!(
            "Client:\n Version:    {0}\n OS/Arch:    linux/{1}\n\nServer:\n Version:    {0}\n OS/Arch:    linux/{1}\n",
            part["Version"].as_str().unwrap_or_default(),
            part["Arch"].as_str().unwrap_or_default()
        ),
        Some(t) => cli::print_template(t, &serde_json::Value::Null, &[v])?,
    }
    Ok(())
}

/// Go's name for the architecture, as Docker prints it.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
