//! The HTTP side of the client: configuration (endpoint, credentials, private CA), Basic auth, org id
//! discovery, one request with its answer interpreted, retries by kind of request, paging, and traces
//! with secrets redacted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use super::endpoint::{EndpointHints, resolve_endpoint};
use super::env::Env;
use super::error::{CloudError, CloudResult};
use super::gate::Gate;
use super::retry::RetryPolicy;
use super::wait::{Pacer, WaitPolicy};
use super::wire::{self, ApiResponse, Page};

pub use secrets::Secret;

/// Everything the client needs to talk to one API endpoint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://api-eu.dimensiondata.com` or `http://127.0.0.1:8081`.
    pub endpoint: String,
    /// `MCP_USERNAME`.
    pub username: String,
    /// `MCP_PASSWORD`.
    pub password: Secret,
    /// A PEM bundle to trust in addition to the public roots (`MCP_CA_CERT`).
    pub ca_cert_pem: Option<Vec<u8>>,
    /// CaaS version used in paths (`2.4`, the version libcloud speaks).
    pub api_version: String,
    /// Retry rules.
    pub retry: RetryPolicy,
    /// Wait rules.
    pub wait: WaitPolicy,
    /// At most this many change requests (POSTs) in flight at once.
    pub max_changes_in_flight: usize,
}

impl ClientConfig {
    /// A configuration with default policies.
    pub fn new(endpoint: impl Into<String>, username: impl Into<String>, password: Secret) -> Self {
        ClientConfig {
            endpoint: endpoint.into(),
            username: username.into(),
            password,
            ca_cert_pem: None,
            api_version: "2.4".into(),
            retry: RetryPolicy::default(),
            wait: WaitPolicy::default(),
            max_changes_in_flight: 4,
        }
    }

    /// Endpoint from the hints (see [`resolve_endpoint`]), credentials from `MCP_USERNAME` /
    /// `MCP_PASSWORD`, extra CA from the file named by `MCP_CA_CERT`.
    pub fn from_env(hints: &EndpointHints) -> CloudResult<Self> {
        let endpoint = resolve_endpoint(hints)?;
        let env = Env::from_env();
        let user = env.username.clone().unwrap_or_default();
        let password = env.password.clone().unwrap_or_default();
        if user.len() < 3 || password.len() < 3 {
            return Err(CloudError::Config(
                "set MCP_USERNAME and MCP_PASSWORD (at least 3 characters each) to reach the API"
                    .into(),
            ));
        }
        let mut cfg = ClientConfig::new(endpoint, user, Secret::new(password));
        cfg.ca_cert_pem = env.ca_cert_pem()?;
        Ok(cfg)
    }
}

/// What kind of request, which decides how failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A GET: always safe to send again.
    Read,
    /// A change addressed by id (start, delete, edit): safe to send again; the caller copes with
    /// "already done" answers.
    Change,
    /// A create: refusals are retried, but a lost answer is reported as [`CloudError::AnswerLost`].
    Create,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    base: String,
    auth: HeaderValue,
    api_version: String,
    org: OnceCell<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) wait: WaitPolicy,
    changes: Gate,
    pub(crate) pacer: Pacer,
    requests: AtomicU64,
}

/// A typed, async CloudControl client. Cheap to clone; clones share the org id, the pacer and counters.
#[derive(Clone)]
pub struct CloudClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for CloudClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudClient")
            .field("base", &self.inner.base)
            .finish()
    }
}

const PAGE_SIZE: u32 = 250;

