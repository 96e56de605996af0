//! The state of one container as `bocker-runtime` keeps it on disk, and as `state` and
//! `list` print it.
//!
//! **Layout**: `<root>/<id>/state.json` (root: `--root`, default `/run/bocker-runtime`, a
//! tmpfs, so states vanish with a reboot as the containers do). One directory per
//! container; the lifecycle verbs will keep their other files (the exec fifo) beside it.
//!
//! **Format**: the JSON runc's `state` prints (runc 1.1 `containerState`; OCI runtime spec
//! "State" plus runc's `rootfs`, `created`, `owner`):
//!
//! ```json
//! {"ociVersion": "1.0.2-dev", "id": "c1", "pid": 4242, "status": "running",
//!  "bundle": "/abs/bundle", "rootfs": "/abs/bundle/rootfs",
//!  "created": "2026-11-29T10:00:00.123456789Z", "owner": "", "annotations": {"k": "v"}}
//! ```
//!
//! with one field of bocker's own, `initStartTime`: the init process's start time in clock
//! ticks since boot (`/proc/<pid>/stat` field 22), so a recycled pid is never taken for
//! the container (runc checks the same). It is not printed.
//!
//! **Status**: the file holds the last status a verb wrote (`creating`, `created`,
//! `running`, `paused`); [`Record::current`] turns a live-looking status whose init is gone
//! (or whose pid now names another process) into `stopped`, with `pid` 0 as runc prints.
//! Writes are atomic (a temp file renamed over the old one; no fsync, as runc).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The state file inside a container's directory.
pub const STATE_FILE: &str = "state.json";

/// A container's status (OCI runtime spec "Lifecycle", plus runc's `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is setting the container up; the user's process has not been exec'd.
    Creating,
    /// Set up, its init waiting for `start` (on the exec fifo).
    Created,
    /// The user's process runs.
    Running,
    /// Frozen by `pause` (cgroup freezer).
    Paused,
    /// The init has exited (or never ran); only `delete` remains.
    Stopped,
}

impl Status {
    /// The word `state` and `list` print.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// What `state <id>` prints and `list --format json` lists (runc's field names and order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The OCI runtime spec version of the bundle's config (`ociVersion`).
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    /// The container id (see [`validate_id`]).
    pub id: String,
    /// The init process's pid in the runtime's pid namespace; 0 once stopped.
    pub pid: i32,
    /// See [`Status`].
    pub status: Status,
    /// The bundle directory, absolute.
    pub bundle: PathBuf,
    /// The root filesystem, absolute (the config's `root.path` resolved in the bundle).
    pub rootfs: PathBuf,
    /// When `create` began, RFC 3339 with nanoseconds, UTC (runc: `time.RFC3339Nano`).
    pub created: String,
    /// The user who owns the container, by name ("" when unknown; runc's `owner`).
    pub owner: String,
    /// The config's annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The state file: [`State`] plus what bocker needs to trust it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub state: State,
    /// The init's start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    #[serde(rename = "initStartTime", default)]
    pub init_start_time: u64,
    /// The container's cgroup as bocker-cgroups names it: parent path and group name
    /// (from `linux.cgroupsPath`); never printed, read by `delete`.
    #[serde(rename = "cgroupParent", default)]
    pub cgroup_parent: String,
    #[serde(rename = "cgroupName", default)]
    pub cgroup_name: String,
    /// The config's hooks: `poststart` and `poststop` run in later verbs, when the
    /// bundle may have changed. Never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
}

/// Why a state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// runc's words for an id with no directory under the root.
    #[error("container does not exist")]
    NotFound,
    /// The id is not one runc accepts.
    #[error("invalid container id {0:?}: only letters, digits, '_', '+', '-' and '.' (not '.' or '..' alone)")]
    InvalidId(String),
    /// The state file does not parse.
    #[error("{path}: corrupt state file: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Reading, writing or listing failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks an id as runc does (`^[\w+\-.]+$`, not `.` or `..`), so an id can never name a
/// path outside its root. Longer than 1024 bytes is refused too (runc has no bound; a
/// file name has 255).
pub fn validate_id(id: &str) -> Result<(), StateError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
    if id.is_empty() || id.len() > 255 || id == "." || id == ".." || !id.chars().all(ok_char) {
        return Err(StateError::InvalidId(id.to_string()));
    }
    Ok(())
}

/// `<root>/<id>`, after [`validate_id`].
pub fn container_dir(root: &Path, id: &str) -> Result<PathBuf, StateError> {
    validate_id(id)?;
    Ok(root.join(id))
}

