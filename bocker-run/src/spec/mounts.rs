//! Planning the mounts beside host binds: `-v NAME:/path` and `-v /path` (named and
//! anonymous volumes), `--mount type=bind|volume|tmpfs,…` and `--tmpfs PATH[:OPTS]`,
//! with Docker's syntax, defaults and refusals (messages are Docker 20.10's, recorded
//! in the tests). Binds and tmpfs mounts go into the spec here; volumes become
//! [`VolumeRequest`]s, made (and their spec mounts added) when the container is created
//! (`container::volumes`): planning creates nothing on the host.

use super::defaults;
use super::Bundle;
use crate::cli::Args;
use bocker_store::volume;
use oci_spec::runtime::Mount;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A `-v`, `--mount` or `--tmpfs` value refused, in Docker's words.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MountError {
    /// Docker's CLI: a `--mount` value it cannot parse.
    #[error("invalid argument \"{0}\" for \"--mount\" flag: {1}")]
    Syntax(String, String),
    /// Docker's daemon: a mount whose fields do not fit its type.
    #[error("invalid mount config for type \"{0}\": {1}")]
    Config(String, String),
    /// Docker's daemon: two mounts at one place.
    #[error("Duplicate mount point: {0}")]
    Duplicate(String),
    /// A name the local volume driver refuses (Docker's message).
    #[error("{0}")]
    VolumeName(String),
    /// Docker's daemon, for `--tmpfs rel` and `-v rel`.
    #[error("invalid mount path: '{0}' mount path must be absolute")]
    Relative(String),
    #[error("invalid volume specification: '{0}'")]
    Spec(String),
}

/// A volume the container mounts: `name` `None` is a new anonymous volume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VolumeRequest {
    pub name: Option<String>,
    pub dest: String,
    pub readonly: bool,
    /// Copy the image's content at `dest` into the volume while it is empty (Docker's
    /// default; `nocopy` / `volume-nocopy` turn it off).
    pub copy: bool,
}

/// The mount options Docker gives every tmpfs (`--tmpfs`, `--mount type=tmpfs`), before
/// the user's: `/proc/mounts` shows `rw,nosuid,nodev,noexec` (Docker 20.10).
pub const TMPFS_DEFAULTS: &[&str] = &["noexec", "nosuid", "nodev"];

/// Bind propagation modes Docker accepts.
const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// Whether a `-v` value is a volume (named `NAME:/path`, or anonymous `/path`) rather
/// than a host bind (`/host:/path`).
pub fn is_volume(v: &str) -> bool {
    let mut parts = v.split(':');
    let first = parts.next().unwrap_or_default();
    parts.next().is_none() || !first.starts_with('/')
}

/// Add the volume, `--mount` and `--tmpfs` mounts of `args` to a planned bundle.
pub fn add(args: &Args, bundle: &mut Bundle) -> Result<(), MountError> {
    let mut binds = Vec::new();
    let mut volumes = Vec::new();
    for v in args.volumes.iter().filter(|v| is_volume(v)) {
        volumes.push(parse_volume_flag(v)?);
    }
    for m in &args.mounts.mount {
        match parse_mount(m)? {
            Planned::Bind(mount) | Planned::Tmpfs(mount) => binds.push(mount),
            Planned::Volume(v) => volumes.push(v),
        }
    }
    for t in &args.mounts.tmpfs {
        binds.push(parse_tmpfs(t)?);
    }
    let existing = bundle.volumes().map(|m| m.destination().clone());
    let mut seen: Vec<PathBuf> = existing.collect();
    let dests = binds
        .iter()
        .map(|m| m.destination().clone())
        .chain(volumes.iter().map(|v| PathBuf::from(&v.dest)));
    for d in dests {
        if seen.contains(&d) {
            return Err(MountError::Duplicate(d.display().to_string()));
        }
        seen.push(d);
    }
    let mounts = bundle.spec.mounts_mut().get_or_insert_with(Vec::new);
    mounts.extend(binds);
    bundle.extras.volumes = volumes;
    Ok(())
}

/// What one `--mount` stands for.
#[derive(Debug)]
enum Planned {
    Bind(Mount),
    Tmpfs(Mount),
    Volume(VolumeRequest),
}

