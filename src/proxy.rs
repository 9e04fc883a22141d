//! `proxy`: a validating proxy. Any client (an SDK, the AWS CLI, Terraform, another harness's
//! tests) points at it; every request goes on to the upstream and every answer comes back byte
//! for byte, while the [`Judge`] judges each exchange against the model and what it saw before.
//!
//! The request is forwarded as it came, except that it is signed again with the proxy's own
//! credentials for an upstream URL (SigV4 covers the host, so the client's signature cannot survive
//! the hop), and that hop-by-hop headers and `accept-encoding` stay behind (so the answer can be
//! read to be judged). Without an upstream URL the embedded emulator answers in the proxy's own
//! process, with no second hop. Judging happens off the request path: a client waits for the
//! upstream, never for the judge.
//!
//! Bounds: at most [`MAX_CONNECTIONS`] connections are held (more wait to be accepted), a
//! connection that sends nothing for [`IDLE_TIMEOUT`] is closed (a request head that trickles in
//! included), request bodies above [`MAX_REQUEST_BYTES`] are refused with 413, a body must arrive
//! within [`BODY_TIMEOUT`], at most `max_in_flight` requests are forwarded at once (the rest get
//! 503 at once), and the upstream's answer has the client's timeout and size cap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tokio::sync::{mpsc, watch};

use crate::cassette::Recorder;
use crate::client::{Client, RawResponse};
use crate::emulator::Emulator;
use crate::exchange::{Exchange, RecordedRequest, RecordedResponse, Redactor};
use crate::judge::{Judge, Verdict};
use crate::model::ServiceModel;
use crate::report::traffic::Judged;
use crate::wire::HttpRequest;

/// The largest request body the proxy reads.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// How long a request body may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections held at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long a connection may send nothing before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Requests forwarded at once, unless told otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Request headers that never travel on: those of one hop, those of the client's signature (the
/// proxy signs again), and `accept-encoding` (a compressed answer could not be judged).
const NOT_FORWARDED: [&str; 14] = [
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "expect",
    "content-length",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "accept-encoding",
];

/// Answer headers of one hop, which the proxy's own connection sets.
const HOP_BY_HOP: [&str; 4] = ["connection", "keep-alive", "transfer-encoding", "content-length"];

/// Where the proxy sends what it receives.
#[derive(Clone)]
pub enum Upstream {
    /// The embedded emulator, in the proxy's process.
    Embedded(Arc<Emulator>),
    /// A target by URL, through a client that signs with the proxy's credentials.
    Remote(Arc<Client>),
}

impl Upstream {
    pub fn describe(&self) -> String {
        match self {
            Upstream::Embedded(_) => "the embedded emulator (in-process)".to_string(),
            Upstream::Remote(client) => client.config().endpoint.clone(),
        }
    }
}

/// What the proxy is asked to do besides forwarding.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    pub listen: SocketAddr,
    /// Stop after judging this many exchanges.
    pub max_requests: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    pub max_in_flight: usize,
    /// The region requests are judged for (ARNs).
    pub region: String,
    /// Connections held at once ([`MAX_CONNECTIONS`]) and how long one may send nothing
    /// ([`IDLE_TIMEOUT`]).
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

