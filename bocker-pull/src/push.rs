//! OCI Distribution upload (distribution-spec "Push"): blobs checked with `HEAD`,
//! mounted from another repository of the same registry when it allows
//! (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`), else uploaded whole
//! (`POST` then one `PUT ?digest=`) when small or in [`CHUNK`]-byte `PATCH`es when
//! large; then the manifest `PUT`. Auth is the pull's ([`Registry::send`]): the same
//! challenge, token and basic handshake, asking for `pull,push`.
//!
//! A push is idempotent: a blob the registry has is never sent again, so a push that
//! was killed is simply run again (the registry drops abandoned upload sessions).
//! Upload locations must stay on the registry's own origin: our credentials are never
//! sent elsewhere.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use reqwest::blocking::Body;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;

use crate::auth::Credentials;
use crate::digest::Digest;
use crate::manifest::{DOCKER_MANIFEST, OCI_MANIFEST};
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::{success, Registry, RegistryError, ATTEMPTS};

/// Blobs larger than this go up in `PATCH`es of this many bytes; smaller ones in one `PUT`.
pub const CHUNK: u64 = 16 << 20;

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub enum Content {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// One blob to push.
#[derive(Debug, Clone)]
pub struct PushBlob {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    pub content: Content,
    /// A repository of the same registry that already holds it (where it was pulled from).
    pub mount_from: Option<String>,
}

/// What happened to a blob, in Docker's words for `docker push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// "Layer already exists"
    Exists,
    /// "Mounted from <repo>"
    Mounted(String),
    /// "Pushed"
    Pushed,
}

impl Outcome {
    pub fn words(&self) -> String {
        match self {
            Outcome::Exists => "Layer already exists".into(),
            Outcome::Mounted(from) => format!("Mounted from {from}"),
            Outcome::Pushed => "Pushed".into(),
        }
    }
}

/// Manifest media types of a push (`--format docker|oci`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Docker image manifest v2 schema 2 (Docker's default).
    Docker,
    /// OCI image manifest v1.
    Oci,
}

impl Format {
    pub fn manifest_type(self) -> &'static str {
        match self {
            Format::Docker => DOCKER_MANIFEST,
            Format::Oci => OCI_MANIFEST,
        }
    }
    pub fn config_type(self) -> &'static str {
        match self {
            Format::Docker => "application/vnd.docker.container.image.v1+json",
            Format::Oci => "application/vnd.oci.image.config.v1+json",
        }
    }
    /// The layer media type for an OCI one (`…tar`, `…tar+gzip`, `…tar+zstd`); None
    /// when Docker's schema 2 has no such type (zstd).
    pub fn layer_type(self, oci: &str) -> Option<&'static str> {
        match (self, oci) {
            (Format::Oci, "application/vnd.oci.image.layer.v1.tar") => {
                Some("application/vnd.oci.image.layer.v1.tar")
            }
            (Format::Oci, "application/vnd.oci.image.layer.v1.tar+gzip") => {
                Some("application/vnd.oci.image.layer.v1.tar+gzip")
            }
            (Format::Oci, "application/vnd.oci.image.layer.v1.tar+zstd") => {
                Some("application/vnd.oci.image.layer.v1.tar+zstd")
            }
            (Format::Docker, "application/vnd.oci.image.layer.v1.tar") => {
                Some("application/vnd.docker.image.rootfs.diff.tar")
            }
            (Format::Docker, "application/vnd.oci.image.layer.v1.tar+gzip") => {
                Some("application/vnd.docker.image.rootfs.diff.tar.gzip")
            }
            _ => None,
        }
    }
}

/// The manifest of `config` and `layers` (bottom first), media types already set.
pub fn manifest(format: Format, config: &PushBlob, layers: &[PushBlob]) -> Vec<u8> {
    use serde_json::json;
    let desc = |b: &PushBlob| json!({"mediaType": b.media_type, "size": b.size, "digest": b.digest.to_string()});
    let m = json!({
        "schemaVersion": 2,
        "mediaType": format.manifest_type(),
        "config": desc(config),
        "layers": layers.iter().map(desc).collect::<Vec<_>>(),
    });
    // Serialising a JSON value cannot fail.
    serde_json::to_vec_pretty(&m).unwrap_or_default()
}

/// An upload `Location` made absolute against `origin` (`scheme://host[:port]`);
/// None when it points at another server (our credentials would follow it there).
fn resolve(origin: &str, loc: &str) -> Option<String> {
    let abs = if loc.starts_with('/') && !loc.starts_with("//") {
        format!("{origin}{loc}")
    } else {
        loc.to_string()
    };
    abs.strip_prefix(origin)
        .is_some_and(|rest| rest.starts_with('/'))
        .then_some(abs)
}

