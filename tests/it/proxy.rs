//! The validating proxy with a real client: boto3 (tests/clients/boto3_probe.py) through `proxy`
//! to an emulator on loopback. Against the faithful emulator the proxy reports nothing; against
//! each deviation mode boto3's calls can reach, a failed check names the mode's subject. The bytes
//! a client receives are the upstream's.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use appmesh_conformance::checks::Severity;
use appmesh_conformance::emulator::{Deviation, EmulatorConfig, RateLimit};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::proxy::{self, ProxyOptions, ProxyOutcome, Upstream};

use crate::common::{self, python_with_boto3, skip};

/// The deviation modes no boto3 call through the proxy can show, and why.
const UNREACHABLE: [(Deviation, &str); 3] = [
    (Deviation::MalformedJsonServerError, "boto3 sends well-formed JSON only"),
    (Deviation::SignatureNotChecked, "the proxy signs every request anew with its own credentials"),
    (Deviation::QuotaNotEnforced, "the proxy cannot know a target's quota: AWS lets an account raise it"),
];

/// Runs the probe through a proxy in front of an emulator for each `(config, burst)`, all from one
/// Python; what each proxy judged, in the same order.
async fn probe(targets: Vec<(EmulatorConfig, usize)>) -> Option<Vec<ProxyOutcome>> {
    let python = python_with_boto3()?;
    let mut running = Vec::new();
    let mut args = vec![concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/boto3_probe.py").to_string()];
    let model = Arc::new(ServiceModel::embedded());
    for (config, burst) in targets {
        let emulator = common::start_emulator_with(config).await;
        let upstream = Upstream::Remote(Arc::new(common::client(&emulator.endpoint())));
        let options =
            ProxyOptions { max_in_flight: 16, ..ProxyOptions::new("127.0.0.1:0".parse().unwrap(), "us-east-1") };
        let proxy =
            proxy::start(model.clone(), upstream, options, None, |_, _, _| {}).await.expect("the proxy listens");
        args.extend([proxy.endpoint(), "--burst".to_string(), burst.to_string()]);
        running.push((emulator, proxy));
    }
    let output = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(python)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python starts");
        let deadline = Instant::now() + Duration::from_secs(120);
        while child.try_wait().expect("waits").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("output")
    })
    .await
    .unwrap();
    let shown = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let probed = shown.lines().filter(|line| line.starts_with("boto3 probe: ")).count();
    assert!(output.status.success() && probed == running.len(), "the probe failed:\n{shown}");
    let mut outcomes = Vec::new();
    for (emulator, proxy) in running {
        outcomes.push(proxy.stop().await);
        emulator.shutdown().await;
    }
    Some(outcomes)
}

