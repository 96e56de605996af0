//! GNU sparse files in layers, written back with their holes.
//!
//! GNU tar stores a sparse file in one of four ways (GNU tar manual, "Storing Sparse
//! Files"): the old GNU `S` entry (the `tar` crate expands it, zeros for holes), and
//! three PAX forms whose header names a stand-in `…/GNUSparseFile.NNN/name`:
//! - 0.0: records `GNU.sparse.size`, `GNU.sparse.numblocks`, then repeated
//!   `GNU.sparse.offset` / `GNU.sparse.numbytes` pairs;
//! - 0.1: `GNU.sparse.size` and `GNU.sparse.map` = `offset,numbytes,…`;
//! - 1.0: `GNU.sparse.major=1`, `GNU.sparse.minor=0`, `GNU.sparse.realsize`, and the
//!   map at the start of the data: decimal lines (count, then offset/numbytes pairs),
//!   padded to a 512-byte block.
//!
//! The real name is `GNU.sparse.name` (or the stand-in without its `GNUSparseFile.NNN`
//! directory). Data segments are written at their offsets and the file is truncated to
//! its real size, so the gaps are holes. Maps are hostile input: sorted, disjoint, inside
//! the real size, and no more data than the entry holds, else the layer is refused (as
//! Go's archive/tar, Docker's parser, refuses them).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

/// How a regular file's bytes map to its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// PAX sparse: `(offset, length)` segments of a file of `size` bytes; the entry's
    /// data is the segments back to back (after the map, for format 1.0).
    Map {
        size: u64,
        segments: Vec<(u64, u64)>,
        map_in_data: bool,
    },
    /// Old GNU `S`: the reader yields the whole file with zeros in the holes, so runs of
    /// zero blocks are skipped to make holes again.
    Expanded,
}

/// A PAX sparse entry: its real name (if the headers give one) and layout.
pub struct PaxSparse {
    pub name: Option<Vec<u8>>,
    pub layout: Layout,
}

/// Most map entries accepted (GNU tar writes one per data run).
const MAX_SEGMENTS: usize = 1 << 20;
/// Longest decimal number in a 1.0 map line.
const MAX_DIGITS: usize = 20;

fn bad(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("invalid GNU sparse entry: {why}"),
    )
}

fn num(v: &[u8]) -> io::Result<u64> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| bad("not a number"))
}

/// Read the entry's PAX records for a GNU sparse file; `None` for any other entry.
pub fn detect<R: Read>(e: &mut tar::Entry<R>) -> io::Result<Option<PaxSparse>> {
    let Some(pax) = e.pax_extensions()? else {
        return Ok(None);
    };
    let (mut name, mut size, mut major, mut map01) = (None, None, None, None);
    let mut pairs: Vec<u64> = Vec::new();
    let mut any = false;
    for ext in pax {
        let ext = ext?;
        let Ok(key) = ext.key() else { continue };
        let Some(k) = key.strip_prefix("GNU.sparse.") else {
            continue;
        };
        any = true;
        let v = ext.value_bytes();
        match k {
            "name" => name = Some(v.to_vec()),
            "size" | "realsize" => size = Some(num(v)?),
            "major" => major = Some(num(v)?),
            "map" => map01 = Some(v.to_vec()),
            "offset" | "numbytes" => {
                if pairs.len() >= 2 * MAX_SEGMENTS {
                    return Err(bad("too many segments"));
                }
                pairs.push(num(v)?);
            }
            _ => {}
        }
    }
    if !any {
        return Ok(None);
    }
    let size = size.ok_or_else(|| bad("no real size"))?;
    let (segments, map_in_data) = match (major, map01) {
        (Some(1), _) => (Vec::new(), true),
        (_, Some(m)) => {
            let s = std::str::from_utf8(&m).map_err(|_| bad("map is not text"))?;
            let nums: Vec<u64> = s
                .split(',')
                .filter(|x| !x.is_empty())
                .take(2 * MAX_SEGMENTS + 1)
                .map(|x| num(x.as_bytes()))
                .collect::<io::Result<_>>()?;
            (pairs_of(&nums)?, false)
        }
        (Some(_), None) => return Err(bad("unknown format version")),
        (None, None) => (pairs_of(&pairs)?, false),
    };
    Ok(Some(PaxSparse {
        name,
        layout: Layout::Map {
            size,
            segments,
            map_in_data,
        },
    }))
}

fn pairs_of(nums: &[u64]) -> io::Result<Vec<(u64, u64)>> {
    if !nums.len().is_multiple_of(2) || nums.len() > 2 * MAX_SEGMENTS {
        return Err(bad("map has an odd or excessive number of values"));
    }
    Ok(nums.chunks(2).map(|c| (c[0], c[1])).collect())
}

/// The stand-in name `dir/GNUSparseFile.NNN/file` back to `dir/file`.
pub fn real_name(standin: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = standin.split(|&b| b == b'/').collect();
    if parts.len() >= 2 && parts[parts.len() - 2].starts_with(b"GNUSparseFile.") {
        let mut keep = parts[..parts.len() - 2].to_vec();
        keep.push(parts[parts.len() - 1]);
        return keep.join(&b'/');
    }
    standin.to_vec()
}

