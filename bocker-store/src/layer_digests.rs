//! What a layer of the store was last exported as: the digest and size of its OCI layer
//! blob and its diff id, per compression (`<root>/layer-digests/<key>.<compression>`).
//!
//! A layer made here (`init`, `commit`) has no stored blob; `push` writes it while it
//! uploads it, so the blob's digest is known only at the end. Layer export is
//! reproducible (the same layer always gives the same bytes) and a committed layer never
//! changes, so the digests of the last export stand for the next one: `push` asks the
//! registry for them first and sends nothing when it has them (docs/PUSH.md).
//!
//! The record names the whole chain of layer keys it was made with (a layer's diff
//! depends on the layers below it); a record for another chain is no answer. A record
//! is only a hint: a wrong one costs an upload, never a wrong image, because a registry
//! verifies every blob against its digest and the record pairs a blob with its own
//! diff id. Records are small and written atomically; one whose layer is gone is inert
//! until the store's collection (`gc`) removes it.

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::atomic::{self, Durability};
use crate::driver::is_valid_layer_key;
use crate::error::{IoContext, Result};
use crate::store::Store;

/// The digests of one exported layer (`sha256:<hex>` strings, as in a manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerDigests {
    /// Digest of the blob (compressed as the record's compression says).
    pub digest: String,
    /// Bytes of the blob.
    pub size: u64,
    /// Digest of the uncompressed layer tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: String,
}

#[derive(Serialize, Deserialize)]
struct Record {
    /// The layer keys, bottom first, the layer last.
    chain: Vec<String>,
    #[serde(flatten)]
    digests: LayerDigests,
}

impl Store {
    fn layer_digests_path(&self, chain: &[String], compression: &str) -> Option<PathBuf> {
        let key = chain.last()?;
        let safe =
            is_valid_layer_key(key) && compression.bytes().all(|b| b.is_ascii_alphanumeric());
        safe.then(|| {
            self.root()
                .join("layer-digests")
                .join(format!("{key}.{compression}"))
        })
    }

    /// The digests recorded for the last layer of `chain` (layer keys, bottom first)
    /// exported with `compression` (`gzip`, `zstd`, `none`); None when there is no
    /// record for exactly this chain, or it cannot be read.
    pub fn layer_digests(&self, chain: &[String], compression: &str) -> Option<LayerDigests> {
        let path = self.layer_digests_path(chain, compression)?;
        let bytes = fs::read(path).ok()?;
        let r: Record = serde_json::from_slice(&bytes).ok()?;
        (r.chain == chain).then_some(r.digests)
    }

    /// Record what the last layer of `chain` exported to with `compression`
    /// (atomic; replaces an older record).
    pub fn record_layer_digests(
        &self,
        chain: &[String],
        compression: &str,
        digests: &LayerDigests,
    ) -> Result<()> {
        let Some(path) = self.layer_digests_path(chain, compression) else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).ctx("creating", dir)?;
        }
        let r = Record {
            chain: chain.to_vec(),
            digests: digests.clone(),
        };
        // Re-creatable (the next export writes it again): no fsync.
        atomic::write_json_with(&path, &r, Durability::CrashSafe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_answers_only_for_its_own_chain_and_compression() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_at(dir.path(), Some("overlay")).unwrap();
        let chain = vec!["local-aa".to_string(), "local-bb".to_string()];
        let d = LayerDigests {
            digest: "sha256:11".into(),
            size: 42,
            diff_id: "sha256:22".into(),
        };
        assert_eq!(store.layer_digests(&chain, "gzip"), None);
        store.record_layer_digests(&chain, "gzip", &d).unwrap();
        assert_eq!(store.layer_digests(&chain, "gzip"), Some(d.clone()));
        assert_eq!(store.layer_digests(&chain, "zstd"), None);
        let other = vec!["local-cc".to_string(), "local-bb".to_string()];
        assert_eq!(store.layer_digests(&other, "gzip"), None, "another parent");
        assert_eq!(store.layer_digests(&chain[1..], "gzip"), None, "a base");
        // Keys that are not plain names are never paths.
        let evil = vec!["../../etc".to_string()];
        store.record_layer_digests(&evil, "gzip", &d).unwrap();
        assert_eq!(store.layer_digests(&evil, "gzip"), None);
    }

    #[test]
    fn gc_drops_the_records_of_layers_that_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_at(dir.path(), Some("overlay")).unwrap();
        let chain = vec!["local-aa".to_string()];
        let d = LayerDigests {
            digest: "sha256:11".into(),
            size: 42,
            diff_id: "sha256:22".into(),
        };
        store.record_layer_digests(&chain, "gzip", &d).unwrap();
        let other = dir.path().join("layer-digests/.not-a-record");
        fs::write(&other, b"").unwrap();
        assert!(store.gc().unwrap().ran);
        assert_eq!(store.layer_digests(&chain, "gzip"), None, "no image has it");
        assert!(other.exists(), "what is not a record is left alone");
    }
}
