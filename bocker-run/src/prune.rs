//! Docker's prunes over one store: stopped containers (removed through the runtime's
//! [`crate::container::remove`], which releases what they hold), unused images (through
//! the store), and `system df`'s accounting. Output and prompts are Docker 20.10's
//! (`Deleted Containers:`, `Deleted Images:`, `Total reclaimed space:`; recorded in
//! tests/data/docker_ps.txt).

pub mod filter;

use std::io::{BufRead, IsTerminal, Write};

use bocker_store::docker_ps;
use bocker_store::format::human_size;
use bocker_store::{liveness, ContainerId, ContainerRecord, ImageId, ImageRecord, Store};

pub use filter::{Filter, FilterError, Object};

/// Why a prune did not (fully) happen.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// No `-f` and stdin is not a terminal: nobody could confirm.
    #[error("not a terminal to confirm on: use -f")]
    NotConfirmed,
    #[error("reading the answer: {0}")]
    Prompt(std::io::Error),
    #[error(transparent)]
    Store(#[from] bocker_store::StoreError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Volume(#[from] bocker_store::volume::VolumeError),
}

/// What a prune removed.
#[derive(Debug, Default)]
pub struct Pruned {
    /// Removed container ids.
    pub containers: Vec<String>,
    /// Docker's image lines: `untagged: <ref>` and `deleted: <id>`.
    pub images: Vec<String>,
    /// Removed volume names.
    pub volumes: Vec<String>,
    /// Bytes freed (containers' own files, removed images' sizes).
    pub reclaimed: u64,
    /// Failures, one line each (the prune goes on past them).
    pub failed: Vec<String>,
}

impl Pruned {
    /// Docker's report: `Deleted Containers:` / `Deleted Images:` sections (when
    /// anything went), then `Total reclaimed space: 1.98MB`.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for (title, lines) in [
            ("Deleted Containers:", &self.containers),
            ("Deleted Volumes:", &self.volumes),
            ("Deleted Images:", &self.images),
        ] {
            if !lines.is_empty() {
                out.push_str(title);
                out.push('\n');
                for l in lines {
                    out.push_str(l);
                    out.push('\n');
                }
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "Total reclaimed space: {}\n",
            human_size(self.reclaimed)
        ));
        out
    }
}

