//! One sample of a container group's usage, for `bocker stats`: CPU time, memory usage
//! and limit, pids, and block I/O bytes, from the group's own files on cgroup v1
//! (`cpuacct.usage`, `memory.usage_in_bytes`, `memory.limit_in_bytes`, `pids.current`,
//! `blkio.throttle.io_service_bytes`) or v2 (`cpu.stat`, `memory.current`,
//! `memory.max`, `pids.current`, `io.stat`), as Docker's stats collector reads them.

use std::path::Path;

/// What a group has used so far. A field is `None` when no given directory has its file
/// (controller not mounted or not enabled).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sample {
    /// Total CPU time of the group, nanoseconds.
    pub cpu_ns: Option<u64>,
    /// Memory in use, bytes. Like Docker, page cache that can be dropped (v1
    /// `total_inactive_file`, v2 `inactive_file`) is not counted.
    pub memory_bytes: Option<u64>,
    /// The group's memory limit, bytes (`None`: unlimited).
    pub memory_limit: Option<u64>,
    /// Processes (tasks) in the group.
    pub pids: Option<u64>,
    /// Bytes read from and written to block devices.
    pub block_read: u64,
    pub block_write: u64,
}

/// v1 reports "no limit" as a page-rounded `i64::MAX`; anything this large is no limit.
const UNLIMITED: u64 = 1 << 62;

/// Reads one sample from the group's directories `paths` (v1: one per controller; v2:
/// one). Files that are missing or unreadable leave their field empty: never an error,
/// as a container may exit while it is read.
pub fn sample(paths: &[&Path]) -> Sample {
    let mut s = Sample::default();
    for dir in paths {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        let num = |f: &str| read(f).and_then(|t| t.trim().parse::<u64>().ok());
        // v1
        if let Some(ns) = num("cpuacct.usage") {
            s.cpu_ns = Some(ns);
        }
        if let Some(used) = num("memory.usage_in_bytes") {
            let cache = read("memory.stat").and_then(|t| stat_field(&t, "total_inactive_file"));
            s.memory_bytes = Some(used.saturating_sub(cache.unwrap_or(0)));
            s.memory_limit = num("memory.limit_in_bytes").filter(|&l| l < UNLIMITED);
        }
        if let Some(text) = read("blkio.throttle.io_service_bytes") {
            let (r, w) = blkio_v1(&text);
            s.block_read += r;
            s.block_write += w;
        }
        // v2
        if let Some(usec) = read("cpu.stat").and_then(|t| stat_field(&t, "usage_usec")) {
            s.cpu_ns = Some(usec.saturating_mul(1000));
        }
        if let Some(used) = num("memory.current") {
            let cache = read("memory.stat").and_then(|t| stat_field(&t, "inactive_file"));
            s.memory_bytes = Some(used.saturating_sub(cache.unwrap_or(0)));
            s.memory_limit = num("memory.max");
        }
        if let Some(text) = read("io.stat") {
            let (r, w) = io_v2(&text);
            s.block_read += r;
            s.block_write += w;
        }
        // both
        if let Some(n) = num("pids.current") {
            s.pids = Some(n);
        }
    }
    s
}

/// The value of `key` in a flat-keyed file (`memory.stat`, `cpu.stat`: "key value" lines).
fn stat_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// v1 `blkio.throttle.io_service_bytes`: "MAJ:MIN Read N" / "MAJ:MIN Write N" lines.
fn blkio_v1(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [_, op, n] = f[..] {
            let n: u64 = n.parse().unwrap_or(0);
            match op {
                "Read" => r += n,
                "Write" => w += n,
                _ => {}
            }
        }
    }
    (r, w)
}

/// v2 `io.stat`: "MAJ:MIN rbytes=N wbytes=N rios=N …" lines.
fn io_v2(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for word in text.split_whitespace() {
        if let Some((k, v)) = word.split_once('=') {
            let n: u64 = v.parse().unwrap_or(0);
            match k {
                "rbytes" => r += n,
                "wbytes" => w += n,
                _ => {}
            }
        }
    }
    (r, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_files_are_read() {
        let v1 = tempdir("v1");
        std::fs::write(v1.join("cpuacct.usage"), "1500\n").unwrap();
        std::fs::write(v1.join("memory.usage_in_bytes"), "4096000\n").unwrap();
        std::fs::write(
            v1.join("memory.stat"),
            "cache 5\ntotal_inactive_file 96000\n",
        )
        .unwrap();
        std::fs::write(v1.join("memory.limit_in_bytes"), "67108864\n").unwrap();
        std::fs::write(v1.join("pids.current"), "3\n").unwrap();
        std::fs::write(
            v1.join("blkio.throttle.io_service_bytes"),
            "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n",
        )
        .unwrap();
        let s = sample(&[&v1]);
        assert_eq!(s.cpu_ns, Some(1500));
        assert_eq!(s.memory_bytes, Some(4_000_000));
        assert_eq!(s.memory_limit, Some(64 << 20));
        assert_eq!(s.pids, Some(3));
        assert_eq!((s.block_read, s.block_write), (10, 20));

        let v2 = tempdir("v2");
        std::fs::write(v2.join("cpu.stat"), "usage_usec 7\nuser_usec 5\n").unwrap();
        std::fs::write(v2.join("memory.current"), "100\n").unwrap();
        std::fs::write(v2.join("memory.max"), "max\n").unwrap();
        std::fs::write(v2.join("io.stat"), "8:0 rbytes=1 wbytes=2 rios=3\n").unwrap();
        let s = sample(&[&v2]);
        assert_eq!(s.cpu_ns, Some(7000));
        assert_eq!(s.memory_bytes, Some(100));
        assert_eq!(s.memory_limit, None, "max is no limit");
        assert_eq!(s.pids, None);
        assert_eq!((s.block_read, s.block_write), (1, 2));
        let _ = std::fs::remove_dir_all(v1);
        let _ = std::fs::remove_dir_all(v2);
    }

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("bocker-stats-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
