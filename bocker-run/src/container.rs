//! One container's life: create (id, storage, /etc files, the saved bundle and the
//! `created` record), start (live entry, cgroup, clone, the record, network, supervise,
//! record the exit, release), remove, reclaim. `run` is create then start; `start` and
//! `restart` [`load`] a created or exited container and start it the same way.
//!
//! Lifecycle modules: [`state`] (the one place a record's status changes), [`release`]
//! (kill → cgroup destroy → network release, each through its owning crate),
//! [`remove`] (`bocker rm`), [`cgroups`] (the container's groups, through bocker-cgroups);
//! the verbs on a running container, one module each: [`kill`], [`stop`], [`wait`],
//! [`pause`], [`top`], [`stats`] ([`signal`]: Docker's signal names, [`each`]: one verb
//! over many containers). Crash recovery is [`reclaim`].
//!
//! `create` writes the container's bundle ([`saved`]) and then its record (`created`);
//! until then the store's journal (and its shared lock) covers the container's storage:
//! if we die, the journal removes it. A created container holds nothing on the host.
//! Before a start makes anything on the host it writes the container's live entry
//! (`live/<ps_id>` in the store: supervisor pid and start time, cgroup parent, bridge),
//! so whatever instant the supervisor is killed at, the next command finds what it made.
//! The record becomes `running` right after the clone, while the child builds its
//! filesystem. The supervisor holds the container's start lock for the whole run, so a
//! second `start` of a running container finds it taken.

