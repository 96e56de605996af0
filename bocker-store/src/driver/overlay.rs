//! The overlay driver: each layer is a diff directory; a container is an overlay mount.

use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{staging_name, Durability, SnapshotDriver, StagedLayer, WhiteoutStyle};
use crate::error::{IoContext, Result, StoreError};
use crate::journal::Journal;

/// The overlayfs snapshot driver.
pub struct Overlay {
    layers: PathBuf,
}

impl Overlay {
    /// The driver for the store at `root`.
    pub fn new(root: &Path) -> Overlay {
        Overlay {
            layers: root.join("layers"),
        }
    }
}

/// Mounts an overlay at `target` with `lower` (top first), `upper` and `work`.
/// Uses paths relative to the layers directory when absolute ones would not fit in a page.
fn mount_overlay(
    layers_dir: &Path,
    lower: &[String],
    (upper, work): (&Path, &Path),
    target: &Path,
    durability: Durability,
) -> Result<()> {
    let abs: Vec<String> = lower
        .iter()
        .map(|k| layers_dir.join(k).display().to_string())
        .collect();
    let mut lowerdir = abs.join(":");
    let mut back_to = None;
    if lowerdir.len() > 3500 {
        // The mount data must fit in one page: resolve keys relative to the layers dir,
        // and give the process its working directory back afterwards.
        back_to = Some(std::env::current_dir().ctx("finding the working directory", layers_dir)?);
        std::env::set_current_dir(layers_dir).ctx("entering", layers_dir)?;
        lowerdir = lower.join(":");
    }
    let r = mount_overlay_data(&lowerdir, upper, work, target, durability);
    if let Some(cwd) = back_to {
        std::env::set_current_dir(&cwd).ctx("returning to", &cwd)?;
    }
    r
}