impl CloudClient {
    /// Builds a client (TLS verified against the public roots plus the optional private CA).
    pub fn new(cfg: ClientConfig) -> CloudResult<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.retry.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(32)
            .user_agent(concat!("plumbery/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &cfg.ca_cert_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                CloudError::Config(format!("MCP_CA_CERT is not a PEM certificate: {e}"))
            })?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder
            .build()
            .map_err(|e| CloudError::Config(format!("cannot build the HTTP client: {e}")))?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            cfg.username,
            cfg.password.expose()
        ));
        let mut auth = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| CloudError::Config("credentials contain invalid characters".into()))?;
        auth.set_sensitive(true);
        Ok(CloudClient {
            inner: Arc::new(Inner {
                http,
                base: cfg.endpoint.trim_end_matches('/').to_string(),
                auth,
                api_version: cfg.api_version,
                org: OnceCell::new(),
                retry: cfg.retry,
                wait: cfg.wait,
                changes: Gate::new(cfg.max_changes_in_flight),
                pacer: Pacer::default(),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The base URL.
    pub fn endpoint(&self) -> &str {
        &self.inner.base
    }

    /// Number of HTTP requests sent so far (retries included).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Waits while change requests at least as urgent as the current task's (see
    /// [`crate::with_priority`]) wait for a place: a poll that many waits share goes after them,
    /// since what it finds would only lead to less urgent requests.
    pub async fn give_way_to_changes(&self) {
        self.inner.changes.give_way().await;
    }

    /// The wait rules.
    pub fn wait_policy(&self) -> &WaitPolicy {
        &self.inner.wait
    }

    /// The pacer that schedules polls (exposes the learned time-scale).
    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// The organisation id, fetched once from `/oec/0.9/myaccount`.
    pub async fn org_id(&self) -> CloudResult<String> {
        self.inner
            .org
            .get_or_try_init(|| async {
                let url = format!("{}/oec/0.9/myaccount", self.inner.base);
                let body = self
                    .call(
                        Kind::Read,
                        "myaccount",
                        reqwest::Method::GET,
                        &url,
                        &[],
                        None,
                    )
                    .await?;
                wire::decode_org_id(&body)
            })
            .await
            .cloned()
    }

    async fn url(&self, path: &str) -> CloudResult<String> {
        let org = self.org_id().await?;
        Ok(format!(
            "{}/caas/{}/{}/{}",
            self.inner.base, self.inner.api_version, org, path
        ))
    }

    /// One HTTP exchange, answer interpreted.
    async fn send_once(
        &self,
        method: &reqwest::Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&str>,
    ) -> CloudResult<String> {
        let path = url_path(url);
        let mut req = self
            .inner
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, self.inner.auth.clone())
            .header(CONTENT_TYPE, "application/xml")
            .header(reqwest::header::ACCEPT, "application/xml");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            debug!(target: "cloud", %method, %path, ?query, body = %wire::redact(b), "request");
            req = req.body(b.to_string());
        } else {
            debug!(target: "cloud", %method, %path, ?query, "request");
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let transport = |e: reqwest::Error| CloudError::Transport {
            path: path.clone(),
            detail: error_chain(&e),
        };
        let resp = req.send().await.map_err(|e| {
            // A refused certificate is no transient failure: nothing was sent, retrying cannot help.
            match tls_refusal(&error_chain(&e)) {
                Some(reason) if e.is_connect() => CloudError::Config(format!(
                    "TLS: the certificate of {} is not trusted ({reason}); if your own CA signed it, \
                     set MCP_CA_CERT to that CA's PEM file",
                    self.inner.base
                )),
                _ => transport(e),
            }
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(transport)?;
        debug!(target: "cloud", status, %path, body = %truncate(&wire::redact(&text), 4000), "response");
        interpret(status, &path, text)
    }

    /// Sends with retries according to `kind`, under the policy's deadline.
    pub(crate) async fn call(
        &self,
        kind: Kind,
        operation: &str,
        method: reqwest::Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&str>,
    ) -> CloudResult<String> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = if kind == Kind::Read {
                self.send_once(&method, url, query, body).await
            } else {
                let _permit = self.inner.changes.acquire().await;
                self.send_once(&method, url, query, body).await
            };
            let err = match result {
                Ok(b) => return Ok(b),
                Err(e) => e,
            };
            if kind == Kind::Create && err.is_ambiguous() {
                warn!(target: "cloud", operation, error = %err, "answer lost; the caller observes before creating again");
                return Err(CloudError::AnswerLost {
                    operation: operation.to_string(),
                    detail: err.to_string(),
                });
            }
            if !err.is_transient() {
                return Err(err);
            }
            let delay = self.inner.retry.delay(attempt);
            if started.elapsed() + delay > self.inner.retry.deadline {
                return Err(CloudError::RetriesExhausted {
                    operation: operation.to_string(),
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            debug!(target: "cloud", operation, attempt, ?delay, error = %err, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// GET of one resource; `None` when the API says RESOURCE_NOT_FOUND.
    pub(crate) async fn get_one<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> CloudResult<Option<T>> {
        let url = self.url(path).await?;
        match self
            .call(Kind::Read, what, reqwest::Method::GET, &url, &[], None)
            .await
        {
            Ok(body) => wire::decode(what, &body).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET of every page of a list.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        filters: &[(&str, &str)],
    ) -> CloudResult<Vec<T>> {
        self.list_all_with(what, path, filters, wire::decode).await
    }

    /// [`list_all`](Self::list_all) with a page decoder of its own.
    pub(crate) async fn list_all_with<T>(
        &self,
        what: &str,
        path: &str,
        filters: &[(&str, &str)],
        decode: fn(&str, &str) -> CloudResult<Page<T>>,
    ) -> CloudResult<Vec<T>> {
        let url = self.url(path).await?;
        let mut out = Vec::new();
        let mut page_number = 1u32;
        loop {
            let mut query: Vec<(&str, String)> =
                filters.iter().map(|(k, v)| (*k, v.to_string())).collect();
            query.push(("pageNumber", page_number.to_string()));
            query.push(("pageSize", PAGE_SIZE.to_string()));
            let body = self
                .call(Kind::Read, what, reqwest::Method::GET, &url, &query, None)
                .await?;
            let page = decode(what, &body)?;
            let last = page.is_last(PAGE_SIZE);
            out.extend(page.items);
            if last || page_number >= 10_000 {
                return Ok(out);
            }
            page_number += 1;
        }
    }

    /// GET of a list whose items need a hand-written decoder.
    pub(crate) async fn get_raw(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> CloudResult<String> {
        let url = self.url(path).await?;
        self.call(Kind::Read, what, reqwest::Method::GET, &url, query, None)
            .await
    }

    /// A call to the old `/oec/0.9/{org}/…` API (backup): `path` may carry a bare query such as
    /// `?disable`. Returns the body; a `Status` whose result is ERROR comes back as
    /// [`CloudError::Api`] with its `resultCode` (e.g. `REASON_543`).
    pub(crate) async fn oec(
        &self,
        kind: Kind,
        operation: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> CloudResult<String> {
        let org = self.org_id().await?;
        let url = format!("{}/oec/0.9/{org}/{path}", self.inner.base);
        self.call(kind, operation, method, &url, &[], body.as_deref())
            .await
    }

    /// POST of a change; returns the decoded envelope.
    pub(crate) async fn post(
        &self,
        kind: Kind,
        operation: &str,
        path: &str,
        body: String,
    ) -> CloudResult<ApiResponse> {
        let url = self.url(path).await?;
        let text = self
            .call(
                kind,
                operation,
                reqwest::Method::POST,
                &url,
                &[],
                Some(&body),
            )
            .await?;
        wire::decode(operation, &text)
    }
}

/// Maps an HTTP answer to the body or an error.
fn interpret(status: u16, path: &str, body: String) -> CloudResult<String> {
    if status == 401 || status == 403 {
        return Err(CloudError::Auth { status });
    }
    let envelope = if wire::is_envelope(&body) {
        wire::decode::<ApiResponse>("response", &body).ok()
    } else {
        None
    };
    if envelope.is_none()
        && let Some(st) = wire::decode_oec_status(&body)
        && st.is_error()
    {
        return Err(CloudError::Api {
            status,
            code: st.error_code(),
            operation: st.operation,
            message: st.detail,
        });
    }
    if (200..300).contains(&status) {
        if let Some(env) = &envelope
            && !env.response_code.is_success()
        {
            return Err(api_error(status, path, env));
        }
        return Ok(body);
    }
    match envelope {
        Some(env) if !env.response_code.is_empty() => Err(api_error(status, path, &env)),
        _ => Err(CloudError::Http {
            status,
            path: path.to_string(),
            snippet: truncate(&wire::redact(&body), 200),
        }),
    }
}

fn api_error(status: u16, path: &str, env: &ApiResponse) -> CloudError {
    CloudError::Api {
        status,
        operation: if env.operation.is_empty() {
            path.to_string()
        } else {
            env.operation.clone()
        },
        code: env.response_code.clone(),
        message: env.message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn url_path(url: &str) -> String {
    let no_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    no_scheme
        .find('/')
        .map_or("/".to_string(), |i| no_scheme[i..].to_string())
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The certificate part of a connection error chain (`invalid peer certificate: UnknownIssuer`),
/// when the TLS handshake refused the server's certificate.
fn tls_refusal(chain: &str) -> Option<String> {
    let at = chain.to_ascii_lowercase().find("certificate")?;
    let start = chain[..at].rfind(": ").map_or(0, |i| i + 2);
    Some(chain[start..].to_string())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_refusals_are_recognised() {
        assert_eq!(
            tls_refusal("error sending request: client error (Connect): invalid peer certificate: UnknownIssuer")
                .as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        assert_eq!(
            tls_refusal("client error (Connect): connection refused"),
            None
        );
    }

    #[test]
    fn interprets_answers() {
        let busy = std::fs::read_to_string(concat!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
            "/../shared/corpus/libcloud-fixtures/server_deleteServer_RESOURCEBUSY.xml"
        ))
        .unwrap();
        let e = interpret(400, "/p", busy).unwrap_err();
        assert_eq!(e.code(), Some("RESOURCE_BUSY"));
        assert!(e.is_retryable_refusal());
        assert!(matches!(
            interpret(401, "/p", "Invalid credentials.".into()),
            Err(CloudError::Auth { .. })
        ));
        let e = interpret(503, "/p", "Service Unavailable".into()).unwrap_err();
        assert!(e.is_ambiguous());
        assert_eq!(
            interpret(200, "/p", "<servers/>".into()).unwrap(),
            "<servers/>"
        );
    }

    #[test]
    fn secret_is_not_debug_printed() {
        let c = ClientConfig::new("http://127.0.0.1:1", "user", Secret::new("hunter22"));
        assert!(!format!("{c:?}").contains("hunter22"));
        assert_eq!(url_path("http://h:1/caas/2.4/x?y=1"), "/caas/2.4/x?y=1");
    }
}
