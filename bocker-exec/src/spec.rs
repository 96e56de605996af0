//! `ExecSpec`: what to run and how, from the container's record and the command line,
//! as Docker's exec merges them: the container's environment plus `-e` (later wins),
//! `-w` else the container's working directory, `-u` else the container's user.

use crate::cli::Args;
use bocker_store::ContainerRecord;

/// The command to start inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    pub argv: Vec<String>,
    /// KEY=VALUE; HOME is added from the user's passwd entry when absent.
    pub env: Vec<String>,
    /// Absolute path inside the container.
    pub cwd: String,
    /// Docker `-u` syntax, resolved against the container's /etc/passwd and /etc/group.
    pub user: String,
    pub stdin: bool,
    pub tty: bool,
    pub detach: bool,
    /// The container's `--security-opt no-new-privileges` (Docker's exec inherits it).
    pub no_new_privileges: bool,
    /// The container's capabilities, rlimits and seccomp filter (Docker's exec inherits them).
    pub privileges: crate::runtime::Privileges,
    /// Fds 3..3+N of ours the command keeps (`bocker-runtime exec --preserve-fds`).
    pub preserve_fds: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// Docker: "the working directory 'x' is invalid, it needs to be an absolute path".
    #[error("the working directory '{0}' is invalid, it needs to be an absolute path")]
    RelativeWorkdir(String),
    /// Docker 20.10's `opts.ValidateEnv`: a variable without a name.
    #[error("invalid environment variable: {0}")]
    BadEnv(String),
    /// `--env-file` could not be read: the path and the reason (Docker: `open PATH: …`).
    #[error("open {0}")]
    EnvFile(String),
    /// A line of an `--env-file` Docker refuses (the message names it).
    #[error("{0}")]
    EnvFileLine(String),
}

/// Merge the record and the options. `ours` looks up a variable of the caller (for
/// `-e KEY` without a value, which copies it when set, as Docker does).
pub fn build(
    args: &Args,
    rec: &ContainerRecord,
    ours: impl Fn(&str) -> Option<String>,
) -> Result<ExecSpec, SpecError> {
    let mut env = rec.config.env.clone();
    // `--env-file` lines first, then `-e` (later wins), as `run` and Docker do.
    let mut given = Vec::new();
    for path in &args.env_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::EnvFile(format!("{}: {e}", path.display())))?;
        let lines = bocker_run::spec::image_rules::parse_env_file(&text)
            .map_err(|e| SpecError::EnvFileLine(e.to_string()))?;
        given.extend(lines);
    }
    given.extend(args.env.iter().cloned());
    for e in &given {
        if e.split('=').next().is_none_or(str::is_empty) {
            return Err(SpecError::BadEnv(e.clone()));
        }
        let entry = match e.split_once('=') {
            Some(_) => e.clone(),
            None => match ours(e) {
                Some(v) => format!("{e}={v}"),
                // Docker 20.10 (`ReplaceOrAppendEnvValues`): a name we do not have
                // unsets the container's value.
                None => {
                    env.retain(|kv| kv.split('=').next() != Some(e.as_str()));
                    continue;
                }
            },
        };
        set(&mut env, entry);
    }
    // Docker's exec -t sets TERM=xterm unless given.
    if args.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let cwd = match &args.workdir {
        Some(w) if !w.starts_with('/') => return Err(SpecError::RelativeWorkdir(w.clone())),
        Some(w) => w.clone(),
        None if rec.config.cwd.is_empty() => "/".into(),
        None => rec.config.cwd.clone(),
    };
    Ok(ExecSpec {
        argv: args.command.clone(),
        env,
        cwd,
        user: args
            .user
            .clone()
            .or_else(|| rec.config.user.clone())
            .unwrap_or_default(),
        stdin: args.interactive,
        tty: args.tty,
        detach: args.detach,
        no_new_privileges: crate::runtime::recorded_no_new_privileges(&rec.config),
        privileges: privileges(args, rec),
        preserve_fds: 0,
    })
}

/// The container's privileges; with `--privileged`, every capability instead of the
/// container's (moby's exec: `Privileged` sets all capabilities of the process; the
/// container's seccomp filter stays, as runc applies the container's to an exec).
fn privileges(args: &Args, rec: &ContainerRecord) -> crate::runtime::Privileges {
    let mut p = crate::runtime::recorded::of(&rec.config);
    if args.privileged {
        p.capabilities = Some(bocker_run::spec::security::privileged_capabilities());
    }
    p
}

/// Replace the entry with the same key, or append.
fn set(env: &mut Vec<String>, entry: String) {
    let key = entry.split('=').next().unwrap_or_default();
    match env.iter_mut().find(|e| e.split('=').next() == Some(key)) {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn record() -> ContainerRecord {
        let mut r: ContainerRecord = serde_json::from_value(serde_json::json!({
            "id": "ps_0123456789ab", "image": "img_0123456789ab", "command": ["sleep", "9"],
            "created": "2026-11-22T20:00:00Z", "driver": "overlay", "rootfs": "/x"
        }))
        .unwrap();
        r.config.env = vec!["PATH=/bin".into(), "A=1".into(), "UNSET=img".into()];
        r.config.cwd = "/srv".into();
        r.config.user = Some("daemon".into());
        r
    }

    fn args(a: &[&str]) -> Args {
        Args::parse_from(std::iter::once("bocker-exec").chain(a.iter().copied()))
    }

    #[test]
    fn env_file_lines_come_before_e_and_a_missing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(&file, "# comment\nA=from-file\nB=b\n\nMINE\n").unwrap();
        let path = file.to_str().unwrap();
        let ours = |k: &str| (k == "MINE").then(|| "m".to_string());
        let s = build(
            &args(&["--env-file", path, "-e", "B=flag", "x", "env"]),
            &record(),
            ours,
        )
        .unwrap();
        // Docker: the file's lines, then -e; later wins; a bare name copies ours.
        assert_eq!(
            s.env,
            ["PATH=/bin", "A=from-file", "UNSET=img", "B=flag", "MINE=m"]
        );
        let missing = dir.path().join("nope");
        let e = build(
            &args(&["--env-file", missing.to_str().unwrap(), "x", "env"]),
            &record(),
            ours,
        )
        .unwrap_err();
        assert!(matches!(e, SpecError::EnvFile(m) if m.contains("nope")));
    }

    #[test]
    fn record_defaults_and_options_merge_as_docker_does() {
        let ours = |k: &str| (k == "MINE").then(|| "m".to_string());
        let s = build(&args(&["x", "env"]), &record(), ours).unwrap();
        assert_eq!((s.cwd.as_str(), s.user.as_str()), ("/srv", "daemon"));
        assert_eq!(s.env, ["PATH=/bin", "A=1", "UNSET=img"]);
        let s = build(
            &args(&[
                "-t", "-e", "A=2", "-e", "MINE", "-e", "UNSET", "-w", "/tmp", "-u", "1000", "x",
                "env", "-0",
            ]),
            &record(),
            ours,
        )
        .unwrap();
        assert_eq!(s.env, ["PATH=/bin", "A=2", "MINE=m", "TERM=xterm"]);
        assert_eq!((s.cwd.as_str(), s.user.as_str()), ("/tmp", "1000"));
        assert_eq!(s.argv, ["env", "-0"]);
        assert_eq!(
            build(&args(&["-w", "rel", "x", "true"]), &record(), ours),
            Err(SpecError::RelativeWorkdir("rel".into()))
        );
        assert_eq!(
            build(&args(&["-e", "=x", "x", "true"]), &record(), ours),
            Err(SpecError::BadEnv("=x".into()))
        );
    }
}
