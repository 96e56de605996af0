//! One container's life: create (id, storage, /etc files), run (live entry, cgroup,
//! clone, the record, network, supervise, record the exit, release), remove, reclaim.
//!
//! Lifecycle modules: [`state`] (the one place a record's status changes), [`release`]
//! (kill → cgroup destroy → network release, each through its owning crate),
//! [`remove`] (`bocker rm`), [`cgroups`] (the container's groups, through bocker-cgroups);
//! the verbs on a running container, one module each: [`kill`], [`stop`], [`wait`],
//! [`pause`], [`top`], [`stats`] ([`signal`]: Docker's signal names, [`each`]: one verb
//! over many containers). Crash recovery is [`reclaim`].
//!
//! Before the start makes anything on the host it writes the container's live entry
//! (`live/<ps_id>` in the store: supervisor pid and start time, cgroup parent, bridge),
//! so whatever instant `bocker run` is killed at, the next command finds what it made.
//! The record is first written right after the clone, already `running`, while the
//! child builds its filesystem: one durable write fewer per start, and that one
//! overlapped. Until then the store's journal (and its shared lock) covers the
//! container's storage: if we die, the journal removes it.

pub mod cgroups;
pub mod each;
pub mod kill;
pub mod pause;
pub mod reclaim;
pub mod release;
pub mod remove;
pub mod signal;
pub mod state;
pub mod stats;
pub mod stop;
pub mod top;
pub mod volumes;
pub mod wait;

