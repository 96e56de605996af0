//! An OCI Distribution (Docker Registry v2) client over blocking reqwest.

use std::io::{self, Read};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RANGE, WWW_AUTHENTICATE,
};
use reqwest::StatusCode;

use crate::auth::{Challenge, Credentials, TokenResponse};
use crate::digest::Digest;
use crate::reference::{Reference, DOCKER_HUB};
use crate::transport;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{url}: {}", chain(.err))]
    Http { url: String, err: reqwest::Error },
    /// Nobody listens: fails at once (Docker: `connect: connection refused`).
    #[error("{host}: connection refused")]
    Refused { host: String },
    /// The registry's own error, as Docker prints it: `manifest unknown: <name:tag>`.
    #[error("{message}: {what}")]
    Api { what: String, message: String },
    #[error("{url}: registry answered {status}{detail}")]
    Status {
        url: String,
        status: StatusCode,
        detail: String,
    },
    /// A 401 we could not answer, with what the registry said.
    #[error("{what}: {said}{hint}")]
    Unauthorized {
        what: String,
        said: String,
        hint: String,
    },
    #[error("{url}: {what} is larger than the limit of {limit} bytes")]
    TooLarge {
        url: String,
        what: &'static str,
        limit: u64,
    },
    #[error("{what} {expected}: content has digest {actual}; discarded")]
    DigestMismatch {
        what: &'static str,
        expected: Digest,
        actual: Digest,
    },
    /// The network cut a body short (reset, stall, early end): retried.
    #[error("{url}: {detail}")]
    Interrupted { url: String, detail: String },
    #[error("{0}")]
    Other(String),
}

/// An error and its causes on one line (reqwest's own message hides the cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let c_s = c.to_string();
        if !s.contains(&c_s) {
            s.push_str(": ");
            s.push_str(&c_s);
        }
        cur = c.source();
    }
    s
}

/// Is `e` a refused connection (nothing listens), which retrying cannot cure?
fn refused(e: &reqwest::Error) -> bool {
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        cur = c.source();
    }
    false
}

