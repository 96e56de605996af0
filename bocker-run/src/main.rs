//! `bocker run [opts] <image> [cmd…]`: create a container from an image and start it
//! (`docker create` + `docker start`), as the seed's `bocker_run` did: snapshot, cgroup,
//! namespaces, exec. The container lives under a supervisor of its own
//! ([`attach::split`]); the caller relays its output (foreground) or prints its id and
//! returns (`-d`).

use anyhow::{Context, Result};
use bocker_run::attach::{self, Link, Role};
use bocker_run::cidfile::CidFile;
use bocker_run::container::{self, from_flags, reclaim, Created};
use bocker_run::network::NetworkMode;
use bocker_run::{cli::Args, exit_code, prepare, process};
use bocker_store::Store;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    let Some(keys) = attach::parse_detach_keys(&args.detach_keys) else {
        eprintln!("bocker-run: invalid --detach-keys {:?}", args.detach_keys);
        return ExitCode::from(exit_code::ENGINE as u8);
    };
    // Before the supervisor: the image (pulled when missing) and the cid file.
    let mut cidfile = match prepare::prepare(&args) {
        Ok(c) => c,
        Err(e) => {
            bocker_cli::report(&e.into());
            return ExitCode::from(exit_code::ENGINE as u8);
        }
    };
    let code = match attach::split(args.detach, args.interactive, args.tty) {
        Ok(Role::Caller(mut caller)) => {
            // The supervisor's copy writes (or removes) the cid file.
            std::mem::forget(cidfile);
            caller.set_detach_keys(keys);
            caller.attach()
        }
        Ok(Role::Supervisor(mut link)) => {
            // It lives as long as the container: small (docs/BENCHMARKS.md, Density).
            bocker_run::sys::single_malloc_arena();
            let mut started = None;
            let code = run(&args, &mut link, cidfile.as_mut(), &mut started).unwrap_or_else(|e| {
                bocker_cli::report(&e);
                exit_code::ENGINE
            });
            link.exit(code);
            // A `--rm` container's storage goes once the caller has its answer.
            if let Some((store, ctr)) = started.as_mut() {
                ctr.delete_storage(store);
            }
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            bocker_cli::report(&anyhow::Error::new(e).context("starting the supervisor"));
            exit_code::ENGINE
        }
    };
    ExitCode::from(code as u8)
}

/// The container created and run under this supervisor; `started` keeps the store and
/// the container for the storage removal after the caller's answer.
fn run(
    args: &Args,
    link: &mut Link,
    cidfile: Option<&mut CidFile>,
    started: &mut Option<(Store, Created)>,
) -> Result<i32> {
    let store = Store::open().context("opening the store")?;
    // The container's network namespace is made on a thread while the store works.
    let netns = match args.network.parse() {
        Ok(NetworkMode::Bridge | NetworkMode::None) => process::netns::ahead().ok(),
        _ => None,
    };
    // Dead containers are reclaimed first when one could hold what this run claims (a
    // name, host ports); else once our container runs.
    let claims = args.name.is_some() || !args.publish.is_empty() || args.ports.publish_all;
    if claims {
        reclaim::reclaim(&store);
    }
    let ctr = from_flags::create_from_flags(&store, args)?;
    if let Some(f) = cidfile {
        f.write(&ctr.id.0)
            .context("writing the container ID file")?;
    }
    let (store, ctr) = started.insert((store, ctr));
    ctr.defer_storage_removal();
    if !claims {
        ctr.reclaim_once_running();
    }
    if let Some(ahead) = netns {
        ctr.use_network_namespace(ahead);
    }
    Ok(container::run_attached(store, ctr, link))
}
