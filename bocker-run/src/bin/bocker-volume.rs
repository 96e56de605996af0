//! `bocker volume create|ls|inspect|rm|prune`: Docker's `docker volume` verbs over the
//! store's named volumes (`bocker_store::volume`), with Docker 20.10's output shapes.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_run::prune::{self, Pruned};
use bocker_store::cli;
use bocker_store::volume::{self, VolumeError, VolumeRecord};
use bocker_store::Store;
use clap::{Parser, Subcommand};

/// Manage volumes
#[derive(Parser)]
#[command(name = "bocker volume", bin_name = "bocker volume", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a volume (a random name when none is given)
    Create {
        /// Volume name
        name: Option<String>,
        /// Volume name (Docker's older spelling)
        #[arg(long = "name", value_name = "NAME")]
        name_flag: Option<String>,
        /// Set metadata: KEY=VALUE
        #[arg(short, long = "label", value_name = "KEY=VALUE")]
        label: Vec<String>,
        /// Volume driver (only "local")
        #[arg(short, long, default_value = "local")]
        driver: String,
        /// Driver options (none are supported: the local driver's plain directory only)
        #[arg(short, long = "opt", value_name = "KEY=VALUE")]
        opt: Vec<String>,
    },
    /// List volumes
    #[command(alias = "list")]
    Ls {
        /// Only display volume names
        #[arg(short, long)]
        quiet: bool,
        /// A Go template ('{{.Name}}', 'table {{.Name}}\t{{.Mountpoint}}') or json
        #[arg(long)]
        format: Option<String>,
        /// Filter: dangling=true|false, name=SUBSTRING, label=KEY[=VALUE], driver=local
        #[arg(short, long, value_name = "FILTER")]
        filter: Vec<String>,
    },
    /// Display detailed information on one or more volumes
    Inspect {
        #[arg(required = true)]
        names: Vec<String>,
        /// A Go template ('{{.Mountpoint}}')
        #[arg(short, long)]
        format: Option<String>,
    },
    /// Remove one or more volumes (never one a container uses)
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
        /// Do not complain about volumes that do not exist
        #[arg(short, long)]
        force: bool,
    },
    /// Remove unused anonymous volumes (-a: every unused volume)
    Prune {
        /// Remove named volumes too, not just anonymous ones
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
        /// Filter: label=KEY[=VALUE], label!=KEY[=VALUE]
        #[arg(long, value_name = "FILTER")]
        filter: Vec<String>,
    },
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    match cli::parse::<Args>().command {
        Command::Create {
            name,
            name_flag,
            label,
            driver,
            opt,
        } => cli::exit(create(name.or(name_flag), &label, &driver, &opt)),
        Command::Ls {
            quiet,
            format,
            filter,
        } => cli::exit(ls(quiet, format.as_deref(), &filter)),
        Command::Inspect { names, format } => inspect(&names, format.as_deref()),
        Command::Rm { names, force } => rm(&names, force),
        Command::Prune { all, force, filter } => cli::exit(prune_volumes(all, force, &filter)),
    }
}

fn open() -> Result<Store> {
    Store::open().context("opening the store")
}

fn create(name: Option<String>, labels: &[String], driver: &str, opts: &[String]) -> Result<()> {
    let shown = name.as_deref().unwrap_or_default();
    anyhow::ensure!(
        driver == "local",
        "create {shown}: volume driver {driver:?} is not supported (only \"local\")"
    );
    anyhow::ensure!(
        opts.is_empty(),
        "create {shown}: volume options (-o {}) are not supported",
        opts.join(",")
    );
    let labels = (!labels.is_empty()).then(|| {
        labels
            .iter()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_string(), v.to_string())
            })
            .collect::<BTreeMap<_, _>>()
    });
    let store = open()?;
    let name = name.unwrap_or_else(volume::anonymous_name);
    let (v, _) = store.create_volume(&name, labels, false)?;
    println!("{}", v.name);
    Ok(())
}

