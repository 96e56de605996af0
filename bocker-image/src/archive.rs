//! Image archives: `docker save`'s format and the OCI image layout, as one tar.
//!
//! Written (`bocker save`): `blobs/sha256/<hex>` for every config, manifest and layer
//! blob, `oci-layout` and `index.json` (image-spec `image-layout.md`), and, for the
//! Docker format, `manifest.json` and `repositories` as `docker save` writes them
//! (Docker 25 writes this same combined layout; Docker 20.10's `docker load` reads only
//! `manifest.json` and follows its paths). Every member has mode 0644 (directories 0755),
//! owner 0 and mtime 0, in a fixed order, so the same images give the same archive.
//!
//! Read (`bocker load`): [`Members`] copies the archive's regular files into a scratch
//! directory, refusing any path that is absolute or has a `..` component; symbolic and
//! hard links between members (old `docker save` links a repeated layer) are resolved
//! inside the archive and refused when they point out of it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use bocker_pull::digest::Digest;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::export::Exported;
use crate::ImageError;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The annotation naming a tag in an OCI layout (image-spec `annotations.md`).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation containerd and Docker use for an image's full name.
pub const IMAGE_NAME: &str = "io.containerd.image.name";

/// Which archive `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// What `docker load` reads (`manifest.json`), with the OCI layout beside it.
    Docker,
    /// An OCI image layout only.
    Oci,
}

/// One image to save: its blobs and the references to record for it (normalised,
/// `docker.io/library/alpine:latest`).
pub struct SaveImage {
    pub exported: Exported,
    pub references: Vec<String>,
}

/// Docker's short form of a normalised reference (`alpine:latest`, `localhost:5000/x:1`).
pub fn familiar(reference: &str) -> String {
    reference
        .strip_prefix("docker.io/library/")
        .or_else(|| reference.strip_prefix("docker.io/"))
        .unwrap_or(reference)
        .to_string()
}

fn split_tag(reference: &str) -> (&str, &str) {
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(':') {
        Some(i) => (&reference[..slash + i], &reference[slash + i + 1..]),
        None => (reference, "latest"),
    }
}

fn header(path: &str, size: u64, dir: bool) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    // Paths here are ours and short (`blobs/sha256/<64 hex>`).
    let _ = h.set_path(path);
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_cksum();
    h
}

fn put<W: Write>(b: &mut tar::Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    b.append(&header(path, data.len() as u64, false), data)
}

/// Write `images` as one archive to `out`.
pub fn write<W: Write>(out: W, images: &[SaveImage], format: Format) -> Result<W, ImageError> {
    let mut b = tar::Builder::new(out);
    let io = |e: io::Error| ImageError::Io {
        path: "archive".into(),
        source: e,
    };
    // Blobs by hex digest: the data in memory (configs, manifests) or a file (layers).
    let mut blobs: BTreeMap<String, Result<Vec<u8>, (PathBuf, u64)>> = BTreeMap::new();
    let mut index = Vec::new();
    let mut docker = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for img in images {
        let e = &img.exported;
        blobs.insert(e.config_digest.hex().into(), Ok(e.config.clone()));
        let layers: Vec<Value> = e
            .layers
            .iter()
            .map(|l| json!({"mediaType": l.media_type(), "digest": l.digest.to_string(), "size": l.size}))
            .collect();
        for l in &e.layers {
            blobs.insert(l.digest.hex().into(), Err((l.path.clone(), l.size)));
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": e.config_digest.to_string(), "size": e.config.len()},
            "layers": layers,
        }))
        .map_err(|e| ImageError::Invalid(e.to_string()))?;
        let md = Digest::of(&manifest);
        let desc =
            json!({"mediaType": OCI_MANIFEST, "digest": md.to_string(), "size": manifest.len()});
        blobs.insert(md.hex().into(), Ok(manifest));
        if img.references.is_empty() {
            index.push(desc.clone());
        }
        for r in &img.references {
            let mut d = desc.clone();
            d["annotations"] = json!({IMAGE_NAME: r, REF_NAME: split_tag(r).1});
            index.push(d);
            let fam = familiar(r);
            let (repo, tag) = split_tag(&fam);
            if let Some(top) = e.layers.last() {
                repositories
                    .entry(repo.to_string())
                    .or_default()
                    .insert(tag.to_string(), top.digest.hex().to_string());
            }
        }
        let tags: Vec<String> = img.references.iter().map(|r| familiar(r)).collect();
        docker.push(json!({
            "Config": format!("blobs/sha256/{}", e.config_digest.hex()),
            "RepoTags": if tags.is_empty() { Value::Null } else { json!(tags) },
            "Layers": e.layers.iter().map(|l| format!("blobs/sha256/{}", l.digest.hex())).collect::<Vec<_>>(),
        }));
    }
    b.append(&header("blobs/", 0, true), io::empty())
        .map_err(io)?;
    b.append(&header("blobs/sha256/", 0, true), io::empty())
        .map_err(io)?;
    for (hex, blob) in &blobs {
        let path = format!("blobs/sha256/{hex}");
        match blob {
            Ok(data) => put(&mut b, &path, data).map_err(io)?,
            Err((file, size)) => {
                let f = File::open(file).map_err(ImageError::io(file))?;
                b.append(&header(&path, *size, false), f.take(*size))
                    .map_err(ImageError::io(file))?;
            }
        }
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index});
    put(
        &mut b,
        "index.json",
        &serde_json::to_vec(&index).unwrap_or_default(),
    )
    .map_err(io)?;
    if format == Format::Docker {
        put(
            &mut b,
            "manifest.json",
            &serde_json::to_vec(&docker).unwrap_or_default(),
        )
        .map_err(io)?;
    }
    put(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)?;
    if format == Format::Docker {
        put(
            &mut b,
            "repositories",
            &serde_json::to_vec(&repositories).unwrap_or_default(),
        )
        .map_err(io)?;
    }
    b.into_inner().map_err(io)
}

