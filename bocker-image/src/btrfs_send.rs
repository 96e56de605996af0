//! Where two btrfs snapshots differ, from btrfs itself: the kernel's send ioctl.
//!
//! `BTRFS_IOC_SEND` with a parent snapshot compares the two subvolume trees, skipping the
//! subtrees they share, and emits the path operations that turn the parent into the
//! child (mkfile, rename, unlink, update_extent, utimes, set_xattr, …). With
//! `BTRFS_SEND_FLAG_NO_FILE_DATA` it sends no file contents, so the stream is
//! proportional to the change, not to the image. We keep only the paths it names
//! ([`Changes`]); the layer itself is still written by `diff`'s walk, restricted to those
//! paths, so it is byte-for-byte the layer a full walk writes.
//!
//! Stream format (kernel `fs/btrfs/send.h`, btrfs-progs' send-stream docs), protocol v1:
//! the header `btrfs-stream\0` + le32 version, then commands, each a header (le32 length
//! of its attributes, le16 command, le32 crc32c) and attributes as TLVs (le16 type, le16
//! length, value). The stream comes from the kernel through a memfd we created; it is
//! still parsed with every length checked.
//!
//! Paths in the stream name the tree *as it is while being rebuilt*: an entry may be
//! named through a directory that is renamed later, or under a temporary
//! `o<ino>-<gen>-<n>` name. What the walk must see (docs/COMMIT.md, "btrfs: the change
//! set from btrfs send"): both ends of a rename mark a whole subtree (its contents moved
//! without being named); every other path marks one entry and the directories above it.

use std::collections::HashSet;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const BTRFS_IOCTL_MAGIC: u32 = 0x94;
const SEND_FLAG_NO_FILE_DATA: u64 = 0x1;

/// `struct btrfs_ioctl_send_args` (linux/btrfs.h): 72 bytes.
#[repr(C)]
struct SendArgs {
    send_fd: i64,
    clone_sources_count: u64,
    clone_sources: *mut u64,
    parent_root: u64,
    flags: u64,
    version: u32,
    reserved: [u8; 28],
}

/// `struct btrfs_ioctl_ino_lookup_args`: 4096 bytes.
#[repr(C)]
struct InoLookupArgs {
    treeid: u64,
    objectid: u64,
    name: [u8; 4080],
}

/// `struct btrfs_ioctl_fs_info_args`: 1024 bytes; only `fsid` is read.
#[repr(C)]
struct FsInfoArgs {
    max_id: u64,
    num_devices: u64,
    fsid: [u8; 16],
    rest: [u8; 992],
}

/// `struct btrfs_ioctl_ino_path_args`: 56 bytes.
#[repr(C)]
struct InoPathArgs {
    inum: u64,
    size: u64,
    reserved: [u64; 4],
    fspath: u64,
}

// The request numbers (linux/btrfs.h), encoded by libc's `_IOC` helpers.
const IOC_INO_LOOKUP: libc::Ioctl = libc::_IOWR::<InoLookupArgs>(BTRFS_IOCTL_MAGIC, 18);
const IOC_FS_INFO: libc::Ioctl = libc::_IOR::<FsInfoArgs>(BTRFS_IOCTL_MAGIC, 31);
const IOC_INO_PATHS: libc::Ioctl = libc::_IOWR::<InoPathArgs>(BTRFS_IOCTL_MAGIC, 35);
const IOC_SEND: libc::Ioctl = libc::_IOW::<SendArgs>(BTRFS_IOCTL_MAGIC, 38);

// Send stream commands and attributes (send.h, protocol v1).
const CMD_SUBVOL: u16 = 1;
const CMD_SNAPSHOT: u16 = 2;
const CMD_SYMLINK: u16 = 8;
const CMD_RENAME: u16 = 9;
const CMD_LINK: u16 = 10;
const CMD_END: u16 = 21;
const ATTR_PATH: u16 = 15;
const ATTR_PATH_TO: u16 = 16;
const ATTR_PATH_LINK: u16 = 17;
const STREAM_MAGIC: &[u8] = b"btrfs-stream\0";

/// How much of a tree the walk must look at (see [`Changes::reach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Nothing at or below this path changed.
    None,
    /// This entry may differ, or something below it did: compare it, and visit only the
    /// children that [`Changes::reach`] names.
    Part,
    /// Anything at or below this path may differ: walk it whole.
    All,
}

/// The paths (relative to the subvolume root, `/`-separated, no leading `/`; the root
/// itself is the empty path) where two snapshots may differ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    points: HashSet<Vec<u8>>,
    subtrees: HashSet<Vec<u8>>,
    ancestors: HashSet<Vec<u8>>,
}

