//! Docker's rules for turning an image config plus `run` flags into the process to start
//! (the first stage of planning): Entrypoint/Cmd, Env (default PATH), WorkingDir, User;
//! and the seed's shell form.

use thiserror::Error;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The parts of an image config that shape the process.
#[derive(Debug, Clone, Default)]
pub struct ImageDefaults {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

/// A refused image config or flag.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("no command specified")]
    NoCommand,
    #[error("the working directory '{0}' is invalid, it needs to be an absolute path")]
    RelativeWorkdir(String),
    /// Docker 20.10's `opts.ValidateEnv`: an empty name (or a NUL byte, which execve cannot carry).
    #[error("invalid environment variable: {0}")]
    BadEnv(String),
    /// Docker 20.10's `opts.ParseEnvFile`: a name with blanks (`export X=1`) or no name.
    #[error("poorly formatted environment: {0}")]
    EnvFileLine(String),
}

/// The command: `--entrypoint` replaces the image's (and drops its Cmd); arguments replace
/// Cmd. A single argument containing whitespace is the seed's form, run by `/bin/sh -c`,
/// but only when neither the image nor `--entrypoint` gives an entrypoint: with one, the
/// argument is passed to it unchanged (Docker 20.10: `Entrypoint ["/bin/echo"]` and the
/// argument `'a | b'` print `a | b`).
pub fn argv(
    image: &ImageDefaults,
    entrypoint: Option<&str>,
    args: &[String],
) -> Result<Vec<String>, RuleError> {
    let (entry, default_cmd) = match entrypoint {
        Some("") => (Vec::new(), None),
        Some(e) => (vec![e.to_string()], None),
        None => (
            image.entrypoint.clone().unwrap_or_default(),
            image.cmd.clone(),
        ),
    };
    let cmd = match args {
        [] => default_cmd.unwrap_or_default(),
        [one] if entry.is_empty() && one.contains(char::is_whitespace) => {
            vec!["/bin/sh".into(), "-c".into(), one.clone()]
        }
        many => many.to_vec(),
    };
    let argv: Vec<String> = entry.into_iter().chain(cmd).collect();
    if argv.is_empty() {
        return Err(RuleError::NoCommand);
    }
    Ok(argv)
}

fn key(kv: &str) -> &str {
    kv.split_once('=').map_or(kv, |(k, _)| k)
}

/// Environment: PATH default, HOSTNAME (when known: else the container id is added at
/// create), the image's Env, then the user's (later wins). A user entry without `=`
/// takes the value from our own environment; when we have none it *unsets* the name,
/// image value included, and so does an image entry without `=` (Docker 20.10's
/// `ReplaceOrAppendEnvValues`: `-e MY_VAR` with MY_VAR unset leaves it unset).
pub fn env(
    image: &ImageDefaults,
    hostname: Option<&str>,
    user_env: &[String],
) -> Result<Vec<String>, RuleError> {
    let mut out: Vec<String> = Vec::new();
    let set = |kv: String, out: &mut Vec<String>| {
        let k = key(&kv).to_string();
        out.retain(|e| key(e) != k);
        out.push(kv);
    };
    set(format!("PATH={DEFAULT_PATH}"), &mut out);
    if let Some(h) = hostname {
        set(format!("HOSTNAME={h}"), &mut out);
    }
    for kv in &image.env {
        set(kv.clone(), &mut out);
    }
    for kv in user_env {
        if key(kv).is_empty() || kv.contains('\0') {
            return Err(RuleError::BadEnv(kv.clone()));
        }
        match (kv.contains('='), std::env::var(kv)) {
            (false, Ok(v)) => set(format!("{kv}={v}"), &mut out),
            _ => set(kv.clone(), &mut out),
        }
    }
    // The names to unset are gone now, with the values they replaced.
    out.retain(|e| e.contains('='));
    Ok(out)
}

/// Lines of an `--env-file`, as Docker 20.10's `opts.ParseEnvFile`: a UTF-8 byte-order
/// mark before the first line is dropped (Notepad writes one), leading blanks trimmed,
/// blank and `#` lines skipped; `KEY=VALUE` (the value kept exactly) or `KEY`. A name
/// holding a blank or tab (`export X=1`) or an empty name is refused.
pub fn parse_env_file(text: &str) -> Result<Vec<String>, RuleError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (line, None),
        };
        let name = name.trim_start_matches([' ', '\t']);
        if name.contains([' ', '\t']) {
            return Err(RuleError::EnvFileLine(format!(
                "variable '{name}' contains whitespaces"
            )));
        }
        if name.is_empty() {
            return Err(RuleError::EnvFileLine(format!(
                "no variable name on line '{line}'"
            )));
        }
        out.push(match value {
            Some(v) => format!("{name}={v}"),
            None => name.to_string(),
        });
    }
    Ok(out)
}

