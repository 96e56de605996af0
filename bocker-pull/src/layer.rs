//! One layer in one streaming pass: download (or read the stored blob), verify its
//! digest, decompress, verify the diff id, and extract into a directory.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::decompress::decompress;
use crate::digest::{Digest, HashingReader};
use crate::extract::{self, Extracted, WhiteoutStyle};
use crate::progress::Progress;
use crate::registry::{Registry, RegistryError};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("layer {digest}: {source}")]
    Extract {
        digest: Digest,
        source: extract::ExtractError,
    },
    #[error("{why} (download of {digest} stopped at byte {at} of {size})")]
    Stopped {
        digest: Digest,
        at: u64,
        size: u64,
        why: String,
    },
    #[error("layer {digest}: {what}: {source}")]
    Io {
        digest: Digest,
        what: &'static str,
        source: io::Error,
    },
    #[error("layer {digest}: uncompressed content has digest {actual}, the image config says {expected}; discarded")]
    DiffId {
        digest: Digest,
        expected: Digest,
        actual: Digest,
    },
}

/// After an extraction failure the rest of a blob is still read (to tell tampering from a
/// bad layer) only when at most this much is left.
const DRAIN_AFTER_FAILURE: u64 = 8 << 20;

/// Where a layer's blob comes from and goes to.
pub struct BlobPlan<'a> {
    pub digest: &'a Digest,
    /// Where the verified blob lives (or will, after the rename).
    pub path: PathBuf,
    /// Scratch file the download is written to before verification.
    pub tmp: PathBuf,
    pub size: u64,
}

/// What a layer pass produced.
pub struct LayerDone {
    pub extracted: Option<Extracted>,
    /// Uncompressed size in bytes.
    pub size: u64,
}

/// Reports bytes as they are read.
struct Counting<'p, R> {
    inner: R,
    progress: &'p dyn Progress,
    index: usize,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(self.index, n as u64);
        Ok(n)
    }
}

/// Copies what is read into a file.
struct Tee<R> {
    inner: R,
    out: BufWriter<File>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Compressed bytes looked at before a download that is not extracted on the fly is
/// judged to be a layer at all.
const SNIFF_BYTES: usize = 64 << 10;

/// Stops a download (that is not extracted while it streams) as soon as its head is
/// seen not to start with a tar header: junk is not fetched to the end.
struct FirstHeader<R> {
    inner: R,
    head: Vec<u8>,
    checked: bool,
    read: u64,
    size: u64,
    digest: Digest,
}

impl<R: Read> Read for FirstHeader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if !self.checked {
            self.head.extend_from_slice(&buf[..n]);
            if self.head.len() >= SNIFF_BYTES || n == 0 {
                self.checked = true;
                // As after a failed extraction: a small rest is read, so the digest
                // can tell a tampered blob from a bad layer.
                let left = self.size.saturating_sub(self.read);
                if left > DRAIN_AFTER_FAILURE && !starts_with_tar_header(&self.head) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "layer {}: not a tar archive (no valid tar header at its start) (download of {} stopped at byte {} of {})",
                            self.digest, self.digest, self.read, self.size
                        ),
                    ));
                }
                self.head = Vec::new();
            }
        }
        Ok(n)
    }
}

/// Does `head` (the first compressed bytes of a layer) decompress to a block that is a
/// tar header with a right checksum, or the zero block of an empty archive? A head too
/// short to tell is given the benefit of the doubt (extraction judges it later).
fn starts_with_tar_header(head: &[u8]) -> bool {
    let counter = std::rc::Rc::new(std::cell::Cell::new(0));
    let Ok(mut d) = decompress(head, counter) else {
        return false;
    };
    let mut block = [0u8; 512];
    let mut got = 0;
    while got < 512 {
        match d.read(&mut block[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return true,
            Err(_) => return false,
        }
    }
    if got < 512 {
        // A complete blob shorter than one block is no layer; a cut head cannot tell.
        return head.len() >= SNIFF_BYTES;
    }
    if block.iter().all(|&b| b == 0) {
        return true;
    }
    // POSIX: the checksum is the sum of the header's bytes with the field as spaces.
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    let field = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u64::from_str_radix(s, 8).ok());
    field == Some(sum)
}

/// Download `plan.digest` into the blob store (tmp, verify, rename) without extracting.
/// A blob whose head is no tar layer is stopped there (see [`FirstHeader`]).
pub fn download(
    reg: &Registry,
    plan: &BlobPlan,
    index: usize,
    progress: &dyn Progress,
) -> Result<(), LayerError> {
    if plan.path.exists() {
        return Ok(());
    }
    let io_err = |what| {
        move |source| LayerError::Io {
            digest: plan.digest.clone(),
            what,
            source,
        }
    };
    let resp = FirstHeader {
        inner: reg.blob(plan.digest, plan.size),
        head: Vec::new(),
        checked: false,
        read: 0,
        size: plan.size,
        digest: plan.digest.clone(),
    };
    let out = BufWriter::with_capacity(
        1 << 20,
        File::create(&plan.tmp).map_err(io_err("creating blob file"))?,
    );
    let r = HashingReader::new(Tee {
        inner: Counting {
            inner: resp,
            progress,
            index,
        },
        out,
    });
    // finish_blob reads to the end, hashing and writing as it goes.
    let r = finish_blob(r, plan).map(drop);
    if r.is_err() {
        let _ = std::fs::remove_file(&plan.tmp);
    }
    r
}

