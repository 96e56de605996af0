//! What an image's own OCI/Docker config says about it: when it was created and its
//! history (one entry per build step), as `docker images` (CREATED) and `docker history`
//! show them. Pulled images keep their config blob (the first of `ImageRecord::blobs`);
//! an image without one (`init`) is described from its record.

use std::fs;
use std::io::Read;

use serde::Deserialize;

use crate::{ImageRecord, Store, WhiteoutStyle};

/// A config blob larger than this is not read (a registry's configs are a few kB;
/// pull refuses configs over its own bound anyway).
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// One step of an image's history, newest last (as in the config).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct HistoryEntry {
    /// RFC 3339; empty when the config does not say.
    pub created: String,
    pub created_by: String,
    pub comment: String,
    /// The step made no layer (`ENV`, `CMD`, …).
    pub empty_layer: bool,
    /// Bytes of the layer this step made (0 for an empty layer), filled by `history`.
    #[serde(skip)]
    pub size: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigFile {
    created: Option<String>,
    history: Vec<HistoryEntry>,
    rootfs: Option<serde_json::Value>,
    config: Option<RunConfig>,
}

/// The part of an image config's `config` read here: `Volumes` (the image's `VOLUME`
/// lines, `{"/data": {}}`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct RunConfig {
    #[serde(rename = "Volumes")]
    volumes: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// The hex digest of `rec`'s config blob, when it has one: the image's Docker id
/// (`sha256:<hex>`, what `docker images --no-trunc` prints).
pub fn config_hex(rec: &ImageRecord) -> Option<&str> {
    rec.blobs
        .first()
        .map(String::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Store {
    /// `rec`'s config blob parsed, if it has one that is an image config (has `rootfs`).
    fn config_file(&self, rec: &ImageRecord) -> Option<ConfigFile> {
        let path = self.blobs_dir().join(config_hex(rec)?);
        let f = fs::File::open(path).ok()?;
        let mut bytes = Vec::new();
        f.take(MAX_CONFIG_BYTES).read_to_end(&mut bytes).ok()?;
        let c: ConfigFile = serde_json::from_slice(&bytes).ok()?;
        c.rootfs.is_some().then_some(c)
    }

    /// The image's `VOLUME` paths (its config's `config.Volumes`), sorted; none for an
    /// image without a config blob.
    pub fn image_volumes(&self, rec: &ImageRecord) -> Vec<String> {
        let c = self.config_file(rec).and_then(|c| c.config);
        c.and_then(|c| c.volumes)
            .map(|v| v.into_keys().collect())
            .unwrap_or_default()
    }

    /// When the image was created, RFC 3339: its config's `created` (the build's date,
    /// as Docker shows it), else when bocker made it.
    pub fn image_created(&self, rec: &ImageRecord) -> String {
        self.config_file(rec)
            .and_then(|c| c.created)
            .filter(|c| humantime::parse_rfc3339_weak(c).is_ok())
            .unwrap_or_else(|| rec.created.clone())
    }

    /// The image's history, newest first (as `docker history` lists it), each step with
    /// the size of the layer it made. Without a config history: one step for the whole
    /// image, `Imported from <source>` (as `docker import` records it).
    /// Steps bocker itself added (`commit`, in the record) follow the config's unless the
    /// config already has them.
    pub fn image_history(&self, rec: &ImageRecord) -> Vec<HistoryEntry> {
        let mut steps = self.config_file(rec).map(|c| c.history).unwrap_or_default();
        if steps.is_empty() && rec.history.is_empty() {
            return vec![HistoryEntry {
                created: rec.created.clone(),
                created_by: String::new(),
                comment: format!("Imported from {}", rec.source),
                empty_layer: false,
                size: rec.size,
            }];
        }
        if steps.is_empty() {
            steps.push(HistoryEntry {
                created: String::new(),
                created_by: String::new(),
                comment: format!("Imported from {}", rec.source),
                empty_layer: false,
                size: 0,
            });
        }
        // The record's steps the config already holds (a commit's own config, a loaded
        // image's) are not repeated.
        let own: Vec<HistoryEntry> = rec
            .history
            .iter()
            .map(|h| HistoryEntry {
                created: h.created.clone(),
                created_by: h.created_by.clone(),
                comment: h.comment.clone().unwrap_or_default(),
                empty_layer: h.empty_layer,
                size: 0,
            })
            .filter(|h| !steps.contains(h))
            .collect();
        steps.extend(own);
        let sizes = self.layer_sizes(rec);
        for (layer, s) in steps.iter_mut().filter(|s| !s.empty_layer).enumerate() {
            s.size = sizes.get(layer).copied().unwrap_or(0);
        }
        steps.reverse();
        steps
    }

    /// Bytes each layer adds: its own files on overlay; on btrfs (each layer a full
    /// snapshot) the growth over the layer below.
    fn layer_sizes(&self, rec: &ImageRecord) -> Vec<u64> {
        let driver = self.driver();
        if rec.driver != driver.name() {
            return Vec::new();
        }
        let whole: Vec<u64> = rec
            .layers
            .iter()
            .map(|k| crate::fsutil::tree_size(&driver.layer_path(k)))
            .collect();
        match driver.whiteout_style() {
            WhiteoutStyle::Overlay => whole,
            WhiteoutStyle::Delete => {
                let below = std::iter::once(0).chain(whole.iter().copied());
                whole
                    .iter()
                    .zip(below)
                    .map(|(w, b)| w.saturating_sub(b))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec_with_config(s: &Store, config: &str) -> ImageRecord {
        let hex = format!("{:064x}", config.len());
        let dir = s.blobs_dir();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(&hex), config).unwrap();
        ImageRecord {
            id: "img_0123456789ab".into(),
            source: "/src".into(),
            created: "2026-11-29T10:00:00Z".into(),
            driver: "none".into(),
            layers: vec![],
            size: 7,
            reference: None,
            digest: None,
            blobs: vec![hex],
            config: Default::default(),
            history: Vec::new(),
        }
    }

    #[test]
    fn created_and_history_come_from_the_config() {
        let (_d, s) = crate::store::test_store();
        let rec = rec_with_config(
            &s,
            r#"{"created":"2019-01-01T00:00:00Z","rootfs":{},"history":[
                {"created":"2019-01-01T00:00:00Z","created_by":"ADD x /"},
                {"created":"2019-01-01T00:00:01Z","created_by":"CMD [\"sh\"]","empty_layer":true}]}"#,
        );
        assert_eq!(s.image_created(&rec), "2019-01-01T00:00:00Z");
        let h = s.image_history(&rec);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].created_by, "CMD [\"sh\"]");
        assert!(h[0].empty_layer);
    }

    #[test]
    fn an_image_without_config_is_one_imported_step() {
        let (_d, s) = crate::store::test_store();
        let mut rec = rec_with_config(&s, r#"{"not":"a config"}"#);
        assert_eq!(s.image_created(&rec), rec.created);
        rec.blobs = vec!["../../etc/passwd".into()];
        assert_eq!(s.image_created(&rec), rec.created);
        let h = s.image_history(&rec);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].comment, "Imported from /src");
        assert_eq!(h[0].size, 7);
    }
}
