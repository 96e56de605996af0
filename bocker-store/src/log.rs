//! The container log: JSON lines `{"time","stream","data"}`, one record per line of
//! output (a chunk without a final newline is a partial record), append-only
//! (`O_APPEND`, one `write` per chunk), replayable to the right streams.
//! Non-UTF-8 output is kept exactly, hex-encoded in `data_hex` instead of `data`.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One record of output as the container wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// RFC 3339, UTC, nanoseconds.
    pub time: String,
    pub stream: Stream,
    pub data: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Line<'a> {
    time: &'a str,
    stream: Stream,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    data_hex: Option<String>,
}

#[derive(Deserialize)]
struct OwnedLine {
    time: String,
    stream: Stream,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    data_hex: Option<String>,
}

/// Appends records to a container's log.
pub struct LogWriter {
    file: File,
    buf: Vec<u8>,
}

impl LogWriter {
    /// Open (creating, mode 0600) `path` for appending; the fd is close-on-exec.
    pub fn open(path: &Path) -> io::Result<LogWriter> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)?;
        Ok(LogWriter {
            file,
            buf: Vec::new(),
        })
    }

    /// Record one chunk of output, split at newlines, stamped now.
    pub fn write(&mut self, stream: Stream, chunk: &[u8]) -> io::Result<()> {
        self.write_at(stream, chunk, &crate::time::now_precise())
    }

    fn write_at(&mut self, stream: Stream, chunk: &[u8], time: &str) -> io::Result<()> {
        self.buf.clear();
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            let (data, data_hex) = match std::str::from_utf8(piece) {
                Ok(s) => (Some(s), None),
                Err(_) => (None, Some(hex(piece))),
            };
            serde_json::to_writer(
                &mut self.buf,
                &Line {
                    time,
                    stream,
                    data,
                    data_hex,
                },
            )?;
            self.buf.push(b'\n');
        }
        self.file.write_all(&self.buf)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse(line: &[u8]) -> Option<Record> {
    let l: OwnedLine = serde_json::from_slice(line).ok()?;
    let data = match (l.data, l.data_hex) {
        (Some(d), _) => d.into_bytes(),
        (None, Some(h)) => unhex(&h)?,
        (None, None) => Vec::new(),
    };
    Some(Record {
        time: l.time,
        stream: l.stream,
        data,
    })
}

/// Every record of the log (a torn last line, from a killed writer, is skipped).
pub fn read_all(path: &Path) -> io::Result<Vec<Record>> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes.split(|&b| b == b'\n').filter_map(parse).collect())
}

/// Records of the last `n` lines of output. Reads the file backwards in blocks, so the
/// cost follows `n`, not the size of the log.
pub fn tail(path: &Path, n: usize) -> io::Result<Vec<Record>> {
    const BLOCK: u64 = 64 * 1024;
    let mut f = File::open(path)?;
    let len = f.seek(SeekFrom::End(0))?;
    let mut start = len;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let from = start.saturating_sub(BLOCK);
        let mut block = vec![0u8; (start - from) as usize];
        f.seek(SeekFrom::Start(from))?;
        f.read_exact(&mut block)?;
        block.extend_from_slice(&buf);
        buf = block;
        start = from;
        // The first line may be cut by the block boundary unless we reached the start.
        let text = if start == 0 {
            &buf[..]
        } else {
            buf.splitn(2, |&b| b == b'\n').nth(1).unwrap_or(&[])
        };
        let records: Vec<Record> = text.split(|&b| b == b'\n').filter_map(parse).collect();
        if let Some(first) = first_of_last_lines(&records, n) {
            return Ok(records[first..].to_vec());
        }
        if start == 0 {
            return Ok(records);
        }
    }
}

/// Index of the first record of the last `n` lines, if `records` holds more than `n` lines.
fn first_of_last_lines(records: &[Record], n: usize) -> Option<usize> {
    let mut lines = 0;
    for (i, r) in records.iter().enumerate().rev() {
        let ends_line = r.data.ends_with(b"\n") || i + 1 == records.len();
        if ends_line {
            if lines == n {
                return Some(i + 1);
            }
            lines += 1;
        }
    }
    None
}

/// Write records to `out`/`err` by stream, optionally prefixed with their time.
pub fn replay(
    records: &[Record],
    timestamps: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    let mut at_line_start = [true, true];
    for r in records {
        let (w, idx): (&mut dyn Write, usize) = match r.stream {
            Stream::Stdout => (&mut *out, 0),
            Stream::Stderr => (&mut *err, 1),
        };
        if timestamps && at_line_start[idx] {
            write!(w, "{} ", r.time)?;
        }
        w.write_all(&r.data)?;
        at_line_start[idx] = r.data.ends_with(b"\n");
    }
    out.flush()?;
    err.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("bocker-log-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn round_trip_keeps_streams_bytes_and_order() {
        let p = tmp("rt");
        let mut w = LogWriter::open(&p).unwrap();
        w.write(Stream::Stdout, b"a\nb").unwrap();
        w.write(Stream::Stderr, b"\xff\xfe err\n").unwrap();
        w.write(Stream::Stdout, b"c\n").unwrap();
        let recs = read_all(&p).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        replay(&recs, false, &mut out, &mut err).unwrap();
        assert_eq!(out, b"a\nbc\n");
        assert_eq!(err, b"\xff\xfe err\n");
        let mut ts = Vec::new();
        replay(&recs, true, &mut ts, &mut Vec::new()).unwrap();
        assert!(String::from_utf8(ts)
            .unwrap()
            .lines()
            .all(|l| l.contains('T') && l.ends_with(['a', 'c'])));
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn tail_counts_lines_across_blocks() {
        let p = tmp("tail");
        let mut w = LogWriter::open(&p).unwrap();
        for i in 0..5_000 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        let t = tail(&p, 3).unwrap();
        let text: Vec<u8> = t.iter().flat_map(|r| r.data.clone()).collect();
        assert_eq!(text, b"line 4997\nline 4998\nline 4999\n");
        assert_eq!(tail(&p, 0).unwrap().len(), 0);
        assert_eq!(tail(&p, 100_000).unwrap().len(), 5_000);
        std::fs::remove_file(&p).unwrap();
    }
}
