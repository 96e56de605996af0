//! Docker's `Config.Entrypoint` and `Config.Cmd`: the command as the image and the flags
//! gave it, before it became one argv (`Path`/`Args`). Kept on the container record
//! (`config.entrypoint`, `config.cmd`) so `inspect` shows them as Docker does, whatever
//! the image becomes later.

use super::Bundle;
use crate::cli::Args;
use bocker_store::record::ImageConfig;
use serde_json::Value;

/// The record keys `inspect` reads (`bocker_store::docker_inspect`).
pub const RECORD_ENTRYPOINT: &str = "entrypoint";
pub const RECORD_CMD: &str = "cmd";

/// `Config.Entrypoint`, `Config.Cmd` of a run (Docker 20.10): `--entrypoint ""` is no
/// entrypoint (null), `--entrypoint X` drops the image's Cmd, arguments replace it.
pub fn split(args: &Args, image: &ImageConfig) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let (entrypoint, default_cmd) = match args.entrypoint.as_deref() {
        Some("") => (None, None),
        Some(e) => (Some(vec![e.to_string()]), None),
        None => (image.entrypoint.clone(), image.cmd.clone()),
    };
    let cmd = match args.command.as_slice() {
        [] => default_cmd,
        given => Some(given.to_vec()),
    };
    let none_if_empty = |v: Option<Vec<String>>| v.filter(|v| !v.is_empty());
    (none_if_empty(entrypoint), none_if_empty(cmd))
}

/// Keep the run's entrypoint and cmd in the bundle's record extras.
pub fn record(args: &Args, image: &ImageConfig, bundle: &mut Bundle) {
    let (entrypoint, cmd) = split(args, image);
    let json = |v: Option<Vec<String>>| v.map_or(Value::Null, Value::from);
    let record = &mut bundle.extras.record;
    record.insert(RECORD_ENTRYPOINT.into(), json(entrypoint));
    record.insert(RECORD_CMD.into(), json(cmd));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Docker 20.10.24, `docker create … bb …; docker inspect -f '{{json
    /// .Config.Entrypoint}} {{json .Config.Cmd}}'` with an image whose Cmd is `["sh"]`.
    #[test]
    fn entrypoint_and_cmd_as_docker_records_them() {
        let image = ImageConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        let s = |flags: &[&str]| {
            let argv = ["bocker-run"].iter().chain(flags);
            split(&Args::parse_from(argv), &image)
        };
        let v = |x: &[&str]| Some(x.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            s(&["--entrypoint", "", "bb", "echo", "hi"]),
            (None, v(&["echo", "hi"]))
        );
        assert_eq!(
            s(&["--entrypoint", "/bin/echo", "bb"]),
            (v(&["/bin/echo"]), None)
        );
        assert_eq!(
            s(&["--entrypoint", "/bin/echo", "bb", "a", "b"]),
            (v(&["/bin/echo"]), v(&["a", "b"]))
        );
        assert_eq!(s(&["bb"]), (None, v(&["sh"])));
    }
}