/// Asks `warning` + `Are you sure you want to continue? [y/N] ` on a terminal, as Docker
/// does; `force` skips it. Without a terminal and without `force`, refuses: nobody
/// could have said yes.
pub fn confirm(warning: &str, force: bool) -> Result<bool, PruneError> {
    if force {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(PruneError::NotConfirmed);
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(PruneError::Prompt)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// Bytes of the container's own files (what `ps -s` shows first).
fn own_size(store: &Store, c: &ContainerRecord) -> u64 {
    docker_ps::size(store, c, image_size(store, c)).0
}

fn image_size(store: &Store, c: &ContainerRecord) -> u64 {
    store
        .resolve_image(&c.image)
        .and_then(|i| store.read_image(&i))
        .map_or(0, |i| i.size)
}

/// Removes every container that is not running (created, exited, dead) through the
/// runtime's removal, which releases anything a dead one still holds.
pub fn containers(store: &Store, out: &mut Pruned) -> Result<(), PruneError> {
    containers_matching(store, &Filter::default(), out)
}

/// [`containers`] of those `filter` keeps (`until`: created before; labels: the
/// container's own over its image's, as Docker counts them).
pub fn containers_matching(
    store: &Store,
    filter: &Filter,
    out: &mut Pruned,
) -> Result<(), PruneError> {
    crate::reclaim::reclaim(store);
    for c in store.list_containers()? {
        if liveness::is_running(&c)
            || !filter.matches(&c.created, &docker_ps::labels_with_image(store, &c))
        {
            continue;
        }
        let size = own_size(store, &c);
        match crate::container::remove::remove(store, &ContainerId(c.id.clone()), false) {
            Ok(()) => {
                out.containers.push(c.id);
                out.reclaimed += size;
            }
            Err(e) => out.failed.push(format!("{}: {e}", c.id)),
        }
    }
    Ok(())
}

/// Removes images no container uses: untagged ones only ("dangling", Docker's default),
/// or every one with `all`. Then the collector drops layers nobody references.
pub fn images(store: &Store, all: bool, out: &mut Pruned) -> Result<(), PruneError> {
    images_matching(store, all, &Filter::default(), out)
}

/// [`images`] of those `filter` keeps (`until`: the image's creation, as `docker
/// images` shows it; labels: the image config's).
pub fn images_matching(
    store: &Store,
    all: bool,
    filter: &Filter,
    out: &mut Pruned,
) -> Result<(), PruneError> {
    let used: Vec<String> = store
        .list_containers()?
        .into_iter()
        .map(|c| c.image)
        .collect();
    for img in store.list_images()? {
        let id = ImageId(img.id.clone());
        let tags = store.tags_of(&id)?;
        if used.contains(&img.id)
            || (!all && !tags.is_empty())
            || !filter.matches(&store.image_created(&img), &img.config.labels)
        {
            continue;
        }
        if let Err(e) = remove_image(store, &img, &tags, out) {
            out.failed.push(format!("{}: {e}", img.id));
        }
    }
    let _ = store.collect_layers();
    Ok(())
}

/// Removes the volumes no container names that `filter` keeps: anonymous ones only
/// (Docker 23's `volume prune`; 20.10 took named ones too), or all with `all`.
pub fn volumes(
    store: &Store,
    all: bool,
    filter: &Filter,
    out: &mut Pruned,
) -> Result<(), PruneError> {
    let none = std::collections::BTreeMap::new();
    for v in store.list_volumes()? {
        let labels = v.labels.as_ref().unwrap_or(&none);
        if !(all || v.anonymous) || !filter.matches(&v.created_at, labels) {
            continue;
        }
        match store.remove_volume(&v.name) {
            Ok(size) => {
                out.volumes.push(v.name);
                out.reclaimed += size;
            }
            // In use: not a candidate (a container may have been created meanwhile).
            Err(bocker_store::volume::VolumeError::InUse { .. }) => {}
            Err(e) => out.failed.push(format!("{}: {e}", v.name)),
        }
    }
    Ok(())
}

fn remove_image(
    store: &Store,
    img: &ImageRecord,
    tags: &[String],
    out: &mut Pruned,
) -> Result<(), bocker_store::remove::Refusal> {
    let id = ImageId(img.id.clone());
    // Checked again under removal: a container created meanwhile keeps its image.
    store.remove_image(&id, false)?;
    for t in tags {
        store.untag(t)?;
        out.images.push(format!("untagged: {t}"));
    }
    out.images.push(format!("deleted: {}", img.id));
    out.reclaimed += img.size;
    Ok(())
}

/// One row of `system df`: Docker's `TYPE TOTAL ACTIVE SIZE RECLAIMABLE`.
#[derive(Debug, Clone)]
pub struct DfRow {
    pub kind: String,
    pub total_count: usize,
    pub active: usize,
    pub size: String,
    pub reclaimable: String,
}

/// `system df`: images (active: used by a container; reclaimable: the others' size and
/// its share), containers (active: running; reclaimable: the stopped ones' own files),
/// volumes (active: named by a container; reclaimable: the others' size), and Docker's
/// build cache row, which bocker has nothing for.
pub fn df(store: &Store) -> Result<Vec<DfRow>, PruneError> {
    let containers = store.list_containers()?;
    let images = store.list_images()?;
    let used = |i: &ImageRecord| containers.iter().any(|c| c.image == i.id);
    let img_total: u64 = images.iter().map(|i| i.size).sum();
    let img_free: u64 = images.iter().filter(|i| !used(i)).map(|i| i.size).sum();
    let sizes: Vec<(bool, u64)> = containers
        .iter()
        .map(|c| (liveness::is_running(c), own_size(store, c)))
        .collect();
    let ctr_total: u64 = sizes.iter().map(|s| s.1).sum();
    let ctr_free: u64 = sizes.iter().filter(|s| !s.0).map(|s| s.1).sum();
    let percent = |part: u64, whole: u64| (part * 100).checked_div(whole).unwrap_or(0);
    let none = |kind: &str| DfRow {
        kind: kind.into(),
        total_count: 0,
        active: 0,
        size: "0B".into(),
        reclaimable: "0B".into(),
    };
    Ok(vec![
        DfRow {
            kind: "Images".into(),
            total_count: images.len(),
            active: images.iter().filter(|i| used(i)).count(),
            size: human_size(img_total),
            reclaimable: format!(
                "{} ({}%)",
                human_size(img_free),
                percent(img_free, img_total)
            ),
        },
        DfRow {
            kind: "Containers".into(),
            total_count: containers.len(),
            active: sizes.iter().filter(|s| s.0).count(),
            size: human_size(ctr_total),
            reclaimable: if ctr_total == 0 {
                "0B".into()
            } else {
                format!(
                    "{} ({}%)",
                    human_size(ctr_free),
                    percent(ctr_free, ctr_total)
                )
            },
        },
        volumes_row(store, &containers)?,
        none("Build Cache"),
    ])
}

/// `system df`'s `Local Volumes` row: active ones are named by a container record;
/// reclaimable is the size of the others.
fn volumes_row(store: &Store, containers: &[ContainerRecord]) -> Result<DfRow, PruneError> {
    let volumes = store.list_volumes()?;
    let used = |name: &str| {
        containers.iter().any(|c| {
            c.config
                .mounts
                .iter()
                .any(|m| m.volume_name() == Some(name))
        })
    };
    let sizes: Vec<(bool, u64)> = volumes
        .iter()
        .map(|v| {
            let size = bocker_store::fsutil::tree_size(&store.volume_data(&v.name));
            (used(&v.name), size)
        })
        .collect();
    let total: u64 = sizes.iter().map(|s| s.1).sum();
    let free: u64 = sizes.iter().filter(|s| !s.0).map(|s| s.1).sum();
    let percent = (free * 100).checked_div(total).unwrap_or(0);
    Ok(DfRow {
        kind: "Local Volumes".into(),
        total_count: volumes.len(),
        active: sizes.iter().filter(|s| s.0).count(),
        size: human_size(total),
        reclaimable: if total == 0 {
            "0B".into()
        } else {
            format!("{} ({percent}%)", human_size(free))
        },
    })
}

impl DfRow {
    /// The row as Docker's `system df --format` sees it (`.Type`, `.TotalCount`,
    /// `.Active`, `.Size`, `.Reclaimable`).
    pub fn fields(&self) -> serde_json::Value {
        serde_json::json!({
            "Type": self.kind, "TotalCount": self.total_count, "Active": self.active,
            "Size": self.size, "Reclaimable": self.reclaimable,
        })
    }

    /// Column titles for `table` templates.
    pub fn headers() -> serde_json::Value {
        serde_json::json!({
            "Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
            "Reclaimable": "RECLAIMABLE",
        })
    }
}
