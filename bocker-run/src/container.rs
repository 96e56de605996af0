//! One container's life in the store: create (id, storage, /etc files), run (cgroup,
//! clone, the record, network, supervise, record the exit), remove (`--rm`).
//!
//! The record is first written right after the clone, already `running`, while the child
//! builds its filesystem: one durable write fewer per start, and that one overlapped.
//! Until then the store's journal (and its shared lock) covers the container: if we die,
//! the journal removes its storage, and `reclaim` its empty, unrecorded cgroup.

use crate::cgroup_step::ContainerCgroup;
use crate::exec::StartFailure;
use crate::plan::Plan;
use crate::spec::RunSpec;
use crate::{config, etc_files, exit_code, network, process, supervisor};
use anyhow::{Context, Result};
use bocker_store::lock::Lock;
use bocker_store::log::LogWriter;
use bocker_store::record::{MountSpec, NetworkState, Resources};
use bocker_store::{
    ContainerConfig, ContainerId, ContainerRecord, ContainerState, ImageRecord, Pending, Status,
    Store,
};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// A created container, ready to start.
pub struct Created {
    pub id: ContainerId,
    pub dir: PathBuf,
    pub layers: Vec<String>,
    pub spec: RunSpec,
    /// The record as it will be written.
    pub record: ContainerRecord,
    /// The store journal and lock covering the container until its record is written.
    journal: Option<(Pending, Lock)>,
}

impl Created {
    /// Apply `f` to the record and store it: the first time as a whole (closing the
    /// journal), then as an update under the record's lock.
    fn record(&mut self, store: &Store, f: impl Fn(&mut ContainerRecord)) -> Result<()> {
        match self.journal.take() {
            Some((journal, lock)) => {
                f(&mut self.record);
                store.write_container(&self.record)?;
                journal.finish()?;
                drop(lock);
            }
            None => {
                store.update_container(&self.id, f)?;
            }
        }
        Ok(())
    }
}

/// Reserve an id, make the container's storage and /etc files; the record is written
/// when it starts. If we die half-way, the store's journal removes the leftovers.
pub fn create(
    store: &Store,
    image: &ImageRecord,
    image_ref: &str,
    name: Option<&str>,
    plan: &Plan,
    args: &crate::cli::Args,
) -> Result<Created> {
    // Bad DNS or --add-host flags are refused before anything is made.
    let dns = etc_files::Dns::new(&args.dns, &args.dns_search, &args.dns_option)?;
    etc_files::add_host_lines(&args.add_host)?;
    let lock = store.lock_shared().context("locking the store")?;
    let mut p = store.begin().context("starting a store journal")?;
    let id = store
        .new_container_id(&mut p)
        .context("reserving a container id")?;
    if let Some(n) = name {
        store.claim_name(n, &id, &mut p)?;
    }
    let dir = store.container_dir(&id);
    store
        .driver()
        .create_container(&dir, &image.layers)
        .with_context(|| format!("creating the filesystem of {id}"))?;
    let hostname =
        (args.hostname.clone()).unwrap_or_else(|| network::default_hostname(plan.network, &id.0));
    let etc = etc_files::write(&dir, &hostname, plan.network, &dns, &args.add_host)
        .with_context(|| format!("writing /etc files of {id}"))?;
    let env = config::env(&plan.image, &hostname, &plan.user_env)?;
    let rootfs = bocker_store::driver::rootfs_of(&dir);
    let rec = ContainerRecord {
        id: id.0.clone(),
        name: name.map(str::to_string),
        image: image.id.clone(),
        image_ref: image_ref.to_string(),
        command: plan.argv.clone(),
        created: bocker_store::time::now(),
        driver: store.driver().name().to_string(),
        layers: image.layers.clone(),
        rootfs: rootfs.display().to_string(),
        config: ContainerConfig {
            env: env.clone(),
            cwd: plan.cwd.clone(),
            user: Some(plan.user.clone()).filter(|u| !u.is_empty()),
            hostname: hostname.clone(),
            mounts: plan
                .volumes
                .iter()
                .map(|v| MountSpec {
                    source: v.host.display().to_string(),
                    destination: v.dest.clone(),
                    read_only: v.readonly,
                })
                .collect(),
            resources: Resources {
                memory_bytes: plan.limits.memory_bytes,
                cpu_shares: plan.limits.cpu_shares,
                cpus: plan.limits.cpus,
                pids_limit: plan.limits.pids_max,
            },
            network: NetworkState {
                mode: plan.network.name().to_string(),
                ..Default::default()
            },
            read_only: args.read_only,
            init: args.init,
            interactive: args.interactive,
            auto_remove: args.rm,
            ..Default::default()
        },
        state: ContainerState {
            supervisor_pid: Some(std::process::id() as i32),
            ..Default::default()
        },
    };
    let spec = RunSpec {
        rootfs,
        argv: plan.argv.clone(),
        env,
        cwd: plan.cwd.clone(),
        user: plan.user.clone(),
        hostname,
        volumes: plan.volumes.clone(),
        etc,
        read_only: args.read_only,
        init: args.init,
        stdin: args.interactive,
        auto_remove: args.rm,
        network: plan.network,
        ports: plan.ports.clone(),
        cgroup_tasks: Vec::new(),
    };
    Ok(Created {
        id,
        dir,
        layers: image.layers.clone(),
        spec,
        record: rec,
        journal: Some((p, lock)),
    })
}

