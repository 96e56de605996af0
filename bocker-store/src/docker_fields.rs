//! The fields Docker's `--format` templates name, built from bocker's records: the
//! `ps` row (`.ID`, `.Image`, `.Command`, `.Names`, `.Status`, …) and the `images` row
//! (`.ID`, `.Repository`, `.Tag`, …), each with the column titles Docker prints for
//! `table` templates (docker/cli formatter contexts, Docker 20.10).

use serde_json::{json, Value};

use crate::{liveness, time, ContainerRecord, ImageRecord};

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

/// One row per tag of `img` (one `<none>` row when untagged), as Docker's `images`
/// template sees them.
pub fn image_rows(img: &ImageRecord, tags: &[String]) -> Vec<Value> {
    let row = |repo: &str, tag: &str| {
        json!({
            "ID": img.id,
            "Repository": repo,
            "Tag": tag,
            "Digest": img.digest.clone().unwrap_or_else(|| "<none>".into()),
            "CreatedSince": time::ago(&img.created),
            "CreatedAt": img.created,
            "Size": crate::format::human_size(img.size),
        })
    };
    if tags.is_empty() {
        return vec![row("<none>", "<none>")];
    }
    tags.iter()
        .map(|t| {
            let (repo, tag) = split_tag(t);
            row(repo, tag)
        })
        .collect()
}

/// `host:5000/repo:tag` into `host:5000/repo` and `tag` (the colon after the last `/`).
fn split_tag(reference: &str) -> (&str, &str) {
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[name_start..].rfind(':') {
        Some(i) => (
            &reference[..name_start + i],
            &reference[name_start + i + 1..],
        ),
        None => (reference, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_at_the_last_colon_of_the_name() {
        assert_eq!(split_tag("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(
            split_tag("127.0.0.1:5000/a/b:v1"),
            ("127.0.0.1:5000/a/b", "v1")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/a"),
            ("127.0.0.1:5000/a", "latest")
        );
    }
}
