//! Hostile targets and hostile clients, on loopback and bounded in count and time: the run
//! stops early with a clear verdict and writes its reports; nothing it created is left
//! unaccounted for; `serve` sheds load, answers every refusal as JSON and stops on SIGTERM.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{binary, meshes_left, tempdir, text};
use appmesh_conformance::emulator::{self, EmulatorConfig, Quotas};
use appmesh_conformance::model::ServiceModel;

/// What a canned server answers: the nth request (from 0) gets `answer(n)`, as raw HTTP bytes.
type Answerer = Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>;

/// A loopback server that reads each request (head and `Content-Length` body) and writes what
/// `answer` says, keeping the connection. Stops with the test's runtime.
async fn canned(answer: Answerer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        // Bounded: a test sends at most a few thousand requests.
        for _ in 0..10_000 {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let (answer, count) = (answer.clone(), count.clone());
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let Some(end) = read_head(&mut stream, &mut buffer).await else { return };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    while buffer.len() < end + length {
                        let mut chunk = [0u8; 8192];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buffer.drain(..end + length);
                    let reply = answer(count.fetch_add(1, Ordering::Relaxed));
                    if stream.write_all(&reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    endpoint
}

async fn read_head(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(at + 4);
        }
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buffer.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

fn throttled(retry_after: Option<&str>) -> Vec<u8> {
    let mut headers = vec![("content-type", "application/json"), ("x-amzn-errortype", "TooManyRequestsException")];
    if let Some(after) = retry_after {
        headers.push(("retry-after", after));
    }
    response("429 Too Many Requests", &headers, r#"{"message":"slow down"}"#)
}

/// Runs the binary against `endpoint` with credentials, killing it after `limit`: returns its
/// output, how long it took, and the report it wrote.
async fn run_bounded(
    endpoint: &str,
    extra: &[&str],
    limit: Duration,
) -> (std::process::Output, Duration, serde_json::Value) {
    let reports = tempdir();
    let mut command = binary();
    command.args(["run", "--endpoint", endpoint, "--timeout", "2", "--report-dir", &reports]).args(extra);
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || wait_bounded(command, limit)).await.unwrap();
    let took = started.elapsed();
    let report = std::fs::read_to_string(std::path::Path::new(&reports).join("report.json")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&reports);
    (output, took, serde_json::from_str(&report).unwrap_or_default())
}

/// Runs `command` to its end, or kills it after `limit` (the test then fails on its output).
fn wait_bounded(mut command: Command, limit: Duration) -> std::process::Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// Against a target that answers only 429 with a huge `Retry-After`, the whole suite stops in
/// under two minutes with the reason, and writes its reports.
#[tokio::test]
async fn a_target_that_only_throttles_stops_the_run_with_a_verdict() {
    let endpoint = canned(Arc::new(|_| throttled(Some("100000")))).await;
    // A patience of 5 s rather than the default 30 (the breaker's thresholds are unit-tested in
    // `client::budget`), and not the serial scenarios, which run alone first and would send one
    // request per capped 10 s wait: the mechanism is the same, the test four times shorter.
    let args = ["--patience", "5", "--tags", "not @serial"];
    let (output, took, report) = run_bounded(&endpoint, &args, Duration::from_secs(150)).await;
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(took < Duration::from_secs(120), "the run took {took:?}:\n{shown}");
    assert!(shown.contains("stopped: the target answered 429 or 503 (throttling) to"), "{shown}");
    assert!(shown.contains("conformance: STOPPED before the suite was done"), "{shown}");
    let stopped = report["run"]["stopped"].as_str().unwrap_or_default();
    assert!(stopped.contains("consecutive requests"), "the report says why: {stopped:?}");
}

/// 503 forever ends the same way (a slice of the suite: the mechanism is the one above).
#[tokio::test]
async fn an_unavailable_target_stops_the_run() {
    let unavailable = canned(Arc::new(|_| {
        let headers = [("content-type", "application/json"), ("x-amzn-errortype", "ServiceUnavailableException")];
        response("503 Service Unavailable", &headers, r#"{"message":"down"}"#)
    }))
    .await;
    let (output, took, _) =
        run_bounded(&unavailable, &["--tags", "@happy", "--patience", "5"], Duration::from_secs(150)).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(took < Duration::from_secs(120), "{took:?}");
    assert!(text(&output).contains("stopped: the target answered 429 or 503"), "{}", text(&output));
}

/// So does a rate limit that never refills: ten answers, then the bucket is empty for good.
#[tokio::test]
async fn a_never_refilling_target_stops_the_run() {
    let drained = canned(Arc::new(|n| {
        if n < 10 {
            let headers = [("content-type", "application/json"), ("x-amzn-errortype", "NotFoundException")];
            response("404 Not Found", &headers, r#"{"message":"no such mesh"}"#)
        } else {
            throttled(None)
        }
    }))
    .await;
    let (output, took, _) =
        run_bounded(&drained, &["--tags", "@happy", "--patience", "5"], Duration::from_secs(150)).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(took < Duration::from_secs(120), "{took:?}");
    assert!(text(&output).contains("stopped: the target answered 429 or 503"), "{}", text(&output));
}

/// SIGINT ends a run against a throttling target (which asks for a retry after 100,000 s) within
/// seconds: clean-up has 3 s, the reports a little more; 8 s leaves room for a loaded CI machine
/// (5.8 s seen while other tests ran).
#[tokio::test]
async fn sigint_ends_the_run_within_seconds() {
    let endpoint = canned(Arc::new(|_| throttled(Some("100000")))).await;
    let reports = tempdir();
    let mut child = binary()
        .args(["run", "--endpoint", &endpoint, "--timeout", "2", "--report-dir", &reports])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // SAFETY: kill sends a signal to the child we started; it has no memory effects here.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = signalled.elapsed();
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&reports);
    assert_eq!(status.and_then(|s| s.code()), Some(130), "{}", text(&output));
    assert!(took < Duration::from_secs(8), "SIGINT took {took:?} to end the run:\n{}", text(&output));
    assert!(text(&output).contains("interrupted"), "{}", text(&output));
}

/// A proxy in front of an emulator that forwards CreateMesh, then resets the connection instead
/// of passing the answer on, for the first three: the meshes exist, and the run must remove them.
#[tokio::test]
async fn meshes_whose_create_answer_was_lost_are_removed() {
    let config =
        EmulatorConfig { quotas: Quotas { meshes_per_account: 10_000, ..Quotas::default() }, ..Default::default() };
    let running = emulator::start(Arc::new(ServiceModel::embedded()), config, 0).await.unwrap();
    let upstream = running.addr;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let lost = Arc::new(AtomicUsize::new(0));
    let counter = lost.clone();
    let bodies = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let recorded = bodies.clone();
    tokio::spawn(async move {
        for _ in 0..10_000 {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let (lost, recorded) = (counter.clone(), recorded.clone());
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let Some(end) = read_head(&mut client, &mut buffer).await else { return };
                let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                let length = head
                    .to_ascii_lowercase()
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                    .unwrap_or(0);
                while buffer.len() < end + length {
                    let mut chunk = [0u8; 8192];
                    match client.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
                // One request per connection, forwarded with `Connection: close`.
                let request = String::from_utf8_lossy(&buffer[..end]).replacen("\r\n", "\r\nconnection: close\r\n", 1);
                let mut upstream = tokio::net::TcpStream::connect(upstream).await.unwrap();
                upstream.write_all(request.as_bytes()).await.unwrap();
                upstream.write_all(&buffer[end..end + length]).await.unwrap();
                let mut answer = Vec::new();
                let _ = upstream.read_to_end(&mut answer).await;
                let creates_mesh = head.starts_with("PUT /v20190125/meshes HTTP");
                if creates_mesh {
                    let body = String::from_utf8_lossy(&buffer[end..end + length]).into_owned();
                    recorded.lock().unwrap().push(body);
                }
                if creates_mesh && lost.fetch_add(1, Ordering::Relaxed) < 3 {
                    // The work is done upstream; the answer is lost on the way back.
                    let stream = client.into_std().unwrap();
                    let _ = socket_reset(&stream);
                    return;
                }
                let _ = client.write_all(&answer).await;
            });
        }
    });
    let reports = tempdir();
    let dir = reports.clone();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = binary();
        command.args(["run", "--endpoint", &endpoint, "--tags", "@happy", "--report-dir", &dir]);
        // Every request pays a fresh connection here; on a loaded CI machine the run has taken
        // more than 120 s (399 of 498 scenarios in 89 s).
        wait_bounded(command, Duration::from_secs(300))
    })
    .await
    .unwrap();
    let left = meshes_left(&running.endpoint()).await;
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&reports);
    assert!(lost.load(Ordering::Relaxed) >= 3, "the proxy lost three answers");
    assert!(left.is_empty(), "meshes left after the run: {left:?}\n{}", text(&output));
    let shown = text(&output);
    assert!(shown.contains(", 0 left"), "the run accounts for what it created:\n{shown}");
    // Every CreateMesh carries the run's tag, unless the request sets tags of its own.
    let bodies = bodies.lock().unwrap();
    assert!(bodies.len() > 5, "{bodies:?}");
    for body in bodies.iter() {
        let input: serde_json::Value = serde_json::from_str(body).unwrap();
        let tags = input["tags"].as_array().unwrap_or_else(|| panic!("an untagged create: {body}"));
        let own = tags.iter().any(|t| t["key"] != appmesh_conformance::cleanup::TAG_KEY);
        assert!(own || tags.iter().any(|t| t["key"] == appmesh_conformance::cleanup::TAG_KEY), "{body}");
    }
}

