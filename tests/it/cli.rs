//! The `appmesh-conformance` binary end to end: `run` against the faithful emulator and against
//! emulators with deviation modes (reached over HTTP with `--endpoint`, as any third-party target
//! would be), and the usage and configuration errors that exit with 2.

use crate::common::{
    binary, closing_counts, core_unless_tagged, failed_checks, meshes_left, skip_lines, start_emulator_with, tempdir,
    text,
};

use std::process::Output;
use std::sync::Arc;

use axum::response::IntoResponse;

use appmesh_conformance::emulator::{self, AuthConfig, Deviation, EmulatorConfig, RateLimit};
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

/// The throttling feature against an emulator limited to 50 requests/s (burst 10), declared with
/// `--throttle-rps 50`.
async fn run_against_rate_limited(deviations: &[Deviation]) -> (Output, Vec<String>) {
    let limit = RateLimit { requests_per_second: 50.0, burst: 10 };
    run_with(deviations, Some(limit), &["--throttle-rps", "50", "--tags", "@throttling"]).await
}

async fn run_with(deviations: &[Deviation], rate_limit: Option<RateLimit>, extra: &[&str]) -> (Output, Vec<String>) {
    let config = EmulatorConfig {
        deviations: deviations.iter().copied().collect(),
        auth: Some(AuthConfig::default()),
        rate_limit,
        ..Default::default()
    };
    let running = start_emulator_with(config).await;
    let reports = tempdir();
    let endpoint = running.endpoint();
    let dir = reports.clone();
    let extra = core_unless_tagged(extra);
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
    let (passed, failed, skipped) = closing_counts(&shown);
    assert!(passed > 500 && failed == 0, "{shown}");
    // Skipped: the scenarios that need a declared throttling rate or --max-rps, and the error
    // codes no answer carried (a server fault cannot be provoked), each with its reason printed.
    assert_eq!(skipped, skip_lines(&shown), "{shown}");
    assert!(shown.contains("skipped: A burst above the declared rate is throttled"), "{shown}");
    assert!(shown.contains("skipped: The harness's own traffic stays within --max-rps"), "{shown}");
    assert!(shown.contains("skipped: Every InternalServerErrorException answer has the documented wire shape: no InternalServerErrorException answer came during the run"), "{shown}");
    // Where the sources disagree the run reports, and still exits 0.
    assert!(shown.contains("informational finding(s) where the sources disagree"), "{shown}");
}

#[tokio::test]
async fn the_throttling_feature_passes_a_faithful_rate_limited_emulator() {
    let (output, checks) = run_against_rate_limited(&[]).await;
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert_eq!(checks, Vec::<String>::new());
    let (passed, failed, skipped) = closing_counts(&shown);
    assert!(passed >= 2 && failed == 0 && skipped == skip_lines(&shown), "{shown}");
    // The throttled answers were judged against the error table, not skipped.
    assert!(!shown.contains("skipped: Every TooManyRequestsException answer"), "{shown}");
}

#[test]
fn configuration_errors_exit_2_with_one_clear_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--endpoint", "http://127.0.0.1:1"], "cannot reach http://127.0.0.1:1"),
        (&["run", "--endpoint", "localhost:4566"], "the scheme localhost: is not http: or https:"),
        (&["run", "--endpoint", "127.0.0.1:4566"], "it has no scheme: write http:// or https:// before the host"),
        (&["run", "--endpoint", "http://127.0.0.1:99999"], "the port 99999 is not a port number (1 to 65535)"),
        (&["run", "--endpoint", "http://127.0.0.1:4566/appmesh"], "it has a path (/appmesh)"),
        (&["run", "--endpoint", ""], "--endpoint is empty"),
        (&["cleanup", "--endpoint", ""], "--endpoint is empty"),
        (&["run", "--deadline", "0"], "--deadline"),
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
    let output = binary().args(["run", "--report-dir", &reports]).args(core_unless_tagged(&[])).output().unwrap();
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
    assert_eq!(counts["failed"].as_u64(), Some(0), "{counts}");
    // Every skipped scenario says why.
    let scenarios = report["scenarios"].as_array().unwrap();
    let skipped: Vec<&serde_json::Value> = scenarios.iter().filter(|s| s["status"] == "skipped").collect();
    assert_eq!(counts["skipped"].as_u64(), Some(skipped.len() as u64), "{counts}");
    assert!(skipped.iter().all(|s| s["skip_reason"].as_str().is_some_and(|r| !r.is_empty())), "{skipped:?}");
    assert!(counts["requests"].as_u64().unwrap() > 10);
    // A step with nothing to judge is a skipped check with its reason, never a pass.
    let without_name =
        scenarios.iter().find(|s| s["name"] == "BadRequestException: a request without meshName is refused");
    let unjudged = &without_name.unwrap()["unjudged"][0];
    assert_eq!(unjudged["step"], "nothing was created", "{unjudged}");
    assert!(unjudged["reason"].as_str().unwrap().contains("the request named no resource"), "{unjudged}");
    // An error counts as covered only when a scenario provoked it or the target sent it.
    let seen = report["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["operation"] == "CreateVirtualNode" && l["what"] == appmesh_conformance::report::ERRORS_SEEN);
    let missing = seen.unwrap()["missing"].as_array().unwrap();
    assert!(missing.iter().any(|m| m == "InternalServerErrorException"), "{missing:?}");
    assert!(!missing.iter().any(|m| m == "BadRequestException"), "{missing:?}");
    assert!(report["run"]["latency"]["CreateVirtualNode"]["count"].as_u64().unwrap() > 10, "{}", report["run"]);
    let _ = std::fs::remove_dir_all(&reports);
}

