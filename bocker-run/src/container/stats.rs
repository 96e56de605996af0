//! `bocker stats`: a running container's resource use as Docker's `stats` shows it.
//! CPU time, memory, pids and block I/O come from its own cgroup (bocker-cgroups'
//! [`bocker_cgroups::sample`], v1 or v2); network bytes from its network namespace
//! (`/proc/<pid>/net/dev` of its first process, every interface but `lo`). CPU % is the
//! CPU time used between two samples over the wall time between them.

use std::time::Instant;

use bocker_store::ContainerRecord;

use super::cgroups;

/// One reading of a container.
#[derive(Debug, Clone)]
pub struct Reading {
    at: Instant,
    cg: bocker_cgroups::Sample,
    net_rx: u64,
    net_tx: u64,
}

/// Reads container `rec`'s counters now (zeros for what cannot be read).
pub fn read(rec: &ContainerRecord) -> Reading {
    let own = cgroups::own(rec);
    let (net_rx, net_tx) = match (rec.state.pid, rec.config.network.mode.as_str()) {
        // A host-network container has no interfaces of its own (Docker shows 0B / 0B).
        (Some(pid), m) if m != "host" => std::fs::read_to_string(format!("/proc/{pid}/net/dev"))
            .map(|t| net_dev(&t))
            .unwrap_or((0, 0)),
        _ => (0, 0),
    };
    Reading {
        at: Instant::now(),
        cg: bocker_cgroups::sample(&own),
        net_rx,
        net_tx,
    }
}

/// What `stats` prints for a container between readings `prev` and `cur`: Docker's
/// fields (`.Container .Name .ID .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs`),
/// formatted as Docker formats them (binary units for memory, decimal for I/O).
pub fn fields(
    rec: &ContainerRecord,
    typed: &str,
    prev: &Reading,
    cur: &Reading,
) -> serde_json::Value {
    let wall = cur.at.duration_since(prev.at).as_nanos() as f64;
    let cpu = match (prev.cg.cpu_ns, cur.cg.cpu_ns) {
        (Some(a), Some(b)) if wall > 0.0 => b.saturating_sub(a) as f64 / wall * 100.0,
        _ => 0.0,
    };
    let used = cur.cg.memory_bytes.unwrap_or(0);
    let limit = cur.cg.memory_limit.or_else(host_memory).unwrap_or(0);
    let mem_perc = if limit > 0 {
        used as f64 / limit as f64 * 100.0
    } else {
        0.0
    };
    serde_json::json!({
        "Container": typed,
        "Name": rec.name.clone().unwrap_or_default(),
        "ID": rec.id,
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", binary_size(used), binary_size(limit)),
        "MemPerc": format!("{mem_perc:.2}%"),
        "NetIO": format!("{} / {}", decimal_size(cur.net_rx), decimal_size(cur.net_tx)),
        "BlockIO": format!("{} / {}", decimal_size(cur.cg.block_read), decimal_size(cur.cg.block_write)),
        "PIDs": cur.cg.pids.unwrap_or(0).to_string(),
    })
}

/// The `table` titles of [`fields`], Docker's.
pub fn headers() -> serde_json::Value {
    serde_json::json!({
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    })
}

/// Docker's default `stats` table.
pub const DEFAULT_FORMAT: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// Received and sent bytes over every interface but `lo` in a `/proc/net/dev` text.
fn net_dev(text: &str) -> (u64, u64) {
    let (mut rx, mut tx) = (0, 0);
    for line in text.lines().skip(2) {
        let Some((name, nums)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let n: Vec<u64> = nums
            .split_whitespace()
            .map(|w| w.parse().unwrap_or(0))
            .collect();
        // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes …
        rx += n.first().copied().unwrap_or(0);
        tx += n.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

/// The host's memory, Docker's limit for a container without one (`MemTotal`).
fn host_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// go-units `BytesSize`: `%.4g` with binary units (`64MiB`, `1.523MiB`, `0B`).
fn binary_size(n: u64) -> String {
    scaled(n, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)
}

/// go-units `HumanSizeWithPrecision(n, 3)`: decimal units (`1.23kB`, `648B`, `0B`).
fn decimal_size(n: u64) -> String {
    scaled(n, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

fn scaled(n: u64, base: f64, units: &[&str], precision: usize) -> String {
    let mut v = n as f64;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    format!("{}{}", significant(v, precision), units[i])
}

/// Go's `%.<p>g` for 0 <= v < 10^p: `p` significant digits, trailing zeros dropped.
fn significant(v: f64, p: usize) -> String {
    let int_digits = if v < 1.0 {
        1
    } else {
        v.log10().floor() as usize + 1
    };
    let decimals = p.saturating_sub(int_digits);
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_formatted_as_docker_formats_them() {
        assert_eq!(binary_size(64 << 20), "64MiB");
        assert_eq!(binary_size(1_597_000), "1.523MiB");
        assert_eq!(binary_size(0), "0B");
        assert_eq!(decimal_size(1234), "1.23kB");
        assert_eq!(decimal_size(648), "648B");
        assert_eq!(decimal_size(0), "0B");
    }

    #[test]
    fn net_dev_sums_all_but_lo() {
        let t = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 2000 3 0 0 0 0 0 0 500 2 0 0 0 0 0 0\n";
        assert_eq!(net_dev(t), (2000, 500));
    }
}