/// Every failed check, as `operation | id | path | rule | expected | actual`.
fn failures(outcome: &ProxyOutcome) -> Vec<String> {
    outcome
        .judged
        .iter()
        .flat_map(|j| j.findings.iter().filter(|f| f.severity != Severity::Info).map(move |f| (j, f)))
        .map(|(j, f)| {
            let operation = j.operation.as_deref().unwrap_or("?");
            format!("{operation} | {} | {} | {} | {} | {}", f.id, f.path, f.rule, f.expected, f.actual)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_through_the_proxy_to_the_faithful_emulator_shows_nothing() {
    let Some(outcomes) = probe(vec![(EmulatorConfig::default(), 0)]).await else {
        return skip("no Python with boto3 (pip install boto3, or set APPMESH_PYTHON)");
    };
    let outcome = &outcomes[0];
    assert_eq!(failures(outcome), Vec::<String>::new());
    // The probe's calls were all judged, as the operations they were.
    assert!(outcome.judged.len() >= 45, "{} exchanges", outcome.judged.len());
    let operations: std::collections::BTreeSet<&str> =
        outcome.judged.iter().filter_map(|j| j.operation.as_deref()).collect();
    assert!(operations.len() >= 20, "{operations:?}");
    assert!(outcome.judged.iter().all(|j| j.operation.is_some()), "every request routes to an operation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_through_the_proxy_names_the_subject_of_every_reachable_deviation() {
    if python_with_boto3().is_none() {
        return skip("no Python with boto3 (pip install boto3, or set APPMESH_PYTHON)");
    }
    let reachable: Vec<Deviation> =
        Deviation::ALL.iter().copied().filter(|d| !UNREACHABLE.iter().any(|(u, _)| u == d)).collect();
    let targets = reachable
        .iter()
        .map(|deviation| {
            let throttled = *deviation == Deviation::ThrottleAsBadRequest;
            let config = EmulatorConfig {
                deviations: [*deviation].into(),
                // A bucket the probe's burst drains: only then is there throttling to answer.
                rate_limit: throttled.then_some(RateLimit { requests_per_second: 5.0, burst: 5 }),
                ..EmulatorConfig::default()
            };
            (config, if throttled { 20 } else { 0 })
        })
        .collect();
    let outcomes = probe(targets).await.expect("boto3 is there");
    let mut missed = Vec::new();
    for (deviation, found) in reachable.iter().zip(outcomes.iter().map(failures)) {
        if !found.iter().any(|f| f.contains(deviation.subject())) {
            missed.push(format!("{deviation}: no failure names {:?}; failures: {found:#?}", deviation.subject()));
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

/// The bytes a client receives through the proxy are the upstream's: an upstream that answers
/// from a cassette gives the same bytes to the same request, so a direct call and a proxied one
/// are compared by hash (status, the headers an App Mesh answer carries, body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_never_alters_an_answer() {
    use sha2::Digest as _;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/reports/cassettes/aws-sample-create-virtual-node.jsonl");
    let cassette = appmesh_conformance::cassette::Cassette::load(std::path::Path::new(path)).unwrap();
    let model = Arc::new(ServiceModel::embedded());
    let recorded =
        appmesh_conformance::emulator::Emulator::from_cassette(model.clone(), EmulatorConfig::default(), &cassette);
    let served =
        appmesh_conformance::emulator::serve_emulator(Arc::new(recorded), 0, Default::default()).await.unwrap();
    let upstream = Upstream::Remote(Arc::new(common::client(&served.endpoint())));
    let options = ProxyOptions { max_in_flight: 4, ..ProxyOptions::new("127.0.0.1:0".parse().unwrap(), "us-east-1") };
    let running = proxy::start(model, upstream, options, None, |_, _, _| {}).await.unwrap();
    appmesh_conformance::client::install_tls_provider();
    let http = reqwest::Client::new();
    let body = cassette.entries[0].exchange.request.body.clone();
    let digest = |base: String, path: &'static str, body: String| {
        let http = http.clone();
        async move {
            let answer = http.put(format!("{base}{path}")).body(body).send().await.unwrap();
            let mut hash = sha2::Sha256::new();
            hash.update(answer.status().as_str());
            for name in ["content-type", "x-amzn-requestid", "x-amzn-errortype"] {
                hash.update(answer.headers().get(name).map(|v| v.as_bytes().to_vec()).unwrap_or_default());
            }
            let bytes = answer.bytes().await.unwrap();
            hash.update(&bytes);
            (hex::encode(hash.finalize()), bytes.len())
        }
    };
    let sample = "/v20190125/meshes/ecs-mesh/virtualNodes";
    let direct = digest(served.endpoint(), sample, body.clone()).await;
    let proxied = digest(running.endpoint(), sample, body).await;
    assert_eq!(proxied, direct);
    assert!(direct.1 > 600, "the sample's body came back: {direct:?}");
    // An answer the cassette lacks (501, the upstream's own refusal) passes unchanged too.
    let other = "/v20190125/meshes/other/virtualNodes";
    assert_eq!(
        digest(running.endpoint(), other, "{}".into()).await,
        digest(served.endpoint(), other, "{}".into()).await
    );
    let outcome = running.stop().await;
    assert_eq!(outcome.judged.len(), 2);
    served.shutdown().await;
}

/// One HTTP/1.1 request on a connection of its own; the status line.
/// The client's own credentials, which must reach no report, cassette or log.
const CLIENT_SECRET_TOKEN: &str = "client-session-token-that-must-not-leak";
const CLIENT_SIGNATURE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn send(address: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("the proxy accepts");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let signed = format!(
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDCLIENTKEY0001/20260101/us-east-1/appmesh/aws4_request, \
         SignedHeaders=host, Signature={CLIENT_SIGNATURE}\r\nX-Amz-Security-Token: {CLIENT_SECRET_TOKEN}\r\n"
    );
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{signed}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}

/// `proxy` as a user runs it: findings live on stdout, then, at `--max-requests`, the reports and
/// the cassette, and exit 1 for a failed check.
#[test]
fn the_proxy_command_logs_findings_and_writes_reports_when_it_stops() {
    use std::io::BufRead;
    let dir = common::tempdir();
    let cassette = format!("{dir}/proxy.jsonl");
    let mut child = common::binary()
        .args(["proxy", "--listen", "127.0.0.1:0", "--max-requests", "2", "--deviation", "version-zero"])
        .args(["--report-dir", &dir, "--record", &cassette])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches(',')
        .to_string();
    assert!(send(&address, "PUT", "/v20190125/meshes", r#"{"meshName":"m"}"#).contains(" 200 "));
    let node = r#"{"virtualNodeName":"n","spec":{}}"#;
    assert!(send(&address, "PUT", "/v20190125/meshes/m/virtualNodes", node).contains(" 200 "));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the proxy did not stop after --max-requests");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut shown = first;
    std::io::Read::read_to_string(&mut stdout, &mut shown).unwrap();
    assert_eq!(status.code(), Some(1), "{shown}");
    assert!(shown.contains("proxy: #2 CreateVirtualNode FAIL metadata.version [MUST, api-reference]"), "{shown}");
    assert!(shown.contains("proxy: stopped (--max-requests 2 reached); 2 exchange(s) judged"), "{shown}");
    assert!(shown.contains("recorded: 2 exchange(s)"), "{shown}");
    assert!(common::failed_checks(&dir).iter().any(|f| f.starts_with("metadata.version |")), "{shown}");
    for report in ["report.json", "junit.xml", "report.md", "report.html"] {
        assert!(Path::new(&dir).join(report).exists(), "{report} missing");
    }
    let recorded = appmesh_conformance::cassette::Cassette::load(Path::new(&cassette)).unwrap();
    assert_eq!(recorded.entries.len(), 2);
    // The client's signature and session token went nowhere: not to the log, a report or the
    // cassette.
    let mut written = vec![shown.clone(), std::fs::read_to_string(&cassette).unwrap()];
    for report in ["report.json", "junit.xml", "report.md", "report.html"] {
        written.push(std::fs::read_to_string(Path::new(&dir).join(report)).unwrap());
    }
    for text in &written {
        assert!(
            !text.contains(CLIENT_SECRET_TOKEN)
                && !text.contains(CLIENT_SIGNATURE)
                && !text.contains("AKIDCLIENTKEY0001")
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A connection that sends nothing is closed after the idle timeout; past the connection limit a
/// new connection waits until one is closed; an oversized body is refused by the proxy itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_bounds_connections_idleness_and_bodies() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let model = Arc::new(ServiceModel::embedded());
    let upstream = Upstream::Embedded(Arc::new(appmesh_conformance::emulator::Emulator::new(
        model.clone(),
        EmulatorConfig::default(),
    )));
    let options = ProxyOptions {
        max_connections: 2,
        idle_timeout: Duration::from_millis(800),
        ..ProxyOptions::new("127.0.0.1:0".parse().unwrap(), "us-east-1")
    };
    let running = proxy::start(model, upstream, options, None, |_, _, _| {}).await.unwrap();
    let address = running.addr;
    let started = Instant::now();
    let mut idle = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut second = tokio::net::TcpStream::connect(address).await.unwrap();
    // A third connection is not served while two are held...
    let mut third = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = b"GET /v20190125/meshes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    third.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let early = tokio::time::timeout(Duration::from_millis(300), third.read_to_end(&mut answer)).await;
    assert!(early.is_err(), "answered past the connection limit: {:?}", String::from_utf8_lossy(&answer));
    // ...the idle ones are closed after the idle timeout...
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut byte)).await.expect("closed in time");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    assert!(started.elapsed() >= Duration::from_millis(700), "closed before the idle timeout");
    let _ = tokio::time::timeout(Duration::from_secs(5), second.read(&mut byte)).await.expect("closed in time");
    // ...and then the third is served.
    tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut answer)).await.expect("served").unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    // A body past the cap is refused by the proxy, marked as its own answer.
    let big = "x".repeat(proxy::MAX_REQUEST_BYTES + 1);
    appmesh_conformance::client::install_tls_provider();
    let refused =
        reqwest::Client::new().put(format!("http://{address}/v20190125/meshes")).body(big).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 413);
    assert_eq!(refused.headers().get("x-appmesh-conformance-proxy").map(|v| v.as_bytes()), Some(&b"refused"[..]));
    let outcome = running.stop().await;
    assert_eq!(outcome.judged.len(), 1, "the refused body never reached the upstream or the judge");
}