/// Where the sources disagree, a target that follows either reading passes: the embedded
/// emulator made to follow every other reading passes too, with informational findings.
/// `--strict-docs` fails a target that does not follow the documentation's reading, and passes
/// one that does.
#[test]
fn disputed_points_fail_neither_reading_unless_strict_docs_asks() {
    let run = |extra: &[&str]| {
        let reports = tempdir();
        let output = binary().args(["run", "--report-dir", &reports]).args(extra).output().unwrap();
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(std::path::Path::new(&reports).join("report.json")).unwrap_or_default(),
        )
        .unwrap_or_default();
        let _ = std::fs::remove_dir_all(&reports);
        (output, report)
    };
    let other_readings = [
        "--reading",
        "listeners-per-virtual-node=api-create-virtual-node-2019",
        "--reading",
        "tag-value-required=api-reference",
        "--reading",
        "client-token-rule=sdk-model",
        "--reading",
        "dot-segment-names=sdk-model",
        "--reading",
        "tags-per-resource-count=sdk-model",
    ];
    let (output, report) = run(&[&["--tags", "@disputed"][..], &other_readings].concat());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let findings = report["informational"].as_array().unwrap();
    let probes: usize = ServiceModel::embedded().provenance.disputes.iter().map(|d| d.probes.len()).sum();
    assert_eq!(findings.len(), probes, "{findings:?}");
    assert!(findings.iter().all(|f| f["severity"] == "INFO"), "{findings:?}");
    assert!(findings.iter().any(|f| f["check_id"] == "dispute.listeners-per-virtual-node@spec"
        && f["actual"].as_str().unwrap().contains("the reading of api-create-virtual-node-2019")));

    let (output, report) = run(&["--tags", "@disputed", "--strict-docs"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let failed: Vec<&str> =
        report["failures"].as_array().unwrap().iter().map(|f| f["check_id"].as_str().unwrap()).collect();
    assert!(failed.contains(&"dispute.tag-value-required@tags"), "{failed:?}");
    assert!(failed.contains(&"dispute.listeners-per-virtual-node@spec"), "{failed:?}");
    assert!(!failed.iter().any(|id| id.starts_with("dispute.client-token-rule")), "{failed:?}");

    let documented = [
        "--reading",
        "listeners-per-virtual-node=api-create-virtual-node-2019",
        "--reading",
        "tag-value-required=api-reference",
    ];
    let (output, _) = run(&[&["--tags", "@disputed", "--strict-docs"][..], &documented].concat());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

/// Describe answering the DELETED record after a delete is a reading the documentation leaves
/// open: against `--after-delete deleted-record` the lifecycle features pass, and say so as
/// information on every kind's gone check.
#[tokio::test]
async fn a_deleted_record_after_delete_is_information_not_a_failure() {
    let choices = emulator::Choices { after_delete: emulator::AfterDelete::DeletedRecord, ..Default::default() };
    let running = start_emulator_with(EmulatorConfig { choices, ..Default::default() }).await;
    let (endpoint, reports) = (running.endpoint(), tempdir());
    let dir = reports.clone();
    let output = tokio::task::spawn_blocking(move || {
        let args = ["run", "--endpoint", &endpoint, "--tags", "@lifecycle", "--report-dir", &dir];
        binary().args(args).output().unwrap()
    })
    .await
    .unwrap();
    running.shutdown().await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(std::path::Path::new(&reports).join("report.json")).unwrap())
            .unwrap();
    let _ = std::fs::remove_dir_all(&reports);
    let gone: Vec<&serde_json::Value> = report["informational"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check_id"].as_str().unwrap().starts_with("lifecycle.gone"))
        .collect();
    assert!(gone.len() >= 7, "one per kind at least: {gone:?}");
    assert!(gone.iter().all(|f| f["actual"].as_str().unwrap().contains("DELETED")), "{gone:?}");
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
        binary().args(["run", "--tags", "@throttling", "--max-rps", "50", "--report-dir", &reports]).output().unwrap();
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    let (passed, failed, skipped) = closing_counts(&shown);
    assert!(passed >= 2 && failed == 0 && skipped == skip_lines(&shown), "{shown}");
    assert!(!shown.contains("skipped: The harness's own traffic"), "{shown}");
    let _ = std::fs::remove_dir_all(&reports);
}

/// `nothing was created` used to pass without looking when the refused request's name could not
/// be addressed (an empty name). A proxy makes the emulator's ListVirtualNodes show a node named
/// "" after a refused create that named one: the check must now find it.
#[tokio::test]
async fn a_refused_create_that_left_an_unaddressable_node_is_caught() {
    let running = emulator::start(Arc::new(ServiceModel::embedded()), EmulatorConfig::default(), 0).await.unwrap();
    let upstream = running.endpoint();
    let http = {
        appmesh_conformance::client::install_tls_provider();
        reqwest::Client::new()
    };
    let ghosts = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::<String>::new()));
    let proxy = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (http, upstream, ghosts) = (http.clone(), upstream.clone(), ghosts.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let path = parts.uri.path().to_string();
            let mesh = path.strip_prefix("/v20190125/meshes/").and_then(|r| r.strip_suffix("/virtualNodes"));
            let sent: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if let Some(mesh) = mesh
                && parts.method == axum::http::Method::PUT
                && sent["virtualNodeName"] == ""
            {
                ghosts.lock().unwrap().insert(mesh.to_string());
            }
            let listing = parts.method == axum::http::Method::GET;
            let url = format!("{upstream}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
            let answer = http.request(parts.method, url).headers(parts.headers).body(body).send().await.unwrap();
            let (status, headers) = (answer.status(), answer.headers().clone());
            let mut bytes = answer.bytes().await.unwrap().to_vec();
            if let Some(mesh) = mesh.filter(|m| listing && status == 200 && ghosts.lock().unwrap().contains(*m)) {
                let mut listed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                let ghost = serde_json::json!({"meshName": mesh, "virtualNodeName": ""});
                listed["virtualNodes"].as_array_mut().unwrap().push(ghost);
                bytes = serde_json::to_vec(&listed).unwrap();
            }
            let mut response = (status, bytes).into_response();
            *response.headers_mut() = headers;
            response.headers_mut().remove("content-length");
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, proxy).await.unwrap() });
    let reports = tempdir();
    let dir = reports.clone();
    let output = tokio::task::spawn_blocking(move || {
        let tags = "@member:virtualNodeName and @bound";
        binary().args(["run", "--endpoint", &endpoint, "--tags", tags, "--report-dir", &dir]).output().unwrap()
    })
    .await
    .unwrap();
    running.shutdown().await;
    let checks = failed_checks(&reports);
    let _ = std::fs::remove_dir_all(&reports);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        checks.iter().any(|c| c.starts_with("nothing-created |") && c.contains("ListVirtualNodes shows ")),
        "{checks:?}"
    );
}

/// A target whose ListVirtualNodes fails must fail the node-count checks with `list.readable`;
/// a failed listing is never read as a count. A loopback proxy breaks only that operation.
#[tokio::test]
async fn a_failing_list_fails_the_node_counts() {
    let running = emulator::start(Arc::new(ServiceModel::embedded()), EmulatorConfig::default(), 0).await.unwrap();
    let upstream = running.endpoint();
    let http = {
        appmesh_conformance::client::install_tls_provider();
        reqwest::Client::new()
    };
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