impl Registry {
    /// Does the registry hold `digest` in this repository?
    pub fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let url = format!("{}/blobs/{digest}", self.base);
        let what = format!("{}@{digest}", self.name);
        let resp = self.send(&what, || Ok(self.http.head(&url)))?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => success(resp, &what).map(|_| false),
        }
    }

    /// An absolute upload URL from a `Location` header, refused off the registry.
    fn location(&self, resp: &reqwest::blocking::Response) -> Result<String, RegistryError> {
        let loc = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                RegistryError::Other(format!("{}: upload answer without a Location", self.name))
            })?;
        resolve(self.origin(), loc).ok_or_else(|| {
            RegistryError::Other(format!(
                "{}: the registry sent the upload to another server ({loc}); refused",
                self.name
            ))
        })
    }

    /// Start an upload session, or mount `digest` from `from`: Ok(None) when mounted.
    fn start_upload(
        &self,
        digest: &Digest,
        from: Option<&str>,
    ) -> Result<Option<String>, RegistryError> {
        let mut url = format!("{}/blobs/uploads/", self.base);
        if let Some(f) = from {
            url.push_str(&format!("?mount={digest}&from={f}"));
        }
        let what = format!("{}@{digest}", self.name);
        let resp = self.send(&what, || {
            Ok(self.http.post(&url).header(CONTENT_LENGTH, "0"))
        })?;
        if from.is_some() && resp.status() == StatusCode::CREATED {
            return Ok(None);
        }
        let resp = success(resp, &what)?;
        self.location(&resp).map(Some)
    }

    /// `url` with one more query parameter.
    fn with_query(url: &str, kv: &str) -> String {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{kv}")
    }

    /// Upload `b` into the session at `loc`; `advance` is told of bytes sent.
    fn upload(
        &self,
        loc: String,
        b: &PushBlob,
        advance: &dyn Fn(u64),
    ) -> Result<(), RegistryError> {
        let what = format!("{}@{}", self.name, b.digest);
        let io = |e: std::io::Error| RegistryError::Other(format!("{what}: {e}"));
        let mut loc = loc;
        if b.size > CHUNK {
            let Content::File(path) = &b.content else {
                return Err(RegistryError::Other(format!(
                    "{what}: a large blob must be a file"
                )));
            };
            let mut f = File::open(path).map_err(io)?;
            let mut start = 0u64;
            while start < b.size {
                let n = CHUNK.min(b.size - start);
                let mut buf = vec![0u8; n as usize];
                f.seek(SeekFrom::Start(start)).map_err(io)?;
                f.read_exact(&mut buf).map_err(io)?;
                let range = format!("{start}-{}", start + n - 1);
                let resp = self.send(&what, || {
                    Ok(self
                        .http
                        .patch(&loc)
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_RANGE, &range)
                        .header(CONTENT_LENGTH, n.to_string())
                        .body(buf.clone()))
                })?;
                let resp = success(resp, &what)?;
                loc = self.location(&resp)?;
                start += n;
                advance(n);
            }
            let url = Self::with_query(&loc, &format!("digest={}", b.digest));
            let resp = self.send(&what, || {
                Ok(self.http.put(&url).header(CONTENT_LENGTH, "0"))
            })?;
            success(resp, &what)?;
        } else {
            let url = Self::with_query(&loc, &format!("digest={}", b.digest));
            let resp = self.send(&what, || {
                let body = match &b.content {
                    Content::Bytes(v) => Body::from(v.clone()),
                    Content::File(p) => Body::sized(
                        File::open(p).map_err(|e| {
                            RegistryError::Other(format!("{what}: {}: {e}", p.display()))
                        })?,
                        b.size,
                    ),
                };
                Ok(self
                    .http
                    .put(&url)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, b.size.to_string())
                    .body(body))
            })?;
            success(resp, &what)?;
            advance(b.size);
        }
        Ok(())
    }

    /// Push one blob unless the registry has it: a mount when `mount_from` is set
    /// and allowed, else an upload, retried from a fresh session after a fault.
    pub fn push_blob(&self, b: &PushBlob, advance: &dyn Fn(u64)) -> Result<Outcome, RegistryError> {
        if self.blob_exists(&b.digest)? {
            return Ok(Outcome::Exists);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = self
                .start_upload(&b.digest, b.mount_from.as_deref())
                .and_then(|loc| match loc {
                    None => Ok(Outcome::Mounted(b.mount_from.clone().unwrap_or_default())),
                    Some(loc) => self.upload(loc, b, advance).map(|()| Outcome::Pushed),
                });
            match r {
                Ok(o) => return Ok(o),
                Err(e @ (RegistryError::Unauthorized { .. } | RegistryError::Refused { .. })) => {
                    return Err(e)
                }
                Err(_) if attempt < ATTEMPTS && self.blob_exists(&b.digest).unwrap_or(false) => {
                    return Ok(Outcome::Pushed)
                }
                Err(e) if attempt >= ATTEMPTS => return Err(e),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(200 << attempt)),
            }
        }
    }

    /// `PUT` the manifest under `tag`; returns its digest.
    pub fn put_manifest(
        &self,
        tag: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest, RegistryError> {
        let url = format!("{}/manifests/{tag}", self.base);
        let what = format!("{}:{tag}", self.name);
        let resp = self.send(&what, || {
            Ok(self
                .http
                .put(&url)
                .header(CONTENT_TYPE, media_type)
                .body(body.to_vec()))
        })?;
        success(resp, &what)?;
        Ok(Digest::of(body))
    }

    /// `GET /v2/` with the credentials (the handshake `docker login` does): Ok when the
    /// registry accepts them, its 401 as an error otherwise.
    pub fn ping(&self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.origin());
        let what = self.name.clone();
        let resp = self.send(&what, || Ok(self.http.get(&url)))?;
        success(resp, &what).map(|_| ())
    }
}

