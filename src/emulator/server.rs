//! The emulator's HTTP/1.1 server: loopback only, every answer in App Mesh's error shape, bounded
//! in every way a client could stretch it.
//!
//! It is written here rather than taken from hyper because every refusal must be App Mesh's JSON
//! error (a request head that does not parse, a request target too long, conflicting
//! `Content-Length`s, a body that never comes), and hyper answers those itself with empty bodies.
//!
//! Bounds: a request head must arrive within [`ServerLimits::head_timeout`] of its first byte and
//! a body within [`ServerLimits::body_timeout`]; an idle keep-alive connection is closed after
//! [`ServerLimits::idle_timeout`]; answers must be taken within [`ServerLimits::write_timeout`].
//! At most [`ServerLimits::max_connections`] connections are held (by default well below the
//! process's file limit): a new connection beyond that closes the connection that has waited
//! longest for a request to arrive, or, when every connection is being answered, is itself
//! answered 503 ServiceUnavailableException. On shutdown it stops accepting, closes the
//! connections waiting for a request, lets answers in progress finish, and after
//! [`ServerLimits::drain`] aborts what is left.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::{Answer, Emulator, MAX_BODY_BYTES};

/// The bounds of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    pub max_connections: usize,
    /// From the first byte of a request to the end of its head.
    pub head_timeout: Duration,
    /// From the end of a request's head to the end of its body.
    pub body_timeout: Duration,
    /// A keep-alive connection waiting for its next request.
    pub idle_timeout: Duration,
    /// Writing one answer.
    pub write_timeout: Duration,
    /// How long answers in progress may take once shutdown starts.
    pub drain: Duration,
    /// The request line and headers together.
    pub max_head_bytes: usize,
    /// The request target (path and query).
    pub max_target_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: default_max_connections(),
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(3),
            max_head_bytes: 64 * 1024,
            max_target_bytes: 16 * 1024,
        }
    }
}

/// Connections the server holds at most by default: the process's open-file limit, less room for
/// everything else the process opens, between 32 and 10,000.
pub fn default_max_connections() -> usize {
    let soft = open_file_limit().unwrap_or(1024);
    usize::try_from(soft.saturating_sub(64)).unwrap_or(usize::MAX).clamp(32, 10_000)
}

/// The soft limit on open files (RLIMIT_NOFILE).
fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the limit into the struct we own and reads nothing else.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    // rlim_t is u64 on Linux but not on every platform.
    #[allow(clippy::unnecessary_cast)]
    (status == 0).then_some(limit.rlim_cur as u64)
}

/// What a connection is doing, for choosing one to close under pressure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (or receiving) a request: it may be closed to make room.
    Waiting(Instant),
    /// Being answered.
    Answering,
}

struct Connection {
    phase: Phase,
    close: Arc<Notify>,
}