impl ProxyOptions {
    /// Listening on `listen`, with the default bounds and no end but Ctrl-C.
    pub fn new(listen: SocketAddr, region: impl Into<String>) -> ProxyOptions {
        ProxyOptions {
            listen,
            max_requests: None,
            duration: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            region: region.into(),
            max_connections: MAX_CONNECTIONS,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the proxy cannot listen on {addr}: {source}; choose another --listen address")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// A proxy that is listening.
pub struct RunningProxy {
    pub addr: SocketAddr,
    stop: watch::Sender<Option<String>>,
    server: tokio::task::JoinHandle<()>,
    judged: tokio::task::JoinHandle<Vec<Judged>>,
    started: SystemTime,
    clock: Instant,
    forwarded: Arc<AtomicU64>,
}

/// What a proxy saw, once stopped.
pub struct ProxyOutcome {
    pub judged: Vec<Judged>,
    /// Why it stopped.
    pub stopped: String,
    pub started: SystemTime,
    pub took: Duration,
    pub forwarded: u64,
}

struct Shared {
    upstream: Upstream,
    redactor: Redactor,
    exchanges: mpsc::Sender<Exchange>,
    in_flight: Arc<tokio::sync::Semaphore>,
    recorder: Option<Arc<Recorder>>,
    forwarded: Arc<AtomicU64>,
}

/// Starts the proxy. `on_verdict` is called for each exchange as it is judged, in order (the CLI
/// prints each finding there).
pub async fn start(
    model: Arc<ServiceModel>,
    upstream: Upstream,
    options: ProxyOptions,
    recorder: Option<Arc<Recorder>>,
    mut on_verdict: impl FnMut(u64, &Exchange, &Verdict) + Send + 'static,
) -> Result<RunningProxy, ProxyError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ProxyError::Listen { addr: options.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ProxyError::Listen { addr: options.listen, source })?;
    let (stop, mut stopped) = watch::channel(None::<String>);
    // Bounded: a judge that falls behind slows the clients rather than growing without end.
    let (exchanges, mut incoming) = mpsc::channel::<Exchange>(4096);
    let forwarded = Arc::new(AtomicU64::new(0));
    let redactor = match &upstream {
        Upstream::Remote(client) => client.redactor().clone(),
        Upstream::Embedded(_) => Redactor::default(),
    };
    let shared = Arc::new(Shared {
        upstream,
        redactor,
        exchanges,
        in_flight: Arc::new(tokio::sync::Semaphore::new(options.max_in_flight.max(1))),
        recorder: recorder.clone(),
        forwarded: forwarded.clone(),
    });

    let stop_judge = stop.clone();
    let max_requests = options.max_requests;
    let region = options.region.clone();
    let judged = tokio::spawn(async move {
        let mut judge = Judge::new(model, region);
        let mut judged = Vec::new();
        while let Some(exchange) = incoming.recv().await {
            let verdict = judge.judge(&exchange);
            let seq = judged.len() as u64 + 1;
            on_verdict(seq, &exchange, &verdict);
            judged.push(Judged {
                seq,
                operation: verdict.operation.clone(),
                kind: verdict.kind.clone(),
                findings: verdict.findings,
                unjudged: verdict.unjudged,
                step: "the exchange conforms to the model".to_string(),
                exchange,
            });
            if max_requests.is_some_and(|max| seq >= max) {
                stop_judge.send_if_modified(|reason| {
                    reason.get_or_insert_with(|| format!("--max-requests {seq} reached"));
                    true
                });
            }
        }
        judged
    });

    let app = axum::Router::new().fallback(forward).with_state(shared);
    let duration = options.duration;
    let stop_timer = stop.clone();
    if let Some(duration) = duration {
        tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            stop_timer.send_if_modified(|reason| {
                reason.get_or_insert_with(|| format!("--duration {} s elapsed", duration.as_secs()));
                true
            });
        });
    }
    let connections = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
    let listener = Bounded { listener, connections, idle_timeout: options.idle_timeout };
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(Option::is_some).await;
        };
        let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    });
    Ok(RunningProxy { addr, stop, server, judged, started: SystemTime::now(), clock: Instant::now(), forwarded })
}

impl RunningProxy {
    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until `--max-requests` or `--duration` stops the proxy, or `interrupt` resolves, then
    /// stops it: requests in flight get their answers (within 10 s), and every exchange is judged.
    pub async fn wait(self, interrupt: impl std::future::Future<Output = ()>) -> ProxyOutcome {
        let mut watching = self.stop.subscribe();
        tokio::select! {
            _ = watching.wait_for(Option::is_some) => {}
            () = interrupt => {
                self.stop.send_if_modified(|reason| {
                    reason.get_or_insert_with(|| "interrupted (Ctrl-C or SIGTERM)".to_string());
                    true
                });
            }
        }
        self.finish().await
    }

    /// Stops the proxy now.
    pub async fn stop(self) -> ProxyOutcome {
        self.stop.send_if_modified(|reason| {
            reason.get_or_insert_with(|| "stopped".to_string());
            true
        });
        self.finish().await
    }

    async fn finish(self) -> ProxyOutcome {
        let stopped = self.stop.borrow().clone().unwrap_or_default();
        // The server's end drops the last sender of exchanges, which ends the judge.
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(10), &mut server).await.is_err() {
            server.abort();
            let _ = server.await;
        }
        let judged = self.judged.await.unwrap_or_default();
        ProxyOutcome {
            judged,
            stopped,
            started: self.started,
            took: self.clock.elapsed(),
            forwarded: self.forwarded.load(Ordering::Relaxed),
        }
    }
}

