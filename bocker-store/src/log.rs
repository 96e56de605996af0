//! The container log: JSON lines `{"time","stream","data"}`, one record per read of the
//! container's output (a record may hold many lines, or part of one; lines of one read
//! share its time), append-only (`O_APPEND`, one `write` per record), replayable to the
//! right streams. Non-UTF-8 output is kept exactly, hex-encoded in `data_hex`.
//!
//! Bounded: when the file would pass `max-size` it is rotated (`log` → `log.1` → … →
//! `log.<max-file − 1>`, the oldest dropped), Docker's `--log-opt max-size=… max-file=…`;
//! the default is Docker's `local` driver's, 5 files of 20 MiB. For line-heavy output
//! (`yes`: 2 bytes a line) a record costs about 1.5× the bytes it holds.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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

/// Rotation limits of a container's log (Docker's `--log-opt` names and `local` defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    /// Bytes a file may reach before it is rotated (`max-size`; 0: never rotated).
    pub max_size: u64,
    /// Files kept, the live one included (`max-file`, at least 1).
    pub max_file: u32,
}

impl Default for LogOptions {
    /// Docker's `local` driver: 5 files of 20 MiB.
    fn default() -> Self {
        LogOptions {
            max_size: 20 << 20,
            max_file: 5,
        }
    }
}

impl LogOptions {
    /// From `--log-opt KEY=VALUE` values: `max-size` (bytes, or with k/m/g, 1024-based as
    /// Docker's) and `max-file` (≥ 1). Errors name the bad option.
    pub fn parse(opts: &[String]) -> Result<LogOptions, String> {
        let mut o = LogOptions::default();
        for opt in opts {
            let bad = || format!("invalid --log-opt {opt:?}");
            let (k, v) = opt.split_once('=').ok_or_else(bad)?;
            match k {
                "max-size" => o.max_size = parse_size(v).ok_or_else(bad)?,
                "max-file" => {
                    o.max_file = v.parse().ok().filter(|&n| n >= 1).ok_or_else(bad)?;
                }
                _ => return Err(format!("unknown log opt '{k}' (max-size, max-file)")),
            }
        }
        Ok(o)
    }
}

fn parse_size(v: &str) -> Option<u64> {
    let v = v.to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (num, shift) = match v.chars().last()? {
        'k' => (&v[..v.len() - 1], 10),
        'm' => (&v[..v.len() - 1], 20),
        'g' => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    let n: f64 = num.parse().ok().filter(|n: &f64| *n >= 0.0)?;
    Some((n * (1u64 << shift) as f64) as u64)
}

/// Appends records to a container's log, rotating it at its size limit.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    opts: LogOptions,
    buf: Vec<u8>,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// `log.<k>`: the k-th older file of the log at `path`.
fn rotated(path: &Path, k: u32) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(format!(".{k}"));
    PathBuf::from(p)
}

impl LogWriter {
    /// Open (creating, mode 0600) `path` for appending, Docker's default limits; the fd
    /// is close-on-exec.
    pub fn open(path: &Path) -> io::Result<LogWriter> {
        LogWriter::open_with(path, LogOptions::default())
    }