/// An archive member copied to the scratch directory.
#[derive(Debug, Clone)]
pub struct Member {
    pub file: PathBuf,
    pub size: u64,
    pub digest: Digest,
}

/// The regular files of an archive, by their normalised path inside it.
#[derive(Debug, Default)]
pub struct Members {
    files: HashMap<String, Member>,
}

/// The normalised form of an archive path: relative, no `.`, no `..`, no empty parts.
fn normal(raw: &[u8]) -> Result<String, ImageError> {
    let s = std::str::from_utf8(raw).map_err(|_| {
        ImageError::Invalid(format!(
            "archive entry '{}': the path is not UTF-8",
            String::from_utf8_lossy(raw)
        ))
    })?;
    let mut parts = Vec::new();
    for c in Path::new(s).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => {
                return Err(ImageError::Invalid(format!(
                    "archive entry '{s}': the path leaves the archive"
                )))
            }
        }
    }
    Ok(parts.join("/"))
}

/// Resolve a link target written in `entry`'s directory (symbolic) or at the root (hard).
fn link_target(entry: &str, target: &[u8], symbolic: bool) -> Result<String, ImageError> {
    let t = std::str::from_utf8(target).unwrap_or("");
    let bad = || {
        ImageError::Invalid(format!(
            "archive entry '{entry}': its link '{t}' leaves the archive"
        ))
    };
    if t.starts_with('/') {
        return Err(bad());
    }
    let mut parts: Vec<&str> = if symbolic {
        entry.split('/').collect()
    } else {
        vec![""]
    };
    parts.pop();
    for c in t.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or_else(bad)?;
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

impl Members {
    /// Read the archive from `input`, copying its regular files into `scratch` (which
    /// must exist and be empty), hashing each as it is written.
    pub fn read<R: Read>(input: R, scratch: &Path) -> Result<Members, ImageError> {
        let mut a = tar::Archive::new(input);
        let mut m = Members::default();
        let mut links: Vec<(String, String)> = Vec::new();
        let bad_tar = |e: io::Error| ImageError::Invalid(format!("reading the archive: {e}"));
        let mut n = 0u64;
        for e in a.entries().map_err(bad_tar)? {
            let mut e = e.map_err(bad_tar)?;
            let path = normal(&e.path_bytes())?;
            let kind = e.header().entry_type();
            match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    n += 1;
                    let file = scratch.join(format!("m{n}"));
                    let mut out = BufWriter::new(
                        File::options()
                            .write(true)
                            .create_new(true)
                            .open(&file)
                            .map_err(ImageError::io(&file))?,
                    );
                    let mut h = Sha256::new();
                    let mut buf = vec![0u8; 256 << 10];
                    let mut size = 0u64;
                    loop {
                        let k = e.read(&mut buf).map_err(bad_tar)?;
                        if k == 0 {
                            break;
                        }
                        h.update(&buf[..k]);
                        out.write_all(&buf[..k]).map_err(ImageError::io(&file))?;
                        size += k as u64;
                    }
                    out.flush().map_err(ImageError::io(&file))?;
                    let digest = Digest::from_hasher(h);
                    m.files.insert(path, Member { file, size, digest });
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = e.link_name_bytes().ok_or_else(|| {
                        ImageError::Invalid(format!(
                            "archive entry '{path}': a link without a target"
                        ))
                    })?;
                    let t = link_target(&path, &target, kind == tar::EntryType::Symlink)?;
                    links.push((path, t));
                }
                // Directories are implied; anything else has no place in an image archive.
                _ => {}
            }
        }
        // Links to links are followed a bounded number of times.
        for _ in 0..8 {
            let mut left = Vec::new();
            for (path, target) in links {
                match m.files.get(&target).cloned() {
                    Some(member) => {
                        m.files.insert(path, member);
                    }
                    None => left.push((path, target)),
                }
            }
            links = left;
        }
        Ok(m)
    }

    /// The member at `path` (as an archive's manifest names it).
    pub fn get(&self, what: &str, path: &str) -> Result<&Member, ImageError> {
        let p = normal(path.as_bytes()).map_err(|_| {
            ImageError::Invalid(format!("{what} '{path}' points outside the archive"))
        })?;
        self.files
            .get(&p)
            .ok_or_else(|| ImageError::Invalid(format!("{what} '{path}' is not in the archive")))
    }

    /// The member's bytes, at most `max`.
    pub fn bytes(&self, what: &str, path: &str, max: u64) -> Result<Vec<u8>, ImageError> {
        let m = self.get(what, path)?;
        if m.size > max {
            return Err(ImageError::Invalid(format!(
                "{what} '{path}' is larger than {max} bytes"
            )));
        }
        std::fs::read(&m.file).map_err(ImageError::io(&m.file))
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}

