//! `--change` instructions: the Dockerfile subset `docker commit` accepts, applied to an
//! image config (Docker 20.10: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, and
//! STOPSIGNAL; ONBUILD and VOLUME are Docker fields bocker's images do not have).
//!
//! Forms as in a Dockerfile: `CMD ["a","b"]` (JSON, exec form) or `CMD a b` (shell
//! form, run by `/bin/sh -c`); `ENV K=V K2="v 2"` or the legacy `ENV K V`; `LABEL k=v…`;
//! `EXPOSE 80 53/udp`; a relative `WORKDIR` is joined to the current one.

use bocker_store::ImageConfig;
use thiserror::Error;

/// Why a `--change` line cannot be applied.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChangeError {
    #[error("empty --change")]
    Empty,
    #[error("{0} is not a valid change command (Docker accepts CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, WORKDIR)")]
    Unsupported(String),
    #[error("{0} requires an argument")]
    MissingArgument(String),
    #[error("{0}: invalid JSON array (the exec form is [\"cmd\", \"arg\"…])")]
    BadJson(String),
    #[error("{what}: {value:?} is not KEY=VALUE")]
    BadPair { what: String, value: String },
    #[error("{0}: unterminated quote")]
    Unterminated(String),
    #[error("EXPOSE: invalid port {0:?} (PORT or PORT/tcp|udp|sctp)")]
    BadPort(String),
}

/// One parsed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Env(Vec<(String, String)>),
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    StopSignal(String),
    User(String),
    Workdir(String),
}

/// Parses one `--change` line.
pub fn parse(line: &str) -> Result<Change, ChangeError> {
    let line = line.trim();
    let (word, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(w, r)| (w, r.trim()));
    if word.is_empty() {
        return Err(ChangeError::Empty);
    }
    let keyword = word.to_ascii_uppercase();
    let known = [
        "CMD",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "LABEL",
        "STOPSIGNAL",
        "USER",
        "WORKDIR",
    ];
    if !known.contains(&keyword.as_str()) {
        return Err(ChangeError::Unsupported(keyword));
    }
    if rest.is_empty() {
        return Err(ChangeError::MissingArgument(keyword));
    }
    Ok(match keyword.as_str() {
        "CMD" => Change::Cmd(command(&keyword, rest)?),
        "ENTRYPOINT" => Change::Entrypoint(command(&keyword, rest)?),
        "ENV" => Change::Env(pairs(&keyword, rest, true)?),
        "LABEL" => Change::Label(pairs(&keyword, rest, false)?),
        "EXPOSE" => Change::Expose(ports(rest)?),
        "STOPSIGNAL" => Change::StopSignal(rest.to_string()),
        "USER" => Change::User(rest.to_string()),
        _ => Change::Workdir(rest.to_string()),
    })
}

/// Parses every line, in order.
pub fn parse_all(lines: &[String]) -> Result<Vec<Change>, ChangeError> {
    lines.iter().map(|l| parse(l)).collect()
}

/// Applies `changes` in order, as a Dockerfile would.
pub fn apply(config: &mut ImageConfig, changes: &[Change]) {
    let mut cmd_set = false;
    for c in changes {
        match c {
            Change::Cmd(v) => {
                config.cmd = Some(v.clone());
                cmd_set = true;
            }
            // Docker: a new ENTRYPOINT resets the inherited Cmd, unless a CMD was set
            // earlier in the same changes.
            Change::Entrypoint(v) => {
                config.entrypoint = Some(v.clone());
                if !cmd_set {
                    config.cmd = None;
                }
            }
            Change::Env(kv) => {
                for (k, v) in kv {
                    config
                        .env
                        .retain(|e| e.split_once('=').map_or(e.as_str(), |(ek, _)| ek) != k);
                    config.env.push(format!("{k}={v}"));
                }
            }
            Change::Label(kv) => {
                for (k, v) in kv {
                    config.labels.insert(k.clone(), v.clone());
                }
            }
            Change::Expose(ports) => {
                for p in ports {
                    if !config.exposed_ports.contains(p) {
                        config.exposed_ports.push(p.clone());
                    }
                }
                config.exposed_ports.sort();
            }
            Change::StopSignal(s) => config.stop_signal = Some(s.clone()),
            Change::User(u) => config.user = Some(u.clone()),
            Change::Workdir(w) => {
                config.working_dir = Some(if w.starts_with('/') {
                    w.clone()
                } else {
                    let base = config.working_dir.as_deref().unwrap_or("/");
                    format!("{}/{w}", base.trim_end_matches('/'))
                });
            }
        }
    }
}

/// Exec form (a JSON array of strings) or shell form (`/bin/sh -c "<rest>"`).
fn command(keyword: &str, rest: &str) -> Result<Vec<String>, ChangeError> {
    if rest.starts_with('[') {
        // Docker falls back to the shell form when the JSON does not parse; an
        // explicit error is kinder than running `/bin/sh -c '[oops'`.
        return serde_json::from_str::<Vec<String>>(rest)
            .map_err(|_| ChangeError::BadJson(keyword.to_string()));
    }
    Ok(vec!["/bin/sh".into(), "-c".into(), rest.to_string()])
}