/// The registry's JSON error body (`{"errors":[{"code","message","detail"}]}`), as one
/// line: the first error's message (or its code in words).
fn api_message(body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Errs {
        errors: Vec<E>,
    }
    #[derive(serde::Deserialize)]
    struct E {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let e: Errs = serde_json::from_str(body).ok()?;
    let first = e.errors.into_iter().next()?;
    let m = if first.message.trim().is_empty() {
        first.code.to_lowercase().replace('_', " ")
    } else {
        first.message.trim().to_string()
    };
    Some(m.lines().next().unwrap_or("").chars().take(300).collect())
}

/// One repository on one registry, with the auth state of this pull.
pub struct Registry {
    pub(crate) http: Client,
    /// `scheme://host/v2/repository`.
    pub(crate) base: String,
    /// `registry/repository`, as errors name the image.
    pub(crate) name: String,
    host: String,
    repo: String,
    creds: Option<Credentials>,
    /// The Authorization header that worked last (token cached for the whole pull).
    auth: Mutex<Option<String>>,
    /// What a token is asked for when the challenge names no scope: `pull`, or
    /// `pull,push` for a push ([`Registry::for_push`]).
    actions: &'static str,
}

/// Attempts for a transient failure (timeouts, resets, 5xx, 429) before giving up.
pub const ATTEMPTS: u32 = 5;

impl Registry {
    pub fn new(
        r: &Reference,
        insecure: bool,
        creds: Option<Credentials>,
    ) -> Result<Registry, RegistryError> {
        let plain =
            transport::plain_http_allowed(&r.registry, insecure).map_err(RegistryError::Other)?;
        let scheme = if plain { "http" } else { "https" };
        let host = if r.registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            &r.registry
        };
        let http = transport::client().map_err(RegistryError::Other)?;
        Ok(Registry {
            http,
            base: format!("{scheme}://{host}/v2/{}", r.repository),
            name: r.name(),
            host: host.to_string(),
            repo: r.repository.clone(),
            creds,
            auth: Mutex::new(None),
            actions: "pull",
        })
    }

    /// The same client asking for `pull,push` tokens (a push).
    pub fn for_push(mut self) -> Registry {
        self.actions = "pull,push";
        self
    }

    /// `scheme://host` of the registry (upload locations must stay on it).
    pub(crate) fn origin(&self) -> &str {
        self.base.split("/v2/").next().unwrap_or(&self.base)
    }

    fn verb(&self) -> &'static str {
        if self.actions == "pull" {
            "pull"
        } else {
            "push"
        }
    }

    fn cached_auth(&self) -> Option<String> {
        self.auth.lock().ok().and_then(|g| g.clone())
    }

    /// GET with auth and retries (see [`Registry::send`]); a non-success answer is an
    /// error naming `what`.
    fn get(
        &self,
        url: &str,
        accept: Option<&str>,
        range: Option<u64>,
        what: &str,
    ) -> Result<Response, RegistryError> {
        let resp = self.send(what, || {
            let mut req: RequestBuilder = self.http.get(url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some(from) = range {
                req = req.header(RANGE, format!("bytes={from}-"));
            }
            Ok(req)
        })?;
        success(resp, what)
    }

    /// One request with auth and retries: `make` builds it afresh for each attempt
    /// (so a body is re-read). Transient failures (timeouts, resets, 5xx, 429, 408)
    /// back off and retry up to [`ATTEMPTS`] times; a refused connection fails at once;
    /// a 401 answers the challenge once. The answer is returned whatever its status
    /// (but 401); `what` names the object in errors.
    pub(crate) fn send(
        &self,
        what: &str,
        make: impl Fn() -> Result<RequestBuilder, RegistryError>,
    ) -> Result<Response, RegistryError> {
        let mut answered_challenge = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = make()?;
            if let Some(a) = self.cached_auth() {
                req = req.header(AUTHORIZATION, a);
            }
            let resp = match req.send() {
                Ok(r) => r,
                Err(e) if refused(&e) => {
                    return Err(RegistryError::Refused {
                        host: self.host.clone(),
                    })
                }
                Err(e) if attempt < ATTEMPTS => {
                    let _ = e;
                    backoff(attempt);
                    continue;
                }
                Err(e) => {
                    return Err(RegistryError::Http {
                        url: e.url().map_or_else(|| what.to_string(), |u| u.to_string()),
                        err: e,
                    })
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED {
                let header = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let said = body_message(resp, status);
                if answered_challenge {
                    return Err(self.unauthorized(what, said, header.as_deref()));
                }
                self.answer(what, &said, header.as_deref())?;
                answered_challenge = true;
                continue;
            }
            let transient = status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::REQUEST_TIMEOUT;
            if transient && attempt < ATTEMPTS {
                backoff(attempt);
                continue;
            }
            return Ok(resp);
        }
    }

    /// A 401 that stays a 401: say what the registry said, and whether we had
    /// credentials to offer.
    fn unauthorized(&self, what: &str, said: String, header: Option<&str>) -> RegistryError {
        let hint = match (&self.creds, header.and_then(Challenge::parse)) {
            (None, _) => format!(
                " ({} access denied: the repository does not exist or needs credentials; none for {} in the docker config)",
                self.verb(), self.host
            ),
            (Some(c), _) => format!(
                " ({} access denied for user '{}' from the docker config: wrong credentials, or the repository does not exist or is not theirs to {})",
                self.verb(), c.username, if self.actions == "pull" { "read" } else { "write" }
            ),
        };
        RegistryError::Unauthorized {
            what: what.into(),
            said,
            hint,
        }
    }

    /// Work out an Authorization header from a 401's challenge.
    fn answer(&self, what: &str, said: &str, header: Option<&str>) -> Result<(), RegistryError> {
        let value = match header.and_then(Challenge::parse) {
            Some(Challenge::Basic) => match &self.creds {
                Some(c) if c.identity_token.is_none() => basic(c),
                _ => return Err(self.unauthorized(what, said.into(), header)),
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let scope = scope.unwrap_or_else(|| {
                    if self.repo.is_empty() {
                        String::new()
                    } else {
                        format!("repository:{}:{}", self.repo, self.actions)
                    }
                });
                format!("Bearer {}", self.token(&realm, service.as_deref(), &scope)?)
            }
            None => {
                return Err(RegistryError::Unauthorized {
                    what: what.into(),
                    said: said.into(),
                    hint: format!(
                        " (the registry's challenge names no scheme bocker speaks: WWW-Authenticate: {})",
                        header.unwrap_or("<none>")
                    ),
                })
            }
        };
        if let Ok(mut g) = self.auth.lock() {
            *g = Some(value);
        }
        Ok(())
    }

    /// A Bearer token from the token service: an OAuth2 refresh-token POST when the
    /// docker config holds an `identitytoken` (Docker's `auth.FetchToken` with
    /// `RefreshToken`), else a GET with basic credentials when we have some.
    fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let req = match self.creds.as_ref().and_then(|c| c.identity_token.as_ref()) {
            Some(refresh) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("client_id", "bocker"),
                    ("scope", scope),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                self.http.post(realm).form(&form)
            }
            None => {
                let mut query = Vec::new();
                if !scope.is_empty() {
                    query.push(("scope", scope));
                }
                if let Some(s) = service {
                    query.push(("service", s));
                }
                let mut req = self.http.get(realm).query(&query);
                if let Some(c) = &self.creds {
                    req = req.header(AUTHORIZATION, basic(c));
                }
                req
            }
        };
        let resp = req.send().map_err(|e| {
            if refused(&e) {
                RegistryError::Refused { host: realm.into() }
            } else {
                RegistryError::Http {
                    url: realm.into(),
                    err: e,
                }
            }
        })?;
        match resp.status() {
            s if s.is_success() => {}
            status @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                let said = body_message(resp, status);
                let hint = match &self.creds {
                    None => format!(" (no credentials for {} in the docker config)", self.host),
                    Some(c) => format!(
                        " (the token service refused the credentials of '{}')",
                        c.username
                    ),
                };
                return Err(RegistryError::Unauthorized {
                    what: realm.into(),
                    said,
                    hint,
                });
            }
            status => {
                return Err(RegistryError::Status {
                    url: realm.into(),
                    status,
                    detail: String::new(),
                })
            }
        }
        let body = read_bounded(resp, realm, "token response", 1 << 20)?;
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| RegistryError::Other(format!("{realm}: bad token response: {e}")))?;
        t.into_token()
            .ok_or_else(|| RegistryError::Other(format!("{realm}: token response has no token")))
    }

    /// How errors name a manifest: `registry/repo:tag` or `registry/repo@digest`.
    fn shown(&self, selector: &str) -> String {
        if selector.contains(':') {
            format!("{}@{selector}", self.name)
        } else {
            format!("{}:{selector}", self.name)
        }
    }

    /// Fetch a manifest or index: (content type, body, digest of the body).
    /// A digest selector is verified; a tag's digest is computed from the body.
    /// A body cut off by the network is fetched again; `Content-Encoding: gzip` is
    /// decoded (bounded like the body itself).
    pub fn manifest(&self, selector: &str) -> Result<(String, Vec<u8>, Digest), RegistryError> {
        let url = format!("{}/manifests/{selector}", self.base);
        let shown = self.shown(selector);
        let (ct, body) = self.retry_body(|| {
            let resp = self.get(&url, Some(crate::manifest::ACCEPT), None, &shown)?;
            let ct = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = read_bounded(resp, &url, "manifest", crate::manifest::MAX_MANIFEST_BYTES)?;
            Ok((ct, body))
        })?;
        let actual = Digest::of(&body);
        if let Ok(expected) = Digest::parse(selector) {
            if expected != actual {
                return Err(RegistryError::DigestMismatch {
                    what: "manifest",
                    expected,
                    actual,
                });
            }
        }
        Ok((ct, body, actual))
    }

    /// Run `fetch` again (with backoff) while it fails by a network fault mid-body.
    fn retry_body<T>(
        &self,
        fetch: impl Fn() -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match fetch() {
                Err(RegistryError::Interrupted { .. }) if attempt < ATTEMPTS => backoff(attempt),
                r => return r,
            }
        }
    }

    /// A small blob (the config) read whole, bounded and verified. A body shorter than
    /// `declared` or cut by the network is fetched again; only a complete body with the
    /// wrong digest is tampering.
    pub fn blob_bytes(
        &self,
        digest: &Digest,
        declared: i64,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let url = format!("{}/blobs/{digest}", self.base);
        let what = format!("{}@{digest}", self.name);
        let body = self.retry_body(|| {
            let body = read_bounded(
                self.get(&url, None, None, &what)?,
                &url,
                "config blob",
                limit,
            )?;
            if (body.len() as i64) < declared {
                return Err(RegistryError::Interrupted {
                    url: url.clone(),
                    detail: format!("body ended after {} of {declared} bytes", body.len()),
                });
            }
            Ok(body)
        })?;
        let actual = Digest::of(&body);
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: "blob",
                expected: digest.clone(),
                actual,
            });
        }
        Ok(body)
    }

    /// A blob of `size` declared bytes as a stream that survives the network: a reset,
    /// a stall or an early end is retried (with backoff, up to [`ATTEMPTS`] times) and
    /// resumed with `Range: bytes=N-` where the registry allows, as Docker does. More
    /// bytes than declared is an error naming the blob. The caller verifies the digest.
    pub fn blob(&self, digest: &Digest, size: u64) -> BlobStream<'_> {
        BlobStream {
            reg: self,
            url: format!("{}/blobs/{digest}", self.base),
            digest: digest.clone(),
            size,
            offset: 0,
            body: None,
            end: None,
            failures: 0,
        }
    }

    /// The body from `s.offset` on, and where it ends by its Content-Length (if known).
    fn open_blob(
        &self,
        s: &BlobStream,
    ) -> Result<(Box<dyn Read + Send>, Option<u64>), RegistryError> {
        let what = format!("{}@{}", self.name, s.digest);
        let range = (s.offset > 0).then_some(s.offset);
        let resp = self.get(&s.url, None, range, &what)?;
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        let gzip = is_gzip(&resp);
        let end = match (gzip, partial) {
            (true, _) => None,
            (false, true) => resp.content_length().map(|l| s.offset + l),
            (false, false) => resp.content_length(),
        };
        let mut body: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::GzDecoder::new(resp))
        } else {
            Box::new(resp)
        };
        if s.offset > 0 && !partial {
            // The registry ignored the Range: skip what we already have.
            io::copy(&mut (&mut body).take(s.offset), &mut io::sink()).map_err(|e| {
                RegistryError::Interrupted {
                    url: s.url.clone(),
                    detail: e.to_string(),
                }
            })?;
        }
        Ok((body, end))
    }
}

