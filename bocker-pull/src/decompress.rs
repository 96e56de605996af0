//! Layer decompression (gzip, zstd, none) with a guard against decompression bombs.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression a layer media type declares; None for media types that are not layers.
    pub fn from_media_type(mt: &str) -> Option<Compression> {
        match mt {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => {
                Some(Compression::Gzip)
            }
            "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
                Some(Compression::Zstd)
            }
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Some(Compression::None),
            _ => None,
        }
    }

    /// What the stream's first bytes say (Docker sniffs too; media types lie).
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Refuse layers that expand beyond this many bytes ...
pub const BOMB_FLOOR: u64 = 256 << 20;
/// ... at more than this ratio of output to input.
pub const BOMB_RATIO: u64 = 100;

/// Open a decompressing reader over `input`; `consumed` counts the compressed bytes read so far.
pub fn decompress<'a, R: Read + 'a>(
    input: R,
    consumed: Rc<Cell<u64>>,
) -> io::Result<Box<dyn Read + 'a>> {
    decompress_bounded(input, consumed, BOMB_FLOOR)
}

/// [`decompress`] with the size past which the ratio guard applies.
pub fn decompress_bounded<'a, R: Read + 'a>(
    input: R,
    consumed: Rc<Cell<u64>>,
    floor: u64,
) -> io::Result<Box<dyn Read + 'a>> {
    let mut buf = BufReader::with_capacity(256 << 10, input);
    let kind = Compression::sniff(buf.fill_buf()?);
    let inner: Box<dyn Read + 'a> = match kind {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buf)?),
        Compression::None => return Ok(Box::new(buf)),
    };
    Ok(Box::new(BombGuard {
        inner,
        consumed,
        produced: 0,
        floor,
    }))
}

struct BombGuard<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
    produced: u64,
    floor: u64,
}

impl<R: Read> Read for BombGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if self.produced > self.floor
            && self.produced > self.consumed.get().saturating_mul(BOMB_RATIO)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "decompression bomb: layer expands past {} MiB at more than {BOMB_RATIO}:1",
                    self.floor >> 20
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::HashingReader;
    use std::io::Write;

    fn roundtrip(c: Compression, data: &[u8]) -> Vec<u8> {
        let packed = match c {
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 1).unwrap(),
            Compression::None => data.to_vec(),
        };
        let h = HashingReader::new(&packed[..]);
        let mut out = Vec::new();
        decompress(h, Rc::new(Cell::new(0)))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn sniffs_and_decompresses_all_three() {
        let data = b"hello layer".repeat(1000);
        for c in [Compression::Gzip, Compression::Zstd, Compression::None] {
            assert_eq!(roundtrip(c, &data), data);
        }
    }

    #[test]
    fn refuses_a_bomb() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..8 {
            e.write_all(&zeros).unwrap();
        }
        let packed = e.finish().unwrap();
        let h = HashingReader::new(&packed[..]);
        let counter = h.counter();
        let err = io::copy(
            &mut decompress_bounded(h, counter, 4 << 20).unwrap(),
            &mut io::sink(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bomb"), "{err}");
    }
}
