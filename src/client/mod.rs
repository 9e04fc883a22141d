//! The signed HTTP client: builds requests from the model, signs them with SigV4 for service
//! `appmesh`, sends them with a timeout and a cap on the response size, retries 429 and 503 the
//! way the AWS SDKs' standard retry mode does, and records every exchange with secrets removed.
//! This module never imports the emulator.

pub mod budget;
pub mod sign;
pub mod target;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

pub use crate::exchange::{Exchange, Redactor};
pub use budget::Budget;
pub use target::Credentials;

use crate::cassette::Recorder;
use crate::exchange::{RecordedRequest, RecordedResponse};
use crate::model::ServiceModel;
use crate::wire::{self, HttpRequest, WireError};

/// Responses larger than this are cut off and reported as a transport error.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Retry of throttling (429) and unavailability (503), after the SDKs' standard mode: up to
/// `max_attempts` sends, exponential backoff with full jitter capped at `max_backoff`, and a
/// `Retry-After` header honoured when the service sends one.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, initial_backoff: Duration::from_secs(1), max_backoff: budget::MAX_RETRY_WAIT }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based).
    fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_backoff);
        }
        let ceiling = self.initial_backoff.saturating_mul(1 << retry.saturating_sub(1).min(16)).min(self.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// A deliberately wrong signature, for the auth scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// No signature at all.
    Unsigned,
    /// Signed with a secret key that is not the right one.
    WrongSecret,
    /// Signed for another service (`s3`) than App Mesh.
    OtherService,
    /// Signed, then the body changed (a space appended: the JSON means the same).
    BodyChangedAfterSigning,
    /// Signed with an `X-Amz-Date` 15 minutes in the past.
    StaleDate,
}

impl Tamper {
    pub const ALL: [Tamper; 5] = [
        Tamper::Unsigned,
        Tamper::WrongSecret,
        Tamper::OtherService,
        Tamper::BodyChangedAfterSigning,
        Tamper::StaleDate,
    ];

    /// How a cassette names it.
    pub fn name(self) -> &'static str {
        match self {
            Tamper::Unsigned => "unsigned",
            Tamper::WrongSecret => "wrong-secret",
            Tamper::OtherService => "other-service",
            Tamper::BodyChangedAfterSigning => "body-changed-after-signing",
            Tamper::StaleDate => "stale-date",
        }
    }

    pub fn from_name(name: &str) -> Option<Tamper> {
        Tamper::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Whether a send may be retried, and whether it counts toward the run's breaker (see
/// [`budget`]). Throttling scenarios use [`RetryMode::Raw`] to see every 429 of a deliberate burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    /// Retried as the SDKs' standard mode does; counted.
    Standard,
    /// Sent once; counted (for callers that wait between tries themselves).
    Once,
    /// Sent once; not counted: a burst that throttles on purpose.
    Raw,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Build(#[from] WireError),
    #[error(transparent)]
    Sign(#[from] sign::SignError),
    #[error("{method} {url}: {kind}: {message}")]
    Transport { method: String, url: String, kind: TransportKind, message: String },
    /// The run's budget says stop (see [`budget`]); nothing was sent.
    #[error("not sent: the run stopped: {0}")]
    Stopped(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Connect,
    Timeout,
    BodyTooLarge,
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "cannot connect",
            TransportKind::Timeout => "timed out",
            TransportKind::BodyTooLarge => "response too large",
            TransportKind::Other => "transport error",
        })
    }
}

/// How to reach and sign for a target.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL without a trailing slash, for example `http://127.0.0.1:4566`.
    pub endpoint: String,
    pub region: String,
    pub credentials: Credentials,
    /// The limit on one send, connection and whole response included.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// At most this many requests per second in all, retries included; `None`: unpaced.
    pub max_rps: Option<f64>,
    /// The whole run's deadline (see [`budget`]); `None`: none.
    pub run_deadline: Option<Duration>,
    /// How long nothing but throttling and failures may go on before the run stops.
    pub patience: Duration,
}

/// Spaces sends `1/rate` apart: each send reserves the next free slot and waits for it, so no
/// one-second window holds more than `rate` sends, however many tasks send at once.
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    next_slot: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next_slot: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    async fn wait_for_slot(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

pub struct Client {
    http: reqwest::Client,
    model: Arc<ServiceModel>,
    config: ClientConfig,
    redactor: Redactor,
    pacer: Option<Arc<Pacer>>,
    budget: Arc<Budget>,
    retries: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    /// Time to answer of every attempt, by operation, in microseconds.
    latency: Arc<std::sync::Mutex<std::collections::BTreeMap<String, hdrhistogram::Histogram<u64>>>>,
    /// Where every exchange is also written, when recording (`--record`).
    recorder: Option<Arc<Recorder>>,
}

/// An answer as it came, before redaction: what a proxy hands on unchanged.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Percentiles of the time to answer of one operation's requests, in milliseconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("endpoint", &self.config.endpoint).field("region", &self.config.region).finish()
    }
}

