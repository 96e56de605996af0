//! `inspect` in Docker's shape: the objects `docker inspect` prints for a container
//! and an image (Docker Engine API 1.41, as Docker 20.10 prints them; recorded in
//! `tests/data/docker_inspect.json`), built from bocker's records. bocker's own facts —
//! the record itself, store paths, the live entry with its cgroup parent and supervisor
//! — are under the one extra key [`BOCKER_KEY`].
//!
//! Where a record lacks what Docker shows, the value is Docker's for "unset": `0`,
//! `""`, `null`, `"0001-01-01T00:00:00Z"` for a time that never was. `Config.Entrypoint`
//! and `Config.Cmd` are split from the recorded argv at the image's entrypoint (an argv
//! that does not start with it is all `Cmd`), unless the record keeps them itself.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::{id::ContainerId, liveness, ContainerRecord, ImageRecord, Store};

/// The key under which bocker's own facts are kept in each object.
pub const BOCKER_KEY: &str = "Bocker";

/// Docker's zero time (Go's `time.Time{}`), for a start or finish that never happened.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Container `rec` as `docker inspect` prints it; `image` is its image's record when
/// it still exists (for the entrypoint split and image labels).
pub fn container(store: &Store, rec: &ContainerRecord, image: Option<&ImageRecord>) -> Value {
    let status = liveness::status_text(rec);
    let state = status.split(' ').next().unwrap_or_default().to_string();
    let running = liveness::is_running(rec);
    let cfg = &rec.config;
    let net = &cfg.network;
    let id = ContainerId(rec.id.clone());
    let dir = store.container_dir(&id);
    let image_cfg = image.map(|i| &i.config);
    let (entrypoint, cmd) = split_command(rec, image_cfg.and_then(|c| c.entrypoint.as_deref()));
    let mut labels: BTreeMap<String, String> =
        image_cfg.map(|c| c.labels.clone()).unwrap_or_default();
    if let Some(Value::Object(own)) = cfg.extra.get("labels") {
        for (k, v) in own {
            labels.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    let ip = |v: &Option<String>| {
        if running {
            v.clone().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut config = json!({
        "Hostname": cfg.hostname,
        "Domainname": "",
        "User": cfg.user.clone().unwrap_or_default(),
        "AttachStdin": cfg.interactive,
        "Tty": cfg.tty,
        "OpenStdin": cfg.interactive,
        "Env": cfg.env,
        "Cmd": cmd,
        "Image": if rec.image_ref.is_empty() { &rec.image } else { &rec.image_ref },
        "WorkingDir": cfg.cwd,
        "Entrypoint": entrypoint,
        "Labels": labels,
    });
    let stop_signal =
        (cfg.stop_signal.clone()).or_else(|| image_cfg.and_then(|c| c.stop_signal.clone()));
    if let Some(s) = stop_signal {
        // Docker omits the key when neither the image nor `run` set one.
        config["StopSignal"] = json!(s);
    }
    if let Some(t) = cfg.extra.get("stop_timeout").filter(|v| v.is_i64()) {
        // `run --stop-timeout`; Docker omits the key when unset.
        config["StopTimeout"] = t.clone();
    }
    let ports = port_map(&net.ports, running);
    let network = json!({
        "IPAMConfig": null, "Links": null, "Aliases": null,
        "Gateway": ip(&net.gateway), "IPAddress": ip(&net.ip),
        "IPPrefixLen": 0, "MacAddress": ip(&net.mac),
    });
    let mut networks = Map::new();
    if !net.mode.is_empty() {
        networks.insert(net.mode.clone(), network);
    }
    let mut bocker = serde_json::to_value(rec).unwrap_or(Value::Null);
    bocker["status"] = json!(status);
    bocker["dir"] = json!(dir);
    if let Ok(Some(live)) = store.read_live(&id) {
        bocker["live"] = serde_json::to_value(&live).unwrap_or(Value::Null);
    }
    json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": rec.command.first().cloned().unwrap_or_default(),
        "Args": rec.command.get(1..).unwrap_or_default(),
        "State": {
            "Status": state,
            "Running": running,
            "Paused": state == "paused",
            "Restarting": false,
            "OOMKilled": false,
            "Dead": state == "dead",
            "Pid": if running { rec.state.pid.unwrap_or(0) } else { 0 },
            "ExitCode": rec.state.exit_code.unwrap_or(0),
            "Error": rec.state.error.clone().unwrap_or_default(),
            "StartedAt": rec.state.started_at.as_deref().unwrap_or(ZERO_TIME),
            "FinishedAt": rec.state.finished_at.as_deref().unwrap_or(ZERO_TIME),
        },
        "Image": rec.image,
        "ResolvConfPath": dir.join("resolv.conf"),
        "HostnamePath": dir.join("hostname"),
        "HostsPath": dir.join("hosts"),
        "LogPath": dir.join("log"),
        "Name": rec.name.as_deref().map(|n| format!("/{n}")).unwrap_or_default(),
        "RestartCount": 0,
        "Driver": rec.driver,
        "Platform": "linux",
        "HostConfig": {
            "Binds": binds(rec),
            "NetworkMode": if net.mode.is_empty() { "default" } else { &net.mode },
            "PortBindings": port_map(&net.ports, false),
            "AutoRemove": cfg.auto_remove,
            "CapAdd": cfg.extra.get("cap_add").cloned().unwrap_or(Value::Null),
            "CapDrop": cfg.extra.get("cap_drop").cloned().unwrap_or(Value::Null),
            "Init": cfg.init,
            "Privileged": cfg.extra.get("privileged").and_then(Value::as_bool).unwrap_or(false),
            "ReadonlyRootfs": cfg.read_only,
            "CpuShares": cfg.resources.cpu_shares.unwrap_or(0),
            "Memory": cfg.resources.memory_bytes.unwrap_or(0),
            "NanoCpus": cfg.resources.cpus.map_or(0, |c| (c * 1e9).round() as u64),
            "PidsLimit": cfg.resources.pids_limit,
            // `run --shm-size`, `--ulimit`, `--device`, `--security-opt` as recorded;
            // Docker's values for "unset" otherwise (64 MiB, null).
            "ShmSize": cfg.extra.get("shm_size").cloned().unwrap_or(json!(67_108_864)),
            "Ulimits": cfg.extra.get("ulimits").cloned().unwrap_or(Value::Null),
            "Devices": cfg.extra.get("devices").cloned().unwrap_or(Value::Null),
            "SecurityOpt": cfg.extra.get("security_opt").cloned().unwrap_or(Value::Null),
        },
        "GraphDriver": graph_driver(store, rec, &dir),
        "Mounts": cfg.mounts.iter().map(mount_json).collect::<Vec<_>>(),
        "Config": config,
        "NetworkSettings": {
            "Bridge": net.bridge.clone().unwrap_or_default(),
            "Ports": ports,
            "Gateway": ip(&net.gateway),
            "IPAddress": ip(&net.ip),
            "IPPrefixLen": 0,
            "MacAddress": ip(&net.mac),
            "Networks": networks,
        },
        BOCKER_KEY: bocker,
    })
}

/// Image `rec` (tagged `tags`) as `docker image inspect` prints it.
pub fn image(store: &Store, rec: &ImageRecord, tags: &[String]) -> Value {
    let c = &rec.config;
    let last = rec.history.last();
    let digests: Vec<String> = match (&rec.reference, &rec.digest) {
        (Some(r), Some(d)) => vec![format!("{}@{d}", repository(r))],
        _ => Vec::new(),
    };
    let layer_paths: Vec<_> = rec
        .layers
        .iter()
        .map(|k| store.driver().layer_path(k))
        .collect();
    let mut bocker = serde_json::to_value(rec).unwrap_or(Value::Null);
    bocker["tags"] = json!(tags);
    bocker["layer_paths"] = json!(layer_paths);
    let exposed: Map<String, Value> = c
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    let mut config = json!({
        "Hostname": "", "Domainname": "",
        "User": c.user.clone().unwrap_or_default(),
        "ExposedPorts": if exposed.is_empty() { Value::Null } else { Value::Object(exposed) },
        "Env": if c.env.is_empty() { Value::Null } else { json!(c.env) },
        "Cmd": c.cmd,
        "Image": "",
        "WorkingDir": c.working_dir.clone().unwrap_or_default(),
        "Entrypoint": c.entrypoint,
        "Labels": if c.labels.is_empty() { Value::Null } else { json!(c.labels) },
    });
    if let Some(s) = &c.stop_signal {
        config["StopSignal"] = json!(s);
    }
    json!({
        "Id": rec.id,
        "RepoTags": tags,
        "RepoDigests": digests,
        "Parent": "",
        "Comment": last.and_then(|h| h.comment.clone()).unwrap_or_default(),
        "Created": rec.created,
        "Author": last.and_then(|h| h.author.clone()).unwrap_or_default(),
        "Config": config,
        "Architecture": go_arch(std::env::consts::ARCH),
        "Os": "linux",
        "Size": rec.size,
        "VirtualSize": rec.size,
        "GraphDriver": {
            "Name": rec.driver,
            "Data": {
                "LowerDir": join_paths(&layer_paths),
            },
        },
        "RootFS": { "Type": "layers", "Layers": rec.layers },
        BOCKER_KEY: bocker,
    })
}

/// The repository of a reference (`docker.io/library/a:1` -> `docker.io/library/a`).
fn repository(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    let name_start = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[name_start..].rfind(':') {
        Some(i) => &reference[..name_start + i],
        None => reference,
    }
}

/// Go's name for a Rust target architecture (`GOARCH`, which Docker reports).
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn join_paths(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// `GraphDriver` of a container: overlay's four directories (lower dirs top first, as
/// overlayfs lists them), or the btrfs snapshot's path.
fn graph_driver(store: &Store, rec: &ContainerRecord, dir: &std::path::Path) -> Value {
    let lower: Vec<_> = rec
        .layers
        .iter()
        .map(|k| store.driver().layer_path(k))
        .collect();
    let data = if rec.driver == "overlay" {
        json!({
            "LowerDir": join_paths(&lower),
            "MergedDir": rec.rootfs,
            "UpperDir": dir.join("upper"),
            "WorkDir": dir.join("work"),
        })
    } else {
        json!({ "MergedDir": rec.rootfs })
    };
    json!({ "Name": rec.driver, "Data": data })
}

/// One of Docker's `Mounts` entries (Docker 20.10: a volume has `Name` and `Driver`
/// and no propagation; a bind is `rprivate`).
fn mount_json(m: &crate::record::MountSpec) -> Value {
    let mut v = json!({
        "Type": m.docker_type(),
        "Source": m.source,
        "Destination": m.destination,
        "Mode": if m.read_only { "ro" } else { "" },
        "RW": !m.read_only,
        "Propagation": if m.docker_type() == "bind" { "rprivate" } else { "" },
    });
    if let Some(name) = m.volume_name() {
        v["Name"] = name.into();
        v["Driver"] = "local".into();
    }
    v
}

/// `-v` mounts as Docker's `HostConfig.Binds` (`src:dst[:ro]`, a named volume by its
/// name), `null` when none; anonymous volumes and tmpfs mounts are no binds.
fn binds(rec: &ContainerRecord) -> Value {
    let binds: Vec<String> = rec
        .config
        .mounts
        .iter()
        .filter(|m| m.docker_type() != "tmpfs")
        .filter_map(|m| {
            let ro = if m.read_only { ":ro" } else { "" };
            let source = match m.volume_name() {
                Some(n) if n.len() == 64 => return None,
                Some(n) => n,
                None => &m.source,
            };
            Some(format!("{source}:{}{ro}", m.destination))
        })
        .collect();
    if binds.is_empty() {
        return Value::Null;
    }
    binds.into()
}

/// Recorded port mappings (`[ip:]host:ctr/proto`) as Docker's port map
/// `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`. `NetworkSettings.Ports` (`live`)
/// names the address the port is bound on (`0.0.0.0` for all), and is empty once the
/// container stopped, as Docker's is; `HostConfig.PortBindings` keeps what was asked.
pub fn port_map(ports: &[String], live: bool) -> Value {
    let mut map = Map::new();
    for p in ports {
        let Some((host, ctr)) = split_mapping(p) else {
            continue;
        };
        let (ip, port) = host;
        let ip = match (ip, live) {
            ("", true) => "0.0.0.0",
            (ip, _) => ip,
        };
        let entry = map.entry(ctr.to_string()).or_insert_with(|| json!([]));
        if let Value::Array(a) = entry {
            a.push(json!({ "HostIp": ip, "HostPort": port }));
        }
    }
    Value::Object(map)
}

/// `[ip:]host:ctr/proto` into `((ip, host), "ctr/proto")`; `ip` may be an IPv6 address.
pub fn split_mapping(p: &str) -> Option<((&str, &str), &str)> {
    let (host, ctr) = p.rsplit_once(':')?;
    let host = match host.rsplit_once(':') {
        Some((ip, port)) => (ip.trim_start_matches('[').trim_end_matches(']'), port),
        None => ("", host),
    };
    Some((host, ctr))
}

/// Entrypoint and Cmd of the container: from the record when it keeps them (`extra`
/// keys `entrypoint`, `cmd`), else the argv split after the image's entrypoint.
fn split_command(rec: &ContainerRecord, image_ep: Option<&[String]>) -> (Value, Value) {
    let extra = &rec.config.extra;
    if extra.contains_key("entrypoint") || extra.contains_key("cmd") {
        let get = |k| extra.get(k).cloned().unwrap_or(Value::Null);
        return (get("entrypoint"), get("cmd"));
    }
    let argv = &rec.command;
    match image_ep {
        Some(ep) if !ep.is_empty() && argv.starts_with(ep) => {
            let rest = &argv[ep.len()..];
            (
                json!(ep),
                if rest.is_empty() {
                    Value::Null
                } else {
                    json!(rest)
                },
            )
        }
        _ => (Value::Null, json!(argv)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mappings_become_docker_port_maps() {
        let ports = vec!["8080:80/tcp".to_string(), "127.0.0.1:53:53/udp".to_string()];
        assert_eq!(
            port_map(&ports, true),
            json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                   "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}]})
        );
        assert_eq!(
            port_map(&ports, false)["80/tcp"][0]["HostIp"],
            "",
            "PortBindings keep what was asked"
        );
        assert_eq!(
            split_mapping("[::1]:8080:80/tcp"),
            Some((("::1", "8080"), "80/tcp"))
        );
    }

    #[test]
    fn repositories_drop_tag_and_digest() {
        assert_eq!(repository("docker.io/library/a:1"), "docker.io/library/a");
        assert_eq!(repository("127.0.0.1:5000/a"), "127.0.0.1:5000/a");
        assert_eq!(repository("127.0.0.1:5000/a@sha256:00"), "127.0.0.1:5000/a");
    }
}