/// One decimal line of a 1.0 map; `used` counts the bytes consumed.
fn map_line<R: Read>(r: &mut R, used: &mut u64) -> io::Result<u64> {
    let mut digits = Vec::new();
    let mut b = [0u8; 1];
    loop {
        r.read_exact(&mut b).map_err(|_| bad("map cut short"))?;
        *used += 1;
        match b[0] {
            b'\n' => break,
            c if c.is_ascii_digit() && digits.len() < MAX_DIGITS => digits.push(c),
            _ => return Err(bad("map line is not a decimal number")),
        }
    }
    num(&digits)
}

/// Check the map: sorted, disjoint, inside `size`, and no more data than `data` bytes.
fn check(segments: &[(u64, u64)], size: u64, data: u64) -> io::Result<()> {
    let mut end = 0u64;
    let mut total = 0u64;
    for &(off, len) in segments {
        let stop = off
            .checked_add(len)
            .ok_or_else(|| bad("segment overflows"))?;
        if off < end || stop > size {
            return Err(bad(
                "segments overlap, are out of order or pass the real size",
            ));
        }
        end = stop;
        total = total
            .checked_add(len)
            .ok_or_else(|| bad("segment overflows"))?;
    }
    if total > data {
        return Err(bad("the map lists more data than the entry holds"));
    }
    Ok(())
}

/// Fill `f` from `data` (an entry of `stored` bytes) as `layout` says; the file ends
/// with its real size and holes where the map (or a run of zero blocks) has none.
pub fn write<R: Read>(
    f: &File,
    data: &mut R,
    stored: u64,
    layout: &Layout,
    buf: &mut [u8],
) -> io::Result<u64> {
    match layout {
        Layout::Expanded => write_expanded(f, data, buf),
        Layout::Map {
            size,
            segments,
            map_in_data,
        } => {
            let mut used = 0u64;
            let segments = if *map_in_data {
                let n = map_line(data, &mut used)?;
                if n > MAX_SEGMENTS as u64 {
                    return Err(bad("too many segments"));
                }
                let mut s = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let off = map_line(data, &mut used)?;
                    let len = map_line(data, &mut used)?;
                    s.push((off, len));
                }
                let pad = (512 - used % 512) % 512;
                io::copy(&mut data.by_ref().take(pad), &mut io::sink())?;
                used += pad;
                s
            } else {
                segments.clone()
            };
            check(&segments, *size, stored.saturating_sub(used))?;
            for (off, len) in segments {
                let mut left = len;
                let mut at = off;
                while left > 0 {
                    let want = left.min(buf.len() as u64) as usize;
                    data.read_exact(&mut buf[..want])
                        .map_err(|_| bad("data cut short"))?;
                    f.write_all_at(&buf[..want], at)?;
                    left -= want as u64;
                    at += want as u64;
                }
            }
            f.set_len(*size)?;
            Ok(*size)
        }
    }
}

/// The whole file is read; aligned blocks of zeros are not written (they stay holes).
fn write_expanded<R: Read>(f: &File, data: &mut R, buf: &mut [u8]) -> io::Result<u64> {
    const BLOCK: usize = 4096;
    let mut at = 0u64;
    loop {
        // Fill the buffer as far as possible so blocks stay aligned to file offsets.
        let mut n = 0;
        while n < buf.len() {
            match data.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            break;
        }
        for (i, chunk) in buf[..n].chunks(BLOCK).enumerate() {
            if chunk.iter().any(|&b| b != 0) {
                f.write_all_at(chunk, at + (i * BLOCK) as u64)?;
            }
        }
        at += n as u64;
    }
    f.set_len(at)?;
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standin_names() {
        assert_eq!(real_name(b"./GNUSparseFile.12/big"), b"./big");
        assert_eq!(real_name(b"a/b/GNUSparseFile.0/f"), b"a/b/f");
        assert_eq!(real_name(b"GNUSparseFile.9/f"), b"f");
        assert_eq!(real_name(b"plain/file"), b"plain/file");
    }

    #[test]
    fn hostile_maps_are_refused() {
        assert!(check(&[(0, 10), (5, 10)], 100, 100).is_err(), "overlap");
        assert!(check(&[(50, 10), (0, 10)], 100, 100).is_err(), "order");
        assert!(check(&[(95, 10)], 100, 100).is_err(), "past size");
        assert!(
            check(&[(0, 10), (20, 10)], 100, 15).is_err(),
            "more than data"
        );
        assert!(check(&[(u64::MAX, 2)], u64::MAX, 2).is_err(), "overflow");
        assert!(check(&[(0, 10), (20, 10)], 100, 20).is_ok());
    }

    #[test]
    fn map_segments_land_at_their_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("f"))
            .unwrap();
        // Format 1.0: the map in the data, padded to 512.
        let mut data = b"2\n0\n3\n8192\n2\n".to_vec();
        data.resize(512, 0);
        data.extend_from_slice(b"abcxy");
        let layout = Layout::Map {
            size: 10000,
            segments: Vec::new(),
            map_in_data: true,
        };
        let mut buf = vec![0u8; 4096];
        let n = write(&f, &mut &data[..], data.len() as u64, &layout, &mut buf).unwrap();
        assert_eq!(n, 10000);
        let got = std::fs::read(dir.path().join("f")).unwrap();
        assert_eq!(got.len(), 10000);
        assert_eq!(&got[..3], b"abc");
        assert_eq!(&got[8192..8194], b"xy");
        assert!(got[3..8192].iter().all(|&b| b == 0));
    }
}