/// Makes ring the process's TLS provider, once, unless another is installed already: reqwest is
/// built without a provider of its own (`rustls-no-provider`, see Cargo.toml) and panics when
/// none is set. Call it before building any other `reqwest::Client`.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means another provider came first: that one serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Client {
    pub fn new(model: Arc<ServiceModel>, config: ClientConfig) -> Result<Client, ClientError> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("appmesh-conformance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Transport {
                method: String::new(),
                url: config.endpoint.clone(),
                kind: TransportKind::Other,
                message: e.to_string(),
            })?;
        let secrets = [Some(config.credentials.secret_access_key.clone()), config.credentials.session_token.clone()];
        let redactor =
            Redactor::new(secrets.into_iter().flatten()).with_access_key_id(&config.credentials.access_key_id);
        let pacer = config.max_rps.filter(|rate| rate.is_finite() && *rate > 0.0).map(|r| Arc::new(Pacer::new(r)));
        let budget = Arc::new(Budget::with_patience(config.run_deadline, config.patience));
        Ok(Client {
            http,
            model,
            config,
            redactor,
            pacer,
            budget,
            retries: Default::default(),
            requests: Default::default(),
            latency: Default::default(),
            recorder: None,
        })
    }

    /// The same client (connection pool, pace, budget, counters), also writing every exchange to
    /// `recorder`.
    pub fn recording(&self, recorder: Arc<Recorder>) -> Client {
        Client {
            http: self.http.clone(),
            model: self.model.clone(),
            config: self.config.clone(),
            redactor: self.redactor.clone(),
            pacer: self.pacer.clone(),
            budget: self.budget.clone(),
            retries: self.retries.clone(),
            requests: self.requests.clone(),
            latency: self.latency.clone(),
            recorder: Some(recorder),
        }
    }

    pub fn recorder(&self) -> Option<&Arc<Recorder>> {
        self.recorder.as_ref()
    }

    /// The run's budget: retry quota, deadline, breaker.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The same client (connection pool, pace, counters) with a budget of its own that ends
    /// `within` from now: for clean-up after the run's budget stopped it.
    pub fn with_fresh_budget(&self, within: Duration) -> Client {
        Client {
            http: self.http.clone(),
            model: self.model.clone(),
            config: self.config.clone(),
            redactor: self.redactor.clone(),
            pacer: self.pacer.clone(),
            budget: Arc::new(Budget::for_cleanup(within, self.config.patience)),
            retries: self.retries.clone(),
            requests: self.requests.clone(),
            latency: self.latency.clone(),
            recorder: self.recorder.clone(),
        }
    }

    pub fn model(&self) -> &ServiceModel {
        &self.model
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Retries made so far (429 and 503 answers sent again).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The time to answer of every request sent so far (each attempt counts), by operation;
    /// requests built without an operation are under `(raw)`.
    pub fn latency(&self) -> std::collections::BTreeMap<String, LatencySummary> {
        let histograms = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let ms = |micros: u64| micros as f64 / 1000.0;
        histograms
            .iter()
            .map(|(operation, h)| {
                let summary = LatencySummary {
                    count: h.len(),
                    p50_ms: ms(h.value_at_quantile(0.50)),
                    p90_ms: ms(h.value_at_quantile(0.90)),
                    p99_ms: ms(h.value_at_quantile(0.99)),
                    max_ms: ms(h.max()),
                };
                (operation.clone(), summary)
            })
            .collect()
    }

    fn record_latency(&self, operation: Option<&str>, elapsed: Duration) {
        let mut histograms = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let histogram = histograms.entry(operation.unwrap_or("(raw)").to_string()).or_insert_with(|| {
            hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
        });
        histogram.saturating_record((elapsed.as_micros() as u64).max(1));
    }

    /// Calls a model operation with standard retries.
    pub async fn call(&self, operation: &str, input: &Value) -> Result<Exchange, ClientError> {
        let request = wire::build_request(&self.model, operation, input)?;
        self.send(Some(operation), &request, RetryMode::Standard).await
    }

    /// Calls a model operation once, counted as ordinary traffic: for callers that wait between
    /// tries themselves.
    pub async fn call_once(&self, operation: &str, input: &Value) -> Result<Exchange, ClientError> {
        let request = wire::build_request(&self.model, operation, input)?;
        self.send(Some(operation), &request, RetryMode::Once).await
    }

    /// Calls a model operation once, showing a 429 or 503 as it came.
    pub async fn call_raw(&self, operation: &str, input: &Value) -> Result<Exchange, ClientError> {
        let request = wire::build_request(&self.model, operation, input)?;
        self.send(Some(operation), &request, RetryMode::Raw).await
    }

    /// Calls a model operation once and outside the pace: for a burst probe meant to exceed a
    /// target's rate when no `--max-rps` binds the harness.
    pub async fn call_raw_unpaced(&self, operation: &str, input: &Value) -> Result<Exchange, ClientError> {
        let request = wire::build_request(&self.model, operation, input)?;
        self.send_signed(Some(operation), &request, RetryMode::Raw, None, false).await
    }

    /// Signs and sends an already built request (which may be deliberately malformed).
    pub async fn send(
        &self,
        operation: Option<&str>,
        request: &HttpRequest,
        mode: RetryMode,
    ) -> Result<Exchange, ClientError> {
        self.send_signed(operation, request, mode, None, true).await
    }

    /// Sends a request with a deliberately wrong signature, once.
    pub async fn send_tampered(
        &self,
        operation: Option<&str>,
        request: &HttpRequest,
        tamper: Tamper,
    ) -> Result<Exchange, ClientError> {
        self.send_signed(operation, request, RetryMode::Raw, Some(tamper), true).await
    }

    async fn send_signed(
        &self,
        operation: Option<&str>,
        request: &HttpRequest,
        mode: RetryMode,
        tamper: Option<Tamper>,
        paced: bool,
    ) -> Result<Exchange, ClientError> {
        let url = format!("{}{}", self.config.endpoint, request.path_and_query);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(reason) = self.budget.stopped() {
                return Err(ClientError::Stopped(reason));
            }
            if let Some(pacer) = self.pacer.as_ref().filter(|_| paced) {
                pacer.wait_for_slot().await;
            }
            let sent_at = Instant::now();
            self.requests.fetch_add(1, Ordering::Relaxed);
            // Bursts (raw mode) throttle on purpose: only ordinary traffic feeds the breaker.
            let counted = mode != RetryMode::Raw;
            let (recorded_request, response, _) = match self.send_once(request, &url, tamper).await {
                Ok(sent) => sent,
                Err(error) => {
                    if counted && matches!(error, ClientError::Transport { .. }) {
                        self.budget.record(budget::Outcome::NoAnswer, attempt == 1);
                    }
                    return Err(error);
                }
            };
            self.record_latency(operation, sent_at.elapsed());
            let throttled = matches!(response.status, 429 | 503);
            if counted {
                let outcome = match response.status {
                    429 | 503 => budget::Outcome::Throttled(response.status),
                    500..=599 => budget::Outcome::Failed(response.status),
                    _ => budget::Outcome::Answered,
                };
                self.budget.record(outcome, attempt == 1);
            }
            if mode == RetryMode::Standard
                && throttled
                && attempt < self.config.retry.max_attempts
                && self.budget.take_retry()
            {
                self.retries.fetch_add(1, Ordering::Relaxed);
                let retry_after = response
                    .headers
                    .iter()
                    .find(|(n, _)| n == "retry-after")
                    .and_then(|(_, v)| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                if self.budget.sleep(self.config.retry.backoff(attempt, retry_after)).await {
                    continue;
                }
            }
            let exchange = Exchange {
                operation: operation.map(str::to_string),
                request: recorded_request,
                response,
                duration: started.elapsed(),
                attempts: attempt,
                sent_at: Some(sent_at),
            };
            return Ok(self.recorded(exchange, tamper));
        }
    }

    /// Signs and sends a request once, outside the pace and the breaker, and hands back the
    /// answer as it came besides its redacted record: for a proxy, which must not retry or
    /// change what its client sees.
    pub async fn forward(
        &self,
        operation: Option<&str>,
        request: &HttpRequest,
    ) -> Result<(Exchange, RawResponse), ClientError> {
        let url = format!("{}{}", self.config.endpoint, request.path_and_query);
        let sent_at = Instant::now();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let (recorded_request, response, raw) = self.send_once(request, &url, None).await?;
        self.record_latency(operation, sent_at.elapsed());
        let exchange = Exchange {
            operation: operation.map(str::to_string),
            request: recorded_request,
            response,
            duration: sent_at.elapsed(),
            attempts: 1,
            sent_at: Some(sent_at),
        };
        Ok((self.recorded(exchange, None), raw))
    }

    /// The exchange, written to the cassette first when recording.
    fn recorded(&self, exchange: Exchange, tamper: Option<Tamper>) -> Exchange {
        if let Some(recorder) = &self.recorder {
            recorder.record(&exchange, tamper.map(Tamper::name));
        }
        exchange
    }

    async fn send_once(
        &self,
        request: &HttpRequest,
        url: &str,
        tamper: Option<Tamper>,
    ) -> Result<(RecordedRequest, RecordedResponse, RawResponse), ClientError> {
        let transport = |kind: TransportKind, message: String| ClientError::Transport {
            method: request.method.clone(),
            url: url.to_string(),
            kind,
            message,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| transport(TransportKind::Other, e.to_string()))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => return Err(transport(TransportKind::Other, "the URL has no host".into())),
        };
        let mut headers = request.headers.clone();
        headers.push(("host".to_string(), host));
        let mut credentials = std::borrow::Cow::Borrowed(&self.config.credentials);
        let (mut service, mut time) = (self.model.metadata.signing_name.as_str(), SystemTime::now());
        match tamper {
            Some(Tamper::WrongSecret) => {
                let secret = format!("wrong-{}", credentials.secret_access_key);
                credentials.to_mut().secret_access_key = secret;
            }
            Some(Tamper::OtherService) => service = "s3",
            Some(Tamper::StaleDate) => time -= Duration::from_secs(15 * 60),
            _ => {}
        }
        if tamper != Some(Tamper::Unsigned) {
            let signed = sign::sign_headers(
                sign::Signable { method: &request.method, url, headers: &headers, body: &request.body },
                sign::Scope { credentials: &credentials, region: &self.config.region, service },
                time,
            )?;
            headers.extend(signed);
        }
        let mut body = request.body.clone();
        if tamper == Some(Tamper::BodyChangedAfterSigning) {
            body.push(b' ');
        }

        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| transport(TransportKind::Other, e.to_string()))?;
        let mut builder = self.http.request(method, parsed);
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let recorded_request = RecordedRequest {
            method: request.method.clone(),
            url: self.redactor.text(url),
            headers: headers.iter().map(|(n, v)| self.redactor.header(n, v)).collect(),
            body: self.redactor.text(&String::from_utf8_lossy(&body)),
        };
        let classify = |error: reqwest::Error| {
            let kind = if error.is_timeout() {
                TransportKind::Timeout
            } else if error.is_connect() {
                TransportKind::Connect
            } else {
                TransportKind::Other
            };
            transport(kind, self.redactor.text(&error_chain(&error)))
        };
        let mut response = builder.body(body.clone()).send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let raw_headers: Vec<(String, Vec<u8>)> =
            response.headers().iter().map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec())).collect();
        let response_headers: Vec<(String, String)> =
            raw_headers.iter().map(|(n, v)| self.redactor.header(n, &String::from_utf8_lossy(v))).collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(transport(
                    TransportKind::BodyTooLarge,
                    format!("the response body exceeds {MAX_RESPONSE_BYTES} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let recorded_response = RecordedResponse {
            status,
            headers: response_headers,
            body: self.redactor.text(&String::from_utf8_lossy(&body)),
        };
        Ok((recorded_request, recorded_response, RawResponse { status, headers: raw_headers, body }))
    }
}