/// Start the container and supervise it in this process until it exits; returns its
/// exit status (125/126/127 when it could not start). The record follows each step.
pub fn run(store: &Store, ctr: &mut Created, plan: &Plan) -> i32 {
    let cgroup = match ContainerCgroup::create(&ctr.id.0, &plan.limits) {
        Ok(c) => c,
        Err(e) => {
            return fail(
                store,
                ctr,
                None,
                StartFailure::engine(format!("creating cgroup: {e}")),
            )
        }
    };
    let code = match start(store, ctr, &cgroup) {
        Ok((started, mut log)) => match supervisor::supervise(started, log.as_mut()) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("bocker-run: supervising {}: {e}", ctr.id);
                exit_code::ENGINE
            }
        },
        Err(f) => return fail(store, ctr, Some(&cgroup), f),
    };
    if let Err(e) = cgroup.destroy() {
        eprintln!("bocker-run: removing cgroup of {}: {e}", ctr.id);
    }
    // Every process is gone with the cgroup: the namespace (and its veth) goes with them.
    release_network(store, ctr);
    if ctr.spec.auto_remove {
        return code; // the record is about to go: no point in a last write
    }
    let _ = ctr.record(store, |r| {
        r.state.status = Status::Exited;
        r.state.exit_code = Some(code);
        r.state.finished_at = Some(bocker_store::time::now());
        r.state.pid = None;
        r.state.supervisor_pid = None;
        r.config.cgroup_paths.clear();
    });
    code
}

fn start(
    store: &Store,
    ctr: &mut Created,
    cgroup: &ContainerCgroup,
) -> Result<(process::Started, Option<LogWriter>), StartFailure> {
    let engine =
        |what: &str, e: &dyn std::fmt::Display| StartFailure::engine(format!("{what}: {e}"));
    let log = LogWriter::open(&ctr.dir.join("log")).map_err(|e| engine("opening log", &e))?;
    supervisor::block_signals().map_err(|e| engine("blocking signals", &e))?;
    let driver = store.driver();
    let (dir, layers) = (ctr.dir.clone(), ctr.layers.clone());
    let mount = || {
        driver
            .mount_container(&dir, &layers)
            .map_err(std::io::Error::other)
    };
    // cgroup v2: born in the group. v1: it moves itself in (spec.cgroup_tasks).
    let v2_dir = cgroup.v2_dir();
    let spec = RunSpec {
        cgroup_tasks: cgroup.self_join_files(),
        ..ctr.spec.clone()
    };
    let pending = process::spawn(&spec, &mount, v2_dir.as_ref().map(|f| f.as_raw_fd()))
        .map_err(|e| engine("creating the container process", &e))?;
    let pid = pending.pid;
    let paths: Vec<String> = cgroup
        .paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    // Host side of the network while the child waits; what it made goes into the one
    // record write below (the "running" record), not a second one.
    let net = network::NetContext {
        root: store.root(),
        owner: &ctr.id.0,
        hostname: &ctr.spec.hostname,
        hosts_file: &ctr.spec.etc.hosts,
        ports: &ctr.spec.ports,
    };
    let att = match network::setup_network(ctr.spec.network, pid, &net) {
        Ok(a) => a,
        Err(e) => return Err(pending.abort(engine("network", &e))),
    };
    let recorded = ctr.record(store, |r| {
        r.state.status = Status::Running;
        r.state.pid = Some(pid);
        r.state.started_at = Some(bocker_store::time::now());
        r.config.cgroup_paths = paths.clone();
        let n = &mut r.config.network;
        n.bridge = att.bridge.clone();
        n.ip = att.ip.clone();
        n.gateway = att.gateway.clone();
        n.mac = att.mac.clone();
        n.ports = att.ports.clone();
    });
    if let Err(e) = recorded {
        release_network(store, ctr);
        return Err(pending.abort(engine("updating record", &e)));
    }
    let started = match pending.release_exec() {
        Ok(s) => s,
        Err(f) => {
            release_network(store, ctr);
            return Err(f);
        }
    };
    Ok((started, Some(log)))
}

/// Gives the container's lease and port rules back (bridge mode only).
fn release_network(store: &Store, ctr: &Created) {
    if ctr.spec.network != network::NetworkMode::Bridge {
        return;
    }
    let bridge = match network::configured_bridge() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bocker-run: releasing the network of {}: {e}", ctr.id);
            return;
        }
    };
    if let Err(e) = network::release_network(store.root(), &bridge, &ctr.id.0) {
        eprintln!("bocker-run: releasing the network of {}: {e}", ctr.id);
    }
}

/// Record a failed start, print its message, clean the cgroup; return its status.
fn fail(
    store: &Store,
    ctr: &mut Created,
    cgroup: Option<&ContainerCgroup>,
    f: StartFailure,
) -> i32 {
    eprintln!("bocker-run: {}", f.message);
    if let Some(cg) = cgroup {
        let _ = cg.destroy();
    }
    let _ = ctr.record(store, |r| {
        r.state.status = Status::Exited;
        r.state.exit_code = Some(f.code);
        r.state.error = Some(f.message.clone());
        r.state.finished_at = Some(bocker_store::time::now());
        r.state.supervisor_pid = None;
        r.config.cgroup_paths.clear();
    });
    f.code
}

/// `--rm`: remove the record and the storage.
pub fn remove(store: &Store, id: &ContainerId) -> Result<()> {
    store
        .remove_container(id, true)
        .with_context(|| format!("removing {id}"))
}