/// `-v NAME:/path[:MODES]` or `-v /path`: MODES a comma list of `ro`, `rw`, `nocopy`
/// (and `z`/`Z`, accepted and ignored: no SELinux here).
fn parse_volume_flag(v: &str) -> Result<VolumeRequest, MountError> {
    let parts: Vec<&str> = v.split(':').collect();
    let (name, dest, modes) = match parts.as_slice() {
        [dest] => (None, *dest, ""),
        [name, dest] => (Some(*name), *dest, ""),
        [name, dest, modes] => (Some(*name), *dest, *modes),
        _ => return Err(MountError::Spec(v.to_string())),
    };
    absolute(dest)?;
    if let Some(n) = name {
        volume::check_name(n).map_err(|e| MountError::VolumeName(e.to_string()))?;
    }
    let mut req = VolumeRequest {
        name: name.map(str::to_string),
        dest: dest.to_string(),
        readonly: false,
        copy: true,
    };
    for mode in modes.split(',').filter(|m| !m.is_empty()) {
        match mode {
            "ro" => req.readonly = true,
            "rw" => req.readonly = false,
            "nocopy" => req.copy = false,
            "z" | "Z" => {}
            _ => return Err(MountError::Spec(v.to_string())),
        }
    }
    Ok(req)
}

/// The modes of a host bind `-v /h:/c:MODES` (a comma list, Docker's): `ro`, `rw`, the
/// SELinux `z`/`Z` (accepted, ignored: no SELinux here) and a propagation mode (accepted;
/// every mount in the container is private). `Some(read-only)`, or `None` when a mode
/// is unknown.
pub fn bind_readonly(modes: &str) -> Option<bool> {
    let mut readonly = false;
    for mode in modes.split(',') {
        match mode {
            "ro" => readonly = true,
            "rw" => readonly = false,
            "z" | "Z" => {}
            m if PROPAGATIONS.contains(&m) => {}
            _ => return None,
        }
    }
    Some(readonly)
}

fn absolute(path: &str) -> Result<(), MountError> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(MountError::Relative(path.to_string()))
    }
}

/// The fields of one `--mount` value (Docker's CSV keys and their aliases).
#[derive(Debug, Default)]
struct Fields {
    typ: Option<String>,
    source: Option<String>,
    target: Option<String>,
    readonly: bool,
    propagation: Option<String>,
    nonrecursive: bool,
    nocopy: bool,
    tmpfs_size: Option<u64>,
    tmpfs_mode: Option<u32>,
}