/// The error and its causes on one line: reqwest's own message is often just "error sending request".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    /// reqwest carries no TLS provider of its own (Cargo.toml): a client for a real AWS endpoint
    /// builds, with ring installed, and an `https://` request is planned without a panic.
    #[tokio::test]
    async fn an_https_client_builds_over_ring() {
        let config = ClientConfig {
            endpoint: "https://appmesh.us-east-1.amazonaws.com".to_string(),
            region: "us-east-1".to_string(),
            credentials: Credentials {
                access_key_id: "AKIDEXAMPLE".to_string(),
                secret_access_key: "secret".to_string(),
                session_token: None,
            },
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            max_rps: None,
            run_deadline: None,
            patience: budget::PERSISTENT_TIME,
        };
        let client = Client::new(Arc::new(ServiceModel::embedded()), config).expect("builds");
        assert!(rustls::crypto::CryptoProvider::get_default().is_some(), "a provider is installed");
        assert_eq!(client.config().endpoint, "https://appmesh.us-east-1.amazonaws.com");
    }

    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
        };
        for _ in 0..200 {
            assert!(policy.backoff(1, None) <= Duration::from_millis(100));
            assert!(policy.backoff(2, None) <= Duration::from_millis(200));
            assert!(policy.backoff(9, None) <= Duration::from_millis(250));
        }
        assert_eq!(policy.backoff(1, Some(Duration::from_millis(180))), Duration::from_millis(180));
        assert_eq!(policy.backoff(1, Some(Duration::from_secs(60))), Duration::from_millis(250));
    }
}