pub mod cgroups;
pub mod each;
pub mod from_flags;
pub mod kill;
pub mod pause;
pub mod reclaim;
pub mod release;
pub mod remove;
pub mod saved;
pub mod signal;
pub mod state;
pub mod stats;
pub mod stop;
pub mod supervised;
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
use bocker_store::lock::{Lock, Mode};
use bocker_store::log::{LogOptions, LogWriter};
use bocker_store::record::{NetworkState, Resources};
use bocker_store::{
    liveness, ContainerConfig, ContainerId, ContainerRecord, ContainerState, Durability,
    ImageRecord, LiveEntry, Store, StoreError,
};
use std::os::fd::{AsFd, AsRawFd};
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
    /// The container's saved bundle could not be read back.
    #[error(transparent)]
    Saved(#[from] saved::LoadError),
    /// Another process is starting or supervising the container.
    #[error("container {0} is being started by another command")]
    Busy(String),
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

/// A created container, ready to start: what [`create`] made, or what [`load`] read back.
pub struct Created {
    pub id: ContainerId,
    pub dir: PathBuf,
    pub layers: Vec<String>,
    /// What the runtime runs: the OCI spec and bocker's extras.
    pub bundle: Bundle,
    /// The record as it was when the start began (`created`, or a past run's `exited`).
    pub record: ContainerRecord,
    /// Rotation limits of its log (`--log-opt`).
    pub log: LogOptions,
    /// The container's start lock ([`Store::try_lock_container_start`]), held until its
    /// run has ended and been cleaned up.
    start_lock: Option<Lock>,
    /// Set by [`Created::defer_storage_removal`]: a `--rm` container's storage is kept
    /// here once its record is gone, for [`Created::delete_storage`].
    buried: Option<Option<bocker_store::Buried>>,
    /// With `buried`: the ended container's mount namespace ([`process::Started`]), torn
    /// down by [`Created::delete_storage`] too, after the answer.
    mount_ns: Option<std::os::fd::OwnedFd>,
    /// Set by [`Created::reclaim_once_running`].
    reclaim_late: bool,
    /// Set by [`Created::use_network_namespace`].
    netns: Option<process::netns::Ahead>,
}

impl Created {
    /// `run`'s supervisor answers its caller before a `--rm` container's storage is
    /// deleted (unlinking a container's files is the slowest part of its end): the
    /// record goes when the run ends, as always, and the storage waits in `tmp/` for
    /// [`Created::delete_storage`], called once the caller has the exit status.
    pub fn defer_storage_removal(&mut self) {
        self.buried = Some(None);
    }

    /// The start reclaims dead containers ([`reclaim::reclaim`]) once the container
    /// runs (and `-d`'s caller has its id) instead of before its create: off the path
    /// to its exec. For a run that claims nothing a dead container could hold (no
    /// name, no host port).
    pub fn reclaim_once_running(&mut self) {
        self.reclaim_late = true;
    }

    /// The start's network namespace is `ahead` (being made since before the create),
    /// if the bundle asks for a new one; else it is dropped unused.
    pub fn use_network_namespace(&mut self, ahead: process::netns::Ahead) {
        self.netns = Some(ahead);
    }

    /// Deletes the storage [`Created::defer_storage_removal`] kept (nothing otherwise);
    /// a failure is reported on stderr and left to the collector.
    pub fn delete_storage(&mut self, store: &Store) {
        // Its mounts (the overlay among them) go first: the storage is under them.
        drop(self.mount_ns.take());
        if let Some(Some(b)) = self.buried.take() {
            if let Err(e) = b.delete(store) {
                bocker_cli::warn(&format!("removing {}: {e}", self.id));
            }
        }
    }

    /// Apply `f` to the stored record, under the record's lock.
    fn record(
        &mut self,
        store: &Store,
        f: impl FnOnce(&mut ContainerRecord),
    ) -> bocker_store::Result<()> {
        store.update_container(&self.id, f).map(|_| ())
    }
}

/// Reserve an id, make the container's storage and /etc files, bind the planned bundle
/// to them ([`Bundle::finish`]), save the bundle ([`saved`]) with `log`, and write the
/// record, `created` (Docker's `docker create`: nothing runs, nothing is held on the
/// host). If we die half-way, the store's journal removes the leftovers. The returned
/// container holds its start lock: [`run_attached`] starts it.
pub fn create(
    store: &Store,
    image: &ImageRecord,
    image_ref: &str,
    name: Option<&str>,
    mut bundle: Bundle,
    log: LogOptions,
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
    let start_lock = store
        .try_lock_container_start(&id)
        .map_err(store_step(format!("locking {id}")))?;
    saved::save(store, &id, &bundle, log).map_err(store_step(format!("saving {id}")))?;
    store
        .write_container(&record)
        .map_err(store_step(format!("writing the record of {id}")))?;
    p.finish()
        .map_err(store_step("closing the store journal"))?;
    drop(lock);
    Ok(Created {
        id,
        dir,
        layers: image.layers.clone(),
        bundle,
        record,
        log,
        start_lock,
        buried: None,
        mount_ns: None,
        reclaim_late: false,
        netns: None,
    })
}

/// How long [`load`] waits for the start lock: the supervisor of a run that has just
/// ended (`restart` stops, then starts) lets it go right after its cleanup.
const START_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A created or exited container, read back to be started again (`start`, `restart`):
/// its record and saved bundle, and its start lock. Errors: no such container (or one
/// created before bundles were saved), its start lock stays taken (it runs), the
/// saved bundle is unreadable.
pub fn load(store: &Store, id: &ContainerId) -> Result<Created, ContainerError> {
    let deadline = std::time::Instant::now() + START_LOCK_WAIT;
    let start_lock = loop {
        if let Some(l) = store.try_lock_container_start(id)? {
            break l;
        }
        if std::time::Instant::now() >= deadline {
            return Err(ContainerError::Busy(id.0.clone()));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let record = store.read_container(id)?;
    let (bundle, log) = saved::load(store, id)?;
    Ok(Created {
        id: id.clone(),
        dir: store.container_dir(id),
        layers: record.layers.clone(),
        bundle,
        record,
        log,
        start_lock: Some(start_lock),
        buried: None,
        mount_ns: None,
        reclaim_late: false,
        netns: None,
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
        state: ContainerState::default(),
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
/// each step. A `--rm` container is removed once it has ended (also when its start
/// failed), unless `restart` stopped it; the start lock is let go last.
pub fn run_attached(store: &Store, ctr: &mut Created, link: &mut Link) -> i32 {
    let code = match launch(store, ctr, link) {
        Ok(code) => code,
        Err(code) => {
            if ctr.bundle.extras.auto_remove {
                if let Err(e) = remove(store, &ctr.id) {
                    bocker_cli::warn(&e.to_string());
                }
            }
            code
        }
    };
    ctr.start_lock.take();
    code
}

/// Start the container, supervise it, record its end and release what it held; its
/// exit status, or `Err` with the status of a start that failed (recorded already).
fn launch(store: &Store, ctr: &mut Created, link: &mut Link) -> Result<i32, i32> {
    let entry = match live_entry(store, ctr) {
        Ok(e) => e,
        Err(e) => return Err(fail(store, ctr, None, StartFailure::engine(e.to_string()))),
    };
    // Recorded before anything is made: a kill from here on leaves nothing unfound.
    if let Err(e) = store.mark_live(&ctr.id, &entry) {
        let f = StartFailure::engine(format!("recording the container's resources: {e}"));
        return Err(fail(store, ctr, None, f));
    }
    // The mount namespace is held past the exit (which then does not wait for its
    // teardown) and let go before the storage goes or the start lock does: after the
    // answer for a buried `--rm` container, at the end of this run otherwise.
    let (cgroup, code, mut mount_ns) = match start(store, ctr, &entry) {
        Ok((mut started, mut log, cgroup)) => {
            let mount_ns = started.mount_ns.take();
            link.listen(&ctr.dir.join("attach.sock"));
            link.started(&ctr.id.0);
            if ctr.reclaim_late {
                // Its output waits in the pipes meanwhile, its signals in the signalfd.
                reclaim::reclaim(store);
            }
            // What the start allocated is freed: back to the kernel for the run.
            crate::sys::release_free_memory();
            match supervisor::supervise(started, log.as_mut(), link) {
                Ok(code) => (cgroup, code, mount_ns),
                Err(e) => {
                    bocker_cli::warn(&format!("supervising {}: {e}", ctr.id));
                    (cgroup, exit_code::ENGINE, mount_ns)
                }
            }
        }
        // Whatever part of the group was made is found by its name.
        Err(f) => return Err(fail(store, ctr, Some((&entry, None)), f)),
    };
    // Every process is gone with the cgroup: the namespace (and its veth) goes with them.
    let mut failed = release::release_with(store, &ctr.id, &entry, Some(&cgroup));
    let mut restarting = false;
    // `--rm` and nobody waiting (a wait that begins now is held off until the record
    // has gone): its exit is written nowhere, the record just goes.
    let unwatched = match ctr.bundle.extras.auto_remove {
        true => store.unwatched_container(&ctr.id).ok().flatten(),
        false => None,
    };
    let recorded = store.update_container_if(&ctr.id, |r| {
        restarting = std::mem::take(&mut r.state.restarting);
        if unwatched.is_some() && !restarting {
            return false;
        }
        state::exited(r, code, None);
        true
    });
    match recorded.map(drop) {
        // `--rm`: the exit is recorded first, for those already waiting (`wait` holds
        // the waiters' lock while it reads); the record goes once they have read it.
        // A restart's stop is not the end: the container stays (Docker's restart).
        Ok(()) if ctr.bundle.extras.auto_remove && !restarting => {
            let waiters = match unwatched {
                Some(_) => None,
                None => Some(store.lock_container_waiters(&ctr.id, Mode::Exclusive)),
            };
            match store.bury_container_record(&ctr.id) {
                Ok(buried) => match ctr.buried.as_mut() {
                    Some(later) => {
                        *later = Some(buried);
                        ctr.mount_ns = mount_ns.take();
                    }
                    None => {
                        drop(mount_ns.take());
                        if let Err(e) = buried.delete(store) {
                            failed.push(format!("removing the record: {e}"));
                        }
                    }
                },
                Err(StoreError::NoSuchContainer(_)) => {}
                Err(e) => failed.push(format!("removing the record: {e}")),
            }
            drop((waiters, unwatched));
            failed.extend(volumes::remove_anonymous(store, &ctr.record));
        }
        Ok(()) => {}
        // Gone already: `rm -f` removed it while it ran.
        Err(e) => {
            if store.container_dir(&ctr.id).exists() {
                failed.push(format!("recording the exit: {e}"));
            }
        }
    }
    release::report(&ctr.id, release::forget(store, &ctr.id, failed));
    Ok(code)
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

/// The container's group under the live entry's parent, with its limits and, for
/// `--device` and `--privileged`, their rules beside the default device policy; made
/// before any process of the container is in it.
fn make_cgroup(entry: &LiveEntry, ctr: &Created) -> Result<ContainerCgroup, StartFailure> {
    let parent = entry.cgroup_parent.as_deref().unwrap_or_default();
    let cgroup = ContainerCgroup::create(parent, &ctr.id.0, &limits_of(&ctr.bundle))
        .map_err(|e| StartFailure::engine(format!("creating cgroup: {e}")))?;
    cgroup
        .allow_devices(&ctr.bundle.device_rules())
        .map_err(|e| StartFailure::engine(format!("device cgroup: {e}")))?;
    Ok(cgroup)
}

fn start(
    store: &Store,
    ctr: &mut Created,
    entry: &LiveEntry,
) -> Result<(process::Started, Option<LogWriter>, ContainerCgroup), StartFailure> {
    let engine =
        |what: &str, e: &dyn std::fmt::Display| StartFailure::engine(format!("{what}: {e}"));
    let log = LogWriter::open_with(&ctr.dir.join("log"), ctr.log)
        .map_err(|e| engine("opening log", &e))?;
    supervisor::block_signals().map_err(|e| engine("blocking signals", &e))?;
    let driver = store.driver();
    let (dir, layers) = (ctr.dir.clone(), ctr.layers.clone());
    // A `--rm` container's layer goes at exit: no sync of the store's filesystem when
    // its overlay is unmounted (Podman's choice for `--rm` too).
    let durability = match ctr.bundle.extras.auto_remove {
        true => Durability::Volatile,
        false => Durability::Synced,
    };
    let mount = || {
        driver
            .mount_container(&dir, &layers, durability)
            .map_err(std::io::Error::other)
    };
    // Planning created nothing: the -v sources missing on the host are made now.
    (ctr.bundle.extras)
        .create_volume_sources()
        .map_err(|e| engine("volumes", &e))?;
    if ctr.record.state.started_at.is_some() {
        // It ran before: its /etc/hosts back to the seed the network step fills.
        let x = &ctr.bundle.extras;
        etc_files::reseed_hosts(&x.etc.hosts, &x.add_host)
            .map_err(|e| engine("writing /etc/hosts", &e))?;
    }
    // cgroup v2: the group first, the process is born in it. v1: the process first; it
    // builds its rootfs while the group is made here, then moves itself in (its `tasks`
    // files) once told the group is ready, before anything that needs it.
    let parent = entry.cgroup_parent.as_deref().unwrap_or_default();
    let planned = ContainerCgroup::planned_join_files(parent, &ctr.id.0)
        .map_err(|e| engine("creating cgroup", &e))?;
    let early = match planned {
        Some(_) => None,
        None => Some(make_cgroup(entry, ctr)?),
    };
    let v2_dir = early.as_ref().and_then(ContainerCgroup::v2_dir);
    let v2_fd = v2_dir.as_ref().map(|f| f.as_raw_fd());
    let join = planned.unwrap_or_default();
    // Made meanwhile on a thread of ours; if that failed, the clone makes one.
    let netns = ctr.netns.take().and_then(|a| a.join().ok());
    let place = process::CgroupPlace {
        dir: v2_fd,
        tasks: &join,
        later: early.is_none(),
    };
    let pending = process::spawn(
        &ctr.bundle,
        &mount,
        place,
        netns.as_ref().map(|f| f.as_fd()),
    )
    .map_err(|e| engine("creating the container process", &e))?;
    let cgroup = match early {
        Some(c) => c,
        None => match make_cgroup(entry, ctr) {
            Ok(c) => {
                pending.group_ready();
                c
            }
            Err(f) => return Err(pending.abort(f)),
        },
    };
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
    let target = match &netns {
        Some(ns) => bocker_net::Netns::Fd(ns.as_fd()),
        None => bocker_net::Netns::Pid(pid),
    };
    let att = match network::setup_network(ctr.bundle.extras.network, target, &net) {
        Ok(a) => a,
        Err(e) => return Err(pending.abort(engine("network", &e))),
    };
    let supervisor = (entry.supervisor_pid, entry.supervisor_start);
    let recorded = ctr.record(store, |r| {
        state::running(r, pid, paths, supervisor);
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
    Ok((started, Some(log), cgroup))
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