impl Record {
    /// Reads `<root>/<id>/state.json`. A missing directory or file is
    /// [`StateError::NotFound`].
    pub fn load(root: &Path, id: &str) -> Result<Record, StateError> {
        let path = container_dir(root, id)?.join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StateError::NotFound),
            Err(e) => return Err(io_at(&path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
    }

    /// Writes the record atomically: `state.json.tmp`, then a rename over the old one
    /// (readers see the old or the new record, never part of one). No fsync, as runc:
    /// the state describes processes, which a crash ends anyway, and the root is meant to
    /// be a tmpfs; on a disk (containerd's `--root` may be one) three fsyncs per start
    /// cost more than the rest of `create`. Creates the container's directory (mode
    /// 0711, as runc's) if needed.
    pub fn save(&self, root: &Path) -> Result<(), StateError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = container_dir(root, &self.state.id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&dir)
            .map_err(io_at(&dir))?;
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_vec(self).map_err(|source| StateError::Corrupt {
            path: tmp.clone(),
            source,
        })?;
        let mut f = fs::File::create(&tmp).map_err(io_at(&tmp))?;
        f.write_all(&text).map_err(io_at(&tmp))?;
        let path = dir.join(STATE_FILE);
        fs::rename(&tmp, &path).map_err(io_at(&path))
    }

    /// The state as it is now: a `created`/`running`/`paused` container whose init is
    /// gone, or whose pid names a process started at another time, is `stopped` with pid 0.
    pub fn current(&self) -> State {
        self.current_with(start_time_of)
    }

    /// [`Record::current`] with the start-time lookup given (tests).
    pub fn current_with(&self, start_time: impl Fn(i32) -> Option<u64>) -> State {
        let mut s = self.state.clone();
        let live = matches!(s.status, Status::Created | Status::Running | Status::Paused);
        let alive = s.pid > 0 && start_time(s.pid) == Some(self.init_start_time);
        if live && !alive {
            s.status = Status::Stopped;
        }
        if s.status == Status::Stopped {
            s.pid = 0;
        }
        s
    }
}

/// Every container under `root`, as [`Record::current`] sees it, sorted by creation time
/// then id. A missing root is an empty list (runc: nothing was ever created); entries that
/// are not container directories or whose state is unreadable are skipped and returned as
/// warnings, one line each.
pub fn list(root: &Path) -> Result<(Vec<State>, Vec<String>), StateError> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(io_at(root)(e)),
    };
    let (mut states, mut warnings) = (Vec::new(), Vec::new());
    for entry in entries {
        let entry = entry.map_err(io_at(root))?;
        let Some(id) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if validate_id(&id).is_err() || !entry.file_type().map_err(io_at(root))?.is_dir() {
            continue;
        }
        match Record::load(root, &id) {
            Ok(r) => {
                let mut s = r.current();
                s.owner = owner_of(&entry.path());
                states.push(s);
            }
            Err(StateError::NotFound) => {}
            Err(e) => warnings.push(format!("skipping {id}: {e}")),
        }
    }
    states.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    Ok((states, warnings))
}