/// The connections the server holds.
#[derive(Default)]
struct Registry {
    connections: Mutex<HashMap<u64, Connection>>,
    next_id: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Connection>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection, closing the longest-waiting one first when the server is full.
    /// `None`: full, and every connection is being answered.
    fn admit(&self, max: usize) -> Option<(u64, Arc<Notify>)> {
        if self.len() >= max {
            self.evict_one();
        }
        let mut connections = self.lock();
        if connections.len() >= max {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(Notify::new());
        connections.insert(id, Connection { phase: Phase::Waiting(Instant::now()), close: close.clone() });
        Some((id, close))
    }

    /// Closes the connection that has waited longest for a request, if any waits.
    fn evict_one(&self) {
        let mut connections = self.lock();
        let oldest = connections
            .iter()
            .filter_map(|(id, c)| match c.phase {
                Phase::Waiting(since) => Some((since, *id)),
                Phase::Answering => None,
            })
            .min()
            .map(|(_, id)| id);
        if let Some(victim) = oldest.and_then(|id| connections.remove(&id)) {
            victim.close.notify_one();
        }
    }

    fn set(&self, id: u64, phase: Phase) {
        if let Some(connection) = self.lock().get_mut(&id) {
            connection.phase = phase;
        }
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes every connection that is not being answered (shutdown).
    fn close_waiting(&self) {
        for connection in self.lock().values() {
            if matches!(connection.phase, Phase::Waiting(_)) {
                connection.close.notify_one();
            }
        }
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Serves `emulator` on `listener` until `shutdown` turns true; returns once every connection is
/// closed or the drain time has passed.
pub async fn serve(
    listener: TcpListener,
    emulator: Arc<Emulator>,
    limits: ServerLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let registry = Arc::new(Registry::default());
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() { break; }
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        // Reap finished connection tasks as we go, so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors or another passing failure: say so at most once a
                // second, make room, and keep accepting.
                if last_accept_error.is_none_or(|at| at.elapsed() > Duration::from_secs(1)) {
                    tracing::warn!(%error, connections = registry.len(), "cannot accept a connection; closing the longest-waiting one");
                    last_accept_error = Some(Instant::now());
                }
                registry.evict_one();
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match registry.admit(limits.max_connections) {
            Some((id, close)) => {
                let (emulator, registry, shutdown) = (emulator.clone(), registry.clone(), shutdown.clone());
                tasks.spawn(async move {
                    serve_connection(stream, &emulator, &limits, &registry, id, &close, shutdown).await;
                    registry.remove(id);
                });
            }
            None => {
                tasks.spawn(refuse_overloaded(stream, emulator.clone(), limits.write_timeout));
            }
        }
    }
    drop(listener);
    registry.close_waiting();
    let drained = tokio::time::timeout(limits.drain, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// Answers a connection the server has no room for, then closes it.
async fn refuse_overloaded(mut stream: TcpStream, emulator: Arc<Emulator>, write_timeout: Duration) {
    let answer = emulator.refusal(
        super::ErrorCode::ServiceUnavailable,
        "the emulator holds as many connections as it can; retry shortly",
    );
    let _ = tokio::time::timeout(write_timeout, write_answer(&mut stream, &answer, false, true)).await;
}

/// Why a request could not be read.
enum ReadFailure {
    /// The peer closed the connection, or the server closed it: nothing to answer.
    Gone,
    /// The request is malformed or too slow: answer it with this message, then close.
    Refuse(String),
}

/// One parsed request head.
#[derive(Debug)]
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    content_length: Option<usize>,
    chunked: bool,
    keep_alive: bool,
    expect_continue: bool,
}

async fn serve_connection(
    mut stream: TcpStream,
    emulator: &Emulator,
    limits: &ServerLimits,
    registry: &Registry,
    id: u64,
    close: &Notify,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buffer: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        registry.set(id, Phase::Waiting(Instant::now()));
        let read = read_request(&mut stream, &mut buffer, limits, close, &mut shutdown).await;
        let (head, body) = match read {
            Ok(request) => request,
            Err(ReadFailure::Gone) => return,
            Err(ReadFailure::Refuse(message)) => {
                let answer = emulator.refusal(super::ErrorCode::BadRequest, &message);
                let _ =
                    tokio::time::timeout(limits.write_timeout, write_answer(&mut stream, &answer, false, true)).await;
                return;
            }
        };
        registry.set(id, Phase::Answering);
        let answer = answer(emulator, &head, &body);
        let keep_alive = head.keep_alive && !*shutdown.borrow();
        let head_only = head.method == "HEAD";
        let written =
            tokio::time::timeout(limits.write_timeout, write_answer(&mut stream, &answer, head_only, !keep_alive))
                .await;
        if !keep_alive || !matches!(written, Ok(Ok(()))) {
            return;
        }
    }
}

/// The emulator's answer to one request read off the wire.
fn answer(emulator: &Emulator, head: &Head, body: &[u8]) -> Answer {
    let uri: http::Uri = match head.target.parse() {
        Ok(uri) => uri,
        Err(error) => {
            return emulator
                .refusal(super::ErrorCode::BadRequest, &format!("the request target is not a URI: {error}"));
        }
    };
    let method = match http::Method::from_bytes(head.method.as_bytes()) {
        Ok(method) => method,
        Err(_) => return emulator.refusal(super::ErrorCode::BadRequest, "the request method is not a method name"),
    };
    emulator.answer(&method, &uri, &head.headers, body)
}

/// Reads one request: its head within the head timeout (the first byte may take the idle
/// timeout), then its body within the body timeout.
async fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    limits: &ServerLimits,
    close: &Notify,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(Head, Vec<u8>), ReadFailure> {
    let refuse = |message: String| Err(ReadFailure::Refuse(message));
    // Until the first byte: an idle connection, closed quietly after the idle timeout.
    if buffer.is_empty() {
        let first = tokio::select! {
            () = close.notified() => return Err(ReadFailure::Gone),
            _ = shutdown.changed() => return Err(ReadFailure::Gone),
            read = tokio::time::timeout(limits.idle_timeout, read_more(stream, buffer)) => read,
        };
        match first {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Err(ReadFailure::Gone),
            Ok(Ok(_)) => {}
        }
    }
    let head_deadline = tokio::time::Instant::now() + limits.head_timeout;
    let head_end = loop {
        if let Some(end) = find_head_end(buffer) {
            break end;
        }
        if buffer.len() > limits.max_head_bytes {
            return refuse(format!("the request head is longer than {} bytes", limits.max_head_bytes));
        }
        let more = tokio::select! {
            () = close.notified() => return Err(ReadFailure::Gone),
            _ = shutdown.changed() => return Err(ReadFailure::Gone),
            read = tokio::time::timeout_at(head_deadline, read_more(stream, buffer)) => read,
        };
        match more {
            Err(_) => {
                return refuse(format!(
                    "the request head did not arrive within {} s of its first byte",
                    limits.head_timeout.as_secs()
                ));
            }
            Ok(Ok(0)) | Ok(Err(_)) => return Err(ReadFailure::Gone),
            Ok(Ok(_)) => {}
        }
    };
    let head = parse_head(&buffer[..head_end], limits).map_err(|e| ReadFailure::Refuse(e.to_string()))?;
    buffer.drain(..head_end);
    if head.expect_continue && (head.content_length.unwrap_or(0) > 0 || head.chunked) {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
    }
    let deadline = (tokio::time::Instant::now() + limits.body_timeout, limits.body_timeout.as_secs());
    let body = match (head.content_length, head.chunked) {
        (_, true) => read_chunked(stream, buffer, deadline, close).await?,
        (Some(length), false) => {
            if length > MAX_BODY_BYTES {
                return refuse(format!("the request body is {length} bytes, more than the {MAX_BODY_BYTES} allowed"));
            }
            fill(stream, buffer, length, deadline, close).await?;
            buffer.drain(..length).collect()
        }
        (None, false) => Vec::new(),
    };
    Ok((head, body))
}

/// Reads until `buffer` holds `length` bytes of the body, by the body's deadline (`seconds` after
/// its head).
async fn fill(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    length: usize,
    (deadline, seconds): (tokio::time::Instant, u64),
    close: &Notify,
) -> Result<(), ReadFailure> {
    while buffer.len() < length {
        let more = tokio::select! {
            () = close.notified() => return Err(ReadFailure::Gone),
            read = tokio::time::timeout_at(deadline, read_more(stream, buffer)) => read,
        };
        match more {
            Err(_) => {
                return Err(ReadFailure::Refuse(format!(
                    "the request body did not arrive within {seconds} s of its head"
                )));
            }
            Ok(Ok(0)) | Ok(Err(_)) => return Err(ReadFailure::Gone),
            Ok(Ok(_)) => {}
        }
    }
    Ok(())
}

/// A `Transfer-Encoding: chunked` body, bounded in size and time.
async fn read_chunked(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    deadline: (tokio::time::Instant, u64),
    close: &Notify,
) -> Result<Vec<u8>, ReadFailure> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(at) = buffer.windows(2).position(|w| w == b"\r\n") {
                break at;
            }
            if buffer.len() > 1024 {
                return Err(ReadFailure::Refuse("a chunk size line is longer than 1024 bytes".into()));
            }
            fill(stream, buffer, buffer.len() + 1, deadline, close).await?;
        };
        let line = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadFailure::Refuse(format!("the chunk size {size_text:?} is not a hexadecimal number")))?;
        buffer.drain(..line_end + 2);
        if size == 0 {
            // Trailers, if any, end with an empty line.
            loop {
                let end = loop {
                    if let Some(at) = buffer.windows(2).position(|w| w == b"\r\n") {
                        break at;
                    }
                    if buffer.len() > 8 * 1024 {
                        return Err(ReadFailure::Refuse("the chunked trailers are longer than 8 KiB".into()));
                    }
                    fill(stream, buffer, buffer.len() + 1, deadline, close).await?;
                };
                buffer.drain(..end + 2);
                if end == 0 {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadFailure::Refuse(format!(
                "the request body is more than the {MAX_BODY_BYTES} bytes allowed"
            )));
        }
        fill(stream, buffer, size + 2, deadline, close).await?;
        if &buffer[size..size + 2] != b"\r\n" {
            return Err(ReadFailure::Refuse("a chunk does not end with CRLF".into()));
        }
        body.extend(buffer.drain(..size));
        buffer.drain(..2);
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let read = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..read]);
    Ok(read)
}