use self::cgroups::ContainerCgroup;
use crate::attach::Link;
use crate::exit_code;
use crate::network::{self, etc_files};
use crate::process::execve::StartFailure;
use crate::process::{self, supervisor};
use crate::spec::{resources, Bundle};
use bocker_store::lock::Lock;
use bocker_store::log::{LogOptions, LogWriter};
use bocker_store::record::{NetworkState, Resources};
use bocker_store::{
    liveness, ContainerConfig, ContainerId, ContainerRecord, ContainerState, ImageRecord, Journal,
    LiveEntry, Store, StoreError,
};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// Why a container could not be created or removed: the step that failed and its cause.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The store refused a step (`what`), e.g. writing the container's filesystem.
    #[error("{what}: {source}")]
    Store {
        what: String,
        #[source]
        source: StoreError,
    },
    /// The store refused as such: a name already in use, no such container.
    #[error(transparent)]
    StoreRefused(#[from] StoreError),
    /// A file beside the record or a setting could not be written or read (`what`).
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A volume could not be made (a bad name, the store refused).
    #[error(transparent)]
    Volume(#[from] bocker_store::volume::VolumeError),
    /// `--rm` could not remove the container.
    #[error("removing {id}: {source}")]
    Remove {
        id: ContainerId,
        #[source]
        source: remove::RemoveError,
    },
}

/// `map_err` helpers naming the step that failed.
fn store_step(what: impl Into<String>) -> impl FnOnce(StoreError) -> ContainerError {
    let what = what.into();
    move |source| ContainerError::Store { what, source }
}

fn io_step(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ContainerError {
    let what = what.into();
    move |source| ContainerError::Io { what, source }
}

/// A created container, ready to start.
pub struct Created {
    pub id: ContainerId,
    pub dir: PathBuf,
    pub layers: Vec<String>,
    /// What the runtime runs: the OCI spec and bocker's extras.
    pub bundle: Bundle,
    /// The record as it will be written.
    pub record: ContainerRecord,
    /// Rotation limits of its log (`--log-opt`).
    pub log: LogOptions,
    /// The store journal and lock covering the container until its record is written.
    journal: Option<(Journal, Lock)>,
}

impl Created {
    /// Apply `f` to the record and store it: the first time as a whole (closing the
    /// journal), then as an update under the record's lock.
    fn record(
        &mut self,
        store: &Store,
        f: impl Fn(&mut ContainerRecord),
    ) -> bocker_store::Result<()> {
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

/// Reserve an id, make the container's storage and /etc files, and bind the planned
/// bundle to them ([`Bundle::finish`]); the record is written when it starts. If we die
/// half-way, the store's journal removes the leftovers.
pub fn create(
    store: &Store,
    image: &ImageRecord,
    image_ref: &str,
    name: Option<&str>,
    mut bundle: Bundle,
) -> Result<Created, ContainerError> {
    let lock = store
        .lock_shared()
        .map_err(store_step("locking the store"))?;
    let mut p = store
        .begin()
        .map_err(store_step("starting a store journal"))?;
    let id = store
        .new_container_id(&mut p)
        .map_err(store_step("reserving a container id"))?;
    if let Some(n) = name {
        store.claim_name(n, &id, &mut p)?;
    }
    let dir = store.container_dir(&id);
    store
        .driver()
        .create_container(&dir, &image.layers)
        .map_err(store_step(format!("creating the filesystem of {id}")))?;
    let hostname = bundle
        .spec
        .hostname()
        .clone()
        .unwrap_or_else(|| network::default_hostname(bundle.extras.network, &id.0));
    let x = &bundle.extras;
    let etc = etc_files::write(&dir, &hostname, x.network, &x.dns, &x.add_host)
        .map_err(io_step(format!("writing /etc files of {id}")))?;
    let rootfs = bocker_store::driver::rootfs_of(&dir);
    let cgroups_path = PathBuf::from(
        cgroups::store_parent(store)
            .map_err(store_step(format!("reading the store id for {id}")))?,
    )
    .join(&id.0);
    volumes::attach(store, image, &mut bundle)?;
    // The default hostname (the id; in host mode the host's own, as Docker 20.10).
    bundle.finish(&hostname, &rootfs, etc, &cgroups_path);
    let record = record_of(store, &id, name, image, image_ref, &bundle);
    Ok(Created {
        id,
        dir,
        layers: image.layers.clone(),
        bundle,
        record,
        log: LogOptions::default(),
        journal: Some((p, lock)),
    })
}

/// The container's record as `create` leaves it, from the bundle: what `inspect` and
/// `ps` show.
fn record_of(
    store: &Store,
    id: &ContainerId,
    name: Option<&str>,
    image: &ImageRecord,
    image_ref: &str,
    bundle: &Bundle,
) -> ContainerRecord {
    let spec = &bundle.spec;
    let x = &bundle.extras;
    let process = spec.process().clone().unwrap_or_default();
    let limits = limits_of(bundle);
    let root = spec.root().clone().unwrap_or_default();
    ContainerRecord {
        id: id.0.clone(),
        name: name.map(str::to_string),
        image: image.id.clone(),
        image_ref: image_ref.to_string(),
        command: process.args().clone().unwrap_or_default(),
        created: bocker_store::time::now(),
        driver: store.driver().name().to_string(),
        layers: image.layers.clone(),
        rootfs: root.path().display().to_string(),
        config: ContainerConfig {
            env: process.env().clone().unwrap_or_default(),
            cwd: process.cwd().display().to_string(),
            user: x.user.clone().filter(|u| !u.is_empty()),
            hostname: bundle.hostname().to_string(),
            mounts: volumes::record(store, bundle),
            resources: Resources {
                memory_bytes: limits.memory_bytes,
                cpu_shares: limits.cpu_shares,
                cpus: limits.cpus,
                pids_limit: limits.pids_max,
            },
            network: NetworkState {
                mode: x.network.name().to_string(),
                ..Default::default()
            },
            read_only: root.readonly() == Some(true),
            init: x.init,
            interactive: x.stdin,
            auto_remove: x.auto_remove,
            extra: bundle.record_extra(),
            stop_signal: (x.stop_signal.clone()).or_else(|| image.config.stop_signal.clone()),
            ..Default::default()
        },
        state: ContainerState {
            supervisor_pid: Some(std::process::id() as i32),
            ..Default::default()
        },
    }
}

/// The cgroup limits of the bundle's `linux.resources`.
fn limits_of(bundle: &Bundle) -> bocker_cgroups::Limits {
    let linux = bundle.spec.linux().as_ref();
    resources::from_spec(linux.and_then(|l| l.resources().as_ref()))
}

/// Start the container and supervise it in this process until it exits, its output on
/// our stdout/stderr; returns its exit status (125/126/127 when it could not start).
pub fn run(store: &Store, ctr: &mut Created) -> i32 {
    run_attached(store, ctr, &mut Link::none())
}

/// [`run`] in the supervisor of [`crate::attach`]: the output goes to `link`'s caller
/// (while there is one) and `link` hears when the container runs. The record follows
/// each step.
pub fn run_attached(store: &Store, ctr: &mut Created, link: &mut Link) -> i32 {
    let entry = match live_entry(store, ctr) {
        Ok(e) => e,
        Err(e) => return fail(store, ctr, None, StartFailure::engine(e.to_string())),
    };
    ctr.record.state.supervisor_start = entry.supervisor_start;
    // Recorded before anything is made: a kill from here on leaves nothing unfound.
    if let Err(e) = store.mark_live(&ctr.id, &entry) {
        let f = StartFailure::engine(format!("recording the container's resources: {e}"));
        return fail(store, ctr, None, f);
    }
    let parent = entry.cgroup_parent.as_deref().unwrap_or_default();
    let cgroup = match ContainerCgroup::create(parent, &ctr.id.0, &limits_of(&ctr.bundle)) {
        Ok(c) => c,
        Err(e) => {
            let f = StartFailure::engine(format!("creating cgroup: {e}"));
            return fail(store, ctr, Some((&entry, None)), f);
        }
    };
    // `--device`, `--privileged`: their rules beside the default policy, before any process.
    if let Err(e) = cgroup.allow_devices(&ctr.bundle.device_rules()) {
        let f = StartFailure::engine(format!("device cgroup: {e}"));
        return fail(store, ctr, Some((&entry, Some(&cgroup))), f);
    }
    let code = match start(store, ctr, &cgroup) {
        Ok((started, mut log)) => {
            link.started(&ctr.id.0);
            match supervisor::supervise(started, log.as_mut(), link) {
                Ok(code) => code,
                Err(e) => {
                    bocker_cli::warn(&format!("supervising {}: {e}", ctr.id));
                    exit_code::ENGINE
                }
            }
        }
        Err(f) => return fail(store, ctr, Some((&entry, Some(&cgroup))), f),
    };
    // Every process is gone with the cgroup: the namespace (and its veth) goes with them.
    let mut failed = release::release_with(store, &ctr.id, &entry, Some(&cgroup));
    if ctr.bundle.extras.auto_remove {
        // `--rm`: no last record write, the record goes.
        if let Err(e) = store.remove_container_record(&ctr.id) {
            failed.push(format!("removing the record: {e}"));
        }
        failed.extend(volumes::remove_anonymous(store, &ctr.record));
    } else if let Err(e) = ctr.record(store, |r| state::exited(r, code, None)) {
        // Gone already: `rm -f` removed it while it ran.
        if store.container_dir(&ctr.id).exists() {
            failed.push(format!("recording the exit: {e}"));
        }
    }
    release::report(&ctr.id, release::forget(store, &ctr.id, failed));
    code
}

/// What this start will make, for the live entry: our own pid and start time, the
/// store's cgroup parent, the bridge (bridge mode).
fn live_entry(store: &Store, ctr: &Created) -> Result<LiveEntry, ContainerError> {
    let cgroup_parent = cgroups::store_parent(store).map_err(store_step("reading the store id"))?;
    let bridge = match ctr.bundle.extras.network {
        network::NetworkMode::Bridge => {
            Some(network::configured_bridge().map_err(io_step("network settings"))?)
        }
        _ => None,
    };
    Ok(LiveEntry {
        supervisor_pid: std::process::id() as i32,
        supervisor_start: liveness::own_start_time(),
        cgroup_parent: Some(cgroup_parent),
        bridge,
    })
}

fn start(
    store: &Store,
    ctr: &mut Created,
    cgroup: &ContainerCgroup,
) -> Result<(process::Started, Option<LogWriter>), StartFailure> {
    let engine =
        |what: &str, e: &dyn std::fmt::Display| StartFailure::engine(format!("{what}: {e}"));
    let log = LogWriter::open_with(&ctr.dir.join("log"), ctr.log)
        .map_err(|e| engine("opening log", &e))?;
    supervisor::block_signals().map_err(|e| engine("blocking signals", &e))?;
    let driver = store.driver();
    let (dir, layers) = (ctr.dir.clone(), ctr.layers.clone());
    let mount = || {
        driver
            .mount_container(&dir, &layers)
            .map_err(std::io::Error::other)
    };
    // Planning created nothing: the -v sources missing on the host are made now.
    (ctr.bundle.extras)
        .create_volume_sources()
        .map_err(|e| engine("volumes", &e))?;
    // cgroup v2: born in the group. v1: it moves itself in (its `tasks` files).
    let v2_dir = cgroup.v2_dir();
    let v2_fd = v2_dir.as_ref().map(|f| f.as_raw_fd());
    let pending = process::spawn(&ctr.bundle, &mount, v2_fd, &cgroup.self_join_files())
        .map_err(|e| engine("creating the container process", &e))?;
    let pid = pending.pid;
    let paths: Vec<String> = cgroup
        .paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    // Host side of the network while the child waits; what it made goes into the one
    // record write below (the "running" record), not a second one. Its bridge is in the
    // live entry already: if we die half-way, reclaim gives back whatever it took.
    let net = network::NetContext {
        root: store.root(),
        owner: &ctr.id.0,
        hostname: ctr.bundle.hostname(),
        hosts_file: &ctr.bundle.extras.etc.hosts,
        ports: &ctr.bundle.extras.ports,
    };
    let att = match network::setup_network(ctr.bundle.extras.network, pid, &net) {
        Ok(a) => a,
        Err(e) => return Err(pending.abort(engine("network", &e))),
    };
    let recorded = ctr.record(store, |r| {
        state::running(r, pid, paths.clone());
        let n = &mut r.config.network;
        n.bridge = att.bridge.clone();
        n.ip = att.ip.clone();
        n.gateway = att.gateway.clone();
        n.mac = att.mac.clone();
        n.ports = att.ports.clone();
    });
    if let Err(e) = recorded {
        return Err(pending.abort(engine("updating record", &e)));
    }
    let started = pending.release_exec()?;
    Ok((started, Some(log)))
}

/// Record a failed start, print its message, release what it made (if anything was
/// made: `entry`); return its status.
fn fail(
    store: &Store,
    ctr: &mut Created,
    made: Option<(&LiveEntry, Option<&ContainerCgroup>)>,
    f: StartFailure,
) -> i32 {
    bocker_cli::warn(&f.message);
    let failed = made
        .map(|(entry, cgroup)| release::release_with(store, &ctr.id, entry, cgroup))
        .unwrap_or_default();
    let recorded = ctr.record(store, |r| state::exited(r, f.code, Some(f.message.clone())));
    if made.is_some() && recorded.is_ok() {
        release::report(&ctr.id, release::forget(store, &ctr.id, failed));
    } else {
        release::report(&ctr.id, failed);
    }
    f.code
}

/// `--rm`: remove the container (killing it first if needed), record and storage. A
/// container [`run`] removed already is fine.
pub fn remove(store: &Store, id: &ContainerId) -> Result<(), ContainerError> {
    match remove::remove(store, id, true) {
        Err(remove::RemoveError::Store(StoreError::NoSuchContainer(_))) => Ok(()),
        other => other.map_err(|source| ContainerError::Remove {
            id: id.clone(),
            source,
        }),
    }
}