/// The mount itself, with `redirect_dir=off` and, for a volatile layer, `volatile`,
/// each dropped in turn when the kernel does not know it (EINVAL).
fn mount_overlay_data(
    lowerdir: &str,
    upper: &Path,
    work: &Path,
    target: &Path,
    durability: Durability,
) -> Result<()> {
    let base = format!(
        "lowerdir={lowerdir},upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    // redirect_dir=off keeps every upper dir a self-contained diff, so commit can copy it.
    let mut tries = vec![format!("{base},redirect_dir=off"), base];
    if durability == Durability::Volatile {
        // A volatile mount leaves `work/work/incompat/volatile` behind, and overlayfs
        // refuses to mount that work dir again until it is removed ("the user knows the
        // system has not crashed"). Only a `--rm` container is mounted volatile, and
        // one whose host crashed is removed by the next command's reclaim, never
        // mounted again: here it is the same boot, its own restart.
        let marker = work.join("work/incompat/volatile");
        crate::fsutil::remove_path(&marker)?;
        tries.insert(0, format!("{},volatile", tries[0]));
    }
    let mut last = nix::errno::Errno::EINVAL;
    for data in &tries {
        match mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(data.as_str()),
        ) {
            Ok(()) => return Ok(()),
            Err(nix::errno::Errno::EINVAL) => continue,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    Err(StoreError::io("mounting overlay at", target, last.into()))
}

/// Checks with a real test mount that overlayfs works with its upper dirs under `root`.
pub fn probe(root: &Path) -> Result<()> {
    let dir = root.join("tmp").join(format!(
        "probe-{}",
        &crate::id::random(crate::id::Kind::Image)[4..]
    ));
    let result = (|| -> Result<()> {
        for d in ["lower", "upper", "work", "merged"] {
            fs::create_dir_all(dir.join(d)).ctx("creating", &dir.join(d))?;
        }
        mount_overlay(
            &dir,
            &["lower".into()],
            (&dir.join("upper"), &dir.join("work")),
            &dir.join("merged"),
            Durability::Synced,
        )?;
        let _ = umount2(&dir.join("merged"), MntFlags::MNT_DETACH);
        Ok(())
    })();
    let _ = crate::fsutil::remove_path(&dir);
    result.map_err(|e| StoreError::DriverUnusable {
        driver: "overlay".into(),
        root: root.to_path_buf(),
        reason: e.to_string(),
    })
}

impl SnapshotDriver for Overlay {
    fn name(&self) -> &'static str {
        "overlay"
    }

    fn whiteout_style(&self) -> WhiteoutStyle {
        WhiteoutStyle::Overlay
    }

    fn layer_path(&self, key: &str) -> PathBuf {
        self.layers.join(key)
    }

    fn create_layer(&self, p: &mut Journal, _parent: Option<&str>) -> Result<StagedLayer> {
        let path = self.layers.join(staging_name());
        p.add(&path)?;
        fs::create_dir(&path).ctx("creating layer", &path)?;
        Ok(StagedLayer { path })
    }

    fn commit_layer(&self, staged: StagedLayer, key: &str) -> Result<()> {
        super::publish_layer(&staged.path, &self.layer_path(key), key)
    }

    fn create_container(&self, ctr_dir: &Path, layers: &[String]) -> Result<()> {
        super::check_layers(&self.layers, layers)?;
        for d in ["upper", "work", "rootfs"] {
            let p = ctr_dir.join(d);
            fs::create_dir(&p).ctx("creating", &p)?;
        }
        Ok(())
    }

    fn mount_container(&self, ctr_dir: &Path, layers: &[String], d: Durability) -> Result<()> {
        super::check_layers(&self.layers, layers)?;
        let lower: Vec<String> = layers.iter().rev().cloned().collect();
        if lower.is_empty() {
            // overlayfs needs a lower dir; an image without layers has an empty one.
            let empty = ctr_dir.join("empty");
            fs::create_dir_all(&empty).ctx("creating", &empty)?;
            return mount_overlay(
                ctr_dir,
                &["empty".into()],
                (&ctr_dir.join("upper"), &ctr_dir.join("work")),
                &super::rootfs_of(ctr_dir),
                d,
            );
        }
        mount_overlay(
            &self.layers,
            &lower,
            (&ctr_dir.join("upper"), &ctr_dir.join("work")),
            &super::rootfs_of(ctr_dir),
            d,
        )
    }

    fn remove_container(&self, ctr_dir: &Path) -> Result<()> {
        let _ = umount2(&super::rootfs_of(ctr_dir), MntFlags::MNT_DETACH);
        for d in ["rootfs", "upper", "work", "empty"] {
            crate::fsutil::remove_path(&ctr_dir.join(d))?;
        }
        Ok(())
    }

    /// A new diff layer copied from the container's upper dir (time proportional to the
    /// change, not the image), on top of `layers`.
    fn commit_container(
        &self,
        p: &mut Journal,
        ctr_dir: &Path,
        layers: &[String],
    ) -> Result<Vec<String>> {
        let staged = self.create_layer(p, None)?;
        // The upper dir is already a diff in overlay's own whiteout format: 0/0 char
        // devices for deletions, `trusted.overlay.opaque=y` on replaced directories. Both
        // mean the same when the copy becomes a lower layer; overlay's other private
        // xattrs (origin file handles, impure) describe this host's upper dir only.
        crate::import::copy_tree(&ctr_dir.join("upper"), &staged.path)?;
        super::whiteout::strip_private_xattrs(&staged.path)?;
        let key = super::local_layer_key();
        self.commit_layer(staged, &key)?;
        let mut out = layers.to_vec();
        out.push(key);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_key_cannot_escape_the_layers_dir() {
        let (_d, s) = crate::store::test_store();
        let mut p = s.begin().unwrap();
        for bad in ["../escaped", "a/b", "", ".", "..", ".tmp-x", "a:b", "a,b"] {
            let staged = s.driver().create_layer(&mut p, None).unwrap();
            assert!(s.driver().commit_layer(staged, bad).is_err(), "{bad:?}");
        }
        assert!(!s.root().join("escaped").exists());
        let staged = s.driver().create_layer(&mut p, None).unwrap();
        s.driver().commit_layer(staged, "local-0123abcd").unwrap();
        assert!(s.driver().layer_exists("local-0123abcd"));
        p.finish().unwrap();
    }

    #[test]
    fn mounting_many_layers_leaves_the_working_directory_alone() {
        let (_d, s) = crate::store::test_store();
        let before = std::env::current_dir().unwrap();
        let keys: Vec<String> = (0..30).map(|i| format!("{i:0>100}")).collect();
        for k in &keys {
            fs::create_dir(s.driver().layer_path(k)).unwrap();
            fs::write(s.driver().layer_path(k).join(format!("f{}", k.len())), k).unwrap();
        }
        let ctr = s.root().join("containers/ps_0123456789ab");
        fs::create_dir_all(&ctr).unwrap();
        s.driver().create_container(&ctr, &keys).unwrap();
        s.driver()
            .mount_container(&ctr, &keys, Durability::Synced)
            .unwrap();
        let mounted = ctr.join("rootfs/f100").exists();
        s.driver().remove_container(&ctr).unwrap();
        assert!(mounted, "the layers are not visible in the container");
        assert_eq!(std::env::current_dir().unwrap(), before);
    }

    #[test]
    fn a_container_cannot_be_made_from_layers_that_are_gone() {
        let (_d, s) = crate::store::test_store();
        let ctr = s.root().join("containers/ps_0123456789ab");
        fs::create_dir_all(&ctr).unwrap();
        let err = s
            .driver()
            .create_container(&ctr, &["local-gone".to_string()])
            .unwrap_err();
        assert!(err.to_string().contains("local-gone"), "{err}");
    }
}
