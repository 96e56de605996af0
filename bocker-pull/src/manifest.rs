//! Manifests, indexes and image configs as registries serve them (Docker schema2 and OCI).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::digest::Digest;
use crate::platform::Platform;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Everything we can read, in the Accept header of a manifest request.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Manifests and indexes larger than this are refused (real ones are a few KB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Image configs larger than this are refused (real ones are a few KB; history can grow).
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;
/// A layer declared larger than this is refused before any byte is fetched (the
/// largest real layers are tens of GiB; 2^50 is a registry trying to fill the disk).
pub const MAX_LAYER_BYTES: i64 = 1 << 38;
/// More layers than this is refused (overlayfs itself stops near 128 lower dirs).
pub const MAX_LAYERS: usize = 127;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("unsupported manifest media type '{0}'")]
    MediaType(String),
    #[error("malformed manifest: {0}")]
    Malformed(String),
    #[error("no image for platform {0} in the index (available: {1})")]
    NoPlatform(String, String),
    #[error("image has {0} layers but its config lists {1} diff ids")]
    LayerCount(usize, usize),
    #[error("layer {0} declares {1} bytes (the limit is {MAX_LAYER_BYTES})")]
    LayerSize(Digest, i64),
    #[error("image has too many layers ({0})")]
    TooManyLayers(usize),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: i64,
    #[serde(default)]
    pub platform: Option<PlatformSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    schema_version: i64,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// A fetched manifest document: either an image manifest or an index of them.
#[derive(Debug)]
pub enum Document {
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        manifests: Vec<Descriptor>,
    },
}

impl Document {
    /// Parse by the served content type, falling back to the document's own mediaType
    /// and shape (some registries serve OCI documents as application/json).
    pub fn parse(content_type: &str, body: &[u8]) -> Result<Document, ManifestError> {
        let raw: Raw =
            serde_json::from_slice(body).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        if raw.schema_version != 2 {
            return Err(ManifestError::MediaType(format!(
                "schemaVersion {}",
                raw.schema_version
            )));
        }
        let ct = content_type.split(';').next().unwrap_or("").trim();
        let mt = match ct {
            DOCKER_MANIFEST | DOCKER_LIST | OCI_MANIFEST | OCI_INDEX => ct.to_string(),
            _ => raw.media_type.clone().unwrap_or_else(|| {
                if raw.manifests.is_some() {
                    OCI_INDEX.into()
                } else {
                    OCI_MANIFEST.into()
                }
            }),
        };
        match mt.as_str() {
            DOCKER_MANIFEST | OCI_MANIFEST => {
                let config = raw
                    .config
                    .ok_or_else(|| ManifestError::Malformed("no config".into()))?;
                let layers = raw
                    .layers
                    .ok_or_else(|| ManifestError::Malformed("no layers".into()))?;
                if layers.len() > MAX_LAYERS {
                    return Err(ManifestError::TooManyLayers(layers.len()));
                }
                for l in &layers {
                    if !(0..=MAX_LAYER_BYTES).contains(&l.size) {
                        return Err(ManifestError::LayerSize(l.digest.clone(), l.size));
                    }
                    if crate::decompress::Compression::from_media_type(&l.media_type).is_none() {
                        return Err(ManifestError::MediaType(l.media_type.clone()));
                    }
                }
                Ok(Document::Image { config, layers })
            }
            DOCKER_LIST | OCI_INDEX => {
                let manifests = raw
                    .manifests
                    .ok_or_else(|| ManifestError::Malformed("no manifests".into()))?;
                Ok(Document::Index { manifests })
            }
            other => Err(ManifestError::MediaType(other.into())),
        }
    }
}