/// The end of the request head (after its blank line), if the buffer holds it.
fn find_head_end(buffer: &[u8]) -> Option<usize> {
    buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4)
}

/// Why a request head is refused; its text is the message of the 400 answer.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum HeadError {
    #[error("the request head is incomplete")]
    Incomplete,
    #[error("the request has more than 128 headers")]
    TooManyHeaders,
    #[error("the request head is not HTTP/1.1: {0}")]
    NotHttp(httparse::Error),
    #[error("the request target is {length} bytes, more than the {max} allowed")]
    LongTarget { length: usize, max: usize },
    #[error("the request target {0:?} is not a path")]
    NotAPath(String),
    #[error("the value of header {0} is not text")]
    NotText(String),
    #[error("Content-Length {0:?} is not a number of bytes")]
    BadLength(String),
    #[error("the request has two different Content-Length headers")]
    TwoLengths,
    #[error("Transfer-Encoding {0:?} is not supported; send chunked or a Content-Length")]
    Encoding(String),
    #[error("the request has both Transfer-Encoding and Content-Length")]
    LengthAndEncoding,
}

/// Parses and checks a request head.
fn parse_head(bytes: &[u8], limits: &ServerLimits) -> Result<Head, HeadError> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(HeadError::Incomplete),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
        Err(error) => return Err(HeadError::NotHttp(error)),
    }
    let method = request.method.unwrap_or_default().to_string();
    let target = request.path.unwrap_or_default();
    if target.len() > limits.max_target_bytes {
        return Err(HeadError::LongTarget { length: target.len(), max: limits.max_target_bytes });
    }
    let target = origin_form(target)?;
    let version = request.version.unwrap_or(1);
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut connection = String::new();
    let mut expect_continue = false;
    let mut pairs = Vec::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let Ok(value) = std::str::from_utf8(header.value) else {
            return Err(HeadError::NotText(header.name.to_string()));
        };
        let name = header.name.to_ascii_lowercase();
        match name.as_str() {
            "content-length" => {
                let length: usize = value.trim().parse().map_err(|_| HeadError::BadLength(value.to_string()))?;
                if content_length.is_some_and(|known| known != length) {
                    return Err(HeadError::TwoLengths);
                }
                content_length = Some(length);
            }
            "transfer-encoding" => {
                if !value.trim().eq_ignore_ascii_case("chunked") {
                    return Err(HeadError::Encoding(value.to_string()));
                }
                chunked = true;
            }
            "connection" => connection = value.to_ascii_lowercase(),
            "expect" => expect_continue = value.trim().eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
        pairs.push((name, value.to_string()));
    }
    if chunked && content_length.is_some() {
        return Err(HeadError::LengthAndEncoding);
    }
    let keep_alive = if version == 0 { connection.contains("keep-alive") } else { !connection.contains("close") };
    Ok(Head { method, target, headers: pairs, content_length, chunked, keep_alive, expect_continue })
}