/// [`write`] into `path` through a temporary file beside it, renamed into place once
/// complete: a failed save never leaves a half-written archive.
pub fn write_file(path: &Path, images: &[SaveImage], format: Format) -> Result<(), ImageError> {
    let name = path
        .file_name()
        .ok_or_else(|| ImageError::Invalid(format!("'{}' is not a file name", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let r = (|| {
        let f = File::create(&tmp).map_err(ImageError::io(&tmp))?;
        let w = write(BufWriter::with_capacity(1 << 20, f), images, format)?;
        let f = w
            .into_inner()
            .map_err(|e| ImageError::io(&tmp)(e.into_error()))?;
        f.sync_all().map_err(ImageError::io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(ImageError::io(path))
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_archive_are_refused() {
        assert_eq!(normal(b"./a/./b").unwrap(), "a/b");
        assert!(normal(b"../x").is_err());
        assert!(normal(b"a/../../x").is_err());
        assert!(normal(b"/etc/passwd").is_err());
        assert_eq!(
            link_target("a/layer.tar", b"../b/layer.tar", true).unwrap(),
            "b/layer.tar"
        );
        assert!(link_target("a/layer.tar", b"../../x", true).is_err());
        assert!(link_target("a", b"/etc/passwd", true).is_err());
        assert_eq!(link_target("a/x", b"b/y", false).unwrap(), "b/y");
    }

    #[test]
    fn a_written_archive_reads_back_verified() {
        use crate::export::{Exported, LayerBlob};
        use bocker_pull::decompress::Compression;
        let t = tempfile::tempdir().unwrap();
        let layer = t.path().join("layer");
        std::fs::write(&layer, b"not really a tar").unwrap();
        let d = Digest::of(b"not really a tar");
        let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
        let img = SaveImage {
            exported: Exported {
                config_digest: Digest::of(&config),
                config,
                layers: vec![LayerBlob {
                    digest: d.clone(),
                    diff_id: d.clone(),
                    size: 16,
                    compression: Compression::None,
                    path: layer,
                    scratch: false,
                }],
            },
            references: vec!["docker.io/library/app:1".into()],
        };
        let bytes = write(Vec::new(), std::slice::from_ref(&img), Format::Docker).unwrap();
        // Reproducible, member for member.
        assert_eq!(bytes, write(Vec::new(), &[img], Format::Docker).unwrap());
        let scratch = t.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let m = Members::read(&bytes[..], &scratch).unwrap();
        let manifest: Value =
            serde_json::from_slice(&m.bytes("manifest", "manifest.json", 1 << 20).unwrap())
                .unwrap();
        assert_eq!(manifest[0]["RepoTags"], json!(["app:1"]));
        let lpath = manifest[0]["Layers"][0].as_str().unwrap();
        assert_eq!(m.get("layer", lpath).unwrap().digest, d);
        let repos: Value =
            serde_json::from_slice(&m.bytes("repositories", "repositories", 1 << 20).unwrap())
                .unwrap();
        assert_eq!(repos["app"]["1"], json!(d.hex()));
        assert!(m.contains("index.json") && m.contains("oci-layout"));
        assert!(m.get("config", "../manifest.json").is_err());
    }

    #[test]
    fn familiar_names_are_dockers() {
        assert_eq!(familiar("docker.io/library/alpine:latest"), "alpine:latest");
        assert_eq!(familiar("docker.io/me/app:1"), "me/app:1");
        assert_eq!(familiar("localhost:5000/x:1"), "localhost:5000/x:1");
        assert_eq!(
            split_tag("localhost:5000/x"),
            ("localhost:5000/x", "latest")
        );
        assert_eq!(split_tag("localhost:5000/x:2"), ("localhost:5000/x", "2"));
    }
}
