//! The fields Docker's `--format` templates name, built from bocker's records: the
//! `ps` row (`.ID`, `.Image`, `.Command`, `.Names`, `.Status`, …) and the `images` row
//! (`.ID`, `.Repository`, `.Tag`, …), each with the column titles Docker prints for
//! `table` templates (docker/cli formatter contexts, Docker 20.10).

use serde_json::{json, Value};

use crate::{liveness, time, ContainerRecord};

/// Column titles of `ps` fields, for `table` templates.
pub fn container_headers() -> Value {
    json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
        "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
        "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES",
        "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "IP": "IP",
    })
}

/// One container as Docker's `ps` template sees it. `.Command` is quoted as Docker
/// quotes it; `.IP` is bocker's own (the bridge address while it runs).
pub fn container(c: &ContainerRecord) -> Value {
    let running = liveness::is_running(c);
    let status = liveness::status_text(c);
    let state = status.split(' ').next().unwrap_or_default().to_string();
    let net = &c.config.network;
    json!({
        "ID": c.id,
        "Image": if c.image_ref.is_empty() { &c.image } else { &c.image_ref },
        "Command": format!("{:?}", c.command.join(" ")),
        "CreatedAt": c.created,
        "RunningFor": time::ago(&c.created),
        "Ports": net.ports.join(", "),
        "State": state,
        "Status": status,
        "Size": "",
        "Names": c.name.clone().unwrap_or_default(),
        "Labels": "",
        "Mounts": c.config.mounts.iter().map(|m| m.destination.as_str()).collect::<Vec<_>>().join(","),
        "Networks": net.mode,
        "IP": if running { net.ip.clone().unwrap_or_default() } else { String::new() },
    })
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
