//! OCI Distribution upload (distribution-spec "Push"): blobs checked with `HEAD`,
//! mounted from another repository of the same registry when it allows
//! (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`), else uploaded whole
//! (`POST` then one `PUT ?digest=`) when small or in [`CHUNK`]-byte `PATCH`es when
//! large; then the manifest `PUT`. Auth is the pull's ([`Registry::send`]): the same
//! challenge, token and basic handshake, asking for `pull,push`.
//!
//! A blob can also be **streamed** ([`Registry::push_stream`]): written by its maker
//! (a layer exported on the fly) on one thread while this one uploads what is ready,
//! [`CHUNK`] bytes per `PATCH`, and hashes it; the digest goes in the closing
//! `PUT ?digest=`. At most three chunks are in memory, whatever the blob's size.
//!
//! A push is idempotent: a blob the registry has is never sent again, so a push that
//! was killed is simply run again (the registry drops abandoned upload sessions).
//! Upload locations must stay on the registry's own origin: our credentials are never
//! sent elsewhere.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;

use crate::auth::Credentials;
use crate::digest::Digest;
use crate::manifest::{DOCKER_MANIFEST, OCI_MANIFEST};
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

/// A blob as a manifest names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
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

impl PushBlob {
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
        }
    }
}

/// What became of a streamed blob ([`Registry::push_stream`]).
#[derive(Debug)]
pub enum Streamed<T> {
    /// The registry has the blob its last write made: nothing was written or sent.
    Exists,
    /// Written and uploaded: its digest and size, and what the writer returned.
    Pushed { digest: Digest, size: u64, value: T },
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
pub fn manifest(format: Format, config: &Descriptor, layers: &[Descriptor]) -> Vec<u8> {
    use serde_json::json;
    let desc = |b: &Descriptor| json!({"mediaType": b.media_type, "size": b.size, "digest": b.digest.to_string()});
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
        let mount = from.map(|f| format!("?mount={digest}&from={f}"));
        self.open_session(&format!("{}@{digest}", self.name), mount.as_deref())
    }

    /// `POST …/blobs/uploads/[query]`: the session's location, or None when the
    /// registry answered 201 to a mount `query`.
    fn open_session(
        &self,
        what: &str,
        query: Option<&str>,
    ) -> Result<Option<String>, RegistryError> {
        let url = format!("{}/blobs/uploads/{}", self.base, query.unwrap_or(""));
        let resp = self.send(what, || {
            Ok(self.http.post(&url).header(CONTENT_LENGTH, "0"))
        })?;
        if query.is_some() && resp.status() == StatusCode::CREATED {
            return Ok(None);
        }
        let resp = success(resp, what)?;
        self.location(&resp).map(Some)
    }

