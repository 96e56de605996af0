//! A layer's changes as an OCI layer tar (image-spec `layer.md`), entries sorted.
//!
//! Two sources. An **overlay** layer directory already is a diff, in overlayfs's format:
//! a 0/0 character device is a deletion (written as `.wh.<name>`) and a directory with
//! `trusted.overlay.opaque=y` replaced the one below (written as the directory, then
//! `<dir>/.wh..wh..opq`). A **btrfs** layer is a full tree, so its diff is computed
//! against its parent layer's tree: what is new or changed is written, what is gone
//! becomes a `.wh.` entry. Unchanged files of a snapshot keep their inode and ctime, so
//! the comparison reads file contents only when those differ and the metadata does not.
//! When both trees are read-only snapshots on one btrfs filesystem, the kernel's send
//! ioctl says where they differ ([`crate::btrfs_send`]) and the walk visits only those
//! paths and the directories above them: cost proportional to the change, output
//! byte-identical to the full walk (which remains the fall-back; `BOCKER_DIFF=walk`
//! forces it, `BOCKER_DEBUG=1` says on stderr when send was unavailable).
//!
//! Entries are visited in byte order of their names, parents first; a file with several
//! links is written once and then as hard links to its first path. Whiteouts carry no
//! host metadata (mode 0, owner 0, mtime 0), so the same change gives the same bytes.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::btrfs_send::{self, Changes, Reach, Unavailable};
use crate::tarball::{self, Kind, Meta};

/// OCI whiteout prefix and the opaque-directory marker (image-spec `layer.md`).
pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const OVERLAY_OPAQUE: &str = "trusted.overlay.opaque";

/// Where a layer's changes are read from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// An overlay layer directory (a diff with overlay whiteouts).
    Overlay(&'a Path),
    /// A full tree and the full tree of its parent layer (none for a base layer).
    Trees {
        parent: Option<&'a Path>,
        child: &'a Path,
    },
}

/// The mount points the runtime makes in a container's root (Docker keeps the same
/// paths in its "init" layer, below the container's diff, so `docker commit` never
/// records them): dropped from a layer made from a container when they are empty and
/// no layer below has them, so a commit holds only the container's own changes.
pub const RUNTIME_STUBS: &[&[u8]] = &[
    b".dockerenv",
    b"dev",
    b"etc/hostname",
    b"etc/hosts",
    b"etc/mtab",
    b"etc/resolv.conf",
    b"proc",
    b"sys",
];

/// Write the layer tar of `src` to `out` (uncompressed) and hand `out` back.
/// `below`: for a layer made from a container, the layer directories under it (their
/// paths decide which [`RUNTIME_STUBS`] are the runtime's); `None` for a base layer.
///
/// Two btrfs snapshots are compared through the paths btrfs send names when it can
/// (see the module doc); the bytes are those of [`write_layer_walking`] either way.
pub fn write_layer<W: Write>(src: Source<'_>, out: W, below: Option<&[PathBuf]>) -> io::Result<W> {
    if let Source::Trees {
        parent: Some(parent),
        child,
    } = src
    {
        if let Some(changes) = send_changes(parent, child, below)? {
            let mut w = Walker::new(out, below, false);
            w.trees(Some(parent), child, b"", Scope::Within(&changes))?;
            return w.b.into_inner();
        }
    }
    write_layer_walking(src, out, below)
}

/// [`write_layer`] by walking both trees whole, whatever the filesystem (the reference
/// the send-based path must match byte for byte).
pub fn write_layer_walking<W: Write>(
    src: Source<'_>,
    out: W,
    below: Option<&[PathBuf]>,
) -> io::Result<W> {
    let mut w = Walker::new(out, below, false);
    match src {
        Source::Overlay(dir) => w.overlay(dir, b"")?,
        Source::Trees { parent, child } => w.trees(parent, child, b"", Scope::All)?,
    }
    w.b.into_inner()
}

