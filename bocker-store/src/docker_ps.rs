//! `ps` as Docker lists containers: the STATUS text with durations (`Up 3 minutes`,
//! `Exited (0) 5 seconds ago`), the quoted COMMAND, PORTS with arrows, newest first,
//! and Docker's `--filter` keys. The rules are Docker 20.10's (daemon `list.go` and
//! `go-units` `HumanDuration`, docker/cli `formatter`), recorded in
//! `tests/data/docker_ps.txt`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::record::Status;
use crate::{liveness, ContainerRecord, Store};

/// Why a `--filter` is refused (Docker answers these with an error, never an empty list).
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// Not `key=value`, or a key Docker's `ps` does not have.
    #[error("invalid filter '{0}'")]
    Invalid(String),
    /// A key of Docker's that bocker does not answer yet.
    #[error("filter '{0}' is not supported")]
    NotSupported(String),
    /// `exited=` takes an exit code.
    #[error("invalid filter 'exited={0}': an exit code is a number")]
    NotACode(String),
    /// `before=`/`since=` name a container that does not exist.
    #[error("no such container {0}")]
    NoSuchContainer(String),
}

/// Docker's `ps --filter` keys that bocker answers (`image` is bocker's older name for
/// `ancestor`).
pub const FILTER_KEYS: &[&str] = &[
    "status", "name", "id", "ancestor", "image", "label", "exited", "before", "since", "publish",
    "volume", "network",
];

/// Docker's `ps` filter keys bocker does not answer yet (nothing records them).
const NOT_YET: &[&str] = &["expose", "health", "isolation", "is-task"];