/// Push `config` then `layers` and the manifest of `reference`'s tag; per-layer
/// progress on `progress` (index = layer). Returns the manifest's digest and size.
pub fn push(
    reference: &Reference,
    insecure: bool,
    creds: Option<Credentials>,
    format: Format,
    config: &PushBlob,
    layers: &[PushBlob],
    progress: &dyn Progress,
) -> Result<(Digest, usize), RegistryError> {
    let reg = Registry::new(reference, insecure, creds)?.for_push();
    for (i, l) in layers.iter().enumerate() {
        let id = l.digest.short().to_string();
        progress.start(i, &id, l.size);
        let o = reg.push_blob(l, &|n| progress.advance(i, n))?;
        progress.done(i, &id, &o.words());
    }
    reg.push_blob(config, &|_| {})?;
    let body = manifest(format, config, layers);
    let tag = reference.tag.as_deref().unwrap_or("latest");
    let digest = reg.put_manifest(tag, format.manifest_type(), &body)?;
    Ok((digest, body.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(mt: &str, data: &[u8]) -> PushBlob {
        PushBlob {
            digest: Digest::of(data),
            size: data.len() as u64,
            media_type: mt.into(),
            content: Content::Bytes(data.to_vec()),
            mount_from: None,
        }
    }

    #[test]
    fn manifests_carry_the_formats_media_types() {
        let f = Format::Docker;
        let gz = "application/vnd.oci.image.layer.v1.tar+gzip";
        let config = blob(f.config_type(), b"{}");
        let layer = blob(f.layer_type(gz).unwrap(), b"layer");
        let m: serde_json::Value = serde_json::from_slice(&manifest(f, &config, &[layer])).unwrap();
        assert_eq!(m["schemaVersion"], 2);
        assert_eq!(m["mediaType"], DOCKER_MANIFEST);
        assert_eq!(
            m["config"]["mediaType"],
            "application/vnd.docker.container.image.v1+json"
        );
        assert_eq!(m["config"]["size"], 2);
        assert_eq!(
            m["layers"][0]["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        assert_eq!(m["layers"][0]["digest"], Digest::of(b"layer").to_string());
        // Docker schema 2 has no zstd layer type; OCI has.
        let zst = "application/vnd.oci.image.layer.v1.tar+zstd";
        assert_eq!(Format::Docker.layer_type(zst), None);
        assert_eq!(Format::Oci.layer_type(zst), Some(zst));
    }

    #[test]
    fn upload_locations_stay_on_the_registry() {
        let o = "http://127.0.0.1:5000";
        assert_eq!(
            resolve(o, "/v2/a/blobs/uploads/u?_state=s").as_deref(),
            Some("http://127.0.0.1:5000/v2/a/blobs/uploads/u?_state=s")
        );
        assert!(resolve(o, "http://127.0.0.1:5000/v2/a/blobs/uploads/u").is_some());
        for evil in [
            "http://evil.example/v2/a/blobs/uploads/u",
            "http://127.0.0.1:50001/v2/x",
            "http://127.0.0.1:5000.evil.example/v2/x",
            "//evil.example/v2/x",
            "https://127.0.0.1:5000/v2/x",
        ] {
            assert_eq!(resolve(o, evil), None, "{evil}");
        }
    }

    #[test]
    fn digests_join_the_upload_query() {
        assert_eq!(
            Registry::with_query("http://r/v2/a/blobs/uploads/x?_state=s", "digest=d"),
            "http://r/v2/a/blobs/uploads/x?_state=s&digest=d"
        );
        assert_eq!(
            Registry::with_query("http://r/v2/a/blobs/uploads/x", "digest=d"),
            "http://r/v2/a/blobs/uploads/x?digest=d"
        );
    }
}
