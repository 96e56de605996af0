//! Harness for the pull tests: a real registry (Debian's `docker-registry`) on
//! 127.0.0.1, an OCI writer and a tar writer for fixtures, a tiny token server, and a
//! file-by-file tree comparison.

#[path = "pull_fault.rs"]
pub mod fault;
#[path = "pull_oci.rs"]
pub mod oci;
#[path = "pull_tar.rs"]
pub mod tar;
#[path = "pull_token.rs"]
pub mod token;
#[path = "pull_tree.rs"]
pub mod tree;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{random_hex, TestRoot};

/// How the registry authenticates.
pub enum Auth {
    None,
    /// htpasswd file (bcrypt) for basic auth.
    Htpasswd(PathBuf),
    /// Bearer tokens from `realm`, signed by the key whose self-signed cert is `bundle`.
    Token {
        realm: String,
        service: String,
        issuer: String,
        bundle: PathBuf,
    },
}

/// A one-layer busybox image (`/bin/busybox` with `sh` and `cat` links, `/etc/base`,
/// Cmd `sh`) pushed to `reg` as `repo` under each of `tags`; returns `ADDR/repo`.
pub fn busybox_on(reg: &Registry, repo: &str, tags: &[&str]) -> String {
    use tar::{dir, file, symlink, Tar};
    let bb = std::fs::read("/bin/busybox").expect("/bin/busybox (busybox-static)");
    let l1 = Tar::with(vec![
        dir("bin"),
        file("bin/busybox", &bb).mode(0o755),
        symlink("bin/sh", "busybox"),
        symlink("bin/cat", "busybox"),
        dir("etc"),
        file("etc/base", b"base\n"),
        dir("proc"),
        dir("sys"),
        dir("dev"),
    ]);
    let img = oci::image(
        vec![oci::layer(&l1, oci::Comp::Gzip, oci::Flavor::Oci)],
        oci::Flavor::Oci,
        "amd64",
        serde_json::json!({"Cmd": ["sh"]}),
    );
    for tag in tags {
        reg.pusher().image(repo, tag, &img);
    }
    format!("{}/{repo}", reg.addr)
}