/// Choose the manifest for `want` from an index: the entry with the best variant
/// `want` can run (see [`Platform::ranked_variants`]); none is an error listing what
/// the index offers.
pub fn choose_platform(
    manifests: &[Descriptor],
    want: &Platform,
) -> Result<Descriptor, ManifestError> {
    let fits = |m: &&Descriptor, variant: Option<&Option<String>>| {
        m.platform.as_ref().is_some_and(|p| {
            p.os == want.os
                && p.architecture == want.architecture
                && variant
                    .is_none_or(|v| p.variant.as_deref().filter(|x| !x.is_empty()) == v.as_deref())
        })
    };
    let ranked = want.ranked_variants();
    // The best variant first, whatever the index's order (containerd's matcher ranks the
    // same way); no ranking means any entry of the architecture.
    let found = if ranked.is_empty() {
        manifests.iter().find(|m| fits(m, None))
    } else {
        ranked
            .iter()
            .find_map(|v| manifests.iter().find(|m| fits(m, Some(v))))
    };
    match found {
        Some(d) => Ok(d.clone()),
        None => {
            let avail: Vec<String> = manifests
                .iter()
                .filter_map(|m| m.platform.as_ref())
                .map(|p| {
                    let v = p
                        .variant
                        .as_deref()
                        .map(|v| format!("/{v}"))
                        .unwrap_or_default();
                    format!("{}/{}{v}", p.os, p.architecture)
                })
                .collect();
            Err(ManifestError::NoPlatform(
                want.to_string(),
                avail.join(", "),
            ))
        }
    }
}

/// The parts of an image config file (`application/vnd.oci.image.config.v1+json`) we use.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub config: Option<RunConfig>,
    pub rootfs: RootFs,
}

impl ConfigFile {
    /// What the store records of the run config: Docker's rules for empty values (an
    /// empty `WorkingDir` or `User` means unset).
    pub fn image_config(&self) -> bocker_store::ImageConfig {
        let rc = self.config.clone().unwrap_or_default();
        bocker_store::ImageConfig {
            entrypoint: rc.entrypoint,
            cmd: rc.cmd,
            env: rc.env.unwrap_or_default(),
            working_dir: rc.working_dir.filter(|w| !w.is_empty()),
            user: rc.user.filter(|u| !u.is_empty()),
            labels: rc.labels.unwrap_or_default(),
            exposed_ports: rc
                .exposed_ports
                .map(|p| p.into_keys().collect())
                .unwrap_or_default(),
            stop_signal: rc.stop_signal,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

impl ConfigFile {
    pub fn parse(body: &[u8], layers: usize) -> Result<ConfigFile, ManifestError> {
        let c: ConfigFile = serde_json::from_slice(body)
            .map_err(|e| ManifestError::Malformed(format!("config: {e}")))?;
        if c.rootfs.diff_ids.len() != layers {
            return Err(ManifestError::LayerCount(layers, c.rootfs.diff_ids.len()));
        }
        Ok(c)
    }
}

/// Layer chain ids (OCI image spec): the identity of a layer together with all below it.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let c = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(c[0], a);
        assert_eq!(c[1], Digest::of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn picks_platform_from_index() {
        let d = Digest::of(b"x").to_string();
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[
            {{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
            {{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":2,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
        );
        let Document::Index { manifests } =
            Document::parse("application/json", body.as_bytes()).unwrap()
        else {
            panic!("expected an index")
        };
        let want = Platform::parse("linux/amd64").unwrap();
        assert_eq!(choose_platform(&manifests, &want).unwrap().size, 2);
        let arm = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(choose_platform(&manifests, &arm).unwrap().size, 1);
        assert!(choose_platform(&manifests, &Platform::parse("linux/s390x").unwrap()).is_err());
    }

    #[test]
    fn picks_the_best_variant_the_cpu_runs_whatever_the_order() {
        let d = Digest::of(b"x").to_string();
        let entry = |size: i64, v: Option<&str>| {
            let v = v
                .map(|v| format!(r#","variant":"{v}""#))
                .unwrap_or_default();
            format!(
                r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":{size},"platform":{{"os":"linux","architecture":"amd64"{v}}}}}"#
            )
        };
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{},{},{}]}}"#,
            entry(4, Some("v4")),
            entry(1, None),
            entry(2, Some("v2"))
        );
        let Document::Index { manifests } =
            Document::parse("application/json", body.as_bytes()).unwrap()
        else {
            panic!("expected an index")
        };
        let cpu = |v: &str| Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: Some(v.into()),
        };
        assert_eq!(choose_platform(&manifests, &cpu("v4")).unwrap().size, 4);
        assert_eq!(choose_platform(&manifests, &cpu("v3")).unwrap().size, 2);
        assert_eq!(choose_platform(&manifests, &cpu("v2")).unwrap().size, 2);
        assert_eq!(choose_platform(&manifests, &cpu("v1")).unwrap().size, 1);
        let only_v4 = vec![manifests[0].clone()];
        let e = choose_platform(&only_v4, &cpu("v3"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("linux/amd64/v3") && e.contains("linux/amd64/v4"),
            "{e}"
        );
    }
}