/// A debug line on stderr when `BOCKER_DEBUG` is set (and not `0`).
fn debug(msg: &str) {
    if std::env::var_os("BOCKER_DEBUG").is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("bocker: debug: {msg}");
    }
}

/// Where `child` differs from `parent` per btrfs send, closed over hard links; `None`
/// when the walk must be whole (not btrfs snapshots, send unavailable, `BOCKER_DIFF=walk`).
///
/// The stream names a changed inode by one of its names only, but the walk writes every
/// name of it: so a dry pass of the restricted walk collects the multiply-linked
/// entries it would write, their other names (`BTRFS_IOC_INO_PATHS`) join the set, and
/// that repeats until no name is new (one pass when no hard-linked file changed).
fn send_changes(
    parent: &Path,
    child: &Path,
    below: Option<&[PathBuf]>,
) -> io::Result<Option<Changes>> {
    if std::env::var_os("BOCKER_DIFF").is_some_and(|v| v == "walk") {
        return Ok(None);
    }
    let unavailable = |e: Unavailable| {
        if !matches!(e, Unavailable::NotSubvolumes) {
            debug(&format!(
                "btrfs send unavailable for {} ({e}): walking both trees whole",
                child.display()
            ));
        }
        None
    };
    let mut changes = match btrfs_send::changes(parent, child) {
        Ok(c) => c,
        Err(e) => return Ok(unavailable(e)),
    };
    let mut asked = HashSet::new();
    loop {
        let mut dry = Walker::new(io::sink(), below, true);
        dry.trees(Some(parent), child, b"", Scope::Within(&changes))?;
        let mut grew = false;
        for ino in dry.multi_linked {
            if !asked.insert(ino) {
                continue;
            }
            match btrfs_send::inode_paths(child, ino) {
                Ok(names) => {
                    for n in names {
                        grew |= changes.add_point(&n);
                    }
                }
                Err(e) => return Ok(unavailable(e)),
            }
        }
        if !grew {
            debug(&format!(
                "btrfs send: {} paths differ between {} and {}",
                changes.len(),
                parent.display(),
                child.display()
            ));
            return Ok(Some(changes));
        }
    }
}

/// How much of the trees below a directory the walk looks at.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Everything (today's walk; also below a renamed directory).
    All,
    /// Only the paths the change set reaches; other entries are known unchanged.
    Within(&'a Changes),
}

impl<'a> Scope<'a> {
    /// The scope for entry `rel` of a directory walked with `self`; `None`: skip it.
    fn enter(self, rel: &[u8]) -> Option<Scope<'a>> {
        match self {
            Scope::All => Some(Scope::All),
            Scope::Within(c) => match c.reach(rel) {
                Reach::None => None,
                Reach::Part => Some(self),
                Reach::All => Some(Scope::All),
            },
        }
    }
}

struct Walker<W: Write> {
    b: tar::Builder<W>,
    /// (dev, ino) of multiply-linked files already written -> their archive path.
    links: HashMap<(u64, u64), Vec<u8>>,
    below: Option<Vec<PathBuf>>,
    /// A dry pass writes nothing and collects `multi_linked` instead.
    dry: bool,
    /// Inodes of the non-directories with several names this walk writes.
    multi_linked: HashSet<u64>,
}

impl<W: Write> Walker<W> {
    fn new(out: W, below: Option<&[PathBuf]>, dry: bool) -> Walker<W> {
        Walker {
            b: tar::Builder::new(out),
            links: HashMap::new(),
            below: below.map(<[PathBuf]>::to_vec),
            dry,
            multi_linked: HashSet::new(),
        }
    }
}

fn join(rel: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = rel.to_vec();
    if !p.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// A directory's entries, sorted by their bytes.
fn names(dir: &Path) -> io::Result<Vec<Vec<u8>>> {
    let mut v = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().as_bytes().to_vec()))
        .collect::<io::Result<Vec<_>>>()?;
    v.sort();
    Ok(v)
}

fn child(dir: &Path, name: &[u8]) -> std::path::PathBuf {
    dir.join(std::ffi::OsStr::from_bytes(name))
}

