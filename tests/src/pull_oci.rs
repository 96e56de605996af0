//! A minimal OCI image writer: layers (gzip, zstd, plain), configs, manifests in Docker
//! or OCI media types, indexes; pushed to a registry with curl, or written as an OCI
//! layout for an independent extractor (umoci).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use sha2::{Digest as _, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comp {
    Gzip,
    Zstd,
    Plain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Docker,
    Oci,
}

pub fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

#[derive(Clone)]
pub struct Blob {
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    fn descriptor(&self) -> serde_json::Value {
        serde_json::json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

#[derive(Clone)]
pub struct Layer {
    pub blob: Blob,
    pub diff_id: String,
}

pub fn compress(tar: &[u8], comp: Comp) -> Vec<u8> {
    match comp {
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Comp::Zstd => zstd::encode_all(tar, 3).unwrap(),
        Comp::Plain => tar.to_vec(),
    }
}

pub fn layer(tar: &[u8], comp: Comp, flavor: Flavor) -> Layer {
    let mt = match (flavor, comp) {
        (Flavor::Docker, Comp::Gzip) => "application/vnd.docker.image.rootfs.diff.tar.gzip",
        (Flavor::Docker, _) => "application/vnd.docker.image.rootfs.diff.tar",
        (Flavor::Oci, Comp::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
        (Flavor::Oci, Comp::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
        (Flavor::Oci, Comp::Plain) => "application/vnd.oci.image.layer.v1.tar",
    };
    let bytes = compress(tar, comp);
    Layer {
        blob: Blob {
            digest: sha256(&bytes),
            media_type: mt.into(),
            bytes,
        },
        diff_id: sha256(tar),
    }
}

/// An image: its config, layers, and the manifest that ties them.
#[derive(Clone)]
pub struct Image {
    pub config: Blob,
    pub layers: Vec<Layer>,
    pub manifest: Blob,
}

/// Build an image; `run` is merged into the config's `config` object (Cmd, Env, ...).
pub fn image(layers: Vec<Layer>, flavor: Flavor, arch: &str, run: serde_json::Value) -> Image {
    let config_json = serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": run,
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
    });
    let cbytes = serde_json::to_vec(&config_json).unwrap();
    let (cmt, mmt) = match flavor {
        Flavor::Docker => (
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        ),
        Flavor::Oci => (
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
        ),
    };
    let config = Blob {
        digest: sha256(&cbytes),
        media_type: cmt.into(),
        bytes: cbytes,
    };
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": mmt,
        "config": config.descriptor(),
        "layers": layers.iter().map(|l| l.blob.descriptor()).collect::<Vec<_>>(),
    });
    let mbytes = serde_json::to_vec(&m).unwrap();
    Image {
        config,
        layers,
        manifest: Blob {
            digest: sha256(&mbytes),
            media_type: mmt.into(),
            bytes: mbytes,
        },
    }
}

/// An index over images with their platforms.
pub fn index(images: &[(&Image, &str, &str, Option<&str>)], flavor: Flavor) -> Blob {
    let mt = match flavor {
        Flavor::Docker => "application/vnd.docker.distribution.manifest.list.v2+json",
        Flavor::Oci => "application/vnd.oci.image.index.v1+json",
    };
    let ms: Vec<serde_json::Value> = images
        .iter()
        .map(|(img, os, arch, variant)| {
            let mut d = img.manifest.descriptor();
            let mut p = serde_json::json!({"os": os, "architecture": arch});
            if let Some(v) = variant {
                p["variant"] = (*v).into();
            }
            d["platform"] = p;
            d
        })
        .collect();
    let bytes = serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": mt, "manifests": ms}),
    )
    .unwrap();
    Blob {
        digest: sha256(&bytes),
        media_type: mt.into(),
        bytes,
    }
}

/// Pushes with curl (basic credentials optional) to `http://<addr>/v2/<repo>`.
pub struct Pusher {
    pub addr: String,
    pub basic: Option<(String, String)>,
    pub bearer: Option<String>,
}

impl Pusher {
    fn curl(&self) -> Command {
        let mut c = Command::new("curl");
        c.args(["-sS", "--fail-with-body", "--noproxy", "*"]);
        if let Some((u, p)) = &self.basic {
            c.args(["-u", &format!("{u}:{p}")]);
        }
        if let Some(t) = &self.bearer {
            c.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        c
    }

    /// Uploads a blob (monolithic POST then PUT), unless the registry already has it.
    pub fn blob(&self, repo: &str, b: &[u8], digest: &str) {
        let base = format!("http://{}/v2/{repo}", self.addr);
        let head = self
            .curl()
            .args([
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-I",
                &format!("{base}/blobs/{digest}"),
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&head.stdout).trim() == "200" {
            return;
        }
        let o = self
            .curl()
            .args([
                "-X",
                "POST",
                "-D",
                "-",
                "-o",
                "/dev/null",
                &format!("{base}/blobs/uploads/"),
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "upload start: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let headers = String::from_utf8_lossy(&o.stdout);
        let loc = headers
            .lines()
            .find_map(|l| {
                l.strip_prefix("Location: ")
                    .or_else(|| l.strip_prefix("location: "))
            })
            .expect("upload Location")
            .trim()
            .to_string();
        let loc = if loc.starts_with('/') {
            format!("http://{}{loc}", self.addr)
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let mut c = self.curl();
        c.args([
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            "@-",
            "-o",
            "/dev/null",
        ])
        .arg(format!("{loc}{sep}digest={digest}"))
        .stdin(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(b).unwrap();
        assert!(
            child.wait().unwrap().success(),
            "blob upload {digest} failed"
        );
    }

    pub fn manifest(&self, repo: &str, reference: &str, m: &Blob) {
        let mut c = self.curl();
        c.args([
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {}", m.media_type),
            "--data-binary",
            "@-",
            "-o",
            "/dev/null",
        ])
        .arg(format!(
            "http://{}/v2/{repo}/manifests/{reference}",
            self.addr
        ))
        .stdin(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(&m.bytes).unwrap();
        assert!(child.wait().unwrap().success(), "manifest upload failed");
    }

    /// Pushes an image's blobs and its manifest under `tag`.
    pub fn image(&self, repo: &str, tag: &str, img: &Image) {
        for l in &img.layers {
            self.blob(repo, &l.blob.bytes, &l.blob.digest);
        }
        self.blob(repo, &img.config.bytes, &img.config.digest);
        self.manifest(repo, tag, &img.manifest);
    }
}

/// Writes `img` as an OCI image layout at `dir` with reference `tag` (for umoci).
pub fn write_layout(dir: &Path, tag: &str, img: &Image) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut all: Vec<&Blob> = img.layers.iter().map(|l| &l.blob).collect();
    all.push(&img.config);
    all.push(&img.manifest);
    for b in all {
        std::fs::write(blobs.join(&b.digest["sha256:".len()..]), &b.bytes).unwrap();
    }
    let mut d = img.manifest.descriptor();
    d["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    let idx = serde_json::json!({"schemaVersion": 2, "manifests": [d]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
}
