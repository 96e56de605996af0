//! Releasing what a container holds on the host, each resource through the crate that
//! owns it, in order: its processes and cgroup (bocker-cgroups: kill, then remove), then
//! its network attachment (bocker-net: lease and port rules; the veth dies with the
//! namespace). The caller then records the end (or removes the record) and only then
//! drops the live entry ([`forget`]), so a kill at any instant, or a failure here, is
//! finished by the next reclaim.

use bocker_store::{ContainerId, LiveEntry, Store};

use super::cgroups::ContainerCgroup;

/// Releases everything `entry` names for container `id`; returns what could not be
/// released (one line each), empty when all is gone.
pub fn release(store: &Store, id: &ContainerId, entry: &LiveEntry) -> Vec<String> {
    release_with(store, id, entry, None)
}

/// [`release`], given the container's group when the caller has it open already (its
/// supervisor): the group is destroyed without being looked up again.
pub fn release_with(
    store: &Store,
    id: &ContainerId,
    entry: &LiveEntry,
    cgroup: Option<&ContainerCgroup>,
) -> Vec<String> {
    let mut failed = Vec::new();
    if let Some(parent) = entry.cgroup_parent.as_deref() {
        let destroyed = match cgroup {
            Some(cg) => cg.destroy(),
            None => ContainerCgroup::destroy_named(parent, &id.0),
        };
        // Its supervisor and `rm -f` may release it at once: what the other one removed
        // meanwhile is released; what is left is looked up again.
        let again = |e| {
            for _ in 0..5 {
                std::thread::sleep(std::time::Duration::from_millis(10));
                if ContainerCgroup::destroy_named(parent, &id.0).is_ok() {
                    return Ok(());
                }
            }
            Err(e)
        };
        if let Err(e) = destroyed.or_else(again) {
            failed.push(format!("removing the cgroup {parent}/{id}: {e}"));
        }
    }
    // Only once its processes are gone: nothing may use the address any more.
    if let (true, Some(bridge)) = (failed.is_empty(), entry.bridge.as_deref()) {
        if let Err(e) = crate::network::release_network(store.root(), bridge, &id.0) {
            failed.push(format!("releasing the network of {id} on {bridge}: {e}"));
        }
    }
    failed
}

/// Drops container `id`'s live entry once what it names is released (`failed` empty)
/// and the record says so; otherwise keeps it for the next reclaim. Returns `failed`
/// plus a failure to drop it.
pub fn forget(store: &Store, id: &ContainerId, mut failed: Vec<String>) -> Vec<String> {
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
        bocker_cli::warn(&format!("{id}: {f}"));
    }
}