/// A blob download that resumes after network faults; see [`Registry::blob`].
pub struct BlobStream<'a> {
    reg: &'a Registry,
    url: String,
    digest: Digest,
    size: u64,
    /// Bytes handed to the reader so far.
    offset: u64,
    body: Option<Box<dyn Read + Send>>,
    /// Where the open response ends by its Content-Length, when it says.
    end: Option<u64>,
    failures: u32,
}

impl BlobStream<'_> {
    /// Record a network fault; Err once the attempts are spent.
    fn fault(&mut self, why: String) -> io::Result<()> {
        self.body = None;
        self.failures += 1;
        if self.failures >= ATTEMPTS {
            return Err(io::Error::other(format!(
                "blob {}: {why} (gave up after {ATTEMPTS} attempts)",
                self.digest
            )));
        }
        backoff(self.failures);
        Ok(())
    }
}

impl Read for BlobStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let body = match &mut self.body {
                Some(b) => b,
                None => match self.reg.open_blob(self) {
                    Ok((b, end)) => {
                        self.end = end;
                        self.body.insert(b)
                    }
                    Err(RegistryError::Interrupted { detail, .. }) => {
                        self.fault(detail)?;
                        continue;
                    }
                    Err(e) => return Err(io::Error::other(e.to_string())),
                },
            };
            match body.read(buf) {
                // A response that ended where its Content-Length said is complete:
                // the digest decides; any other early end is the network's.
                Ok(0) if self.offset < self.size && self.end != Some(self.offset) => {
                    let why = format!(
                        "the connection ended after {} of {} bytes",
                        self.offset, self.size
                    );
                    self.fault(why)?;
                }
                Ok(n) => {
                    if self.offset + n as u64 > self.size {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "blob {}: the registry sent more than the {} bytes the manifest declares",
                                self.digest, self.size
                            ),
                        ));
                    }
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let why = chain(&e);
                    self.fault(why)?;
                }
            }
        }
    }
}

