//! Overlay diffs only: a hardlink whose target is in a lower layer cannot be a hardlink
//! (layers are separate directories), so the target is copied up into this layer, as
//! overlayfs itself would on a write. Later links to the same target link to that copy.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::entry::link_fd;
use super::meta::{self, Meta};
use bocker_sys::sys;

use super::root::{cstr, readlinkat, remove_all_at, RelPath, Root};
use super::ExtractError;

enum Lookup {
    Found(OwnedFd),
    Hidden,
    Missing { opaque: bool },
}

/// Where `target` is seen through one lower diff: present, whited out, or absent.
fn lookup(lower: &Root, target: &RelPath) -> io::Result<Lookup> {
    let mut opaque = false;
    for depth in 1..=target.0.len() {
        let prefix = RelPath(target.0[..depth].to_vec());
        let fd = match lower.open_in(&prefix, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
                return Ok(Lookup::Missing { opaque })
            }
            Err(e) => return Err(e),
        };
        let st = fstat(&fd)?;
        let fmt = st.st_mode & libc::S_IFMT;
        if fmt == libc::S_IFCHR && st.st_rdev == 0 {
            return Ok(Lookup::Hidden);
        }
        if depth == target.0.len() {
            return Ok(Lookup::Found(fd));
        }
        if fmt != libc::S_IFDIR {
            return Ok(Lookup::Hidden);
        }
        if is_opaque(lower, &prefix)? {
            opaque = true;
        }
    }
    Ok(Lookup::Missing { opaque })
}

fn is_opaque(root: &Root, dir: &RelPath) -> io::Result<bool> {
    let fd = root.open_in(dir, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW)?;
    let mut v = [0u8; 2];
    let n = sys::fgetxattr(fd.as_raw_fd(), c"trusted.overlay.opaque", &mut v).unwrap_or(0);
    Ok(n == 1 && v[0] == b'y')
}

fn fstat(fd: &OwnedFd) -> io::Result<libc::stat> {
    sys::fstat(fd.as_raw_fd())
}

/// Copy each deferred link's target from the nearest lower diff that has it into `upper`.
pub fn resolve_lower_links(
    upper: &Root,
    links: &[(RelPath, RelPath)],
    lowers: &[PathBuf],
) -> Result<(), ExtractError> {
    let lower_roots: Vec<Root> = lowers
        .iter()
        .map(|p| {
            Root::open(p).map_err(|e| ExtractError::Entry {
                path: p.display().to_string(),
                source: e,
            })
        })
        .collect::<Result<_, _>>()?;
    let mut copied: HashMap<&RelPath, &RelPath> = HashMap::new();
    for (link, target) in links {
        let r = match copied.get(target) {
            Some(first) => upper
                .open_in(first, libc::O_PATH | libc::O_NOFOLLOW)
                .and_then(|src| {
                    let (dir, name) = upper.parent_of(link)?;
                    remove_all_at(dir.as_raw_fd(), &name)?;
                    link_fd(&src, &dir, &name)
                }),
            None => copy_from_lowers(upper, link, target, &lower_roots),
        };
        r.map_err(|e| ExtractError::Entry {
            path: link.display(),
            source: e,
        })?;
        copied.entry(target).or_insert(link);
    }
    Ok(())
}

fn copy_from_lowers(
    upper: &Root,
    link: &RelPath,
    target: &RelPath,
    lowers: &[Root],
) -> io::Result<()> {
    for lower in lowers {
        match lookup(lower, target)? {
            Lookup::Found(src) => return copy_up(upper, link, lower, target, &src),
            Lookup::Hidden | Lookup::Missing { opaque: true } => break,
            Lookup::Missing { opaque: false } => {}
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("hardlink target '{}' not found", target.display()),
    ))
}

fn copy_up(
    upper: &Root,
    link: &RelPath,
    lower: &Root,
    target: &RelPath,
    src: &OwnedFd,
) -> io::Result<()> {
    let st = fstat(src)?;
    let m = Meta {
        uid: st.st_uid,
        gid: st.st_gid,
        mode: st.st_mode & 0o7777,
        mtime_sec: st.st_mtime,
        mtime_nsec: st.st_mtime_nsec,
        xattrs: Vec::new(),
    };
    let (dir, name) = upper.parent_of(link)?;
    remove_all_at(dir.as_raw_fd(), &name)?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => {
            let from = lower.open_in(target, libc::O_RDONLY | libc::O_NOFOLLOW)?;
            // A fresh file under a plain name, never following links.
            let fd = sys::openat(
                dir.as_raw_fd(),
                &name,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                0o600,
            )?;
            let mut to = File::from(fd);
            io::copy(&mut File::from(from), &mut to)?;
            meta::apply_fd(&OwnedFd::from(to), &m, true)
        }
        libc::S_IFLNK => {
            let parent = lower.open_in(&target.parent(), libc::O_PATH | libc::O_DIRECTORY)?;
            let t = readlinkat(&parent, target.file_name().unwrap_or_default())?;
            let t = cstr(t.as_bytes())?;
            sys::symlinkat(&t, dir.as_raw_fd(), &name)?;
            meta::apply_nofollow(dir.as_raw_fd(), &name, &m)
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "hardlink to a directory or special file",
        )),
    }
}