    /// `PATCH` `chunk` at byte `start` of the session at `loc`; returns the next location.
    fn patch(
        &self,
        what: &str,
        loc: &str,
        start: u64,
        chunk: Bytes,
    ) -> Result<String, RegistryError> {
        let n = chunk.len() as u64;
        let range = format!("{start}-{}", start + n - 1);
        let resp = self.send(what, || {
            Ok(self
                .http
                .patch(loc)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, &range)
                .header(CONTENT_LENGTH, n.to_string())
                .body(chunk.clone()))
        })?;
        let resp = success(resp, what)?;
        self.location(&resp)
    }

    /// Close the session at `loc` with `PUT ?digest=`, `last` as the body (the whole
    /// blob for a monolithic upload, empty after `PATCH`es).
    fn close(
        &self,
        what: &str,
        loc: &str,
        digest: &Digest,
        last: Bytes,
    ) -> Result<(), RegistryError> {
        let url = Self::with_query(loc, &format!("digest={digest}"));
        let resp = self.send(what, || {
            Ok(self
                .http
                .put(&url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, last.len().to_string())
                .body(last.clone()))
        })?;
        success(resp, what).map(|_| ())
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
        let io = |e: io::Error| RegistryError::Other(format!("{what}: {e}"));
        if b.size <= CHUNK {
            let body = match &b.content {
                Content::Bytes(v) => Bytes::from(v.clone()),
                Content::File(p) => {
                    let mut v = Vec::with_capacity(b.size as usize);
                    File::open(p)
                        .and_then(|f| f.take(b.size).read_to_end(&mut v))
                        .map_err(|e| {
                            RegistryError::Other(format!("{what}: {}: {e}", p.display()))
                        })?;
                    Bytes::from(v)
                }
            };
            self.close(&what, &loc, &b.digest, body)?;
            advance(b.size);
            return Ok(());
        }
        let Content::File(path) = &b.content else {
            return Err(RegistryError::Other(format!(
                "{what}: a large blob must be a file"
            )));
        };
        let mut f = File::open(path).map_err(io)?;
        let mut loc = loc;
        let mut start = 0u64;
        while start < b.size {
            let n = CHUNK.min(b.size - start);
            let mut buf = vec![0u8; n as usize];
            f.seek(SeekFrom::Start(start)).map_err(io)?;
            f.read_exact(&mut buf).map_err(io)?;
            loc = self.patch(&what, &loc, start, Bytes::from(buf))?;
            start += n;
            advance(n);
        }
        self.close(&what, &loc, &b.digest, Bytes::new())
    }

    /// Upload the chunks coming from `rx` into the session at `loc`, hashing them:
    /// one `PUT` when the first chunk is the only one, else a `PATCH` each. The stream
    /// is complete only when `finished` says so (its writer succeeded) after `rx`
    /// closes; only then is the session closed with the digest.
    fn upload_chunks(
        &self,
        what: &str,
        loc: String,
        rx: Receiver<Vec<u8>>,
        finished: impl FnOnce() -> Result<(), RegistryError>,
        advance: &dyn Fn(u64),
    ) -> Result<(Digest, u64), RegistryError> {
        let mut hash = Sha256::new();
        let first = rx.recv().unwrap_or_default();
        // Only the first chunk waits for the next: is it the whole blob?
        let mut next = rx.recv().ok();
        if next.is_none() {
            finished()?;
            hash.update(&first);
            let digest = Digest::from_hasher(hash);
            let n = first.len() as u64;
            self.close(what, &loc, &digest, Bytes::from(first))?;
            advance(n);
            return Ok((digest, n));
        }
        let (mut loc, mut sent, mut chunk) = (loc, 0u64, first);
        loop {
            hash.update(&chunk);
            let n = chunk.len() as u64;
            loc = self.patch(what, &loc, sent, Bytes::from(chunk))?;
            sent += n;
            advance(n);
            match next.take().or_else(|| rx.recv().ok()) {
                Some(c) => chunk = c,
                None => break,
            }
        }
        finished()?;
        let digest = Digest::from_hasher(hash);
        self.close(what, &loc, &digest, Bytes::new())?;
        Ok((digest, sent))
    }

    /// One attempt at a streamed upload: `write` on its own thread into [`CHUNK`]-sized
    /// pieces, uploaded here as they come (see [`Registry::push_stream`]). The outer
    /// error is the registry's (worth another attempt), the inner one the writer's own.
    fn upload_stream<T: Send>(
        &self,
        what: &str,
        write: &(dyn Fn(&mut dyn Write) -> io::Result<T> + Sync),
        advance: &dyn Fn(u64),
    ) -> Result<io::Result<(Digest, u64, T)>, RegistryError> {
        let loc = self.open_session(what, None)?.ok_or_else(|| {
            RegistryError::Other(format!("{what}: upload answer without a session"))
        })?;
        // One chunk in the channel, one being written, one being sent.
        let (tx, rx) = sync_channel::<Vec<u8>>(1);
        std::thread::scope(|s| {
            let writer = s.spawn(move || {
                let mut w = Chunks::new(tx);
                let v = write(&mut w)?;
                w.finish()?;
                Ok::<T, io::Error>(v)
            });
            // Set once the writer has ended by itself (the channel closed): its result.
            // If the upload fails first, `rx` goes with it: the writer's next send fails
            // and it stops (joined at the end of the scope); its error is then moot.
            let mut ended = None;
            let sent = self.upload_chunks(
                what,
                loc,
                rx,
                || {
                    let r = join(writer, what);
                    let ok = match &r {
                        Ok(_) => Ok(()),
                        Err(e) => Err(RegistryError::Other(format!("{what}: {e}"))),
                    };
                    ended = Some(r);
                    ok
                },
                advance,
            );
            match (sent, ended) {
                (_, Some(Err(e))) => Ok(Err(e)),
                (Err(e), _) => Err(e),
                (Ok((digest, size)), Some(Ok(v))) => Ok(Ok((digest, size, v))),
                (Ok(_), None) => Err(RegistryError::Other(format!(
                    "{what}: the upload ended before the writer"
                ))),
            }
        })
    }

    /// Push a blob that `write` makes while it is uploaded (a layer exported on the
    /// fly), unless the registry has `previous`, the digest the same writer made last
    /// time (the writer must be reproducible). A failed upload starts again from a
    /// fresh session and a fresh write; a failed write ends the push. `what` names the
    /// blob in errors. Returns the blob's digest and size, and the writer's value.
    pub fn push_stream<T: Send>(
        &self,
        what: &str,
        previous: Option<&Digest>,
        write: &(dyn Fn(&mut dyn Write) -> io::Result<T> + Sync),
        advance: &dyn Fn(u64),
    ) -> Result<Streamed<T>, RegistryError> {
        if let Some(d) = previous {
            if self.blob_exists(d)? {
                return Ok(Streamed::Exists);
            }
        }
        let what = format!("{}: {what}", self.name);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.upload_stream(&what, write, advance) {
                Ok(Ok((digest, size, value))) => {
                    return Ok(Streamed::Pushed {
                        digest,
                        size,
                        value,
                    })
                }
                Ok(Err(e)) => return Err(RegistryError::Other(format!("{what}: {e}"))),
                Err(e @ (RegistryError::Unauthorized { .. } | RegistryError::Refused { .. })) => {
                    return Err(e)
                }
                Err(e) if attempt >= ATTEMPTS => return Err(e),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(200 << attempt)),
            }
        }
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

