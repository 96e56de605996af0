//! Releasing what a container holds on the host, each resource through the crate that
//! owns it, in order: its processes and cgroup (bocker-cgroups: kill, then remove), then
//! its network attachment (bocker-net: lease and port rules; the veth dies with the
//! namespace), then its live entry in the store. The entry goes only once everything it
//! names is gone, so a failure here is retried by the next reclaim.

use bocker_store::{ContainerId, LiveEntry, Store};

use crate::cgroup_step::ContainerCgroup;

/// Releases everything `entry` names for container `id`; returns what could not be
/// released (one line each), empty when all is gone and the entry removed.
pub fn release(store: &Store, id: &ContainerId, entry: &LiveEntry) -> Vec<String> {
    let mut failed = Vec::new();
    if let Some(parent) = entry.cgroup_parent.as_deref() {
        if let Err(e) = ContainerCgroup::destroy_named(parent, &id.0) {
            failed.push(format!("removing the cgroup {parent}/{id}: {e}"));
        }
    }
    // Only once its processes are gone: nothing may use the address any more.
    if let (true, Some(bridge)) = (failed.is_empty(), entry.bridge.as_deref()) {
        if let Err(e) = crate::network::release_network(store.root(), bridge, &id.0) {
            failed.push(format!("releasing the network of {id} on {bridge}: {e}"));
        }
    }
    if failed.is_empty() {
        if let Err(e) = store.unmark_live(id) {
            failed.push(format!("{e}"));
        }
    }
    failed
}

/// Prints what could not be released, one stderr line each.
pub fn report(id: &ContainerId, failed: Vec<String>) {
    for f in failed {
        eprintln!("bocker-run: {id}: {f}");
    }
}