    /// [`LogWriter::open`] with the given rotation limits.
    pub fn open_with(path: &Path, opts: LogOptions) -> io::Result<LogWriter> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            opts,
            buf: Vec::new(),
        })
    }

    /// Record one chunk of output (one read), stamped now.
    pub fn write(&mut self, stream: Stream, chunk: &[u8]) -> io::Result<()> {
        self.write_at(stream, chunk, &crate::time::now_precise())
    }

    fn write_at(&mut self, stream: Stream, chunk: &[u8], time: &str) -> io::Result<()> {
        self.buf.clear();
        let (data, data_hex) = match std::str::from_utf8(chunk) {
            Ok(s) => (Some(s), None),
            Err(_) => (None, Some(hex(chunk))),
        };
        let line = Line {
            time,
            stream,
            data,
            data_hex,
        };
        serde_json::to_writer(&mut self.buf, &line)?;
        self.buf.push(b'\n');
        let len = self.buf.len() as u64;
        if self.opts.max_size > 0 && self.size > 0 && self.size + len > self.opts.max_size {
            self.rotate()?;
        }
        self.file.write_all(&self.buf)?;
        self.size += len;
        Ok(())
    }

    /// `log.<n-1>` dropped, every `log.<k>` to `log.<k+1>`, `log` to `log.1`, a new `log`
    /// (with `max-file=1` the one file starts over).
    fn rotate(&mut self) -> io::Result<()> {
        let n = self.opts.max_file;
        if n <= 1 {
            self.file.set_len(0)?;
        } else {
            for k in (1..n - 1).rev() {
                match std::fs::rename(rotated(&self.path, k), rotated(&self.path, k + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, rotated(&self.path, 1))?;
            self.file = open_append(&self.path)?;
        }
        self.size = 0;
        Ok(())
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

/// The log's files, oldest first: `log.<k>` … `log.1`, then `log` itself.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut older: Vec<PathBuf> = (1..)
        .map(|k| rotated(path, k))
        .take_while(|p| p.exists())
        .collect();
    older.reverse();
    older.push(path.to_path_buf());
    older
}

/// Records of one file's bytes (a torn last line, from a killed writer, is skipped).
pub fn parse_all(bytes: &[u8]) -> Vec<Record> {
    bytes.split(|&b| b == b'\n').filter_map(parse).collect()
}

/// Every record of the log, rotated files first (missing files are empty).
pub fn read_all(path: &Path) -> io::Result<Vec<Record>> {
    let mut all = Vec::new();
    for f in files(path) {
        match std::fs::read(&f) {
            Ok(bytes) => all.extend(parse_all(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}

/// The records split into lines (a last piece without newline is a line too); each
/// keeps its record's time and stream.
pub fn lines(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .flat_map(|r| {
            r.data.split_inclusive(|&b| b == b'\n').map(|l| Record {
                time: r.time.clone(),
                stream: r.stream,
                data: l.to_vec(),
            })
        })
        .collect()
}

/// The last `n` lines of output. Reads the newest files only, as far back as `n` needs.
pub fn tail(path: &Path, n: usize) -> io::Result<Vec<Record>> {
    let mut recs: Vec<Record> = Vec::new();
    for f in files(path).iter().rev() {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut older = lines(&parse_all(&bytes));
        older.append(&mut recs);
        recs = older;
        if recs.len() >= n {
            break;
        }
    }
    let skip = recs.len().saturating_sub(n);
    Ok(recs.split_off(skip))
}

/// Keep the lines of `records` stamped within `[since, until)` (either bound optional).
pub fn between(
    records: Vec<Record>,
    since: Option<std::time::SystemTime>,
    until: Option<std::time::SystemTime>,
) -> Vec<Record> {
    if since.is_none() && until.is_none() {
        return records;
    }
    records
        .into_iter()
        .filter(|r| {
            let Ok(t) = humantime::parse_rfc3339_weak(&r.time) else {
                return true;
            };
            since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u)
        })
        .collect()
}

/// Follows the live file of the log at `path` from byte `offset` on, across rotation,
/// giving each new record to `emit`, until `done()` holds and nothing more is written
/// (checked every 50 ms).
pub fn follow(
    path: &Path,
    offset: u64,
    done: &dyn Fn() -> bool,
    emit: &mut dyn FnMut(Vec<Record>) -> io::Result<()>,
) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut partial: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let finished = done();
        let n = f.read(&mut buf)?;
        if n > 0 {
            partial.extend_from_slice(&buf[..n]);
            if let Some(end) = partial.iter().rposition(|&b| b == b'\n') {
                let rest = partial.split_off(end + 1);
                emit(parse_all(&partial))?;
                partial = rest;
            }
            continue;
        }
        // Rotated (a new file at `path`) or truncated (`max-file=1`): start it over.
        let ino = f.metadata()?.ino();
        match std::fs::metadata(path) {
            Ok(m) if m.ino() != ino => {
                f = File::open(path)?;
                partial.clear();
                continue;
            }
            Ok(m) if m.len() < f.stream_position()? => {
                f.seek(SeekFrom::Start(0))?;
                partial.clear();
                continue;
            }
            _ => {}
        }
        if finished {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Write records to `out`/`err` by stream, optionally prefixed with their time at the
/// start of every line.
pub fn replay(
    records: &[Record],
    timestamps: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    let mut at_line_start = [true, true];
    for r in lines(records) {
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
    fn one_record_per_read_compact_and_rotated_within_the_cap() {
        let p = tmp("rot");
        let opts = LogOptions::parse(&["max-size=64k".into(), "max-file=3".into()]).unwrap();
        assert_eq!(opts.max_size, 64 << 10);
        let mut w = LogWriter::open_with(&p, opts).unwrap();
        let chunk = b"y\n".repeat(2048); // a read of `yes`: 2048 lines
        for _ in 0..200 {
            w.write(Stream::Stdout, &chunk).unwrap();
        }
        let on_disk: u64 = files(&p).iter().map(|f| f.metadata().unwrap().len()).sum();
        assert_eq!(files(&p).len(), 3);
        // At most max-file files of max-size (plus the record that crossed the line).
        assert!(on_disk <= 3 * ((64 << 10) + 8192), "{on_disk}");
        // The kept part costs under 2x the output it holds.
        let kept: usize = read_all(&p).unwrap().iter().map(|r| r.data.len()).sum();
        assert!(on_disk < 2 * kept as u64, "{on_disk} bytes for {kept}");
        // Lines of one read share its time.
        let recs = read_all(&p).unwrap();
        let l = lines(&recs[..1]);
        assert_eq!(l.len(), 2048);
        assert!(l.iter().all(|r| r.time == recs[0].time));
        assert_eq!(tail(&p, 3).unwrap().len(), 3);
        for f in files(&p) {
            std::fs::remove_file(f).unwrap();
        }
        assert!(LogOptions::parse(&["max-file=0".into()]).is_err());
        assert!(LogOptions::parse(&["mode=fast".into()]).is_err());
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