/// The proxy's listener: a connection is accepted only while fewer than `max_connections` are
/// held, and each is closed after `idle_timeout` without a byte from the client.
struct Bounded {
    listener: tokio::net::TcpListener,
    connections: Arc<tokio::sync::Semaphore>,
    idle_timeout: Duration,
}

impl axum::serve::Listener for Bounded {
    type Io = Held;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Held, SocketAddr) {
        let permit = self.connections.clone().acquire_owned().await.expect("the semaphore is never closed");
        loop {
            match self.listener.accept().await {
                Ok((stream, addr)) => {
                    let idle = Box::pin(tokio::time::sleep(self.idle_timeout));
                    let idle_timeout = self.idle_timeout;
                    let last_read = tokio::time::Instant::now();
                    return (Held { stream, idle, idle_timeout, last_read, _permit: permit }, addr);
                }
                // Out of file descriptors and the like: wait, rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// A held connection: its permit goes back when it closes; reading fails once the client has
/// sent nothing for its idle timeout.
struct Held {
    stream: tokio::net::TcpStream,
    idle: std::pin::Pin<Box<tokio::time::Sleep>>,
    idle_timeout: Duration,
    last_read: tokio::time::Instant,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl tokio::io::AsyncRead for Held {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future as _;
        let held = self.get_mut();
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut held.stream).poll_read(cx, buf) {
            std::task::Poll::Ready(result) => {
                if buf.filled().len() > before {
                    // Cheap on every read; the timer is moved only when it fires (below).
                    held.last_read = tokio::time::Instant::now();
                }
                std::task::Poll::Ready(result)
            }
            std::task::Poll::Pending => loop {
                if held.idle.as_mut().poll(cx).is_pending() {
                    return std::task::Poll::Pending;
                }
                let deadline = held.last_read + held.idle_timeout;
                if deadline <= tokio::time::Instant::now() {
                    return std::task::Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client sent nothing for the idle timeout",
                    )));
                }
                held.idle.as_mut().reset(deadline);
            },
        }
    }
}

impl tokio::io::AsyncWrite for Held {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// One request: read it (bounded), forward it, hand the answer back unchanged, queue the
/// exchange for the judge.
async fn forward(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response<Body> {
    let Ok(_permit) = shared.in_flight.clone().try_acquire_owned() else {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "the proxy is forwarding as many requests as it may");
    };
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_REQUEST_BYTES)).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return refusal(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than the proxy reads (8 MiB)");
        }
        Err(_) => return refusal(StatusCode::REQUEST_TIMEOUT, "the request body did not arrive within 30 s"),
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !NOT_FORWARDED.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let model_operation = |model: &ServiceModel| {
        crate::wire::route(model, parts.method.as_str(), parts.uri.path()).map(|(op, _)| op.name.clone())
    };
    let (exchange, raw) = match &shared.upstream {
        Upstream::Remote(client) => {
            let operation = model_operation(client.model());
            let request =
                HttpRequest { method: parts.method.to_string(), path_and_query, headers, body: body.to_vec() };
            match client.forward(operation.as_deref(), &request).await {
                Ok(sent) => sent,
                Err(error) => {
                    let message = format!("the upstream did not answer: {error}");
                    return refusal(StatusCode::BAD_GATEWAY, &shared.redactor.text(&message));
                }
            }
        }
        Upstream::Embedded(emulator) => {
            let started = Instant::now();
            let answer = emulator.answer(&parts.method, &parts.uri, &headers, &body);
            let raw = RawResponse {
                status: answer.status,
                headers: answer.headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect(),
                body: answer.body,
            };
            let mut exchange = record(&shared.redactor, &parts.method, &path_and_query, &headers, &body, &raw, started);
            exchange.operation = model_operation(emulator.model());
            if let Some(recorder) = &shared.recorder {
                recorder.record(&exchange, None);
            }
            (exchange, raw)
        }
    };
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    // The judge must see every exchange; a full queue waits (bounded by the client's own timeout).
    let _ = shared.exchanges.send(exchange).await;
    answer(raw)
}

/// The redacted record of an exchange answered in-process.
fn record(
    redactor: &Redactor,
    method: &axum::http::Method,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
    raw: &RawResponse,
    started: Instant,
) -> Exchange {
    Exchange {
        operation: None,
        request: RecordedRequest {
            method: method.to_string(),
            url: format!("http://embedded{path_and_query}"),
            headers: headers.iter().map(|(n, v)| redactor.header(n, v)).collect(),
            body: redactor.text(&String::from_utf8_lossy(body)),
        },
        response: RecordedResponse {
            status: raw.status,
            headers: raw.headers.iter().map(|(n, v)| redactor.header(n, &String::from_utf8_lossy(v))).collect(),
            body: redactor.text(&String::from_utf8_lossy(&raw.body)),
        },
        duration: started.elapsed(),
        attempts: 1,
        sent_at: Some(started),
    }
}