/// The owner of a container's state directory by user name, `#<uid>` when the name is
/// unknown (runc's `list`: the directory's uid looked up in the user database).
fn owner_of(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = fs::metadata(dir).map(|m| m.uid()) else {
        return String::new();
    };
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

/// The start time of process `pid` in clock ticks since boot (`/proc/<pid>/stat` field
/// 22), or `None` when there is no such process.
pub fn start_time_of(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ')': field 3 (state) is the first; field 22 is the 20th. A zombie (`Z`, or
    // `X` while it is reaped) has exited: its parent just has not reaped it yet.
    let mut fields = rest.split_whitespace();
    if matches!(fields.next()?, "Z" | "X") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// `list`'s text table, as runc's (`ID PID STATUS BUNDLE CREATED OWNER`, Go tabwriter with
/// minimum width 12 and padding 3).
pub fn table(states: &[State]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for s in states {
        rows.push([
            s.id.clone(),
            s.pid.to_string(),
            s.status.as_str().to_string(),
            s.bundle.display().to_string(),
            s.created.clone(),
            s.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c == 5 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, status: Status, pid: i32, start: u64) -> Record {
        Record {
            state: State {
                oci_version: "1.0.2".into(),
                id: id.into(),
                pid,
                status,
                bundle: "/b".into(),
                rootfs: "/b/rootfs".into(),
                created: format!("2026-11-29T10:00:0{}.000000000Z", id.len()),
                owner: "root".into(),
                annotations: BTreeMap::new(),
            },
            init_start_time: start,
            cgroup_parent: String::new(),
            cgroup_name: String::new(),
            hooks: None,
        }
    }

    #[test]
    fn state_json_has_runcs_fields_in_runcs_order() {
        let mut r = record("c1", Status::Running, 42, 7);
        r.state.annotations.insert("k".into(), "v".into());
        let text = serde_json::to_string(&r.state).unwrap();
        assert_eq!(
            text,
            r#"{"ociVersion":"1.0.2","id":"c1","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2026-11-29T10:00:02.000000000Z","owner":"root","annotations":{"k":"v"}}"#
        );
        // Without annotations the key is left out, as runc's omitempty.
        let bare = serde_json::to_value(record("c1", Status::Created, 1, 1).state).unwrap();
        assert!(bare.get("annotations").is_none());
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let root = tempfile::tempdir().unwrap();
        let r = record("c1", Status::Created, 42, 7);
        r.save(root.path()).unwrap();
        assert_eq!(Record::load(root.path(), "c1").unwrap(), r);
        let names: Vec<_> = fs::read_dir(root.path().join("c1"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(STATE_FILE)]);
        let raw: serde_json::Value =
            serde_json::from_slice(&fs::read(root.path().join("c1/state.json")).unwrap()).unwrap();
        assert_eq!(raw["initStartTime"], 7);
    }

    #[test]
    fn a_missing_container_is_runcs_does_not_exist() {
        let root = tempfile::tempdir().unwrap();
        let err = Record::load(root.path(), "nope").unwrap_err();
        assert!(matches!(err, StateError::NotFound));
        assert_eq!(err.to_string(), "container does not exist");
    }

    #[test]
    fn ids_cannot_leave_the_root() {
        for bad in ["", ".", "..", "../x", "a/b", "a b", "x\0"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["c1", "a.b", "A_b+c-d", "..."] {
            validate_id(good).unwrap();
        }
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(
            Record::load(root.path(), "../etc"),
            Err(StateError::InvalidId(_))
        ));
    }

    #[test]
    fn a_dead_or_recycled_init_reads_as_stopped_with_pid_0() {
        let r = record("c1", Status::Running, 42, 7);
        assert_eq!(r.current_with(|_| Some(7)).status, Status::Running);
        assert_eq!(r.current_with(|_| Some(7)).pid, 42);
        let dead = r.current_with(|_| None);
        assert_eq!((dead.status, dead.pid), (Status::Stopped, 0));
        let recycled = r.current_with(|_| Some(8));
        assert_eq!((recycled.status, recycled.pid), (Status::Stopped, 0));
        // `creating` is what it says until create finishes or is cleaned up.
        let creating = record("c1", Status::Creating, 0, 0).current_with(|_| None);
        assert_eq!(creating.status, Status::Creating);
    }

    #[test]
    fn this_process_has_a_start_time_and_is_alive() {
        let me = std::process::id() as i32;
        let t = start_time_of(me).unwrap();
        let r = record("c1", Status::Running, me, t);
        assert_eq!(r.current().status, Status::Running);
        assert_eq!(start_time_of(i32::MAX), None);
    }

    #[test]
    fn list_sorts_skips_junk_and_warns_on_corrupt_states() {
        let root = tempfile::tempdir().unwrap();
        record("bb", Status::Stopped, 0, 0)
            .save(root.path())
            .unwrap();
        record("a", Status::Stopped, 0, 0)
            .save(root.path())
            .unwrap();
        fs::write(root.path().join("file"), "").unwrap();
        fs::create_dir(root.path().join("empty")).unwrap();
        fs::create_dir(root.path().join("bad")).unwrap();
        fs::write(root.path().join("bad/state.json"), "{").unwrap();
        let (states, warnings) = list(root.path()).unwrap();
        let ids: Vec<_> = states.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "bb"]);
        // runc's OWNER: the state directory's owner by name (the tests run as root).
        assert_eq!(states[0].owner, "root");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("skipping bad: "), "{warnings:?}");
        let (none, _) = list(&root.path().join("missing")).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn table_is_runcs_columns() {
        let t = table(&[record("c1", Status::Stopped, 0, 0).state]);
        let lines: Vec<_> = t.lines().collect();
        assert_eq!(
            lines[0],
            "ID          PID         STATUS      BUNDLE      CREATED                          OWNER"
        );
        assert!(lines[1].starts_with("c1          0           stopped     /b          2026-"));
        assert!(lines[1].ends_with("root"));
    }
}
