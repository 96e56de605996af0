//! A container's volumes, at create and at removal. Create makes the volumes the plan
//! asked for (`-v NAME:/p`, `-v /p`, `--mount type=volume`) and one anonymous volume per
//! image `VOLUME` path no other mount covers (Docker's behaviour), through the store
//! that owns them, and binds each one's data directory into the spec with
//! [`COPY_UP`](crate::rootfs::steps::COPY_UP): while a volume is empty its first mount
//! copies the image's content in (Docker's behaviour; `nocopy` turns it off). Removal
//! (`rm -v`, `run --rm`) takes the container's anonymous volumes with it; named volumes
//! stay, as Docker's.

use crate::spec::{defaults, Bundle};
use bocker_store::record::MountSpec;
use bocker_store::volume::{self, VolumeError};
use bocker_store::{ContainerRecord, ImageRecord, Store};
use std::path::{Path, PathBuf};

/// Make the bundle's volumes and the image's, and add their mounts to its spec. Call
/// before [`Bundle::finish`]. A volume made here stays if the start later fails, as
/// Docker's does.
pub fn attach(store: &Store, image: &ImageRecord, bundle: &mut Bundle) -> Result<(), VolumeError> {
    let mut wanted = bundle.extras.volumes.clone();
    let taken: Vec<PathBuf> = bundle
        .spec
        .mounts()
        .iter()
        .flatten()
        .map(|m| m.destination().clone())
        .chain(wanted.iter().map(|v| PathBuf::from(&v.dest)))
        .collect();
    for path in store.image_volumes(image) {
        if !taken.contains(&PathBuf::from(&path)) && path.starts_with('/') {
            wanted.push(crate::spec::mounts::VolumeRequest {
                name: None,
                dest: path,
                readonly: false,
                copy: true,
            });
        }
    }
    let mut mounts = Vec::new();
    for v in &wanted {
        let (name, anonymous) = match &v.name {
            Some(n) => (n.clone(), false),
            None => (volume::anonymous_name(), true),
        };
        store.create_volume(&name, None, anonymous)?;
        let mut opts = vec!["rbind", "rprivate"];
        if v.readonly {
            opts.extend(["ro", "nosuid", "nodev"]);
        }
        if v.copy {
            opts.push(crate::rootfs::steps::COPY_UP);
        }
        mounts.push(defaults::mount(
            &v.dest,
            "bind",
            store.volume_data(&name),
            &opts,
        ));
    }
    let all = bundle.spec.mounts_mut().get_or_insert_with(Vec::new);
    all.extend(mounts);
    sort_user_mounts(all);
    Ok(())
}

/// The user's mounts (after Docker's standard ones) in the order Docker mounts them:
/// by the depth of their destination, shallowest first, so `--tmpfs /a/b` is not hidden
/// under `-v v:/a` (Docker 20.10's `sortMounts`); equal depths keep their order.
fn sort_user_mounts(mounts: &mut [oci_spec::runtime::Mount]) {
    let standard: Vec<PathBuf> = defaults::standard_mounts()
        .iter()
        .map(|m| m.destination().clone())
        .collect();
    // The standard ones lead, in their order (a user's `--tmpfs /dev/shm` is the user's).
    let first_user = mounts
        .iter()
        .zip(&standard)
        .take_while(|(m, d)| m.destination() == *d)
        .count();
    mounts[first_user..].sort_by_key(|m| m.destination().components().count());
}

/// The volume a host path is the data directory of (`<root>/volumes/<name>/_data`).
fn volume_of(store: &Store, source: &Path) -> Option<String> {
    let rest = source.strip_prefix(store.volumes_dir()).ok()?;
    let mut parts = rest.components();
    let name = parts.next()?.as_os_str().to_str()?.to_string();
    let data = parts.next()?.as_os_str() == volume::DATA_DIR && parts.next().is_none();
    data.then_some(name)
}

/// The record's mounts: the bundle's user binds, volumes by name (`kind` `volume`).
pub fn record(store: &Store, bundle: &Bundle) -> Vec<MountSpec> {
    bundle
        .volumes()
        .map(|m| {
            let source = m.source().clone().unwrap_or_default();
            let name = volume_of(store, &source);
            MountSpec {
                source: source.display().to_string(),
                destination: m.destination().display().to_string(),
                read_only: m.options().iter().flatten().any(|o| o == "ro"),
                kind: if name.is_some() { "volume" } else { "bind" }.into(),
                name,
            }
        })
        .collect()
}

/// Remove the anonymous volumes of a removed container (`rm -v`, `run --rm`); one that
/// another container mounts too, or that is gone, stays as it is. Failures are returned
/// as lines to report.
pub fn remove_anonymous(store: &Store, rec: &ContainerRecord) -> Vec<String> {
    let mut failed = Vec::new();
    for name in rec.config.mounts.iter().filter_map(MountSpec::volume_name) {
        match store.read_volume(name) {
            Ok(v) if v.anonymous => {}
            _ => continue,
        }
        match store.remove_volume(name) {
            Ok(_) | Err(VolumeError::InUse { .. } | VolumeError::NoSuchVolume(_)) => {}
            Err(e) => failed.push(format!("removing volume {name}: {e}")),
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_mounts_go_shallowest_first_after_the_standard_ones() {
        let mut m = defaults::standard_mounts();
        let n = m.len();
        for d in ["/a/b", "/a", "/c", "/a/b/c"] {
            m.push(defaults::mount(d, "tmpfs", "tmpfs", &[]));
        }
        sort_user_mounts(&mut m);
        let dests: Vec<_> = m[n..].iter().map(|m| m.destination().clone()).collect();
        let want: Vec<PathBuf> = ["/a", "/c", "/a/b", "/a/b/c"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(dests, want);
        assert_eq!(m[..n], defaults::standard_mounts()[..]);
    }
}