/// Verify the compressed digest, flush and move the blob into place.
fn finish_blob<R: Read>(
    r: HashingReader<Tee<R>>,
    plan: &BlobPlan,
) -> Result<(Digest, u64), LayerError> {
    let io_err = |what| {
        move |source| LayerError::Io {
            digest: plan.digest.clone(),
            what,
            source,
        }
    };
    let (actual, n, tee) = r.finish_into().map_err(io_err("downloading"))?;
    if &actual != plan.digest {
        let _ = std::fs::remove_file(&plan.tmp);
        return Err(RegistryError::DigestMismatch {
            what: "blob",
            expected: plan.digest.clone(),
            actual,
        }
        .into());
    }
    tee.out
        .into_inner()
        .map_err(|e| io_err("writing blob file")(e.into_error()))?;
    std::fs::rename(&plan.tmp, &plan.path).map_err(io_err("storing blob"))?;
    Ok((actual, n))
}

/// Extract the layer into `dir`: from the stored blob if present, else streaming from the
/// registry while the blob is written and hashed. `diff_id` is checked at the end; the
/// caller must discard `dir` on any error.
pub fn fetch_and_extract(
    reg: &Registry,
    plan: &BlobPlan,
    diff_id: &Digest,
    dir: &Path,
    style: WhiteoutStyle,
    index: usize,
    progress: &dyn Progress,
) -> Result<LayerDone, LayerError> {
    let io_err = |what| {
        move |source| LayerError::Io {
            digest: plan.digest.clone(),
            what,
            source,
        }
    };
    if plan.path.exists() {
        let f = File::open(&plan.path).map_err(io_err("opening blob"))?;
        // Verified when it was stored: count for the bomb guard, do not hash again.
        let mut c = HashingReader::counting(Counting {
            inner: f,
            progress,
            index,
        });
        let (extracted, size) = unpack(&mut c, plan.digest, diff_id, dir, style)?;
        return Ok(LayerDone {
            extracted: Some(extracted),
            size,
        });
    }
    let resp = reg.blob(plan.digest, plan.size);
    let out = BufWriter::with_capacity(
        1 << 20,
        File::create(&plan.tmp).map_err(io_err("creating blob file"))?,
    );
    let mut c = HashingReader::new(Tee {
        inner: Counting {
            inner: resp,
            progress,
            index,
        },
        out,
    });
    let consumed = c.counter();
    let unpacked = unpack(&mut c, plan.digest, diff_id, dir, style);
    // A layer that failed to extract is not downloaded further when much is left (a
    // hostile registry could stream junk for ever); when little is left the blob's own
    // digest decides first, so a tampered blob is reported as such.
    if let Err(e) = &unpacked {
        if plan.size.saturating_sub(consumed.get()) > DRAIN_AFTER_FAILURE {
            let _ = std::fs::remove_file(&plan.tmp);
            return Err(LayerError::Stopped {
                digest: plan.digest.clone(),
                at: consumed.get(),
                size: plan.size,
                why: e.to_string(),
            });
        }
    }
    let blob = finish_blob(c, plan);
    if let Err(e) = blob {
        let _ = std::fs::remove_file(&plan.tmp);
        return Err(e);
    }
    let (extracted, size) = unpacked?;
    Ok(LayerDone {
        extracted: Some(extracted),
        size,
    })
}

fn unpack<R: Read>(
    c: &mut HashingReader<R>,
    digest: &Digest,
    diff_id: &Digest,
    dir: &Path,
    style: WhiteoutStyle,
) -> Result<(Extracted, u64), LayerError> {
    let consumed = c.counter();
    let d = decompress(c, consumed).map_err(|source| LayerError::Io {
        digest: digest.clone(),
        what: "decompressing",
        source,
    })?;
    let mut u = HashingReader::new(d);
    let extracted = extract::extract(&mut u, dir, style).map_err(|source| LayerError::Extract {
        digest: digest.clone(),
        source,
    })?;
    let (actual, size) = u.finish().map_err(|source| LayerError::Io {
        digest: digest.clone(),
        what: "decompressing",
        source,
    })?;
    if &actual != diff_id {
        return Err(LayerError::DiffId {
            digest: digest.clone(),
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok((extracted, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_heads_are_told_from_junk() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_cksum();
        b.append_data(&mut h, "a", &b"abc"[..]).unwrap();
        let t = b.into_inner().unwrap();
        assert!(starts_with_tar_header(&t));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &t).unwrap();
        assert!(starts_with_tar_header(&gz.finish().unwrap()));
        assert!(starts_with_tar_header(&[0u8; 1024]), "empty archive");
        assert!(!starts_with_tar_header(&vec![0xa5; SNIFF_BYTES]), "junk");
        assert!(
            !starts_with_tar_header(b"short junk"),
            "a whole blob too short"
        );
    }
}