/// The path and query of a request target: origin form as it is, absolute form without its
/// scheme and authority; anything else is refused.
fn origin_form(target: &str) -> Result<String, HeadError> {
    if target.starts_with('/') {
        return Ok(target.to_string());
    }
    if let Some(rest) = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")) {
        let path = rest.find('/').map_or("/", |at| &rest[at..]);
        return Ok(path.to_string());
    }
    Err(HeadError::NotAPath(target.chars().take(64).collect()))
}

async fn write_answer(stream: &mut TcpStream, answer: &Answer, head_only: bool, close: bool) -> std::io::Result<()> {
    let status = http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = Vec::with_capacity(256 + answer.body.len());
    out.extend_from_slice(
        format!("HTTP/1.1 {} {}\r\n", status.as_u16(), status.canonical_reason().unwrap_or("Unknown")).as_bytes(),
    );
    for (name, value) in &answer.headers {
        if value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    out.extend_from_slice(format!("content-length: {}\r\n", answer.body.len()).as_bytes());
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&answer.body);
    }
    stream.write_all(&out).await?;
    stream.flush().await?;
    if close {
        let _ = stream.shutdown().await;
    }
    Ok(())
}

/// A running server on a loopback port.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, closes idle connections, lets answers in progress finish within the drain
    /// time, and returns when the server is down.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Starts serving `emulator` on `127.0.0.1:port` (0 picks a free port).
