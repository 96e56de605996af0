//! An OCI Distribution (Docker Registry v2) client over blocking reqwest.

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;

use crate::auth::{Challenge, Credentials, TokenResponse};
use crate::digest::Digest;
use crate::reference::{Reference, DOCKER_HUB};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url}: registry answered {status}{detail}")]
    Status {
        url: String,
        status: StatusCode,
        detail: String,
    },
    #[error(
        "{0}: authentication required (no credentials for this registry in the docker config)"
    )]
    NeedAuth(String),
    #[error("{0}: authentication failed (check the credentials in the docker config)")]
    AuthFailed(String),
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
    #[error("{0}")]
    Other(String),
}

/// One repository on one registry, with the auth state of this pull.
pub struct Registry {
    http: Client,
    base: String,
    repo: String,
    creds: Option<Credentials>,
    /// The Authorization header that worked last (token cached for the whole pull).
    auth: Mutex<Option<String>>,
}

const ATTEMPTS: u32 = 4;

impl Registry {
    pub fn new(
        r: &Reference,
        insecure: bool,
        creds: Option<Credentials>,
    ) -> Result<Registry, RegistryError> {
        let scheme = if insecure || r.is_local() {
            "http"
        } else {
            "https"
        };
        let host = if r.registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            &r.registry
        };
        let http = Client::builder()
            .user_agent(concat!("bocker/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(None::<Duration>)
            .build()
            .map_err(|e| RegistryError::Other(format!("building the HTTP client: {e}")))?;
        Ok(Registry {
            http,
            base: format!("{scheme}://{host}/v2/{}", r.repository),
            repo: r.repository.clone(),
            creds,
            auth: Mutex::new(None),
        })
    }

    fn cached_auth(&self) -> Option<String> {
        self.auth.lock().ok().and_then(|g| g.clone())
    }

    /// GET with auth and retries: transient failures (connect errors, 5xx, 429) back off
    /// and retry; a 401 answers the challenge once.
    fn get(&self, url: &str, accept: Option<&str>) -> Result<Response, RegistryError> {
        let mut answered_challenge = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req: RequestBuilder = self.http.get(url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some(a) = self.cached_auth() {
                req = req.header(AUTHORIZATION, a);
            }
            let resp = match req.send() {
                Ok(r) => r,
                Err(e)
                    if attempt < ATTEMPTS
                        && (e.is_connect() || e.is_timeout() || e.is_request()) =>
                {
                    backoff(attempt);
                    continue;
                }
                Err(e) => {
                    return Err(RegistryError::Http {
                        url: url.into(),
                        source: e,
                    })
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED {
                if answered_challenge {
                    return Err(if self.creds.is_some() {
                        RegistryError::AuthFailed(url.into())
                    } else {
                        RegistryError::NeedAuth(url.into())
                    });
                }
                let header = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                self.answer(url, header.as_deref())?;
                answered_challenge = true;
                continue;
            }
            if (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
                && attempt < ATTEMPTS
            {
                backoff(attempt);
                continue;
            }
            if !status.is_success() {
                let detail = resp
                    .text()
                    .ok()
                    .map(|t| t.chars().take(200).collect::<String>())
                    .unwrap_or_default();
                let detail = if detail.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", detail.trim())
                };
                return Err(RegistryError::Status {
                    url: url.into(),
                    status,
                    detail,
                });
            }
            return Ok(resp);
        }
    }

    /// Work out an Authorization header from a 401's challenge.
    fn answer(&self, url: &str, header: Option<&str>) -> Result<(), RegistryError> {
        let value = match header.and_then(Challenge::parse) {
            Some(Challenge::Basic) => {
                let c = self
                    .creds
                    .as_ref()
                    .ok_or_else(|| RegistryError::NeedAuth(url.into()))?;
                basic(c)
            }
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.repo));
                format!("Bearer {}", self.token(&realm, service.as_deref(), &scope)?)
            }
            None => return Err(RegistryError::NeedAuth(url.into())),
        };
        if let Ok(mut g) = self.auth.lock() {
            *g = Some(value);
        }
        Ok(())
    }

    fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let mut query = vec![("scope", scope)];
        if let Some(s) = service {
            query.push(("service", s));
        }
        let mut req = self.http.get(realm).query(&query);
        if let Some(c) = &self.creds {
            req = req.header(AUTHORIZATION, basic(c));
        }
        let resp = req.send().map_err(|e| RegistryError::Http {
            url: realm.into(),
            source: e,
        })?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(if self.creds.is_some() {
                    RegistryError::AuthFailed(realm.into())
                } else {
                    RegistryError::NeedAuth(realm.into())
                })
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

    /// Fetch a manifest or index: (content type, body, digest of the body).
    /// A digest selector is verified; a tag's digest is computed from the body.
    pub fn manifest(&self, selector: &str) -> Result<(String, Vec<u8>, Digest), RegistryError> {
        let url = format!("{}/manifests/{selector}", self.base);
        let resp = self.get(&url, Some(crate::manifest::ACCEPT))?;
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = read_bounded(resp, &url, "manifest", crate::manifest::MAX_MANIFEST_BYTES)?;
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

    /// A small blob (the config) read whole, bounded and verified.
    pub fn blob_bytes(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, RegistryError> {
        let url = format!("{}/blobs/{digest}", self.base);
        let body = read_bounded(self.get(&url, None)?, &url, "config blob", limit)?;
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

    /// A blob as a stream (redirects to storage are followed; credentials are not sent
    /// to another host). The caller verifies the digest.
    pub fn blob(&self, digest: &Digest) -> Result<Response, RegistryError> {
        self.get(&format!("{}/blobs/{digest}", self.base), None)
    }
}

fn basic(c: &Credentials) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn backoff(attempt: u32) {
    std::thread::sleep(Duration::from_millis(200 << attempt.min(5)));
}

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
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    resp.take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| RegistryError::Other(format!("{url}: reading {what}: {e}")))?;
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(body)
}
