//! `bocker inspect <id>`: the JSON record of a container or an image.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::{cli, id, liveness, Store, StoreError};
use clap::Parser;

/// Show the JSON record of a container or image
#[derive(Parser)]
#[command(name = "bocker inspect", bin_name = "bocker inspect", version)]
struct Args {
    /// Container (id, prefix, name) or image (id, prefix, name:tag)
    target: String,
    /// Print through a Go template ('{{.state.status}}', '{{json .config}}'); json: as without
    #[arg(short, long)]
    format: Option<String>,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let q = args.target.as_str();
    let value = if q.starts_with(id::Kind::Image.prefix()) {
        image(&store, q)?
    } else {
        match store.resolve_container(q) {
            Ok(c) => {
                let rec = store.read_container(&c)?;
                let mut v = serde_json::to_value(&rec)?;
                v["status"] = serde_json::json!(liveness::status_text(&rec));
                v["dir"] = serde_json::json!(store.container_dir(&c));
                v
            }
            Err(StoreError::NoSuchContainer(_)) => image(&store, q)?,
            Err(e) => return Err(e.into()),
        }
    };
    match args.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&value)?),
        Some(t) => cli::print_template(t, &serde_json::Value::Null, &[value])?,
    }
    Ok(())
}

fn image(store: &Store, q: &str) -> Result<serde_json::Value> {
    let id = store.resolve_image(q)?;
    let rec = store.read_image(&id)?;
    let mut v = serde_json::to_value(&rec)?;
    v["tags"] = serde_json::json!(store.tags_of(&id)?);
    v["layer_paths"] = serde_json::json!(rec
        .layers
        .iter()
        .map(|k| store.driver().layer_path(k))
        .collect::<Vec<_>>());
    Ok(v)
}