/// The writer's result, its panic as an error.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, io::Result<T>>, what: &str) -> io::Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(io::Error::other(format!("{what}: the writer panicked"))))
}

/// A writer that hands what it is given on in [`CHUNK`]-byte pieces (the last one
/// shorter) through a bounded channel; fails once the receiver is gone.
struct Chunks {
    tx: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl Chunks {
    fn new(tx: SyncSender<Vec<u8>>) -> Chunks {
        Chunks {
            tx,
            buf: Vec::with_capacity(CHUNK as usize),
        }
    }

    fn pass(&mut self) -> io::Result<()> {
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK as usize));
        self.tx
            .send(full)
            .map_err(|_| io::Error::other("the upload stopped"))
    }

    /// Hand on what is left (nothing for an empty stream).
    fn finish(mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.pass()
    }
}

impl Write for Chunks {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK as usize - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK as usize {
            self.pass()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The registry client of a push to `reference` (tokens asked for `pull,push`).
pub fn connect(
    reference: &Reference,
    insecure: bool,
    creds: Option<Credentials>,
) -> Result<Registry, RegistryError> {
    Ok(Registry::new(reference, insecure, creds)?.for_push())
}

/// `PUT` the manifest of `config` and `layers` under `reference`'s tag (`latest` when
/// it has none); returns the manifest's digest and size.
pub fn put_manifest(
    reg: &Registry,
    reference: &Reference,
    format: Format,
    config: &Descriptor,
    layers: &[Descriptor],
) -> Result<(Digest, usize), RegistryError> {
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
        let m: serde_json::Value =
            serde_json::from_slice(&manifest(f, &config.descriptor(), &[layer.descriptor()]))
                .unwrap();
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
    fn chunks_are_chunk_sized_but_the_last_and_stop_when_the_upload_does() {
        let (tx, rx) = sync_channel(4);
        let mut w = Chunks::new(tx);
        let data = vec![7u8; 2 * CHUNK as usize + 12_345];
        for piece in data.chunks(999_983) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap();
        let sizes: Vec<usize> = rx.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [CHUNK as usize, CHUNK as usize, 12_345]);

        let (tx, rx) = sync_channel(1);
        drop(rx);
        let mut w = Chunks::new(tx);
        assert!(w.write_all(&data).is_err(), "the upload is gone");
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