/// The extended attributes a layer carries: file capabilities and `user.*` (never
/// overlay's private `trusted.*` or a host's `security.selinux` label).
fn xattrs(path: &Path, md: &Metadata) -> io::Result<Vec<(String, Vec<u8>)>> {
    if md.file_type().is_symlink() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for name in xattr::list(path)? {
        let Some(n) = name.to_str() else { continue };
        if n == "security.capability" || n.starts_with("user.") {
            if let Some(v) = xattr::get(path, n)? {
                out.push((n.to_string(), v));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn meta(path: &Path, md: &Metadata) -> io::Result<Meta> {
    Ok(Meta {
        mode: md.mode() & 0o7777,
        uid: md.uid().into(),
        gid: md.gid().into(),
        mtime: md.mtime(),
        xattrs: xattrs(path, md)?,
    })
}

fn is_overlay_whiteout(md: &Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

/// True when a btrfs snapshot's entry is the same as its parent's.
fn same(pp: &Path, p: &Metadata, cp: &Path, c: &Metadata) -> io::Result<bool> {
    if p.mode() != c.mode()
        || p.uid() != c.uid()
        || p.gid() != c.gid()
        || p.mtime() != c.mtime()
        || p.mtime_nsec() != c.mtime_nsec()
        || p.rdev() != c.rdev()
        || (!c.is_dir() && p.size() != c.size())
        || xattrs(pp, p)? != xattrs(cp, c)?
    {
        return Ok(false);
    }
    let ft = c.file_type();
    if ft.is_symlink() {
        return Ok(fs::read_link(pp)? == fs::read_link(cp)?);
    }
    if ft.is_file() {
        if p.ino() == c.ino() && p.ctime() == c.ctime() && p.ctime_nsec() == c.ctime_nsec() {
            return Ok(true);
        }
        return same_content(pp, cp);
    }
    Ok(true)
}

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 << 10], vec![0u8; 64 << 10]);
    loop {
        let n = read_full(&mut fa, &mut ba)?;
        let m = read_full(&mut fb, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl<W: Write> Walker<W> {
    /// True for an empty runtime mount point that no layer below has (see [`RUNTIME_STUBS`]).
    fn is_stub(&self, path: &Path, rel: &[u8], md: &Metadata) -> io::Result<bool> {
        let Some(below) = &self.below else {
            return Ok(false);
        };
        if !RUNTIME_STUBS.contains(&rel) {
            return Ok(false);
        }
        let empty = if md.is_dir() {
            fs::read_dir(path)?.next().is_none()
        } else {
            md.is_file() && md.size() == 0
        };
        let rel = std::ffi::OsStr::from_bytes(rel);
        Ok(empty
            && !below
                .iter()
                .any(|l| fs::symlink_metadata(l.join(rel)).is_ok()))
    }

    /// One entry for the file at `path` (already `lstat`ed as `md`).
    fn entry(&mut self, path: &Path, rel: &[u8], md: &Metadata) -> io::Result<()> {
        if self.dry {
            if !md.is_dir() && md.nlink() > 1 {
                self.multi_linked.insert(md.ino());
            }
            return Ok(());
        }
        let ft = md.file_type();
        let dev = md.rdev();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            let key = (md.dev(), md.ino());
            match self.links.get(&key) {
                Some(first) if md.nlink() > 1 => Kind::Link(first.clone()),
                _ => {
                    if md.nlink() > 1 {
                        self.links.insert(key, rel.to_vec());
                    }
                    Kind::File { size: md.size() }
                }
            }
        } else if ft.is_symlink() {
            Kind::Symlink(fs::read_link(path)?.as_os_str().as_bytes().to_vec())
        } else if ft.is_char_device() {
            Kind::Char {
                major: libc::major(dev),
                minor: libc::minor(dev),
            }
        } else if ft.is_block_device() {
            Kind::Block {
                major: libc::major(dev),
                minor: libc::minor(dev),
            }
        } else if ft.is_fifo() {
            Kind::Fifo
        } else {
            return Ok(()); // sockets are not carried by layers (Docker neither)
        };
        let m = meta(path, md)?;
        match kind {
            Kind::File { size } => {
                let mut f = File::open(path)?;
                if f.metadata()?.size() != size {
                    return Err(io::Error::other(format!(
                        "{} changed while being exported",
                        path.display()
                    )));
                }
                tarball::append(&mut self.b, rel, &kind, &m, Some(&mut f))
            }
            _ => tarball::append(&mut self.b, rel, &kind, &m, None),
        }
    }

    fn whiteout(&mut self, rel: &[u8]) -> io::Result<()> {
        if self.dry {
            return Ok(());
        }
        let m = Meta::default();
        tarball::append(&mut self.b, rel, &Kind::File { size: 0 }, &m, None)
    }

    fn overlay(&mut self, dir: &Path, rel: &[u8]) -> io::Result<()> {
        for name in names(dir)? {
            let path = child(dir, &name);
            let md = fs::symlink_metadata(&path)?;
            if is_overlay_whiteout(&md) {
                self.whiteout(&join(rel, &[WHITEOUT_PREFIX, &name].concat()))?;
                continue;
            }
            let r = join(rel, &name);
            if self.is_stub(&path, &r, &md)? {
                continue;
            }
            self.entry(&path, &r, &md)?;
            if md.is_dir() {
                if xattr::get(&path, OVERLAY_OPAQUE)?.as_deref() == Some(b"y") {
                    self.whiteout(&join(&r, OPAQUE_MARKER))?;
                }
                self.overlay(&path, &r)?;
            }
        }
        Ok(())
    }

    /// The diff of `dir` against `parent` (none: all of `dir` is new), looking only at
    /// what `scope` reaches.
    fn trees(
        &mut self,
        parent: Option<&Path>,
        dir: &Path,
        rel: &[u8],
        scope: Scope<'_>,
    ) -> io::Result<()> {
        let new = names(dir)?;
        let old = match parent {
            Some(p) => names(p)?,
            None => Vec::new(),
        };
        let (mut i, mut j) = (0, 0);
        while i < new.len() || j < old.len() {
            let order = match (new.get(i), old.get(j)) {
                (Some(a), Some(b)) => a.cmp(b),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Greater => {
                    // Gone in this layer.
                    self.whiteout(&join(rel, &[WHITEOUT_PREFIX, &old[j]].concat()))?;
                    j += 1;
                }
                std::cmp::Ordering::Less => {
                    let path = child(dir, &new[i]);
                    let md = fs::symlink_metadata(&path)?;
                    let r = join(rel, &new[i]);
                    i += 1;
                    if self.is_stub(&path, &r, &md)? {
                        continue;
                    }
                    self.entry(&path, &r, &md)?;
                    if md.is_dir() {
                        self.trees(None, &path, &r, Scope::All)?;
                    }
                }
                std::cmp::Ordering::Equal => {
                    let r = join(rel, &new[i]);
                    let Some(sub) = scope.enter(&r) else {
                        // Known unchanged, and so is everything below it.
                        i += 1;
                        j += 1;
                        continue;
                    };
                    let path = child(dir, &new[i]);
                    let md = fs::symlink_metadata(&path)?;
                    let ppath = child(parent.unwrap_or(dir), &old[j]);
                    let pmd = fs::symlink_metadata(&ppath)?;
                    let same_type = pmd.file_type() == md.file_type();
                    if !same_type || !same(&ppath, &pmd, &path, &md)? {
                        self.entry(&path, &r, &md)?;
                    }
                    if md.is_dir() {
                        let below = if pmd.is_dir() {
                            Some(ppath.as_path())
                        } else {
                            None
                        };
                        self.trees(below, &path, &r, sub)?;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn listing(tar: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                format!(
                    "{:?} {}",
                    e.header().entry_type(),
                    String::from_utf8_lossy(&e.path_bytes())
                )
            })
            .collect()
    }

    #[test]
    fn tree_diff_writes_changes_and_whiteouts_sorted() {
        let t = tempfile::tempdir().unwrap();
        let (p, c) = (t.path().join("p"), t.path().join("c"));
        for d in [&p, &c] {
            fs::create_dir_all(d.join("etc")).unwrap();
            fs::write(d.join("etc/keep"), "same").unwrap();
            fs::write(d.join("etc/edit"), "old").unwrap();
        }
        fs::write(p.join("gone"), "x").unwrap();
        fs::write(c.join("etc/edit"), "new!").unwrap();
        fs::create_dir(c.join("new")).unwrap();
        symlink("../etc/keep", c.join("new/link")).unwrap();
        // Same times everywhere but the edited file (the test does not rely on inodes).
        for d in [&p, &c] {
            for f in ["etc/keep", "etc", ""] {
                let path = d.join(f);
                let times = [libc::timespec {
                    tv_sec: 1000,
                    tv_nsec: 0,
                }; 2];
                let cpath = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
                // SAFETY: a valid NUL-terminated path and a two-element timespec array.
                let r =
                    unsafe { libc::utimensat(libc::AT_FDCWD, cpath.as_ptr(), times.as_ptr(), 0) };
                assert_eq!(r, 0);
            }
        }
        let out = write_layer(
            Source::Trees {
                parent: Some(&p),
                child: &c,
            },
            Vec::new(),
            None,
        )
        .unwrap();
        assert_eq!(
            listing(&out),
            [
                "Regular etc/edit",
                "Regular .wh.gone",
                "Directory new/",
                "Symlink new/link"
            ]
        );
        // Reproducible: a second export is byte-identical.
        let again = write_layer(
            Source::Trees {
                parent: Some(&p),
                child: &c,
            },
            Vec::new(),
            None,
        )
        .unwrap();
        assert_eq!(out, again);
    }

    /// Needs root (mknod, trusted.* xattrs), as the store does.
    #[test]
    fn overlay_whiteouts_and_opaque_dirs_become_oci_entries() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::create_dir_all(d.join("etc")).unwrap();
        fs::create_dir_all(d.join("var")).unwrap();
        fs::write(d.join("var/only"), "x").unwrap();
        xattr::set(d.join("var"), OVERLAY_OPAQUE, b"y").unwrap();
        xattr::set(d.join("var"), "trusted.overlay.origin", b"host-specific").unwrap();
        let wh = std::ffi::CString::new(d.join("etc/gone").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mknod(2) of a 0/0 character device.
        let r = unsafe { libc::mknod(wh.as_ptr(), libc::S_IFCHR, 0) };
        assert_eq!(r, 0, "mknod: {}", io::Error::last_os_error());
        fs::write(d.join("etc/hostname"), "").unwrap();
        fs::create_dir(d.join("proc")).unwrap();
        let below = [t.path().join("nothing-below")];
        let out = write_layer(Source::Overlay(d), Vec::new(), Some(&below)).unwrap();
        assert_eq!(
            listing(&out),
            [
                "Directory etc/",
                "Regular etc/.wh.gone",
                "Directory var/",
                "Regular var/.wh..wh..opq",
                "Regular var/only"
            ],
            "whiteouts translated, runtime stubs dropped"
        );
        let mut a = tar::Archive::new(&out[..]);
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            assert!(
                e.pax_extensions().unwrap().is_none(),
                "no overlay xattr carried"
            );
        }
    }

    #[test]
    fn a_base_tree_is_written_whole_with_hard_links() {
        let t = tempfile::tempdir().unwrap();
        let c = t.path();
        fs::create_dir(c.join("b")).unwrap();
        fs::write(c.join("b/one"), "x").unwrap();
        fs::hard_link(c.join("b/one"), c.join("b/two")).unwrap();
        let out = write_layer(
            Source::Trees {
                parent: None,
                child: c,
            },
            Vec::new(),
            None,
        )
        .unwrap();
        assert_eq!(
            listing(&out),
            ["Directory b/", "Regular b/one", "Link b/two"]
        );
    }
}
