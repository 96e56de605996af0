//! File-by-file comparison of two extracted trees: type, mode, owner, size, content
//! hash, link target, mtime, and which paths share an inode (hardlink identity).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub hash: String,
    pub link: String,
    pub mtime: i64,
}

pub struct Tree {
    pub nodes: BTreeMap<String, Node>,
    /// Groups of paths sharing one inode (only groups of two or more).
    pub links: BTreeSet<Vec<String>>,
}

fn hash_file(p: &Path) -> String {
    let mut f = fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

pub fn scan(root: &Path) -> Tree {
    let mut nodes = BTreeMap::new();
    let mut inodes: HashMap<(u64, u64), Vec<String>> = HashMap::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let full = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        for e in fs::read_dir(&full).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let m = fs::symlink_metadata(root.join(&r)).unwrap();
            let ft = m.file_type();
            let kind = if ft.is_dir() {
                'd'
            } else if ft.is_symlink() {
                'l'
            } else if ft.is_file() {
                'f'
            } else if ft.is_fifo() {
                'p'
            } else if ft.is_char_device() {
                'c'
            } else {
                'b'
            };
            let node = Node {
                kind,
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                size: if kind == 'f' { m.size() } else { 0 },
                hash: if kind == 'f' {
                    hash_file(&root.join(&r))
                } else {
                    String::new()
                },
                link: if kind == 'l' {
                    fs::read_link(root.join(&r)).unwrap().display().to_string()
                } else {
                    String::new()
                },
                mtime: if kind == 'd' { 0 } else { m.mtime() },
            };
            if kind != 'd' && m.nlink() > 1 {
                inodes
                    .entry((m.dev(), m.ino()))
                    .or_default()
                    .push(r.clone());
            }
            if kind == 'd' {
                stack.push(r.clone());
            }
            nodes.insert(r, node);
        }
    }
    let links = inodes
        .into_values()
        .filter(|v| v.len() > 1)
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    Tree { nodes, links }
}

/// Assert both trees are the same; hardlink groups are compared unless `links` is false
/// (an overlay diff cannot keep a hardlink into a lower layer: it holds a copy).
pub fn assert_same(ours: &Path, reference: &Path, links: bool) {
    let a = scan(ours);
    let b = scan(reference);
    assert!(
        b.nodes.len() > 10,
        "the reference tree at {} is nearly empty",
        reference.display()
    );
    let mut diffs = Vec::new();
    for (p, n) in &b.nodes {
        match a.nodes.get(p) {
            None => diffs.push(format!("missing in ours: {p} {n:?}")),
            Some(m) if m != n => diffs.push(format!("differs: {p}\n  ours: {m:?}\n  ref:  {n:?}")),
            _ => {}
        }
    }
    for p in a.nodes.keys() {
        if !b.nodes.contains_key(p) {
            diffs.push(format!("extra in ours: {p} {:?}", a.nodes[p]));
        }
    }
    if links && a.links != b.links {
        diffs.push(format!(
            "hardlink groups differ:\n  ours: {:?}\n  ref:  {:?}",
            a.links, b.links
        ));
    }
    assert!(
        diffs.is_empty(),
        "trees differ ({} vs {}):\n{}",
        ours.display(),
        reference.display(),
        diffs.join("\n")
    );
}
