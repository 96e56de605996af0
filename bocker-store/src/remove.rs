//! Removing images the way `rmi` promises. (Removing a container touches live resources:
//! that verb is the runtime's, `bocker-run/src/container/remove.rs`; the store only drops
//! the record and storage, [`Store::remove_container_record`].)

use crate::error::Result;
use crate::id::ImageId;
use crate::store::Store;

/// Why a removal was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("image {image} is used by container {container}: remove it first or use -f")]
    InUse { image: String, container: String },
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

impl Store {
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