impl Changes {
    /// `path`'s own entry may differ (a directory's contents only where named too).
    /// True when `path` was not named yet.
    pub fn add_point(&mut self, path: &[u8]) -> bool {
        let p = clean(path);
        self.add_ancestors(&p);
        self.points.insert(p)
    }

    /// Anything at or below `path` may differ.
    pub fn add_subtree(&mut self, path: &[u8]) {
        let p = clean(path);
        self.add_ancestors(&p);
        self.subtrees.insert(p);
    }

    fn add_ancestors(&mut self, p: &[u8]) {
        let mut end = p.len();
        while let Some(i) = p[..end].iter().rposition(|&b| b == b'/') {
            if !self.ancestors.insert(p[..i].to_vec()) {
                return; // its own ancestors are there already
            }
            end = i;
        }
        if !p.is_empty() {
            self.ancestors.insert(Vec::new());
        }
    }

    /// How many paths are named (entries and subtrees).
    pub fn len(&self) -> usize {
        self.points.len() + self.subtrees.len()
    }

    /// True when the two snapshots are the same.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How much of `path` the walk must see, for a path whose parent directory has
    /// [`Reach::Part`] (a subtree above it would have made the walk whole already).
    pub fn reach(&self, path: &[u8]) -> Reach {
        if self.subtrees.contains(path) {
            Reach::All
        } else if self.points.contains(path) || self.ancestors.contains(path) {
            Reach::Part
        } else {
            Reach::None
        }
    }
}

fn clean(path: &[u8]) -> Vec<u8> {
    let mut p = path;
    while let Some(rest) = p.strip_prefix(b"/") {
        p = rest;
    }
    while let Some(rest) = p.strip_suffix(b"/") {
        p = rest;
    }
    p.to_vec()
}

/// Why the send ioctl gave no change set (the caller walks both trees instead).
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// Not two btrfs subvolume roots of one filesystem: walking is the method, not a
    /// fall-back.
    #[error("not two subvolumes of one btrfs filesystem")]
    NotSubvolumes,
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: io::Error,
    },
    #[error("malformed send stream: {0}")]
    Stream(String),
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> Unavailable {
    move |source| Unavailable::Io { what, source }
}

/// The paths where the read-only snapshot `child` may differ from the read-only
/// snapshot `parent` (both subvolume roots on one btrfs filesystem), from one
/// `BTRFS_IOC_SEND` without file data. Cost: the kernel's comparison of the two trees,
/// proportional to the metadata that differs. Needs `CAP_SYS_ADMIN`.
///
/// Errors ([`Unavailable`]): either is not a subvolume root, they are on different
/// filesystems, either is writable (the kernel refuses: `EPERM`/`EINVAL`), or the
/// ioctl fails otherwise (no btrfs send in this kernel, a dedupe running, …).
pub fn changes(parent: &Path, child: &Path) -> Result<Changes, Unavailable> {
    let p = File::open(parent).map_err(io_err("opening the parent snapshot"))?;
    let c = File::open(child).map_err(io_err("opening the child snapshot"))?;
    if !is_subvolume_root(&p)? || !is_subvolume_root(&c)? || fsid(&p)? != fsid(&c)? {
        return Err(Unavailable::NotSubvolumes);
    }
    let parent_root = root_id(&p)?;
    let stream = send(&c, parent_root)?;
    parse(&stream)
}

fn is_subvolume_root(f: &File) -> Result<bool, Unavailable> {
    let md = f.metadata().map_err(io_err("reading a snapshot"))?;
    // SAFETY: an all-zero statfs is a valid value for the kernel to overwrite.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `f` is open and `st` is a statfs the call fills.
    if unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) } != 0 {
        return Err(io_err("statfs")(io::Error::last_os_error()));
    }
    #[allow(clippy::unnecessary_cast)] // f_type is i64 or u32 depending on the target
    let btrfs = st.f_type as i64 == bocker_store::fsutil::BTRFS_MAGIC;
    Ok(btrfs && md.is_dir() && md.ino() == bocker_store::fsutil::BTRFS_FIRST_FREE_OBJECTID)
}

fn fsid(f: &File) -> Result<[u8; 16], Unavailable> {
    let mut a = FsInfoArgs {
        max_id: 0,
        num_devices: 0,
        fsid: [0; 16],
        rest: [0; 992],
    };
    // SAFETY: `a` is a properly sized btrfs_ioctl_fs_info_args (flags 0: no extra
    // fields asked); `f` is open.
    if unsafe { libc::ioctl(f.as_raw_fd(), IOC_FS_INFO, &mut a) } != 0 {
        return Err(io_err("BTRFS_IOC_FS_INFO")(io::Error::last_os_error()));
    }
    Ok(a.fsid)
}