/// A free port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `docker-registry serve`, killed (by pid) and removed on drop.
pub struct Registry {
    child: Child,
    pub addr: String,
    pub dir: PathBuf,
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        let dir = PathBuf::from(format!("/tmp/bocker-registry-{}", random_hex(10)));
        fs::create_dir_all(dir.join("data")).unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let auth_yaml = match &auth {
            Auth::None => String::new(),
            Auth::Htpasswd(p) => format!("auth:\n  htpasswd:\n    realm: bocker-test\n    path: {}\n", p.display()),
            Auth::Token { realm, service, issuer, bundle } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                bundle.display()
            ),
        };
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{auth_yaml}",
            dir.join("data").display()
        );
        fs::write(dir.join("config.yml"), cfg).unwrap();
        let log = fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .args(["serve", dir.join("config.yml").to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry (apt package docker-registry) must be installed");
        let reg = Registry { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&reg.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start: {}",
                reg.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        reg
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    pub fn pusher(&self) -> oci::Pusher {
        oci::Pusher {
            addr: self.addr.clone(),
            basic: None,
            bearer: None,
        }
    }

    /// The registry's own file holding blob `digest` (to tamper with it).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = &digest["sha256:".len()..];
        self.dir.join(format!(
            "data/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `bocker-pull args…` in `t`; returns (success, stdout, stderr).
pub fn pull(t: &TestRoot, args: &[&str]) -> (bool, String, String) {
    let o = t.run("pull", args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Pull and return the image id from `Created: img_…`.
pub fn pull_ok(t: &TestRoot, reference: &str) -> String {
    let (ok, out, err) = pull(t, &[reference]);
    assert!(ok, "pull {reference} failed: {err}");
    let id = out
        .trim()
        .strip_prefix("Created: ")
        .unwrap_or_else(|| panic!("stdout must be only `Created: img_…`, got {out:?}"));
    assert!(id.starts_with("img_") && !id.contains('\n'), "{out:?}");
    id.to_string()
}

/// Pull what is already present: stdout is Docker's `Status: Image is up to date for …`
/// line; returns the image id (from `pull -q`, which always prints it).
pub fn repull_ok(t: &TestRoot, reference: &str) -> String {
    let (ok, out, err) = pull(t, &[reference]);
    assert!(ok, "pull {reference} failed: {err}");
    assert!(
        out.starts_with("Status: Image is up to date for ") && out.lines().count() == 1,
        "a pull of what is present says so, got {out:?}"
    );
    // Once: stderr has Docker 20.10's `Digest:` line before it, not the fact again.
    assert!(
        err.contains("Digest: sha256:") && !err.to_lowercase().contains("up to date"),
        "{err}"
    );
    let (ok, out, err) = pull(t, &["-q", reference]);
    assert!(ok, "pull -q {reference} failed: {err}");
    out.trim().to_string()
}

/// The image record as JSON.
pub fn record(t: &TestRoot, id: &str) -> serde_json::Value {
    serde_json::from_slice(&fs::read(t.root.join("images").join(id).join("image.json")).unwrap())
        .unwrap()
}

/// The merged root filesystem of a pulled image: the top btrfs layer, or a read-only
/// overlay mount of the layers (unmounted on drop).
pub struct ImageView {
    pub path: PathBuf,
    mounted: bool,
}

impl ImageView {
    pub fn new(t: &TestRoot, id: &str) -> ImageView {
        let rec = record(t, id);
        let layers: Vec<PathBuf> = rec["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| t.root.join("layers").join(k.as_str().unwrap()))
            .collect();
        if rec["driver"] == "btrfs" {
            return ImageView {
                path: layers.last().unwrap().clone(),
                mounted: false,
            };
        }
        let mnt = t.base.join(format!("view-{}", random_hex(6)));
        fs::create_dir_all(&mnt).unwrap();
        let lower: Vec<String> = layers
            .iter()
            .rev()
            .map(|p| p.display().to_string())
            .collect();
        let lower = if lower.len() == 1 {
            // overlayfs wants two lower dirs for a read-only mount.
            let empty = t.base.join(format!("empty-{}", random_hex(6)));
            fs::create_dir_all(&empty).unwrap();
            format!("{}:{}", lower[0], empty.display())
        } else {
            lower.join(":")
        };
        let st = Command::new("mount")
            .args([
                "-t",
                "overlay",
                "overlay",
                "-o",
                &format!("ro,lowerdir={lower}"),
            ])
            .arg(&mnt)
            .status()
            .unwrap();
        assert!(st.success(), "mounting the image view");
        ImageView {
            path: mnt,
            mounted: true,
        }
    }
}

impl Drop for ImageView {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.path).status();
        }
    }
}

/// `umoci unpack` of an OCI layout: the independent extractor's tree (removed on drop).
pub struct Umoci {
    pub dir: PathBuf,
}

impl Umoci {
    pub fn unpack(img: &oci::Image) -> Umoci {
        let dir = PathBuf::from(format!("/tmp/bocker-umoci-{}", random_hex(10)));
        oci::write_layout(&dir.join("layout"), "t", img);
        let o = Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:t", dir.join("layout").display()))
            .arg(dir.join("bundle"))
            .output()
            .expect("umoci (apt package umoci) must be installed");
        assert!(
            o.status.success(),
            "umoci unpack: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Umoci { dir }
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("bundle/rootfs")
    }
}

impl Drop for Umoci {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A directory of canary files outside every root, checked unchanged at the end.
pub struct Canary {
    pub dir: PathBuf,
}

impl Canary {
    pub fn new() -> Canary {
        let dir = PathBuf::from(format!("/tmp/bocker-canary-{}", random_hex(10)));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("secret"), b"canary").unwrap();
        Canary { dir }
    }

    /// Nothing was added, removed, changed or linked.
    pub fn assert_untouched(&self) {
        let names: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["secret".to_string()],
            "canary dir {} changed",
            self.dir.display()
        );
        let m = fs::symlink_metadata(self.dir.join("secret")).unwrap();
        assert!(m.is_file());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(m.nlink(), 1, "canary was hardlinked");
        assert_eq!(fs::read(self.dir.join("secret")).unwrap(), b"canary");
    }
}

impl Default for Canary {
    fn default() -> Self {
        Canary::new()
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Path relative to `/` (for building hostile entries aimed at a host path).
pub fn rel_to_root(p: &Path) -> String {
    p.strip_prefix("/").unwrap().display().to_string()
}
