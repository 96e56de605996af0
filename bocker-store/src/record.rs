//! Image and container records: serde JSON kept beside (never inside) a rootfs.
//!
//! Every field added later must be `#[serde(default)]` so old records still load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The image configuration that `run` applies, as in Docker's image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub exposed_ports: Vec<String>,
    pub stop_signal: Option<String>,
}

/// An image: an ordered list of layers plus its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: String,
    /// What the image came from: a directory (`init`), a reference (`pull`), a container (`commit`).
    pub source: String,
    /// RFC 3339 UTC.
    pub created: String,
    /// The snapshot driver that holds its layers.
    pub driver: String,
    /// Layer keys, bottom first.
    pub layers: Vec<String>,
    /// Apparent size of the image's files in bytes.
    #[serde(default)]
    pub size: u64,
    /// Normalised reference (`docker.io/library/alpine:latest`) when pulled or tagged.
    #[serde(default)]
    pub reference: Option<String>,
    /// Manifest digest (`sha256:…`) when pulled.
    #[serde(default)]
    pub digest: Option<String>,
    /// Hex digests of the blobs under `blobs/sha256/` this image keeps (config and
    /// compressed layers); the collector drops blobs no image lists.
    #[serde(default)]
    pub blobs: Vec<String>,
    #[serde(default)]
    pub config: ImageConfig,
    /// How the image was made, oldest first (OCI image config `history`; `commit` adds one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// One step of an image's making, as an OCI image config `history` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    /// RFC 3339 UTC.
    pub created: String,
    /// The command that made the step (for `commit`, the container's command).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    /// `commit -a`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// `commit -m`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True when the step changed only the config, not the files.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// A container's lifecycle state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Exited,
}

/// Runtime state of a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    pub status: Status,
    /// Host pid of the container's first process while it runs.
    pub pid: Option<i32>,
    /// Host pid of the process supervising it (the foreground `bocker-run`, or a detached supervisor).
    pub supervisor_pid: Option<i32>,
    /// The supervisor's start time (field 22 of `/proc/<pid>/stat`, clock ticks after
    /// boot): with the pid it names one process, whatever pid reuse happens later.
    pub supervisor_start: Option<u64>,
    pub exit_code: Option<i32>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Set when the engine itself failed (what went wrong).
    pub error: Option<String>,
    /// True while `bocker pause` holds the container frozen (Docker's `State.Paused`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Set by `bocker restart` before it stops the container: the exit that follows is
    /// not its end, so its supervisor keeps a `--rm` container (Docker's restart keeps
    /// it too). Cleared when that supervisor records the exit.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub restarting: bool,
}

/// A mount requested with `-v`, `--mount` or made for an image's `VOLUME`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountSpec {
    /// Host path (a bind, or a volume's data directory).
    pub source: String,
    pub destination: String,
    pub read_only: bool,
    /// Docker's `Mounts[].Type`: `bind` (also when empty: records before volumes),
    /// `volume` or `tmpfs`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The volume's name (`kind` `volume`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl MountSpec {
    /// The volume this mount names, if it is one.
    pub fn volume_name(&self) -> Option<&str> {
        self.name.as_deref().filter(|_| self.kind == "volume")
    }

    /// Docker's `Mounts[].Type`.
    pub fn docker_type(&self) -> &str {
        if self.kind.is_empty() {
            "bind"
        } else {
            &self.kind
        }
    }
}

/// Resource limits, as applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub memory_bytes: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
}

/// Network attachment, as made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkState {
    /// `bridge`, `none` or `host`.
    pub mode: String,
    pub bridge: Option<String>,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub mac: Option<String>,
    pub ports: Vec<String>,
}

/// What the runtime needs to (re)create the process and to clean up after it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerConfig {
    pub env: Vec<String>,
    pub cwd: String,
    pub user: Option<String>,
    pub hostname: String,
    pub mounts: Vec<MountSpec>,
    pub resources: Resources,
    pub network: NetworkState,
    pub cgroup_paths: Vec<String>,
    pub netns: Option<String>,
    pub read_only: bool,
    pub init: bool,
    pub tty: bool,
    pub interactive: bool,
    pub auto_remove: bool,
    /// The signal `stop` sends first (the image's `StopSignal`, recorded at create);
    /// `None`: SIGTERM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Anything a newer runtime stores that this version does not know about.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A container: its image, its storage and its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Image id it was created from.
    pub image: String,
    /// What the user typed to name the image.
    #[serde(default)]
    pub image_ref: String,
    /// The full argv it runs (entrypoint + cmd).
    pub command: Vec<String>,
    pub created: String,
    pub driver: String,
    /// Layer keys of the image at creation (kept so `rmi -f` cannot pull them away).
    #[serde(default)]
    pub layers: Vec<String>,
    /// Path of the container's root filesystem.
    pub rootfs: String,
    #[serde(default)]
    pub config: ContainerConfig,
    #[serde(default)]
    pub state: ContainerState,
}

impl ContainerRecord {
    /// `created`, `running`, `paused` or `exited (N)`, as `ps` shows it.
    pub fn status_text(&self) -> String {
        match self.state.status {
            Status::Created => "created".into(),
            Status::Running if self.state.paused => "paused".into(),
            Status::Running => "running".into(),
            Status::Exited => match self.state.exit_code {
                Some(c) => format!("exited ({c})"),
                None => "exited".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> ContainerRecord {
        ContainerRecord {
            id: "ps_0123456789ab".into(),
            name: Some("web".into()),
            image: "img_0123456789ab".into(),
            image_ref: "busybox".into(),
            command: vec!["echo".into(), "hi".into()],
            created: "2026-11-22T20:00:00Z".into(),
            driver: "overlay".into(),
            layers: vec!["l1".into()],
            rootfs: "/var/bocker/containers/ps_0123456789ab/rootfs".into(),
            config: ContainerConfig::default(),
            state: ContainerState::default(),
        }
    }

    #[test]
    fn container_round_trips_and_keeps_unknown_fields() {
        let mut c = container();
        c.config
            .extra
            .insert("future_knob".into(), serde_json::json!({"a": 1}));
        let json = serde_json::to_string(&c).unwrap();
        let back: ContainerRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn old_minimal_records_still_load() {
        let json = r#"{"id":"img_0123456789ab","source":"/tmp/x","created":"2026-11-22T20:00:00Z",
                      "driver":"btrfs","layers":["k"]}"#;
        let r: ImageRecord = serde_json::from_str(json).unwrap();
        assert_eq!(r.size, 0);
        assert_eq!(r.config, ImageConfig::default());
    }

    #[test]
    fn status_text_matches_ps_column() {
        let mut c = container();
        assert_eq!(c.status_text(), "created");
        c.state.status = Status::Exited;
        c.state.exit_code = Some(137);
        assert_eq!(c.status_text(), "exited (137)");
        let json = serde_json::to_value(&c.state).unwrap();
        assert_eq!(json["status"], "exited");
    }
}
