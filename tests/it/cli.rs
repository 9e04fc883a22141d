//! The `appmesh-conformance` binary end to end: `run` against the faithful emulator and against
//! emulators with deviation modes (reached over HTTP with `--endpoint`, as any third-party target
//! would be), and the usage and configuration errors that exit with 2.

use crate::common::{binary, failed_checks, meshes_left, tempdir, text};

use std::process::Output;
use std::sync::Arc;

use axum::response::IntoResponse;

use appmesh_conformance::emulator::{self, AuthConfig, Deviation, EmulatorConfig, Quotas, RateLimit};
use appmesh_conformance::model::ServiceModel;

/// Runs the binary against an emulator with the given deviations; returns its output and the
/// text of every failed check in `report.json` (id, member path, rule, expected, actual). Every
/// run, passing or failing, must leave no mesh behind.
async fn run_against(deviations: &[Deviation]) -> (Output, Vec<String>) {
    // Throttling shows only on a rate-limited target that is declared as such.
    if deviations.contains(&Deviation::ThrottleAsBadRequest) {
        return run_against_rate_limited(deviations).await;
    }
    run_with(deviations, None, &[]).await
}

/// The throttling feature against an emulator limited to 20 requests/s (burst 5), declared with
/// `--throttle-rps 20`.
async fn run_against_rate_limited(deviations: &[Deviation]) -> (Output, Vec<String>) {
    let limit = RateLimit { requests_per_second: 20.0, burst: 5 };
    run_with(deviations, Some(limit), &["--throttle-rps", "20", "--tags", "@throttling"]).await
}

async fn run_with(deviations: &[Deviation], rate_limit: Option<RateLimit>, extra: &[&str]) -> (Output, Vec<String>) {
    // A generous mesh quota: the suite runs scenarios concurrently, each in a mesh of its own.
    let quotas = Quotas { meshes_per_account: 10_000, ..Quotas::default() };
    let config = EmulatorConfig {
        deviations: deviations.iter().copied().collect(),
        quotas,
        auth: Some(AuthConfig::default()),
        rate_limit,
        ..Default::default()
    };
    let running = emulator::start(Arc::new(ServiceModel::embedded()), config, 0).await.unwrap();
    let reports = tempdir();
    let endpoint = running.endpoint();
    let dir = reports.clone();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        binary().args(["run", "--endpoint", &endpoint, "--report-dir", &dir]).args(&extra).output().unwrap()
    })
    .await
    .unwrap();
    let left = meshes_left(&running.endpoint()).await;
    assert!(left.is_empty(), "deviations {deviations:?}: the run left meshes behind: {left:?}\n{}", text(&output));
    running.shutdown().await;
    let checks = failed_checks(&reports);
    let _ = std::fs::remove_dir_all(&reports);
    (output, checks)
}

#[tokio::test]
async fn the_faithful_emulator_passes_over_http() {
    let (output, checks) = run_against(&[]).await;
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert_eq!(checks, Vec::<String>::new());
    let closing = shown.lines().find(|l| l.starts_with("conformance: ") && l.contains(" passed, ")).unwrap_or_default();
    // Skipped: only the scenarios that need a declared throttling rate or --max-rps, each with
    // its reason printed.
    assert!(closing.ends_with(" passed, 0 failed, 2 skipped") && !closing.starts_with("conformance: 0 "), "{shown}");
    assert!(shown.contains("skipped: A burst above the declared rate is throttled"), "{shown}");
    assert!(shown.contains("skipped: The harness's own traffic stays within --max-rps"), "{shown}");
}

#[tokio::test]
async fn the_throttling_feature_passes_a_faithful_rate_limited_emulator() {
    let (output, checks) = run_against_rate_limited(&[]).await;
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert_eq!(checks, Vec::<String>::new());
    assert!(shown.contains("conformance: 2 passed, 0 failed, 1 skipped"), "{shown}");
}

/// Deviations the suite cannot catch yet, each with the scenarios that will catch it. This is a
/// list of known failures: the test fails when one of them starts being caught, so the list only
/// shrinks.
const AWAITING_SCENARIOS: &[(Deviation, &str)] = &[];

/// The mutation self-test: every deviation mode makes the run fail with a failed check that names
/// the deviation's subject, and the faithful emulator passes (`the_faithful_emulator_passes_over_http`).
#[tokio::test]
async fn every_deviation_is_caught_and_named() {
    let mut missed = Vec::new();
    let mut newly_caught = Vec::new();
    let mut caught = 0;
    for deviation in Deviation::ALL {
        let (output, checks) = run_against(&[*deviation]).await;
        let killed = output.status.code() == Some(1) && checks.iter().any(|check| check.contains(deviation.subject()));
        let awaiting = AWAITING_SCENARIOS.iter().find(|(d, _)| d == deviation);
        match (killed, awaiting) {
            (true, None) => caught += 1,
            (true, Some(_)) => newly_caught.push(deviation.name()),
            (false, None) => missed.push(format!(
                "{deviation} (exit {:?}; no failed check names {:?})",
                output.status.code(),
                deviation.subject()
            )),
            (false, Some(_)) => {}
        }
    }
    println!(
        "mutation self-test: {caught}/{} deviations caught ({} awaiting scenarios)",
        Deviation::ALL.len(),
        AWAITING_SCENARIOS.len()
    );
    assert!(missed.is_empty(), "not caught: {missed:#?}");
    assert!(newly_caught.is_empty(), "now caught, remove them from AWAITING_SCENARIOS: {newly_caught:?}");
}