/// The working directory: `-w`, else the image's WorkingDir, else `/`; absolute.
pub fn workdir(image: &ImageDefaults, flag: Option<&str>) -> Result<String, RuleError> {
    let w = flag
        .or(image.working_dir.as_deref())
        .filter(|w| !w.is_empty())
        .unwrap_or("/");
    if !w.starts_with('/') {
        return Err(RuleError::RelativeWorkdir(w.to_string()));
    }
    Ok(w.to_string())
}

/// The Docker user form: `-u`, else the image's User, else "" (root).
pub fn user(image: &ImageDefaults, flag: Option<&str>) -> String {
    flag.or(image.user.as_deref()).unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img() -> ImageDefaults {
        ImageDefaults {
            entrypoint: Some(vec!["/entry".into()]),
            cmd: Some(vec!["serve".into()]),
            env: vec!["PATH=/img/bin".into(), "A=1".into()],
            ..Default::default()
        }
    }

    #[test]
    fn command_rules() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(argv(&img(), None, &[]).unwrap(), s(&["/entry", "serve"]));
        assert_eq!(
            argv(&img(), None, &s(&["x", "y"])).unwrap(),
            s(&["/entry", "x", "y"])
        );
        assert_eq!(argv(&img(), Some(""), &s(&["ls"])).unwrap(), s(&["ls"]));
        assert_eq!(argv(&img(), Some("/bin/sh"), &[]).unwrap(), s(&["/bin/sh"]));
        let plain = ImageDefaults::default();
        assert_eq!(
            argv(&plain, None, &s(&["sleep 5 && ps"])).unwrap(),
            s(&["/bin/sh", "-c", "sleep 5 && ps"])
        );
        assert_eq!(argv(&plain, None, &[]), Err(RuleError::NoCommand));
        // An entrypoint (the image's or --entrypoint) gets the argument as it is.
        assert_eq!(
            argv(&img(), None, &s(&[".a | keys"])).unwrap(),
            s(&["/entry", ".a | keys"])
        );
        assert_eq!(
            argv(&plain, Some("/bin/echo"), &s(&["hello world"])).unwrap(),
            s(&["/bin/echo", "hello world"])
        );
        assert_eq!(
            argv(&img(), Some(""), &s(&["echo a b"])).unwrap(),
            s(&["/bin/sh", "-c", "echo a b"])
        );
    }

    #[test]
    fn env_rules() {
        let e = env(&img(), Some("h"), &["A=2".into(), "B=x=y".into()]).unwrap();
        assert_eq!(e, vec!["HOSTNAME=h", "PATH=/img/bin", "A=2", "B=x=y"]);
        assert!(env(&img(), Some("h"), &["=x".into()]).is_err());
        assert_eq!(parse_env_file("# c\n\nA=1\nB\n").unwrap(), vec!["A=1", "B"]);
        // Docker 20.10: a BOM is not part of the first name; blanks in a name are refused.
        assert_eq!(
            parse_env_file("\u{feff}FOO=bar\n").unwrap(),
            vec!["FOO=bar"]
        );
        assert_eq!(
            parse_env_file("export X=1\n").unwrap_err().to_string(),
            "poorly formatted environment: variable 'export X' contains whitespaces"
        );
        assert!(parse_env_file("=1\n").is_err());
        // A name without a value that we do not have unsets the image's value.
        let mut image = img();
        image.env.push("BOCKER_TEST_SURELY_UNSET=image".into());
        let e = env(&image, None, &["BOCKER_TEST_SURELY_UNSET".into()]).unwrap();
        assert_eq!(e, vec!["PATH=/img/bin", "A=1"]);
    }

    #[test]
    fn workdir_must_be_absolute() {
        assert_eq!(workdir(&img(), None).unwrap(), "/");
        assert_eq!(workdir(&img(), Some("/srv")).unwrap(), "/srv");
        assert!(workdir(&img(), Some("rel")).is_err());
    }
}