/// The upstream's answer as it came: status, headers (but those of one hop) and body bytes.
fn answer(raw: RawResponse) -> Response<Body> {
    let mut response = Response::new(Body::from(raw.body));
    *response.status_mut() = StatusCode::from_u16(raw.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers: &mut HeaderMap = response.headers_mut();
    for (name, value) in raw.headers {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(&value)) {
            headers.append(name, value);
        }
    }
    response
}

/// An answer of the proxy's own (never the upstream's), as JSON that names the proxy.
fn refusal(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "message": format!("appmesh-conformance proxy: {message}") }).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response.headers_mut().insert("x-appmesh-conformance-proxy", HeaderValue::from_static("refused"));
    response
}

/// Where a proxy's requests go, from validated settings: the target they name, reached and
/// preflighted like `run`'s, or, when they name none, the embedded emulator in-process (with
/// `deviations` switched on).
pub async fn upstream(
    model: Arc<ServiceModel>,
    settings: &crate::settings::Settings,
    deviations: &[crate::emulator::Deviation],
) -> Result<Upstream, UpstreamError> {
    let env = |key: &str| std::env::var(key).ok();
    let options = &settings.target;
    let embedded = crate::client::target::EMBEDDED;
    if options.endpoint.as_deref().is_some_and(|e| e.trim() == embedded) {
        return Ok(embedded_upstream(model, options, deviations));
    }
    let named = options.endpoint.is_some()
        || options.aws
        || crate::client::target::resolve_endpoint(None, false, "us-east-1", env).is_ok_and(|c| c.url.is_some());
    if named {
        if !deviations.is_empty() {
            return Err(UpstreamError::DeviationNeedsEmbedded);
        }
        let connected = crate::target::connect(model, options.clone()).await?;
        return Ok(Upstream::Remote(connected.client));
    }
    Ok(embedded_upstream(model, options, deviations))
}

fn embedded_upstream(
    model: Arc<ServiceModel>,
    options: &crate::target::TargetOptions,
    deviations: &[crate::emulator::Deviation],
) -> Upstream {
    let config = crate::emulator::EmulatorConfig {
        region: options.region.clone().unwrap_or_else(|| crate::emulator::DEFAULT_REGION.to_string()),
        deviations: deviations.iter().copied().collect(),
        ..options.emulator.clone()
    };
    Upstream::Embedded(Arc::new(Emulator::new(model, config)))
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("--deviation switches on a mode of the embedded emulator; drop --upstream to proxy to it")]
    DeviationNeedsEmbedded,
    #[error(transparent)]
    Connect(#[from] crate::target::ConnectError),
}

impl Upstream {
    /// The region requests are judged for.
    pub fn region(&self) -> String {
        match self {
            Upstream::Embedded(emulator) => emulator.config().region.clone(),
            Upstream::Remote(client) => client.config().region.clone(),
        }
    }
}

/// The report of what a proxy judged.
pub fn report(outcome: &ProxyOutcome, upstream: &Upstream) -> crate::report::Report {
    let description = format!("traffic through the proxy to {} ({})", upstream.describe(), outcome.stopped);
    let (target, latency) = match upstream {
        Upstream::Embedded(emulator) => {
            let endpoint = crate::report::REPRODUCE_ENDPOINT.to_string();
            let mut target = crate::report::TargetInfo::of_traffic(description, endpoint, upstream.region(), true);
            target.deviations = emulator.config().deviations.iter().map(|d| d.name().to_string()).collect();
            (target, Default::default())
        }
        Upstream::Remote(client) => {
            let endpoint = client.config().endpoint.clone();
            (crate::report::TargetInfo::of_traffic(description, endpoint, upstream.region(), false), client.latency())
        }
    };
    let traffic = crate::report::traffic::Traffic {
        label: "proxy",
        run_id: None,
        feature: TRAFFIC_FEATURE,
        target,
        started: outcome.started,
        took: outcome.took,
        latency,
        requests: outcome.forwarded,
    };
    crate::report::traffic::report(traffic, &outcome.judged)
}

/// The feature name the proxy's exchanges are reported under.
pub const TRAFFIC_FEATURE: &str = "Traffic through the proxy, judged against the model";