/// `K=V K2="v 2"` pairs; with `legacy`, also `K the rest of the line` (ENV's old form).
fn pairs(keyword: &str, rest: &str, legacy: bool) -> Result<Vec<(String, String)>, ChangeError> {
    let first = rest.split_whitespace().next().unwrap_or_default();
    if legacy && !first.contains('=') {
        let (k, v) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| ChangeError::MissingArgument(keyword.to_string()))?;
        return Ok(vec![(k.to_string(), v.trim_start().to_string())]);
    }
    words(keyword, rest)?
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(ChangeError::BadPair {
                what: keyword.to_string(),
                value: w,
            }),
        })
        .collect()
}

/// Splits on unquoted whitespace, removing quotes: `"…"` (with `\"` and `\\` escapes),
/// `'…'` (literal), and `\x` outside quotes.
fn words(keyword: &str, s: &str) -> Result<Vec<String>, ChangeError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err(ChangeError::Unterminated(keyword.to_string())),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\')) => cur.push(n),
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err(ChangeError::Unterminated(keyword.to_string())),
                        },
                        Some(n) => cur.push(n),
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err(ChangeError::Unterminated(keyword.to_string())),
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `80` -> `80/tcp`; `53/udp` kept; ports 1–65535 (Docker's form in `ExposedPorts`).
fn ports(rest: &str) -> Result<Vec<String>, ChangeError> {
    rest.split_whitespace()
        .map(|p| {
            let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
            let proto = proto.to_ascii_lowercase();
            match num.parse::<u16>() {
                Ok(n) if n > 0 && matches!(proto.as_str(), "tcp" | "udp" | "sctp") => {
                    Ok(format!("{n}/{proto}"))
                }
                _ => Err(ChangeError::BadPort(p.to_string())),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn cmd_and_entrypoint_take_both_forms() {
        assert_eq!(
            parse(r#"CMD ["echo", "a b"]"#).unwrap(),
            Change::Cmd(s(&["echo", "a b"]))
        );
        assert_eq!(
            parse("cmd echo hi").unwrap(),
            Change::Cmd(s(&["/bin/sh", "-c", "echo hi"]))
        );
        assert_eq!(
            parse(r#"ENTRYPOINT ["/bin/app"]"#).unwrap(),
            Change::Entrypoint(s(&["/bin/app"]))
        );
        assert_eq!(
            parse(r#"CMD ["echo", 1]"#),
            Err(ChangeError::BadJson("CMD".into()))
        );
    }

    #[test]
    fn env_and_label_pairs_honour_quotes_and_the_legacy_form() {
        assert_eq!(
            parse(r#"ENV A=1 B="two words" C='x y' D=a\ b"#).unwrap(),
            Change::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x y".into()),
                ("D".into(), "a b".into()),
            ])
        );
        assert_eq!(
            parse("ENV GREETING hello world").unwrap(),
            Change::Env(vec![("GREETING".into(), "hello world".into())])
        );
        assert_eq!(
            parse(r#"LABEL org.x="y z""#).unwrap(),
            Change::Label(vec![("org.x".into(), "y z".into())])
        );
        assert!(matches!(
            parse("LABEL novalue"),
            Err(ChangeError::BadPair { .. })
        ));
        assert_eq!(
            parse(r#"ENV A="open"#),
            Err(ChangeError::Unterminated("ENV".into()))
        );
    }

    #[test]
    fn unsupported_and_empty_instructions_are_refused() {
        assert_eq!(
            parse("RUN rm -rf /"),
            Err(ChangeError::Unsupported("RUN".into()))
        );
        assert_eq!(parse("  "), Err(ChangeError::Empty));
        assert_eq!(
            parse("WORKDIR"),
            Err(ChangeError::MissingArgument("WORKDIR".into()))
        );
        assert_eq!(parse("EXPOSE 0"), Err(ChangeError::BadPort("0".into())));
        assert_eq!(
            parse("EXPOSE 80/http"),
            Err(ChangeError::BadPort("80/http".into()))
        );
    }

    #[test]
    fn changes_apply_in_order_like_a_dockerfile() {
        let mut c = ImageConfig {
            cmd: Some(s(&["sh"])),
            env: s(&["PATH=/bin", "A=old"]),
            working_dir: Some("/srv".into()),
            ..ImageConfig::default()
        };
        let changes = parse_all(&s(&[
            "ENV A=new",
            "WORKDIR app",
            "EXPOSE 80 53/udp 80",
            "ENTRYPOINT [\"/bin/app\"]",
            "USER 1000:1000",
            "LABEL a=b",
        ]))
        .unwrap();
        apply(&mut c, &changes);
        assert_eq!(c.env, s(&["PATH=/bin", "A=new"]));
        assert_eq!(c.working_dir.as_deref(), Some("/srv/app"));
        assert_eq!(c.exposed_ports, s(&["53/udp", "80/tcp"]));
        assert_eq!(c.entrypoint, Some(s(&["/bin/app"])));
        assert_eq!(c.cmd, None, "Docker: ENTRYPOINT resets an inherited CMD");
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.labels.get("a").map(String::as_str), Some("b"));
        let both = parse_all(&s(&["CMD [\"x\"]", "ENTRYPOINT [\"/e\"]"])).unwrap();
        apply(&mut c, &both);
        assert_eq!(c.cmd, Some(s(&["x"])), "a CMD set before is kept");
    }
}