/// The `volume ls` filters, checked as Docker checks them.
fn keep(store: &Store, v: &VolumeRecord, filters: &[String]) -> Result<bool> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in filters {
        let (k, val) = f.split_once('=').unwrap_or((f, ""));
        anyhow::ensure!(
            ["dangling", "name", "label", "driver"].contains(&k),
            "Invalid filter '{k}'"
        );
        by_key.entry(k).or_default().push(val);
    }
    for (key, values) in by_key {
        let ok = match key {
            "dangling" => {
                let unused = store.volume_users(&v.name)?.is_empty();
                values.iter().try_fold(false, |any, val| {
                    let want = match *val {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => anyhow::bail!("Invalid filter 'dangling=[{other}]'"),
                    };
                    Ok(any || want == unused)
                })?
            }
            "name" => values.iter().any(|n| v.name.contains(n)),
            "label" => values.iter().all(|l| v.has_label(l)),
            _ => values.contains(&"local"),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A volume as `volume ls --format` sees it (Docker's `.Name .Driver .Scope
/// .Mountpoint .Labels`).
fn fields(store: &Store, v: &VolumeRecord) -> serde_json::Value {
    serde_json::json!({
        "Name": v.name, "Driver": "local", "Scope": "local",
        "Mountpoint": store.volume_data(&v.name), "Labels": v.labels_text(),
        "CreatedAt": v.created_at,
    })
}

fn ls(quiet: bool, format: Option<&str>, filters: &[String]) -> Result<()> {
    let store = open()?;
    let mut shown = Vec::new();
    for v in store.list_volumes()? {
        if keep(&store, &v, filters)? {
            shown.push(v);
        }
    }
    if quiet {
        shown.iter().for_each(|v| println!("{}", v.name));
        return Ok(());
    }
    match format {
        Some("json") => {
            for v in &shown {
                cli::print_json_line(&fields(&store, v))?;
            }
        }
        Some(t) if !t.is_empty() && t != "table" => {
            let headers = serde_json::json!({
                "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "CreatedAt": "CREATED",
            });
            let rows: Vec<_> = shown.iter().map(|v| fields(&store, v)).collect();
            cli::print_template(t, &headers, &rows)?;
        }
        // Docker's table: a tabwriter with cells at least 10 wide, 3 spaces of padding.
        _ => {
            println!("{:<10}VOLUME NAME", "DRIVER");
            shown
                .iter()
                .for_each(|v| println!("{:<10}{}", "local", v.name));
        }
    }
    Ok(())
}

/// Every volume found is printed (a JSON array, or one template line each), every one
/// not found reported; failure status if any was missing (Docker's behaviour).
fn inspect(names: &[String], format: Option<&str>) -> ExitCode {
    let store = match open() {
        Ok(s) => s,
        Err(e) => return cli::exit(Err(e)),
    };
    let mut found = Vec::new();
    let mut failed = false;
    for n in names {
        match store.read_volume(n) {
            Ok(v) => found.push(v.docker_json(&store.volume_data(&v.name))),
            Err(e) => {
                cli::report(&anyhow::Error::new(e));
                failed = true;
            }
        }
    }
    let printed = match format.filter(|f| !f.is_empty() && *f != "json") {
        Some(t) => cli::print_template(t, &serde_json::Value::Null, &found),
        None => serde_json::to_string_pretty(&found)
            .map(|text| println!("{text}"))
            .map_err(Into::into),
    };
    if let Err(e) = printed {
        return cli::exit(Err(e));
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn rm(names: &[String], force: bool) -> ExitCode {
    let store = match open() {
        Ok(s) => s,
        Err(e) => return cli::exit(Err(e)),
    };
    let mut failed = false;
    for n in names {
        match store.remove_volume(n) {
            Ok(_) => println!("{n}"),
            Err(VolumeError::NoSuchVolume(_)) if force => println!("{n}"),
            Err(e) => {
                cli::report(&anyhow::Error::new(e));
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn prune_volumes(all: bool, force: bool, filters: &[String]) -> Result<()> {
    let filter = prune::Filter::parse(filters, prune::Object::Volume)?;
    let warning = if all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !prune::confirm(warning, force)? {
        return Ok(());
    }
    let store = open()?;
    let mut out = Pruned::default();
    prune::volumes(&store, all, &filter, &mut out)?;
    print!("{}", out.report());
    for f in &out.failed {
        cli::say(f);
    }
    anyhow::ensure!(out.failed.is_empty(), "some volumes were not removed");
    Ok(())
}
