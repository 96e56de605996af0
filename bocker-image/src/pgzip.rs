//! A gzip writer that compresses on every core, for layer export (`push`, `save`).
//!
//! pigz's scheme (its man page): the input is cut into [`BLOCK`]-byte blocks, each block
//! is compressed on its own thread as raw deflate primed with the last 32 KiB of the
//! block before it (so the ratio stays that of one stream) and ended with a sync flush
//! (an empty stored block, so the pieces concatenate at byte boundaries); the pieces are
//! written in order, then a final empty block and the gzip trailer (CRC-32 and length of
//! the whole input). The output depends only on the input and the level, never on the
//! number of threads or their timing: the same layer always has the same digest.
//!
//! The header is fixed (no name, mtime 0, OS "unknown"), as `flate2::GzBuilder` writes
//! it; any gzip reader (Go's compress/gzip in Docker and skopeo, zlib) reads the result.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, Crc, FlushCompress};

/// Bytes of input per block (pigz uses 128 KiB; larger blocks mean fewer threads and
/// sync markers, and less lost at block edges).
pub const BLOCK: usize = 1 << 20;
/// The deflate window: the dictionary each block gets from the one before.
const WINDOW: usize = 32 << 10;
/// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown (255).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// A final, empty fixed-Huffman block (BFINAL=1, BTYPE=01, end-of-block).
const LAST_BLOCK: [u8; 2] = [0x03, 0x00];

/// Compresses what is written to it into `inner` as one gzip member, in parallel.
/// [`ParGz::finish`] must be called; dropping it without loses the tail.
pub struct ParGz<W: Write> {
    inner: W,
    level: Compression,
    threads: usize,
    buf: Vec<u8>,
    /// The last [`WINDOW`] bytes of the previous block.
    dict: Vec<u8>,
    crc: Crc,
    pending: VecDeque<JoinHandle<io::Result<Vec<u8>>>>,
}

