//! The fields Docker's `--format` templates name, built from bocker's records: the
//! `ps` row (`.ID`, `.Image`, `.Command`, `.Names`, `.Status`, …) and the `images` row
//! (`.ID`, `.Repository`, `.Tag`, …), each with the column titles Docker prints for
//! `table` templates (docker/cli formatter contexts, Docker 20.10).

use serde_json::{json, Value};

use crate::{docker_ps, liveness, time, ContainerRecord};

/// Column titles of `ps` fields, for `table` templates.
pub fn container_headers() -> Value {
    json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
        "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
        "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES",
        "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "IP": "IP",
    })
}

/// One container as Docker's `ps` template sees it: `.Command` quoted (and cut to 20
/// characters unless `no_trunc`), `.Status` with durations, `.Size` as `-s` shows it
/// (empty without `-s`); `.IP` is bocker's own (the bridge address while it runs).
pub fn container(c: &ContainerRecord, no_trunc: bool, size: &str) -> Value {
    let status = liveness::status_text(c);
    let state = status.split(' ').next().unwrap_or_default().to_string();
    let net = &c.config.network;
    let labels = docker_ps::labels(c)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "ID": c.id,
        "Image": image_of(c),
        "Command": docker_ps::command_column(c, no_trunc),
        "CreatedAt": created_at(&c.created),
        "RunningFor": docker_ps::created_ago(c),
        "Ports": docker_ps::ports(c),
        "State": state,
        "Status": docker_ps::status(c),
        "Size": size,
        "Names": c.name.clone().unwrap_or_default(),
        "Labels": labels,
        "Mounts": c.config.mounts.iter().map(|m| m.destination.as_str()).collect::<Vec<_>>().join(","),
        "Networks": net.mode,
        "IP": ip(c),
    })
}

/// The image as the user named it (its id when they named none).
pub fn image_of(c: &ContainerRecord) -> &str {
    if c.image_ref.is_empty() {
        &c.image
    } else {
        &c.image_ref
    }
}

/// The container's bridge address while it runs (it is leased only then).
pub fn ip(c: &ContainerRecord) -> String {
    if liveness::is_running(c) {
        c.config.network.ip.clone().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Docker's `.CreatedAt` (Go's `time.Time.String()`: `2026-11-29 10:47:17 +0000 UTC`).
fn created_at(rfc3339: &str) -> String {
    match humantime::parse_rfc3339_weak(rfc3339) {
        Ok(t) => {
            let s = humantime::format_rfc3339_seconds(t).to_string();
            format!("{} +0000 UTC", s.trim_end_matches('Z').replace('T', " "))
        }
        Err(_) => rfc3339.to_string(),
    }
}

/// Column titles of `images` fields, for `table` templates.
pub fn image_headers() -> Value {
    json!({
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
    })
}

/// One `images` row as Docker's template sees it (`.CreatedSince` in Docker's units).
pub fn image_row(r: &crate::image_list::ImageRow) -> Value {
    json!({
        "ID": r.image.id,
        "Repository": r.repository,
        "Tag": r.tag,
        "Digest": r.digest,
        "CreatedSince": time::docker_ago(&r.created),
        "CreatedAt": r.created,
        "Size": crate::format::human_size(r.image.size),
    })
}