/// Docker's container states, the values `status=` takes.
const STATES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// `--filter` arguments, grouped by key: values of one key are alternatives, keys
/// must all match (Docker's rule).
#[derive(Debug, Default)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// Parses and checks `key=value` arguments (values that name containers are checked
    /// by [`Filters::matcher`]).
    pub fn parse(args: &[String]) -> Result<Filters, FilterError> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                return Err(FilterError::Invalid(a.clone()));
            };
            if NOT_YET.contains(&k) {
                return Err(FilterError::NotSupported(k.to_string()));
            }
            if !FILTER_KEYS.contains(&k) {
                return Err(FilterError::Invalid(k.to_string()));
            }
            if k == "status" && !STATES.contains(&v) {
                return Err(FilterError::Invalid(a.clone()));
            }
            if k == "exited" && v.parse::<i32>().is_err() {
                return Err(FilterError::NotACode(v.to_string()));
            }
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
        Ok(Filters(map))
    }

    /// A predicate over the store's containers `all` (for `before`/`since`, which name
    /// containers); an unknown container there is an error.
    pub fn matcher<'a>(
        &'a self,
        store: &'a Store,
        all: &'a [ContainerRecord],
    ) -> Result<impl Fn(&ContainerRecord) -> bool + 'a, FilterError> {
        let find = |q: &str| -> Result<SortKey, FilterError> {
            let found = store
                .resolve_container(q)
                .ok()
                .and_then(|id| all.iter().find(|c| c.id == id.0));
            match found {
                Some(c) => Ok(sort_key(store, c)),
                None => Err(FilterError::NoSuchContainer(q.to_string())),
            }
        };
        let bound = |k: &str| -> Result<Vec<SortKey>, FilterError> {
            self.values(k).iter().map(|v| find(v)).collect()
        };
        let before = bound("before")?;
        let since = bound("since")?;
        let ancestors: Vec<String> = ["ancestor", "image"]
            .iter()
            .flat_map(|k| self.values(k))
            .map(|v| {
                store
                    .resolve_image(v)
                    .map(|i| i.0)
                    .unwrap_or_else(|_| v.clone())
            })
            .collect();
        Ok(move |c: &ContainerRecord| {
            // The creation key costs a stat: only `before`/`since` need it.
            let key = (!before.is_empty() || !since.is_empty()).then(|| sort_key(store, c));
            let any = |k: &str, f: &dyn Fn(&str) -> bool| {
                let vs = self.values(k);
                vs.is_empty() || vs.iter().any(|v| f(v))
            };
            let state = liveness::status_text(c);
            let state = state.split(' ').next().unwrap_or_default().to_string();
            any("status", &|v| v == state)
                && any("name", &|v| {
                    c.name.as_deref().unwrap_or_default().contains(v)
                })
                && any("id", &|v| c.id.starts_with(v))
                && (ancestors.is_empty()
                    || ancestors.iter().any(|a| *a == c.image || *a == c.image_ref))
                && any("label", &|v| label_matches(&labels_with_image(store, c), v))
                && any("exited", &|v| {
                    c.state.status == Status::Exited
                        && c.state.exit_code.map(|e| e.to_string()).as_deref() == Some(v)
                })
                && before.iter().all(|b| key.as_ref().is_some_and(|k| k < b))
                && since.iter().all(|s| key.as_ref().is_some_and(|k| k > s))
                && any("publish", &|v| publishes(c, v))
                && any("volume", &|v| {
                    c.config
                        .mounts
                        .iter()
                        .any(|m| m.source == v || m.destination == v || m.volume_name() == Some(v))
                })
                && any("network", &|v| c.config.network.mode == v)
        })
    }

    fn values(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Labels of a container: those its record keeps (`config.labels`).
pub fn labels(c: &ContainerRecord) -> BTreeMap<String, String> {
    match c.config.extra.get("labels") {
        Some(serde_json::Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Labels a container carries as Docker counts them: its image's, then its own over them.
pub fn labels_with_image(store: &Store, c: &ContainerRecord) -> BTreeMap<String, String> {
    let mut all = store
        .resolve_image(&c.image)
        .and_then(|i| store.read_image(&i))
        .map(|i| i.config.labels)
        .unwrap_or_default();
    all.extend(labels(c));
    all
}

/// `label=k` (present) or `label=k=v` (equal).
fn label_matches(labels: &BTreeMap<String, String>, v: &str) -> bool {
    match v.split_once('=') {
        Some((k, want)) => labels.get(k).map(String::as_str) == Some(want),
        None => labels.contains_key(v),
    }
}

/// `publish=80`, `80/udp` or `8000-8080[/tcp]`: a published container port in range.
fn publishes(c: &ContainerRecord, v: &str) -> bool {
    let (ports, proto) = v.split_once('/').unwrap_or((v, "tcp"));
    let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
    let (Ok(lo), Ok(hi)) = (lo.parse::<u16>(), hi.parse::<u16>()) else {
        return false;
    };
    c.config.network.ports.iter().any(|p| {
        crate::docker_inspect::split_mapping(p)
            .and_then(|(_, ctr)| ctr.split_once('/'))
            .is_some_and(|(port, pr)| {
                pr == proto && port.parse::<u16>().is_ok_and(|n| (lo..=hi).contains(&n))
            })
    })
}

/// Creation order: the recorded second, then the container directory's birth time
/// (nanoseconds) for containers made within one second.
pub type SortKey = (String, Option<SystemTime>);

/// The creation-order key of `c`.
pub fn sort_key(store: &Store, c: &ContainerRecord) -> SortKey {
    let dir = store.container_dir(&crate::ContainerId(c.id.clone()));
    let born = std::fs::metadata(&dir).and_then(|m| m.created()).ok();
    (c.created.clone(), born)
}

/// Newest first, as Docker lists.
pub fn newest_first(store: &Store, containers: &mut [ContainerRecord]) {
    containers.sort_by_cached_key(|c| std::cmp::Reverse(sort_key(store, c)));
}

/// Docker's STATUS column: `Created`, `Up 3 minutes`, `Exited (0) 5 seconds ago`, `Dead`.
pub fn status(c: &ContainerRecord) -> String {
    match liveness::status_text(c)
        .split(' ')
        .next()
        .unwrap_or_default()
    {
        "running" => format!(
            "Up {}",
            since(c.state.started_at.as_deref().unwrap_or(&c.created))
        ),
        "paused" => format!(
            "Up {} (Paused)",
            since(c.state.started_at.as_deref().unwrap_or(&c.created))
        ),
        "exited" => {
            let code = c.state.exit_code.unwrap_or(0);
            match c.state.finished_at.as_deref() {
                Some(t) => format!("Exited ({code}) {} ago", since(t)),
                None => format!("Exited ({code})"),
            }
        }
        "dead" => "Dead".into(),
        _ => "Created".into(),
    }
}

/// Docker's `.RunningFor` / CREATED column: `7 seconds ago`.
pub fn created_ago(c: &ContainerRecord) -> String {
    format!("{} ago", since(&c.created))
}

/// Time from the RFC 3339 instant `ts` to now, in Docker's words.
fn since(ts: &str) -> String {
    let elapsed = humantime::parse_rfc3339_weak(ts)
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or(Duration::ZERO);
    human_duration(elapsed)
}

pub use crate::time::human_duration;

/// Docker's command text: the path, then the arguments, those with a space in single
/// quotes (`/bin/sh -c 'echo x'`).
pub fn command(c: &ContainerRecord) -> String {
    c.command
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i > 0 && a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The COMMAND column: [`command`] cut to 20 characters (`…` last) unless `no_trunc`,
/// then quoted as Go's `strconv.Quote` does.
pub fn command_column(c: &ContainerRecord, no_trunc: bool) -> String {
    let text = command(c);
    let text = if !no_trunc && text.chars().count() > 20 {
        let mut t: String = text.chars().take(19).collect();
        t.push('…');
        t
    } else {
        text
    };
    format!("{text:?}")
}

/// The PORTS column while the container runs: `0.0.0.0:8080->80/tcp, …` (empty once
/// it stopped, as Docker's).
pub fn ports(c: &ContainerRecord) -> String {
    if !liveness::is_running(c) {
        return String::new();
    }
    c.config
        .network
        .ports
        .iter()
        .filter_map(|p| {
            let ((ip, host), ctr) = crate::docker_inspect::split_mapping(p)?;
            let ip = if ip.is_empty() { "0.0.0.0" } else { ip };
            let ip = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            Some(format!("{ip}:{host}->{ctr}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SIZE column of `ps -s`: the container's own files, then the image's under it
/// (`0B (virtual 1.98MB)`).
pub fn size(store: &Store, c: &ContainerRecord, image_size: u64) -> (u64, String) {
    let dir = store.container_dir(&crate::ContainerId(c.id.clone()));
    let rw = own_size(&dir, c, image_size);
    let h = crate::format::human_size;
    (rw, format!("{} (virtual {})", h(rw), h(rw + image_size)))
}

/// Bytes the container wrote: overlay's upper directory; on btrfs the snapshot's
/// apparent size beyond the image's.
fn own_size(dir: &Path, c: &ContainerRecord, image_size: u64) -> u64 {
    if c.driver == "overlay" {
        crate::fsutil::tree_size(&dir.join("upper"))
    } else {
        crate::fsutil::tree_size(Path::new(&c.rootfs)).saturating_sub(image_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_dockers() {
        let s = |n| human_duration(Duration::from_secs(n));
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(s(1), "1 second");
        assert_eq!(s(6), "6 seconds");
        assert_eq!(s(60), "About a minute");
        assert_eq!(s(180), "3 minutes");
        assert_eq!(s(3600), "About an hour");
        assert_eq!(s(5 * 3600), "5 hours");
        assert_eq!(s(3 * 86_400), "3 days");
        assert_eq!(s(21 * 86_400), "3 weeks");
        assert_eq!(s(90 * 86_400), "3 months");
        assert_eq!(s(800 * 86_400), "2 years");
    }

    fn rec(command: &[&str]) -> ContainerRecord {
        serde_json::from_value(serde_json::json!({
            "id": "ps_0123456789ab", "image": "img_0123456789ab",
            "command": command, "created": "2026-11-22T20:00:00Z", "driver": "overlay",
            "rootfs": "/nonexistent",
            "state": {"status": "exited", "exit_code": 0}
        }))
        .unwrap()
    }

    #[test]
    fn commands_are_quoted_and_cut_as_dockers() {
        // Docker 20.10: `"/bin/sh -c 'echo x'"`, `"sleep 600"`.
        assert_eq!(
            command_column(&rec(&["/bin/sh", "-c", "echo x"]), false),
            "\"/bin/sh -c 'echo x'\""
        );
        let long = rec(&["/bin/sh", "-c", "echo a long line"]);
        assert_eq!(command_column(&long, false), "\"/bin/sh -c 'echo a …\"");
        assert_eq!(
            command_column(&long, true),
            "\"/bin/sh -c 'echo a long line'\""
        );
    }

    #[test]
    fn unknown_filters_are_errors() {
        let f = |a: &str| {
            Filters::parse(&[a.to_string()])
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(f("bogus=1").as_deref(), Some("invalid filter 'bogus'"));
        assert_eq!(
            f("status=bogus").as_deref(),
            Some("invalid filter 'status=bogus'")
        );
        assert!(f("exited=abc").is_some());
        assert_eq!(
            f("health=healthy").as_deref(),
            Some("filter 'health' is not supported")
        );
        assert!(f("status=exited").is_none());
    }
}
