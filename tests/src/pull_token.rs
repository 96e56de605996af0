//! A small Bearer token server for registry token auth: checks basic credentials and
//! answers with an RS256 JWT (signed by the openssl CLI with a self-signed key whose
//! certificate travels in the `x5c` header and is the registry's root bundle).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use base64::Engine as _;

use crate::random_hex;

pub const SERVICE: &str = "bocker-test-registry";
pub const ISSUER: &str = "bocker-test-issuer";

pub struct TokenServer {
    pub addr: String,
    pub dir: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI (apt package openssl)");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

impl TokenServer {
    /// Serves tokens to `user`/`password`.
    pub fn start(user: &str, password: &str) -> TokenServer {
        TokenServer::start_with_refresh(user, password, "")
    }

    /// Also answers OAuth2 refresh-token POSTs (`grant_type=refresh_token`) carrying
    /// `refresh` (when not empty) with `{"access_token": …}`, as Azure's and others' do.
    pub fn start_with_refresh(user: &str, password: &str, refresh: &str) -> TokenServer {
        let dir = PathBuf::from(format!("/tmp/bocker-token-{}", random_hex(10)));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=bocker-test-token",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        let der = openssl(&["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"]);
        let x5c = base64::engine::general_purpose::STANDARD.encode(der);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, user, password, key2, refresh) = (
            stop.clone(),
            user.to_string(),
            password.to_string(),
            key.clone(),
            refresh.to_string(),
        );
        let thread = std::thread::spawn(move || {
            for s in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = s {
                    serve(s, &user, &password, &refresh, &key2, &x5c);
                }
            }
        });
        TokenServer {
            addr,
            dir,
            stop,
            thread: Some(thread),
        }
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    pub fn bundle(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    /// A token for pushing fixtures, signed like the served ones.
    pub fn token_for(&self, repo: &str) -> String {
        sign(
            &self.dir.join("key.pem"),
            &x5c_of(&self.bundle()),
            repo,
            "pull,push",
        )
    }
}

fn x5c_of(cert: &std::path::Path) -> String {
    let der = openssl(&["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"]);
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn sign(key: &std::path::Path, x5c: &str, repo: &str, actions: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "tester", "aud": SERVICE, "exp": now + 600, "nbf": now - 10, "iat": now,
        "jti": random_hex(16),
        "access": [{"type": "repository", "name": repo, "actions": actions.split(',').collect::<Vec<_>>()}],
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let input = key.with_extension(format!("in-{}", random_hex(6)));
    std::fs::write(&input, &signing_input).unwrap();
    let sig = openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        key.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&input);
    format!("{signing_input}.{}", b64url(&sig))
}

fn serve(
    mut s: TcpStream,
    user: &str,
    password: &str,
    refresh: &str,
    key: &std::path::Path,
    x5c: &str,
) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let method = line.split_whitespace().next().unwrap_or("").to_string();
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorization = String::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some(v) = h
            .strip_prefix("Authorization: ")
            .or_else(|| h.strip_prefix("authorization: "))
        {
            authorization = v.trim().to_string();
        }
        if let Some(v) = h
            .to_ascii_lowercase()
            .strip_prefix("content-length:")
            .map(|v| v.trim().to_string())
        {
            length = v.parse().unwrap_or(0);
        }
    }
    let mut form = vec![0u8; length.min(1 << 16)];
    if std::io::Read::read_exact(&mut r, &mut form).is_err() {
        return;
    }
    let form = String::from_utf8_lossy(&form).into_owned();
    let field = |k: &str| {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .to_string()
    };
    if method == "POST" {
        let ok = !refresh.is_empty()
            && field("grant_type") == "refresh_token"
            && field("refresh_token") == refresh;
        let scope = field("scope")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%2F", "/");
        let repo = scope.split(':').nth(1).unwrap_or("").to_string();
        let (status, body) = if ok {
            (
                "200 OK",
                serde_json::json!({"access_token": sign(key, x5c, &repo, "pull"), "refresh_token": refresh})
                    .to_string(),
            )
        } else {
            (
                "401 Unauthorized",
                r#"{"error":"invalid_grant"}"#.to_string(),
            )
        };
        let _ = write!(
            s,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let (status, body) = if authorization != want {
        (
            "401 Unauthorized",
            r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_string(),
        )
    } else {
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let scope = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("scope="))
            .map(|s| {
                s.replace("%3A", ":")
                    .replace("%2C", ",")
                    .replace("%2F", "/")
            })
            .unwrap_or_default();
        let mut parts = scope.splitn(3, ':');
        let (_, repo, actions) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("pull"),
        );
        (
            "200 OK",
            serde_json::json!({"token": sign(key, x5c, repo, actions)}).to_string(),
        )
    };
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