fn is_gzip(resp: &Response) -> bool {
    resp.headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
}

/// `resp` if it is a success, else the registry's error (its JSON message when it
/// sends one) naming `what`.
pub(crate) fn success(resp: Response, what: &str) -> Result<Response, RegistryError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let url = resp.url().to_string();
    let text = read_text(resp);
    if let Some(message) = api_message(&text) {
        return Err(RegistryError::Api {
            what: what.into(),
            message,
        });
    }
    let t = text.trim().chars().take(200).collect::<String>();
    let detail = if t.is_empty() {
        String::new()
    } else {
        format!(": {t}")
    };
    Err(RegistryError::Status {
        url,
        status,
        detail,
    })
}

/// The body of an error answer, bounded, as text.
fn read_text(resp: Response) -> String {
    let mut t = Vec::new();
    let _ = resp.take(64 << 10).read_to_end(&mut t);
    String::from_utf8_lossy(&t).into_owned()
}

/// What a 401/403 body says, in one line (the registry's message, else the status).
fn body_message(resp: Response, status: StatusCode) -> String {
    let text = read_text(resp);
    api_message(&text).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("unauthorized")
            .to_lowercase()
    })
}

fn basic(c: &Credentials) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// 200 ms, 400 ms, 800 ms, 1.6 s, … capped at 6.4 s between attempts.
fn backoff(attempt: u32) {
    std::thread::sleep(Duration::from_millis(100 << attempt.min(6)));
}

/// Read a whole (small) body, bounded; `Content-Encoding: gzip` decoded. A read that
/// fails midway is [`RegistryError::Interrupted`] (the caller may retry).
fn read_bounded(
    resp: Response,
    url: &str,
    what: &'static str,
    limit: u64,
) -> Result<Vec<u8>, RegistryError> {
    let too_large = || RegistryError::TooLarge {
        url: url.into(),
        what,
        limit,
    };
    let gzip = is_gzip(&resp);
    if !gzip && resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let r: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(resp))
    } else {
        Box::new(resp)
    };
    let mut body = Vec::new();
    r.take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| RegistryError::Interrupted {
            url: url.into(),
            detail: format!("reading {what}: {}", chain(&e)),
        })?;
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(body)
}
