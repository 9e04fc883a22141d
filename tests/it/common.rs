//! Helpers shared by the integration tests that run the binary.

use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use appmesh_conformance::client::{Client, ClientConfig, RetryPolicy};
use appmesh_conformance::emulator::{self, AuthConfig, Deviation, EmulatorConfig, Quotas};
use appmesh_conformance::model::ServiceModel;

pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_appmesh-conformance"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for variable in ["APPMESH_ENDPOINT", "AWS_ENDPOINT_URL_APP_MESH", "AWS_ENDPOINT_URL", "APPMESH_ACCOUNT_ID"] {
        command.env_remove(variable);
    }
    // The credentials the test emulators verify signatures against.
    command.env("AWS_ACCESS_KEY_ID", emulator::DEFAULT_ACCESS_KEY_ID);
    command.env("AWS_SECRET_ACCESS_KEY", emulator::DEFAULT_SECRET_ACCESS_KEY);
    command.env("AWS_CONFIG_FILE", "/nonexistent").env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    command
}

pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The (passed, failed, skipped) of a run's closing line.
pub fn closing_counts(shown: &str) -> (usize, usize, usize) {
    let line = shown
        .lines()
        .rev()
        .find(|l| l.starts_with("conformance: ") && l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no closing line in:\n{shown}"));
    let numbers: Vec<usize> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    (numbers[0], numbers[1], numbers[2])
}

/// How many `skipped: ...` lines a run printed: every skipped scenario says why.
pub fn skip_lines(shown: &str) -> usize {
    shown.lines().filter(|l| l.starts_with("skipped: ")).count()
}

/// A client for a test emulator, signing with the credentials it verifies.
pub fn client(endpoint: &str) -> Client {
    let config = ClientConfig {
        endpoint: endpoint.to_string(),
        region: "us-east-1".into(),
        credentials: appmesh_conformance::target::embedded_credentials(),
        timeout: Duration::from_secs(10),
        retry: RetryPolicy::default(),
        max_rps: None,
        run_deadline: None,
        patience: appmesh_conformance::client::budget::PERSISTENT_TIME,
    };
    Client::new(Arc::new(ServiceModel::embedded()), config).unwrap()
}

/// An emulator on loopback with the given deviations, verifying signatures made with `auth`,
/// with room for every mesh a concurrent run makes.
pub async fn start_emulator(deviations: &[Deviation], auth: AuthConfig) -> emulator::RunningEmulator {
    let config =
        EmulatorConfig { deviations: deviations.iter().copied().collect(), auth: Some(auth), ..Default::default() };
    start_emulator_with(config).await
}

/// The emulator with `config`, on a free loopback port, with room for a mesh per scenario: the
/// suite runs scenarios concurrently, each in a mesh of its own.
pub async fn start_emulator_with(config: EmulatorConfig) -> emulator::RunningEmulator {
    let config = EmulatorConfig { quotas: Quotas { meshes_per_account: 10_000, ..config.quotas }, ..config };
    emulator::start(Arc::new(ServiceModel::embedded()), config, 0).await.unwrap()
}

/// The meshes left on a target, by ListMeshes.
pub async fn meshes_left(endpoint: &str) -> Vec<String> {
    let client = client(endpoint);
    // A rate-limited target may still be refilling its bucket after the run.
    let mut listed = client.call("ListMeshes", &serde_json::json!({})).await.unwrap();
    for _ in 0..20 {
        if listed.status() == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        listed = client.call("ListMeshes", &serde_json::json!({})).await.unwrap();
    }
    assert_eq!(listed.status(), 200, "{listed}");
    let body = listed.json().unwrap();
    body["meshes"].as_array().unwrap().iter().map(|m| m["meshName"].as_str().unwrap().to_string()).collect()
}

/// Every failed check in a run's `report.json`, as `id | path | rule | expected | actual`.
pub fn failed_checks(reports: &str) -> Vec<String> {
    let report = std::fs::read_to_string(std::path::Path::new(reports).join("report.json")).unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap_or_default();
    let mut checks = Vec::new();
    for failure in report["failures"].as_array().into_iter().flatten() {
        let id = failure["check_id"].as_str().unwrap_or_default().split('@').next().unwrap_or_default();
        let fields = ["path", "rule", "expected", "actual"].map(|f| failure[f].as_str().unwrap_or_default());
        checks.push(format!("{id} | {}", fields.join(" | ")));
    }
    checks
}

/// The scenarios a test that needs a whole run runs: the hand-written features and the
/// generated scenarios of CreateVirtualNode and CreateMesh. The generated scenarios of every
/// other operation are run by the conformance test (`tests/conformance.rs`), in process; the
/// debug binary takes about a minute over all of them, and several tests at once would take
/// many.
pub const CORE_SUITE: &str = "not @generated or @op:CreateVirtualNode or @op:CreateMesh";

/// `extra`, with `--tags CORE_SUITE` unless it chooses its own scenarios.
pub fn core_unless_tagged(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    if !extra.contains(&"--tags") {
        args.extend(["--tags".to_string(), CORE_SUITE.to_string()]);
    }
    args
}

pub fn tempdir() -> String {
    // Under cargo's folder for test files (`target/tmp/`, gone with `cargo clean`), not the
    // system's: a test that fails before removing its folder leaves nothing in /tmp.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("it")
        .join(format!("appmesh-conformance-it-{}", uuid::Uuid::new_v4().simple()));
    dir.to_string_lossy().into_owned()
}

/// The Python with boto3 the real-client tests use: `APPMESH_PYTHON`, else `python3`.
pub fn python_with_boto3() -> Option<String> {
    let python = std::env::var("APPMESH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let found = Command::new(&python).args(["-c", "import boto3"]).stderr(std::process::Stdio::null()).status();
    matches!(found, Ok(status) if status.success()).then_some(python)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A test that needs a client this machine lacks: skipped with the reason, but a failure under
/// `CI=true`, where `.ci/run` installs every client.
pub fn skip(reason: &str) {
    assert!(!in_ci(), "CI=true but {reason} (.ci/run installs it; set APPMESH_PYTHON)");
    println!("skipped: {reason}");
}
