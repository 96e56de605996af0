//! Cleaning up after supervisors that died (SIGKILL of `bocker run`, a crash), in this
//! store only. A start writes its live entry (store `live/<ps_id>`: supervisor pid and
//! start time, cgroup parent, bridge) before it makes anything, so whatever instant it
//! was killed at, reclaim finds it there: it kills what is left in the container's
//! cgroup and removes the group (bocker-cgroups), gives back its lease and port rules
//! (bocker-net), marks the record `exited (137)` (or removes it, `--rm`), and lets the
//! store undo the dead start's journal (storage of a container never recorded).
//! `bocker-run` and `bocker rm` call [`reclaim`] first.
//!
//! Groups are only ever looked for under this store's own cgroup parent
//! (`<BOCKER_CGROUP_PARENT or bocker>/<store id>`): another store's containers, or
//! Docker's and Podman's, are never seen. Everything that cannot be cleaned is reported
//! on stderr, one line each, and stays recorded for the next try.

use super::cgroups::{self, ContainerCgroup};
use super::{release, state};
use bocker_store::{id, liveness, ContainerId, Status, Store, StoreError};

/// Reclaims every container of this store whose supervisor is gone; returns the ids
/// handled. Problems are printed (`bocker <verb>: reclaim: …`), never fatal.
pub fn reclaim(store: &Store) -> Vec<String> {
    let mut r = Reclaim {
        store,
        done: Vec::new(),
    };
    match store.live_container_ids() {
        Ok(ids) => ids.iter().for_each(|id| r.container(id)),
        Err(e) => report(&format!("listing live containers: {e}")),
    }
    r.orphan_groups();
    // Storage of starts killed before their first record: the store's journal.
    if let Err(e) = store.recover() {
        report(&format!("undoing dead journals: {e}"));
    }
    r.done
}

struct Reclaim<'a> {
    store: &'a Store,
    done: Vec<String>,
}

impl Reclaim<'_> {
    fn container(&mut self, id: &ContainerId) {
        let entry = match self.store.read_live(id) {
            Ok(Some(e)) => e,
            Ok(None) => return, // released meanwhile
            Err(e) => return report(&format!("{id}: {e}")),
        };
        if liveness::process_alive(Some(entry.supervisor_pid), entry.supervisor_start) {
            return; // its supervisor is at work: its resources are its own
        }
        let failed = release::release(self.store, id, &entry);
        if !failed.is_empty() {
            return release_failed(id, failed);
        }
        match self.store.read_container(id) {
            Ok(rec) if rec.state.status != Status::Exited => {
                let written = if rec.config.auto_remove {
                    self.store.remove_container_record(id)
                } else {
                    self.store
                        .update_container(id, state::supervisor_died)
                        .map(drop)
                };
                if let Err(e) = written {
                    return report(&format!("{id}: recording its end: {e}"));
                }
            }
            Ok(_) => {}
            // Killed before its first record: the journal holds its storage.
            Err(StoreError::NoSuchContainer(_)) => {}
            Err(e) => return report(&format!("{id}: {e}")),
        }
        let failed = release::forget(self.store, id, Vec::new());
        if !failed.is_empty() {
            return release_failed(id, failed);
        }
        self.done.push(id.0.clone());
    }

    /// Groups under this store's parent with no live entry: their entry was removed but
    /// the group survived (an old version, a failed removal). Entries are written before
    /// groups are made, so no start in progress is ever among them.
    fn orphan_groups(&mut self) {
        let parent = match cgroups::store_parent(self.store) {
            Ok(p) => p,
            Err(e) => return report(&format!("reading the store id: {e}")),
        };
        let names = match ContainerCgroup::children(&parent) {
            Ok(n) => n,
            Err(e) => return report(&format!("listing the cgroups of {parent}: {e}")),
        };
        for name in names {
            if !id::is_valid(id::Kind::Container, &name) {
                continue;
            }
            let cid = ContainerId(name);
            match self.store.read_live(&cid) {
                Ok(None) => {}
                Ok(Some(_)) => continue,
                Err(e) => {
                    report(&format!("{cid}: {e}"));
                    continue;
                }
            }
            match ContainerCgroup::destroy_named(&parent, &cid.0) {
                Ok(()) => self.done.push(cid.0),
                Err(e) => report(&format!("removing the cgroup {parent}/{cid}: {e}")),
            }
        }
    }
}

fn release_failed(id: &ContainerId, failed: Vec<String>) {
    for f in failed {
        report(&format!("{id}: {f}"));
    }
}

fn report(what: &str) {
    bocker_cli::warn(&format!("reclaim: {what}"));
}
