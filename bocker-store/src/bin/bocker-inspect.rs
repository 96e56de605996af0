//! `bocker inspect <name>...`: containers and images as Docker prints them (a JSON
//! array; bocker's own record under the key `Bocker`), or through a Go template, one
//! line per object.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::{cli, docker_inspect, docker_ps, id, Store, StoreError};
use clap::{Parser, ValueEnum};

/// Return low-level information on containers and images
#[derive(Parser)]
#[command(name = "bocker inspect", bin_name = "bocker inspect", version)]
struct Args {
    /// Containers (id, prefix, name) or images (id, prefix, name:tag)
    #[arg(required = true)]
    targets: Vec<String>,
    /// Print each object through a Go template ('{{.State.Pid}}', '{{json .Config}}'); json: as without
    #[arg(short, long)]
    format: Option<String>,
    /// Add each container's sizes: SizeRw (its own files) and SizeRootFs (with its image's)
    #[arg(short, long)]
    size: bool,
    /// Look only among containers or only among images
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<Kind>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Container,
    Image,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    let args = cli::parse::<Args>();
    let store = match Store::open().context("opening the store") {
        Ok(s) => s,
        Err(e) => return cli::exit(Err(e)),
    };
    // As Docker: every object found is printed, each one not found is reported, and
    // the status says whether any was missing.
    let mut found = Vec::new();
    let mut failed = false;
    for t in &args.targets {
        match object(&store, t, args.kind, args.size) {
            Ok(v) => found.push(v),
            Err(e) => {
                cli::report(&e);
                failed = true;
            }
        }
    }
    if let Err(e) = print(&found, args.format.as_deref()) {
        return cli::exit(Err(e));
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print(found: &[serde_json::Value], format: Option<&str>) -> Result<()> {
    match format {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(found)?),
        Some(t) => cli::print_template(t, &serde_json::Value::Null, found)?,
    }
    Ok(())
}

/// The container or image `q` names, in Docker's shape; a container wins over an image.
fn object(store: &Store, q: &str, kind: Option<Kind>, size: bool) -> Result<serde_json::Value> {
    if kind == Some(Kind::Image) || (kind.is_none() && q.starts_with(id::Kind::Image.prefix())) {
        return image(store, q);
    }
    match store.resolve_container(q) {
        Ok(c) => {
            let rec = store.read_container(&c)?;
            let img = store
                .resolve_image(&rec.image)
                .and_then(|i| store.read_image(&i))
                .ok();
            let mut v = docker_inspect::container(store, &rec, img.as_ref());
            if size {
                let image_size = img.as_ref().map_or(0, |i| i.size);
                let (rw, _) = docker_ps::size(store, &rec, image_size);
                v["SizeRw"] = rw.into();
                v["SizeRootFs"] = (rw + image_size).into();
            }
            Ok(v)
        }
        // Neither: Docker 20.10's words when no --type narrowed the search.
        Err(StoreError::NoSuchContainer(_)) if kind.is_none() => {
            image(store, q).map_err(|e| match e.downcast_ref::<StoreError>() {
                Some(StoreError::NoSuchImage(_)) => anyhow::anyhow!("No such object: {q}"),
                _ => e,
            })
        }
        Err(e) => Err(e.into()),
    }
}

fn image(store: &Store, q: &str) -> Result<serde_json::Value> {
    let id = store.resolve_image(q)?;
    let rec = store.read_image(&id)?;
    Ok(docker_inspect::image(store, &rec, &store.tags_of(&id)?))
}
