//! Registry authentication: credentials from `~/.docker/config.json`, the
//! `WWW-Authenticate` challenge, and Bearer tokens from the registry's token service.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// An OAuth2 refresh token (`identitytoken` in the docker config): exchanged at the
    /// token realm instead of sending the password.
    pub identity_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <hidden>)", self.username)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    /// A credential helper for every registry (`docker-credential-<name>`).
    #[serde(default)]
    creds_store: Option<String>,
    /// Per-registry credential helpers, by registry host.
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    /// An OAuth2 refresh token (`az acr login`, `docker login` against some registries).
    #[serde(default)]
    identitytoken: Option<String>,
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// The host an `auths` key names: `https://index.docker.io/v1/` is `docker.io`.
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = k.split('/').next().unwrap_or(k);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        h => h,
    }
}

/// Credentials for `registry` as Docker finds them (cli/config/credentials): a
/// `credHelpers` entry for the host, else `credsStore`, run as
/// `docker-credential-<name> get`; else the `auths` entry of the file. A file that
/// exists but cannot be parsed, or a helper that is missing or fails, is an error, not
/// silently anonymous.
pub fn credentials_for(registry: &str) -> Result<Option<Credentials>, String> {
    let Some(path) = docker_config_path() else {
        return Ok(None);
    };
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let cfg: DockerConfig =
        serde_json::from_slice(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
    let helper = cfg
        .cred_helpers
        .iter()
        .find(|(k, _)| key_host(k) == registry)
        .map(|(_, v)| v)
        .or(cfg.creds_store.as_ref())
        .filter(|h| !h.is_empty());
    if let Some(h) = helper {
        if let Some(c) = from_helper(h, registry)? {
            return Ok(Some(c));
        }
    }
    let Some(entry) = cfg
        .auths
        .iter()
        .find(|(k, _)| key_host(k) == registry)
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    from_entry(entry, registry).map_err(|e| format!("{}: {e}", path.display()))
}

/// One `auths` entry: a base64 `auth` of `user:password`; an empty or missing `auth`
/// falls back to `username`/`password` (Docker does the same); `identitytoken` rides along.
fn from_entry(entry: &AuthEntry, registry: &str) -> Result<Option<Credentials>, String> {
    let token = entry.identitytoken.clone().filter(|t| !t.is_empty());
    let auth = entry
        .auth
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let (username, password) = if let Some(a) = auth {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a)
            .map_err(|e| format!("bad base64 in auths.{registry}.auth: {e}"))?;
        let s = String::from_utf8(raw).map_err(|_| format!("auth for {registry} is not UTF-8"))?;
        let (u, p) = s
            .split_once(':')
            .ok_or_else(|| format!("auth for {registry} is not user:password"))?;
        (u.to_string(), p.to_string())
    } else {
        match (&entry.username, &entry.password) {
            (Some(u), p) if !u.is_empty() => (u.clone(), p.clone().unwrap_or_default()),
            _ if token.is_some() => (String::new(), String::new()),
            _ => return Ok(None),
        }
    };
    Ok(Some(Credentials {
        username,
        password,
        identity_token: token,
    }))
}

/// The server name a helper is asked about: Docker Hub's legacy URL, else the host.
fn helper_server(registry: &str) -> &str {
    if registry == crate::reference::DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        registry
    }
}

/// `docker-credential-<name> get` with the server on stdin, as Docker's
/// docker-credential-helpers protocol: `{"Username","Secret"}` on stdout; a Username
/// of `<token>` means Secret is an identity token; "credentials not found" is no
/// credentials.
fn from_helper(name: &str, registry: &str) -> Result<Option<Credentials>, String> {
    let prog = format!("docker-credential-{name}");
    let out = run_helper(name, "get", helper_server(registry).as_bytes())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let msg = format!(
            "{}{}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        if msg.contains("credentials not found") {
            return Ok(None);
        }
        let first = msg
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        return Err(format!(
            "credential helper {prog} failed for {registry}: {first}"
        ));
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let a: Answer = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("credential helper {prog}: bad answer: {e}"))?;
    if a.username == "<token>" {
        return Ok(Some(Credentials {
            username: String::new(),
            password: String::new(),
            identity_token: Some(a.secret),
        }));
    }
    Ok(Some(Credentials {
        username: a.username,
        password: a.secret,
        identity_token: None,
    }))
}

/// Run `docker-credential-<name> <verb>` with `input` on stdin; its output, whatever
/// its status. Errors: the helper is not installed or cannot be run.
fn run_helper(name: &str, verb: &str, input: &[u8]) -> Result<std::process::Output, String> {
    let prog = format!("docker-credential-{name}");
    let mut child = Command::new(&prog)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "credential helper {prog} (from the docker config) is not installed: not found in PATH"
            ),
            _ => format!("running credential helper {prog}: {e}"),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    child
        .wait_with_output()
        .map_err(|e| format!("running credential helper {prog}: {e}"))
}

/// A failed helper's first line of output, bounded.
fn helper_failure(prog: &str, out: &std::process::Output) -> String {
    let msg = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let first: String = msg.lines().next().unwrap_or("").chars().take(200).collect();
    format!("credential helper {prog} failed: {first}")
}

/// The credential helper a docker config (as JSON) names for `registry`: its
/// `credHelpers` entry for the host, else `credsStore` (Docker's cli/config order).
pub fn helper_for(
    cfg: &serde_json::Map<String, serde_json::Value>,
    registry: &str,
) -> Option<String> {
    let per_host = cfg
        .get("credHelpers")
        .and_then(serde_json::Value::as_object)
        .and_then(|m| m.iter().find(|(k, _)| key_host(k) == registry))
        .and_then(|(_, v)| v.as_str());
    per_host
        .or_else(|| cfg.get("credsStore").and_then(serde_json::Value::as_str))
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

/// `docker-credential-<name> store` with `{"ServerURL","Username","Secret"}` on stdin
/// (the docker-credential-helpers protocol, as `docker login` uses it).
pub fn helper_store(name: &str, server: &str, username: &str, secret: &str) -> Result<(), String> {
    let input = serde_json::json!({"ServerURL": server, "Username": username, "Secret": secret});
    let out = run_helper(name, "store", input.to_string().as_bytes())?;
    if !out.status.success() {
        return Err(helper_failure(&format!("docker-credential-{name}"), &out));
    }
    Ok(())
}

/// `docker-credential-<name> erase` with the server URL on stdin (`docker logout`).
pub fn helper_erase(name: &str, server: &str) -> Result<(), String> {
    let out = run_helper(name, "erase", server.as_bytes())?;
    if !out.status.success() {
        return Err(helper_failure(&format!("docker-credential-{name}"), &out));
    }
    Ok(())
}

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, PartialEq, Eq)]
pub enum Challenge {
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Basic,
}

impl Challenge {
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `k="v", k2=v2` with commas allowed inside quotes (scopes contain them).
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            break;
        };
        let k = k.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.push((k, v));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// The token service's answer (`token`, or OAuth2's `access_token`).
#[derive(Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

impl TokenResponse {
    pub fn into_token(self) -> Option<String> {
        self.token.or(self.access_token).filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/alpine:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate x"), None);
    }

    #[test]
    fn auth_keys_name_hosts() {
        assert_eq!(key_host("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(key_host("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(key_host("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
    }
}
