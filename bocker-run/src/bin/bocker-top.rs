//! `bocker top <ctr> [ps options]`: the container's processes, through the host's `ps`
//! with the given options, as `docker top`.

use std::process::ExitCode;

use bocker_run::container::{each, top};
use clap::Parser;

/// Display the running processes of a container
#[derive(Parser)]
#[command(name = "bocker top", bin_name = "bocker top", version)]
struct Args {
    /// Container (id, prefix or name)
    container: String,
    /// Options passed to ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_options: Vec<String>,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(std::slice::from_ref(&args.container), |store, id, _| {
        let rec = store.read_container(id)?;
        print!("{}", top::top(&rec, &args.ps_options)?);
        Ok(())
    })
}