/// Closes a connection with RST instead of FIN (SO_LINGER 0).
fn socket_reset(stream: &std::net::TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt reads the linger struct we pass for the socket we own.
    let status = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if status != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A target that answers with more than the client takes is not "unreachable": it answered.
#[tokio::test]
async fn an_oversized_answer_is_not_reported_as_unreachable() {
    let endpoint = canned(Arc::new(|_| {
        let body = "x".repeat(9 * 1024 * 1024);
        response("200 OK", &[("content-type", "application/json")], &body)
    }))
    .await;
    let (output, _, _) = run_bounded(&endpoint, &[], Duration::from_secs(60)).await;
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("answered, but not as an App Mesh endpoint can") && shown.contains("response too large"),
        "{shown}"
    );
    assert!(!shown.contains("start the target"), "{shown}");
}

/// `serve` in a process of its own with a file limit of 256, killed when dropped.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(file_limit: u32) -> Served {
        let command = format!("ulimit -n {file_limit} && exec \"$0\" serve --port 0");
        let mut child = Command::new("bash")
            .args(["-c", &command, env!("CARGO_BIN_EXE_appmesh-conformance")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let port = line.rsplit_once("127.0.0.1:").and_then(|(_, rest)| rest.split(' ').next()?.parse().ok());
        Served { child, port: port.unwrap_or_else(|| panic!("no port in {line:?}")) }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream
    }

    /// Sends raw bytes on a new connection and reads the answer until the server closes or 2 s
    /// of silence.
    fn exchange(&self, request: &[u8]) -> (u16, String, String) {
        let mut stream = self.connect();
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = stream.write_all(request);
        let _ = stream.shutdown(Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, head.to_ascii_lowercase(), body.to_string())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A normal request on its own connection: the status, within the time it took.
fn normal_request(served: &Served) -> (u16, Duration) {
    let started = Instant::now();
    let (status, _, _) = served.exchange(b"GET /v20190125/meshes HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    (status, started.elapsed())
}

/// With a file limit of 256, 300 idle half-requests do not lock out a normal client, and SIGTERM
/// stops the server within 5 s whatever they do.
#[test]
fn serve_sheds_idle_half_requests_and_stops_on_sigterm() {
    let mut served = Served::start(256);
    let mut idle = Vec::new();
    for _ in 0..300 {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", served.port)) else { continue };
        let _ = stream.write_all(b"PUT /v20190125/meshes HTTP/1.1\r\nhost: x\r\n");
        idle.push(stream);
    }
    let (status, took) = normal_request(&served);
    assert_eq!(status, 200, "a normal client is answered");
    assert!(took < Duration::from_secs(1), "the normal client waited {took:?}");
    // SAFETY: kill sends SIGTERM to the serve process we started.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    let signalled = Instant::now();
    while served.child.try_wait().unwrap().is_none() && signalled.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(5), "serve took {took:?} to stop after SIGTERM");
    let mut stderr = String::new();
    let _ = served.child.stderr.take().unwrap().read_to_string(&mut stderr);
    assert!(!stderr.contains("Too many open files"), "{stderr}");
    drop(idle);
}

/// Every refusal, whatever layer makes it, is App Mesh's JSON error: a status, `x-amzn-ErrorType`,
/// a JSON content type and a `message`.
#[test]
fn every_refusal_is_a_json_error() {
    let served = Served::start(1024);
    let long = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70 * 1024));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("a 70 KB URL", long.into_bytes(), 400),
        (
            "conflicting Content-Lengths",
            b"PUT /v20190125/meshes HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}".to_vec(),
            400,
        ),
        ("raw non-ASCII path bytes", b"GET /v20190125/meshes/\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 400),
        ("invalid UTF-8 in a URI label", b"DELETE /v20190125/meshes/%FF%FE HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 400),
        ("garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n".to_vec(), 400),
        ("a header line without a colon", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n".to_vec(), 400),
        (
            "an unsupported transfer coding",
            b"PUT /v20190125/meshes HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a body larger than allowed",
            b"PUT /v20190125/meshes HTTP/1.1\r\ncontent-length: 99999999\r\n\r\n".to_vec(),
            400,
        ),
        ("an unknown path", b"GET /nowhere HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 404),
        ("a method no operation has", b"PATCH /v20190125/meshes HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), 404),
        (
            "a body cut short",
            b"PUT /v20190125/meshes HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{\"me".to_vec(),
            0,
        ),
    ];
    for (what, request, expected) in cases {
        let (status, head, body) = served.exchange(&request);
        if expected == 0 {
            // The client went away mid-body: there is nobody to answer.
            continue;
        }
        assert_eq!(status, expected, "{what}: {head}\n{body}");
        assert!(head.contains("x-amzn-errortype: "), "{what}: {head}");
        assert!(head.contains("content-type: application/json"), "{what}: {head}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body:?}"));
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    }
    let (status, head, body) = served.exchange(b"DELETE /v20190125/meshes/%FF%FE HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(status, 400);
    assert!(head.contains("x-amzn-errortype: badrequestexception") && body.contains("not UTF-8"), "{head}{body}");
}

/// A half-sent request head or body is answered 400 (as JSON) after the read timeout instead of
/// holding its connection forever; a full server makes room by closing the connection that has
/// waited longest for a request.
#[tokio::test]
async fn slow_requests_time_out_and_a_full_server_makes_room() {
    let limits = emulator::server::ServerLimits {
        max_connections: 4,
        head_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let running = emulator::start_with_limits(Arc::new(ServiceModel::embedded()), EmulatorConfig::default(), 0, limits)
        .await
        .unwrap();
    let addr = running.addr;
    let outcome = tokio::task::spawn_blocking(move || {
        let read_all = |mut stream: TcpStream| {
            stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            answer
        };
        let mut half_head = TcpStream::connect(addr).unwrap();
        half_head.write_all(b"GET /v20190125/meshes HTTP/1.1\r\nhost: x\r\n").unwrap();
        let head_answer = read_all(half_head);
        let mut half_body = TcpStream::connect(addr).unwrap();
        half_body.write_all(b"PUT /v20190125/meshes HTTP/1.1\r\ncontent-length: 20\r\n\r\n{").unwrap();
        let body_answer = read_all(half_body);
        // Four silent connections fill the server; a fifth, normal one is still answered.
        let silent: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(100));
        let mut normal = TcpStream::connect(addr).unwrap();
        normal.write_all(b"GET /v20190125/meshes HTTP/1.1\r\nconnection: close\r\n\r\n").unwrap();
        let normal_answer = read_all(normal);
        drop(silent);
        (head_answer, body_answer, normal_answer)
    })
    .await
    .unwrap();
    running.shutdown().await;
    let (head_answer, body_answer, normal_answer) = outcome;
    assert!(head_answer.starts_with("HTTP/1.1 400"), "{head_answer}");
    assert!(head_answer.contains("did not arrive within"), "{head_answer}");
    assert!(body_answer.starts_with("HTTP/1.1 400") && body_answer.contains("BadRequestException"), "{body_answer}");
    assert!(normal_answer.starts_with("HTTP/1.1 200"), "{normal_answer}");
}