/// Go's `strconv.ParseBool` spellings; a key alone is true.
fn boolean(value: Option<&str>) -> Option<bool> {
    match value {
        None | Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Some(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Some(false),
        _ => None,
    }
}

fn fields(spec: &str) -> Result<Fields, MountError> {
    let syntax = |why: String| MountError::Syntax(spec.to_string(), why);
    let mut f = Fields::default();
    for field in spec.split(',') {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let need = || {
            value.ok_or_else(|| syntax(format!("invalid field '{field}' must be a key=value pair")))
        };
        let flag = || {
            boolean(value)
                .ok_or_else(|| syntax(format!("invalid value for {key}: {}", value.unwrap_or(""))))
        };
        match key.as_str() {
            "type" => f.typ = Some(need()?.to_string()),
            "source" | "src" => f.source = Some(need()?.to_string()),
            "target" | "dst" | "destination" => f.target = Some(need()?.to_string()),
            "readonly" | "ro" => f.readonly = flag()?,
            "bind-propagation" => f.propagation = Some(need()?.to_string()),
            "bind-nonrecursive" => f.nonrecursive = flag()?,
            "volume-nocopy" => f.nocopy = flag()?,
            "consistency" => {
                need()?;
            }
            "tmpfs-size" => {
                let v = need()?;
                let bytes = bocker_cgroups::parse_memory(v)
                    .map_err(|_| syntax(format!("invalid value for tmpfs-size: {v}")))?;
                f.tmpfs_size = Some(bytes);
            }
            "tmpfs-mode" => {
                let v = need()?;
                let mode = u32::from_str_radix(v, 8)
                    .map_err(|_| syntax(format!("invalid value for tmpfs-mode: {v}")))?;
                f.tmpfs_mode = Some(mode);
            }
            _ => return Err(syntax(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    if f.target.is_none() {
        return Err(syntax("target is required".into()));
    }
    Ok(f)
}

/// One `--mount` value (default type `volume`, as Docker's).
fn parse_mount(spec: &str) -> Result<Planned, MountError> {
    let f = fields(spec)?;
    let typ = f.typ.clone().unwrap_or_else(|| "volume".into());
    let config = |why: &str| MountError::Config(typ.clone(), why.to_string());
    let target = f.target.clone().unwrap_or_default();
    if !target.starts_with('/') {
        return Err(config(&format!(
            "invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    match typ.as_str() {
        "bind" => {
            let source = f
                .source
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| config("field Source must not be empty"))?;
            if !source.starts_with('/') {
                return Err(config(&format!(
                    "invalid mount path: '{source}' mount path must be absolute"
                )));
            }
            if let Some(p) = f.propagation.as_deref() {
                if !PROPAGATIONS.contains(&p) {
                    return Err(config(&format!("invalid propagation mode: {p}")));
                }
            }
            // Docker checks at create; planning may read the host.
            if !Path::new(&source).exists() {
                return Err(config(&format!(
                    "bind source path does not exist: {source}"
                )));
            }
            let mut opts = vec![if f.nonrecursive { "bind" } else { "rbind" }];
            opts.push(f.propagation.as_deref().unwrap_or("rprivate"));
            if f.readonly {
                opts.push("ro");
            }
            Ok(Planned::Bind(defaults::mount(
                &target, "bind", source, &opts,
            )))
        }
        "volume" => {
            if f.tmpfs_size.is_some() || f.tmpfs_mode.is_some() {
                return Err(config("field TmpfsOptions must not be specified"));
            }
            let name = f.source.clone().filter(|s| !s.is_empty());
            if let Some(n) = &name {
                volume::check_name(n).map_err(|e| MountError::VolumeName(e.to_string()))?;
            }
            Ok(Planned::Volume(VolumeRequest {
                name,
                dest: target,
                readonly: f.readonly,
                copy: !f.nocopy,
            }))
        }
        "tmpfs" => {
            if f.source.is_some() {
                return Err(config("field Source must not be specified"));
            }
            let mut opts: Vec<String> = TMPFS_DEFAULTS.iter().map(|s| s.to_string()).collect();
            if f.readonly {
                opts.push("ro".into());
            }
            if let Some(size) = f.tmpfs_size {
                opts.push(format!("size={size}"));
            }
            if let Some(mode) = f.tmpfs_mode {
                opts.push(format!("mode={mode:o}"));
            }
            Ok(Planned::Tmpfs(tmpfs(&target, &opts)))
        }
        _ => Err(config("mount type unknown")),
    }
}

/// `--tmpfs PATH[:OPTS]`: OPTS are mount(8) options (`size=64m,mode=1777,exec`) after
/// Docker's defaults, so `exec` undoes `noexec`.
fn parse_tmpfs(value: &str) -> Result<Mount, MountError> {
    let (path, opts) = value.split_once(':').unwrap_or((value, ""));
    absolute(path)?;
    let mut all: Vec<String> = TMPFS_DEFAULTS.iter().map(|s| s.to_string()).collect();
    all.extend(
        opts.split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string),
    );
    Ok(tmpfs(path, &all))
}

fn tmpfs(dest: &str, opts: &[String]) -> Mount {
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    defaults::mount(dest, "tmpfs", "tmpfs", &opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bocker_store::record::ImageConfig;
    use clap::Parser;

    fn bundle(flags: &[&str]) -> Result<Bundle, super::super::PlanError> {
        let argv = ["bocker-run"].iter().chain(flags).chain(&["img", "true"]);
        super::super::plan(&Args::parse_from(argv), &ImageConfig::default())
    }

    fn err(flags: &[&str]) -> String {
        bundle(flags).unwrap_err().to_string()
    }

    fn mount_at(b: &Bundle, dest: &str) -> Mount {
        let mut m = b.spec.mounts().as_ref().unwrap().iter();
        m.rfind(|m| m.destination() == Path::new(dest))
            .cloned()
            .unwrap_or_else(|| panic!("no mount at {dest}"))
    }

    #[test]
    fn v_names_and_anonymous_paths_are_volumes() {
        assert!(is_volume("data:/data"));
        assert!(is_volume("/data"));
        assert!(!is_volume("/host:/data:ro"));
        let b = bundle(&["-v", "data:/data:ro,nocopy", "-v", "/cache", "-v", "/h:/h"]).unwrap();
        assert_eq!(
            b.extras.volumes,
            [
                VolumeRequest {
                    name: Some("data".into()),
                    dest: "/data".into(),
                    readonly: true,
                    copy: false
                },
                VolumeRequest {
                    name: None,
                    dest: "/cache".into(),
                    readonly: false,
                    copy: true
                },
            ]
        );
        // The host bind stays a bind; volumes get their mounts at create.
        assert_eq!(b.volumes().count(), 1);
    }

    #[test]
    fn host_binds_take_dockers_mode_lists() {
        assert_eq!(bind_readonly("ro"), Some(true));
        assert_eq!(bind_readonly("ro,z,rprivate"), Some(true));
        assert_eq!(bind_readonly("Z,rw"), Some(false));
        assert_eq!(bind_readonly("zz"), None);
        assert_eq!(bind_readonly(""), None);
        let b = bundle(&["-v", "/h:/c:ro,Z"]).unwrap();
        let opts = mount_at(&b, "/c").options().clone().unwrap();
        assert!(opts.contains(&"ro".to_string()), "{opts:?}");
    }

    #[test]
    fn tmpfs_gets_dockers_defaults_and_the_users_options() {
        let b = bundle(&["--tmpfs", "/x", "--tmpfs", "/y:size=1m,exec"]).unwrap();
        let x = mount_at(&b, "/x");
        assert_eq!(x.typ().as_deref(), Some("tmpfs"));
        assert_eq!(
            x.options().as_ref().unwrap(),
            &["noexec", "nosuid", "nodev"]
        );
        let y = mount_at(&b, "/y");
        let (flags, data) = crate::rootfs::steps::parse_options(y.options().as_ref().unwrap());
        assert_eq!(flags & libc::MS_NOEXEC, 0, "exec undoes noexec");
        assert_eq!(data, "size=1m");
        assert_eq!(
            err(&["--tmpfs", "rel"]),
            "invalid mount path: 'rel' mount path must be absolute"
        );
    }

    #[test]
    fn mount_takes_dockers_keys() {
        let b = bundle(&[
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1700",
            "--mount",
            "type=bind,src=/,target=/host,readonly",
            "--mount",
            "src=vol1,dst=/v,volume-nocopy",
        ])
        .unwrap();
        let t = mount_at(&b, "/t");
        let opts = t.options().as_ref().unwrap();
        assert!(opts.contains(&"size=1048576".to_string()));
        assert!(opts.contains(&"mode=1700".to_string()));
        let h = mount_at(&b, "/host");
        assert_eq!(h.options().as_ref().unwrap(), &["rbind", "rprivate", "ro"]);
        assert_eq!(b.extras.volumes[0].name.as_deref(), Some("vol1"));
        assert!(!b.extras.volumes[0].copy);
    }

    /// Docker 20.10 (CLI 28.2.2), `docker run --mount …`, 2026-11-29.
    #[test]
    fn mount_refusals_are_dockers() {
        for (spec, want) in [
            ("type=bind,src=/nonexistent-bocker,dst=/x", "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-bocker"),
            ("type=bind,dst=/x", "invalid mount config for type \"bind\": field Source must not be empty"),
            ("type=foo,dst=/x", "invalid mount config for type \"foo\": mount type unknown"),
            ("type=tmpfs", "invalid argument \"type=tmpfs\" for \"--mount\" flag: target is required"),
            ("type=volume,src=v1,dst=/x,bogus=1", "invalid argument \"type=volume,src=v1,dst=/x,bogus=1\" for \"--mount\" flag: unexpected key 'bogus' in 'bogus=1'"),
            ("type=tmpfs,src=a,dst=/x", "invalid mount config for type \"tmpfs\": field Source must not be specified"),
            ("type=bind,src=rel,dst=/x", "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"),
            ("type=tmpfs,dst=/x,tmpfs-size=zz", "invalid argument \"type=tmpfs,dst=/x,tmpfs-size=zz\" for \"--mount\" flag: invalid value for tmpfs-size: zz"),
            ("type=bind,src=/tmp,dst=/x,bind-propagation=zz", "invalid mount config for type \"bind\": invalid propagation mode: zz"),
            ("type=bind,src=/tmp,dst=rel", "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"),
        ] {
            assert_eq!(err(&["--mount", spec]), want, "{spec}");
        }
        assert!(err(&["--mount", "type=volume,src=/abs,dst=/x"])
            .starts_with("create /abs: \"/abs\" includes invalid characters"));
        assert_eq!(
            err(&["-v", "ab:/x", "--tmpfs", "/x"]),
            "Duplicate mount point: /x"
        );
    }
}