#[test]
fn configuration_errors_exit_2_with_one_clear_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--endpoint", "http://127.0.0.1:1"], "cannot reach http://127.0.0.1:1"),
        (&["run", "--endpoint", "localhost:4566"], "is not an http:// or https:// URL"),
        (&["run", "--tags", "@a and"], "bad tag expression"),
        (&["run", "--model", "/nonexistent/model.json"], "cannot read the model"),
        (&["run", "--account-id", "12345"], "is not a 12-digit AWS account id"),
        (&["run", "--deviation", "nope"], "unknown deviation `nope`"),
        (&["run", "--endpoint", "http://127.0.0.1:1", "--deviation", "version-zero"], "embedded emulator only"),
        (&["run", "--no-such-flag"], "unexpected argument"),
    ];
    for (args, expected) in cases {
        let output = binary().args(*args).output().unwrap();
        let shown = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {shown}");
        assert!(shown.contains(expected), "{args:?}: expected {expected:?} in {shown}");
        assert!(!shown.contains("panicked"), "{args:?}: {shown}");
    }
}

#[test]
fn missing_credentials_for_an_endpoint_exit_2() {
    let output = binary()
        .args(["run", "--endpoint", "http://127.0.0.1:1"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(2), "{shown}");
    assert!(shown.contains("no AWS credentials found for http://127.0.0.1:1"), "{shown}");
}

#[test]
fn a_run_writes_every_report() {
    let reports = tempdir();
    let output = binary().args(["run", "--report-dir", &reports]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    for name in ["junit.xml", "cucumber.json", "report.json", "report.md", "report.html"] {
        let content = std::fs::read_to_string(std::path::Path::new(&reports).join(name)).unwrap();
        assert!(!content.is_empty(), "{name} is empty");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(std::path::Path::new(&reports).join("report.json")).unwrap())
            .unwrap();
    let counts = &report["counts"];
    assert!(counts["passed"].as_u64().unwrap() >= 6, "{counts}");
    assert_eq!((counts["failed"].as_u64(), counts["skipped"].as_u64()), (Some(0), Some(2)), "{counts}");
    assert!(counts["requests"].as_u64().unwrap() > 10);
    assert!(report["run"]["latency"]["CreateVirtualNode"]["count"].as_u64().unwrap() > 10, "{}", report["run"]);
    let _ = std::fs::remove_dir_all(&reports);
}

#[test]
fn serve_lists_its_deviations() {
    let output = binary().args(["serve", "--list-deviations"]).output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0));
    for deviation in Deviation::ALL {
        assert!(shown.contains(deviation.name()), "{shown}");
    }
}

/// `--max-rps` paces the harness, as the throttling feature measures from its own send times.
#[test]
fn max_rps_paces_the_harness() {
    let reports = tempdir();
    let output =
        binary().args(["run", "--tags", "@throttling", "--max-rps", "20", "--report-dir", &reports]).output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(shown.contains("conformance: 2 passed, 0 failed, 1 skipped"), "{shown}");
    assert!(!shown.contains("skipped: The harness's own traffic"), "{shown}");
    let _ = std::fs::remove_dir_all(&reports);
}

/// A target whose ListVirtualNodes fails must fail the node-count checks with `list.readable`;
/// a failed listing is never read as a count. A loopback proxy breaks only that operation.
#[tokio::test]
async fn a_failing_list_fails_the_node_counts() {
    let running = emulator::start(Arc::new(ServiceModel::embedded()), EmulatorConfig::default(), 0).await.unwrap();
    let upstream = running.endpoint();
    let http = reqwest::Client::new();
    let proxy = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (http, upstream) = (http.clone(), upstream.clone());
        async move {
            let (parts, body) = request.into_parts();
            if parts.method == axum::http::Method::GET && parts.uri.path().ends_with("/virtualNodes") {
                let headers =
                    [("content-type", "application/json"), ("x-amzn-errortype", "InternalServerErrorException")];
                return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, headers, r#"{"message":"list is down"}"#)
                    .into_response();
            }
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let url = format!("{upstream}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
            let answer = http.request(parts.method, url).headers(parts.headers).body(body).send().await.unwrap();
            let status = answer.status();
            let headers = answer.headers().clone();
            let bytes = answer.bytes().await.unwrap();
            let mut response = (status, bytes).into_response();
            *response.headers_mut() = headers;
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await.unwrap() });
    let reports = tempdir();
    let dir = reports.clone();
    let output = tokio::task::spawn_blocking(move || {
        binary()
            .args(["run", "--endpoint", &endpoint, "--tags", "@concurrency", "--report-dir", &dir])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    running.shutdown().await;
    let checks = failed_checks(&reports);
    let _ = std::fs::remove_dir_all(&reports);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(checks.iter().any(|c| c.starts_with("list.readable |")), "{checks:?}");
}