/// The subvolume (tree) id of the subvolume root `f`.
fn root_id(f: &File) -> Result<u64, Unavailable> {
    let mut a = InoLookupArgs {
        treeid: 0,
        objectid: bocker_store::fsutil::BTRFS_FIRST_FREE_OBJECTID,
        name: [0; 4080],
    };
    // SAFETY: `a` is a properly sized btrfs_ioctl_ino_lookup_args; treeid 0 asks for the
    // tree of `f` itself.
    if unsafe { libc::ioctl(f.as_raw_fd(), IOC_INO_LOOKUP, &mut a) } != 0 {
        return Err(io_err("BTRFS_IOC_INO_LOOKUP")(io::Error::last_os_error()));
    }
    Ok(a.treeid)
}

/// The send stream of `child` against the subvolume `parent_root`, without file data.
fn send(child: &File, parent_root: u64) -> Result<Vec<u8>, Unavailable> {
    let name = CString::new("bocker-send").expect("no NUL in a literal");
    // SAFETY: a valid C string; the returned fd (if any) is ours alone.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io_err("memfd_create")(io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just created and is owned by nobody else.
    let mut out = unsafe { File::from_raw_fd(fd) };
    let mut a = SendArgs {
        send_fd: i64::from(out.as_raw_fd()),
        clone_sources_count: 0,
        clone_sources: std::ptr::null_mut(),
        parent_root,
        flags: SEND_FLAG_NO_FILE_DATA,
        version: 0,
        reserved: [0; 28],
    };
    // SAFETY: `a` is a properly sized btrfs_ioctl_send_args with no clone sources; the
    // kernel writes the stream to `send_fd`, which stays open during the call.
    if unsafe { libc::ioctl(child.as_raw_fd(), IOC_SEND, &mut a) } != 0 {
        return Err(io_err("BTRFS_IOC_SEND")(io::Error::last_os_error()));
    }
    let mut stream = Vec::new();
    out.seek(SeekFrom::Start(0))
        .and_then(|_| out.read_to_end(&mut stream))
        .map_err(io_err("reading the send stream"))?;
    Ok(stream)
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The change set a v1 send stream describes (see the module doc for what marks what).
pub fn parse(stream: &[u8]) -> Result<Changes, Unavailable> {
    let bad = |what: &str| Unavailable::Stream(what.to_string());
    let body = stream
        .strip_prefix(STREAM_MAGIC)
        .ok_or_else(|| bad("no btrfs-stream header"))?;
    match le32(body, 0) {
        Some(1) => {}
        Some(v) => return Err(Unavailable::Stream(format!("protocol version {v}"))),
        None => return Err(bad("truncated header")),
    }
    let mut changes = Changes::default();
    let mut at = 4;
    let mut ended = false;
    while at < body.len() {
        let len = le32(body, at).ok_or_else(|| bad("truncated command"))? as usize;
        let cmd = le16(body, at + 4).ok_or_else(|| bad("truncated command"))?;
        let start = at + 10;
        let attrs = body
            .get(start..start + len)
            .ok_or_else(|| bad("command longer than the stream"))?;
        at = start + len;
        match cmd {
            CMD_END => {
                ended = true;
                break;
            }
            // The snapshot's own name, not a path inside it.
            CMD_SUBVOL | CMD_SNAPSHOT => continue,
            _ => {}
        }
        let mut t = 0;
        while t < attrs.len() {
            let ty = le16(attrs, t).ok_or_else(|| bad("truncated attribute"))?;
            let n = le16(attrs, t + 2).ok_or_else(|| bad("truncated attribute"))? as usize;
            let v = attrs
                .get(t + 4..t + 4 + n)
                .ok_or_else(|| bad("attribute longer than its command"))?;
            t += 4 + n;
            match (cmd, ty) {
                (CMD_RENAME, ATTR_PATH | ATTR_PATH_TO) => changes.add_subtree(v),
                // A symlink's PATH_LINK is its target, no path of the tree.
                (CMD_SYMLINK, ATTR_PATH_LINK) => {}
                // A new hard link's existing name.
                (_, ATTR_PATH) | (CMD_LINK, ATTR_PATH_LINK) => {
                    changes.add_point(v);
                }
                _ => {}
            }
        }
    }
    if !ended {
        return Err(bad("no end command"));
    }
    Ok(changes)
}

/// Every path (relative to the subvolume root of `child`) of inode `ino` in it; empty
/// when the inode is not there. `BTRFS_IOC_INO_PATHS`; needs `CAP_SYS_ADMIN`.
pub fn inode_paths(child: &Path, ino: u64) -> Result<Vec<Vec<u8>>, Unavailable> {
    let f = File::open(child).map_err(io_err("opening the child snapshot"))?;
    const SIZE: usize = 64 << 10;
    // u64 elements: the kernel's btrfs_data_container holds u64s.
    let mut buf = vec![0u64; SIZE / 8];
    let mut a = InoPathArgs {
        inum: ino,
        size: SIZE as u64,
        reserved: [0; 4],
        fspath: buf.as_mut_ptr() as u64,
    };
    // SAFETY: `a` is a properly sized btrfs_ioctl_ino_path_args whose `fspath` points to
    // `SIZE` writable bytes that outlive the call.
    if unsafe { libc::ioctl(f.as_raw_fd(), IOC_INO_PATHS, &mut a) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(Vec::new());
        }
        return Err(io_err("BTRFS_IOC_INO_PATHS")(e));
    }
    // SAFETY: reinterpreting the u64 buffer as bytes (alignment 1, same length).
    let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), SIZE) };
    let cnt = le32(bytes, 8).unwrap_or(0) as usize;
    let missed = le32(bytes, 12).unwrap_or(0);
    if missed > 0 {
        return Err(Unavailable::Stream(format!(
            "inode {ino} has more names than fit in {SIZE} bytes"
        )));
    }
    let vals = 16;
    let mut out = Vec::with_capacity(cnt);
    for i in 0..cnt {
        let off = buf.get(2 + i).copied().unwrap_or(u64::MAX) as usize;
        let s = bytes
            .get(vals + off..)
            .ok_or_else(|| Unavailable::Stream("inode path out of bounds".into()))?;
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        out.push(clean(&s[..end]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_argument_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<SendArgs>(), 72);
        assert_eq!(std::mem::size_of::<InoLookupArgs>(), 4096);
        assert_eq!(std::mem::size_of::<FsInfoArgs>(), 1024);
        assert_eq!(std::mem::size_of::<InoPathArgs>(), 56);
        // linux/btrfs.h on x86-64: BTRFS_IOC_SEND = 0x40489426.
        assert_eq!(IOC_SEND, 0x4048_9426);
    }

    fn cmd(out: &mut Vec<u8>, c: u16, attrs: &[(u16, &[u8])]) {
        let mut body = Vec::new();
        for (t, v) in attrs {
            body.extend_from_slice(&t.to_le_bytes());
            body.extend_from_slice(&(v.len() as u16).to_le_bytes());
            body.extend_from_slice(v);
        }
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&c.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&body);
    }

    type Attrs<'a> = &'a [(u16, &'a [u8])];

    fn stream(cmds: &[(u16, Attrs<'_>)]) -> Vec<u8> {
        let mut s = STREAM_MAGIC.to_vec();
        s.extend_from_slice(&1u32.to_le_bytes());
        for (c, a) in cmds {
            cmd(&mut s, *c, a);
        }
        cmd(&mut s, CMD_END, &[]);
        s
    }

    #[test]
    fn renames_mark_subtrees_other_paths_mark_entries_and_their_parents() {
        let s = stream(&[
            (CMD_SNAPSHOT, &[(ATTR_PATH, b"snapname")]),
            (CMD_RENAME, &[(ATTR_PATH, b"d"), (ATTR_PATH_TO, b"e")]),
            (
                CMD_LINK,
                &[(ATTR_PATH, b"etc/l"), (ATTR_PATH_LINK, b"etc/motd")],
            ),
            (
                CMD_SYMLINK,
                &[(ATTR_PATH, b"bin/sh"), (ATTR_PATH_LINK, b"/x/y")],
            ),
            (22, &[(ATTR_PATH, b"usr/share/doc/f")]),
            (20, &[(ATTR_PATH, b"")]),
        ]);
        let c = parse(&s).unwrap();
        assert_eq!(c.reach(b"d"), Reach::All);
        assert_eq!(c.reach(b"e"), Reach::All);
        assert_eq!(c.reach(b"etc"), Reach::Part);
        assert_eq!(c.reach(b"etc/motd"), Reach::Part);
        assert_eq!(c.reach(b"etc/l"), Reach::Part);
        assert_eq!(c.reach(b"etc/passwd"), Reach::None);
        assert_eq!(c.reach(b"usr"), Reach::Part);
        assert_eq!(c.reach(b"usr/share/doc"), Reach::Part);
        assert_eq!(c.reach(b"usr/lib"), Reach::None);
        assert_eq!(c.reach(b"x"), Reach::None, "a symlink's target is no path");
        assert_eq!(c.reach(b"snapname"), Reach::None, "the snapshot's own name");
    }

    #[test]
    fn a_stream_without_its_end_or_with_bad_lengths_is_refused() {
        let mut s = stream(&[(20, &[(ATTR_PATH, b"etc")])]);
        s.truncate(s.len() - 10); // drop the end command
        assert!(parse(&s).is_err());
        let mut s = stream(&[(20, &[(ATTR_PATH, b"etc")])]);
        s[17] = 0xff; // first command's length far beyond the stream
        assert!(parse(&s).is_err());
        assert!(parse(b"not-a-stream").is_err());
    }
}
