//! Removing containers and images the way `rm` and `rmi` promise.

use std::time::Duration;

use crate::error::Result;
use crate::id::{ContainerId, ImageId};
use crate::liveness;
use crate::store::Store;

/// Why a removal was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("container {0} is running: stop it first or use -f")]
    Running(String),
    #[error("image {image} is used by container {container}: remove it first or use -f")]
    InUse { image: String, container: String },
    #[error("container {0} could not be killed")]
    Unkillable(String),
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

impl Store {
    /// Removes container `id`: refuses a running one unless `force`, which kills it.
    pub fn remove_container(
        &self,
        id: &ContainerId,
        force: bool,
    ) -> std::result::Result<(), Refusal> {
        let rec = self.read_container(id)?;
        if liveness::is_running(&rec) {
            if !force {
                return Err(Refusal::Running(id.0.clone()));
            }
            if !liveness::kill_all(&rec, Duration::from_secs(5)) {
                return Err(Refusal::Unkillable(id.0.clone()));
            }
        }
        liveness::release(&rec);
        self.release_lease(&rec);
        self.remove_container_record(id)?;
        Ok(())
    }

    /// Removes image `id`: refuses while a container uses it unless `force`. Containers
    /// keep working after a forced removal: they hold references to the image's layers.
    pub fn remove_image(&self, id: &ImageId, force: bool) -> std::result::Result<(), Refusal> {
        if !force {
            if let Some(c) = self
                .list_containers()?
                .into_iter()
                .find(|c| c.image == id.0)
            {
                return Err(Refusal::InUse {
                    image: id.0.clone(),
                    container: c.id,
                });
            }
        }
        self.remove_image_record(id)?;
        Ok(())
    }

    /// Collects layers nobody references any more, unless a creator is busy right now.
    pub fn collect_layers(&self) -> Result<()> {
        self.gc().map(|_| ())
    }
}

impl Store {
    /// A container whose supervisor died still holds its address lease (and port rules):
    /// `bocker-net detach --container` gives them back (holding nothing is not an error).
    fn release_lease(&self, rec: &crate::ContainerRecord) {
        let net = &rec.config.network;
        let (Some(bridge), Some(ip)) = (net.bridge.as_deref(), net.ip.as_deref()) else {
            return;
        };
        // The record is data, not trusted paths: a bridge is an interface name, an ip an ip.
        let bridge_ok = !bridge.is_empty()
            && bridge.len() <= 15
            && !bridge.starts_with('.')
            && bridge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !bridge_ok || ip.parse::<std::net::Ipv4Addr>().is_err() {
            return;
        }
        crate::sibling::run(
            "net",
            self.root(),
            &["--bridge", bridge, "detach", "--container", &rec.id],
        );
    }
}