impl<W: Write> ParGz<W> {
    /// A writer at `level`, on as many threads as the machine has cores.
    pub fn new(inner: W, level: Compression) -> io::Result<ParGz<W>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        ParGz::with_threads(inner, level, threads)
    }

    /// A writer at `level` on `threads` threads (at least one); the bytes are the same
    /// whatever the number.
    pub fn with_threads(mut inner: W, level: Compression, threads: usize) -> io::Result<ParGz<W>> {
        inner.write_all(&HEADER)?;
        let threads = threads.max(1);
        Ok(ParGz {
            inner,
            level,
            threads,
            buf: Vec::with_capacity(BLOCK),
            dict: Vec::new(),
            crc: Crc::new(),
            pending: VecDeque::new(),
        })
    }

    /// Hand the buffered block to a thread; write out finished blocks in order so that
    /// no more than two blocks per core are in flight (one queued behind each running
    /// one, so no core waits while the writer fills the next block).
    fn dispatch(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let block = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        self.crc.update(&block);
        let dict = std::mem::take(&mut self.dict);
        self.dict = block[block.len().saturating_sub(WINDOW)..].to_vec();
        let level = self.level;
        self.pending.push_back(std::thread::spawn(move || {
            deflate_block(&block, &dict, level)
        }));
        while self.pending.len() > 2 * self.threads {
            self.write_oldest()?;
        }
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(h) = self.pending.pop_front() {
            let out = h
                .join()
                .map_err(|_| io::Error::other("a compression thread panicked"))??;
            self.inner.write_all(&out)?;
        }
        Ok(())
    }

    /// Compress what is left, write the end of the stream and hand `inner` back.
    pub fn finish(mut self) -> io::Result<W> {
        self.dispatch()?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        self.inner.write_all(&LAST_BLOCK)?;
        self.inner.write_all(&self.crc.sum().to_le_bytes())?;
        self.inner.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParGz<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK {
            self.dispatch()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Input is judged in parts of this size: compressible or not (see [`incompressible`]).
const PART: usize = 32 << 10;

/// True when `part` looks incompressible: its bytes are as evenly spread as random ones
/// (Pearson's chi-squared of the byte counts against uniform under 400, for 255 degrees
/// of freedom: random data scores 255 ± 23, machine code and text thousands, gzip and
/// zstd streams near random). Such parts are stored (deflate level 0): no CPU, and no
/// bigger than deflate would make them. Integer arithmetic on the bytes alone: the
/// output stays reproducible everywhere.
fn incompressible(part: &[u8]) -> bool {
    let n = part.len() as u64;
    if n < 4096 {
        return false;
    }
    // Four tables, so that runs of one byte value do not wait on the same counter
    // (u32: a part is at most PART bytes).
    let mut tables = [[0u32; 256]; 4];
    let mut quads = part.chunks_exact(4);
    for q in &mut quads {
        tables[0][q[0] as usize] += 1;
        tables[1][q[1] as usize] += 1;
        tables[2][q[2] as usize] += 1;
        tables[3][q[3] as usize] += 1;
    }
    for &b in quads.remainder() {
        tables[0][b as usize] += 1;
    }
    let sum_sq: u64 = (0..256)
        .map(|i| u64::from(tables[0][i] + tables[1][i] + tables[2][i] + tables[3][i]))
        .map(|c| c * c)
        .sum();
    // chi² = 256·Σc²/n − n  <  400   ⇔   256·Σc² − n² < 400·n
    (256 * sum_sq).saturating_sub(n * n) < 400 * n
}

/// One block as raw deflate primed with `dict`, ended by a sync flush; each
/// [`PART`] at `level`, or stored when it is incompressible. A run of
/// parts judged alike is one deflate stream primed with the 32 KiB before it and ended
/// by a sync flush, so runs concatenate as blocks do.
fn deflate_block(block: &[u8], dict: &[u8], level: Compression) -> io::Result<Vec<u8>> {
    // Incompressible input grows by a few bytes per 16 KiB stored block.
    let mut out = Vec::with_capacity(block.len() + block.len() / 1000 + 64);
    let parts: Vec<bool> = block.chunks(PART).map(incompressible).collect();
    let mut start = 0;
    while start < parts.len() {
        let fast = parts[start];
        let end = (start..parts.len())
            .find(|&i| parts[i] != fast)
            .unwrap_or(parts.len());
        let (from, to) = (start * PART, (end * PART).min(block.len()));
        let mut c = Compress::new(if fast { Compression::none() } else { level }, false);
        let primer: &[u8] = if from == 0 {
            dict
        } else {
            &block[from.saturating_sub(WINDOW)..from]
        };
        if !primer.is_empty() {
            c.set_dictionary(primer).map_err(io::Error::other)?;
        }
        feed(&mut c, &block[from..to], &mut out, FlushCompress::Sync)?;
        start = end;
    }
    Ok(out)
}

/// Compress all of `input` into `out` (grown as needed) with `flush`.
fn feed(
    c: &mut Compress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    flush: FlushCompress,
) -> io::Result<()> {
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(1 << 16));
        }
        let before = c.total_in();
        c.compress_vec(input, out, flush)
            .map_err(io::Error::other)?;
        input = &input[(c.total_in() - before) as usize..];
        // Done when all input is taken and the call had room to finish its flush.
        if input.is_empty() && out.len() < out.capacity() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Half noise, half text-like runs.
                if (i / 100_000) % 2 == 0 {
                    x as u8
                } else {
                    b"layer tar bytes "[i % 16]
                }
            })
            .collect()
    }

    fn gz(data: &[u8], chunks: usize) -> Vec<u8> {
        let mut w = ParGz::new(Vec::new(), Compression::default()).unwrap();
        for c in data.chunks(chunks) {
            w.write_all(c).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn round_trips_through_a_standard_reader_and_is_reproducible() {
        for n in [0, 1, BLOCK - 1, BLOCK, 2 * BLOCK + 12_345] {
            let data = sample(n);
            let z = gz(&data, 7919);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&z[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{n} bytes");
            assert_eq!(
                gz(&data, 65_536),
                z,
                "the same bytes however they are written"
            );
        }
    }

    #[test]
    fn the_bytes_do_not_depend_on_the_number_of_threads() {
        let data = sample(5 * BLOCK + 777);
        let with = |threads| {
            let mut w = ParGz::with_threads(Vec::new(), Compression::new(2), threads).unwrap();
            w.write_all(&data).unwrap();
            w.finish().unwrap()
        };
        let one = with(1);
        for threads in [2, 3, 8] {
            assert!(with(threads) == one, "{threads} threads");
        }
    }

    #[test]
    fn compresses_about_as_well_as_one_stream() {
        let data = sample(2 * BLOCK);
        let mut one = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        one.write_all(&data).unwrap();
        let one = one.finish().unwrap().len();
        let par = gz(&data, BLOCK).len();
        assert!(
            par <= one + one / 100 + 64,
            "parallel {par} vs one stream {one}"
        );
    }

    #[test]
    fn random_parts_are_judged_incompressible_and_text_is_not() {
        let noise: Vec<u8> = sample(PART).into_iter().collect();
        assert!(incompressible(&noise));
        let text: Vec<u8> = (0..PART)
            .map(|i| b"ELF binaries and man pages"[i % 26])
            .collect();
        assert!(!incompressible(&text));
        assert!(!incompressible(&noise[..100]), "too short to judge");
    }
}