pub async fn start(emulator: Arc<Emulator>, port: u16, limits: ServerLimits) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (shutdown, receiver) = watch::channel(false);
    let task = tokio::spawn(serve(listener, emulator, limits, receiver));
    Ok(Running { addr, shutdown, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits::default()
    }

    #[test]
    fn heads_are_parsed_and_checked() {
        let head =
            parse_head(b"PUT /v20190125/meshes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n", &limits()).unwrap();
        assert_eq!(
            (head.method.as_str(), head.target.as_str(), head.content_length),
            ("PUT", "/v20190125/meshes", Some(2))
        );
        assert!(head.keep_alive);
        let conflicting = parse_head(b"PUT / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", &limits());
        assert_eq!(conflicting.err(), Some(HeadError::TwoLengths));
        let both = parse_head(b"PUT / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", &limits());
        assert_eq!(both.err(), Some(HeadError::LengthAndEncoding));
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(70_000));
        assert!(
            parse_head(long.as_bytes(), &limits()).unwrap_err().to_string().contains("more than the 16384 allowed")
        );
        assert!(
            parse_head(b"GET /\xff\xfe HTTP/1.1\r\n\r\n", &limits()).unwrap_err().to_string().contains("not HTTP/1.1")
        );
        let closing = parse_head(b"GET / HTTP/1.0\r\n\r\n", &limits()).unwrap();
        assert!(!closing.keep_alive);
        assert_eq!(origin_form("http://127.0.0.1:9080/v20190125/meshes?x=1").unwrap(), "/v20190125/meshes?x=1");
        assert!(origin_form("*").is_err());
    }

    #[test]
    fn the_default_connection_limit_leaves_room_below_the_file_limit() {
        let max = default_max_connections();
        let files = open_file_limit().unwrap();
        assert!((32..=10_000).contains(&max), "{max}");
        assert!(max as u64 <= files.saturating_sub(64).max(32), "{max} connections with {files} files");
    }

    #[test]
    fn a_full_server_closes_the_longest_waiting_connection() {
        let registry = Registry::default();
        let (first, first_close) = registry.admit(2).unwrap();
        let (second, _) = registry.admit(2).unwrap();
        registry.set(second, Phase::Answering);
        let (_third, _) = registry.admit(2).unwrap();
        assert_eq!(registry.len(), 2);
        assert!(!registry.lock().contains_key(&first), "the waiting connection was closed");
        // The closed one was told: a permit is stored for its next wait.
        let notified = first_close.notified();
        futures::pin_mut!(notified);
        assert!(futures::FutureExt::now_or_never(notified).is_some());
        // Everything being answered: no room.
        let ids: Vec<u64> = registry.lock().keys().copied().collect();
        for id in ids {
            registry.set(id, Phase::Answering);
        }
        assert!(registry.admit(2).is_none());
    }
}
