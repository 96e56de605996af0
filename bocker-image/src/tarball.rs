//! Reproducible tar entries: the same file tree always gives the same bytes.
//!
//! ustar headers with empty user and group names, whole-second mtimes kept as the files
//! have them (Docker truncates to seconds too), no atime/ctime, device numbers only for
//! device nodes; a PAX extended header only when ustar cannot say it (a long path or link
//! target, an id beyond 7 octal digits, extended attributes as `SCHILY.xattr.*`).

use std::io::{self, Read, Write};

/// What a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File {
        size: u64,
    },
    Symlink(Vec<u8>),
    /// A hard link to an earlier entry of the same tar (its archive path).
    Link(Vec<u8>),
    Char {
        major: u32,
        minor: u32,
    },
    Block {
        major: u32,
        minor: u32,
    },
    Fifo,
}

/// The metadata an entry keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch (negative times are written as 0).
    pub mtime: i64,
    /// Extended attributes to carry (already filtered), sorted by name.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

const USTAR_ID_MAX: u64 = 0o7_777_777;

/// Append one entry. `path` is relative, without a leading `./` or `/`; directories get
/// a trailing `/` here. `data` must yield exactly `size` bytes for a file.
pub fn append<W: Write>(
    b: &mut tar::Builder<W>,
    path: &[u8],
    kind: &Kind,
    m: &Meta,
    data: Option<&mut dyn Read>,
) -> io::Result<()> {
    let mut name = path.to_vec();
    if *kind == Kind::Dir && !name.ends_with(b"/") {
        name.push(b'/');
    }
    let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
    let mut h = tar::Header::new_ustar();
    let name_str = std::str::from_utf8(&name).ok();
    let path_ok = name_str.is_some_and(|s| h.set_path(s).is_ok())
        && h.path_bytes().as_ref() == name.as_slice();
    if !path_ok {
        pax.push(("path".into(), name.clone()));
        let short: Vec<u8> = name.iter().rev().take(99).rev().copied().collect();
        h.as_ustar_mut()
            .map(|u| {
                u.name = [0; 100];
                u.name[..short.len()].copy_from_slice(&short);
                u.prefix = [0; 155];
            })
            .ok_or_else(|| io::Error::other("not a ustar header"))?;
    }
    h.set_mode(m.mode & 0o7777);
    if m.uid > USTAR_ID_MAX {
        pax.push(("uid".into(), m.uid.to_string().into_bytes()));
        h.set_uid(0);
    } else {
        h.set_uid(m.uid);
    }
    if m.gid > USTAR_ID_MAX {
        pax.push(("gid".into(), m.gid.to_string().into_bytes()));
        h.set_gid(0);
    } else {
        h.set_gid(m.gid);
    }
    h.set_mtime(m.mtime.max(0) as u64);
    let mut size = 0;
    match kind {
        Kind::Dir => h.set_entry_type(tar::EntryType::Directory),
        Kind::File { size: s } => {
            h.set_entry_type(tar::EntryType::Regular);
            size = *s;
        }
        Kind::Symlink(t) | Kind::Link(t) => {
            h.set_entry_type(if matches!(kind, Kind::Symlink(_)) {
                tar::EntryType::Symlink
            } else {
                tar::EntryType::Link
            });
            let ok = t.len() <= 100
                && std::str::from_utf8(t).is_ok_and(|s| h.set_link_name(s).is_ok())
                && h.link_name_bytes().as_deref() == Some(t.as_slice());
            if !ok {
                pax.push(("linkpath".into(), t.clone()));
                h.as_ustar_mut()
                    .map(|u| u.linkname = [0; 100])
                    .ok_or_else(|| io::Error::other("not a ustar header"))?;
            }
        }
        Kind::Char { major, minor } | Kind::Block { major, minor } => {
            h.set_entry_type(if matches!(kind, Kind::Char { .. }) {
                tar::EntryType::Char
            } else {
                tar::EntryType::Block
            });
            h.set_device_major(*major)?;
            h.set_device_minor(*minor)?;
        }
        Kind::Fifo => h.set_entry_type(tar::EntryType::Fifo),
    }
    h.set_size(size);
    for (k, v) in &m.xattrs {
        pax.push((format!("SCHILY.xattr.{k}"), v.clone()));
    }
    if !pax.is_empty() {
        pax.sort();
        b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))?;
    }
    h.set_cksum();
    match data {
        Some(r) => b.append(&h, r.take(size)),
        None => b.append(&h, io::empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(path: &[u8], kind: Kind, m: &Meta) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let data = b"hello";
        let mut r: &[u8] = data;
        let d: Option<&mut dyn Read> = match kind {
            Kind::File { .. } => Some(&mut r),
            _ => None,
        };
        append(&mut b, path, &kind, m, d).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn plain_entries_have_no_pax_and_no_names() {
        let m = Meta {
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            mtime: 1_600_000_000,
            xattrs: vec![],
        };
        let t = one(b"etc/hosts", Kind::File { size: 5 }, &m);
        assert_eq!(t.len(), 512 * 2 + 1024, "header + one data block + end");
        let mut a = tar::Archive::new(&t[..]);
        let mut e = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.header().entry_type(), tar::EntryType::Regular);
        assert_eq!(e.header().username_bytes(), Some(&b""[..]));
        assert_eq!(e.header().mtime().unwrap(), 1_600_000_000);
        assert!(e.pax_extensions().unwrap().is_none());
        // Same input, same bytes.
        assert_eq!(t, one(b"etc/hosts", Kind::File { size: 5 }, &m));
    }

    #[test]
    fn long_paths_big_ids_and_xattrs_go_to_pax() {
        let long = "d/".repeat(150) + "f";
        let m = Meta {
            mode: 0o755,
            uid: 1 << 30,
            gid: 0,
            mtime: 0,
            xattrs: vec![("security.capability".into(), vec![1, 2])],
        };
        let t = one(long.as_bytes(), Kind::File { size: 5 }, &m);
        let mut a = tar::Archive::new(&t[..]);
        let mut e = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.path_bytes().as_ref(), long.as_bytes());
        let keys: Vec<String> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|x| x.unwrap().key().unwrap().to_string())
            .collect();
        assert_eq!(keys, ["SCHILY.xattr.security.capability", "path", "uid"]);
    }
}
