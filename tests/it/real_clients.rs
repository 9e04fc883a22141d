//! Real AWS clients against `appmesh-conformance serve`: boto3 (the Python in `APPMESH_PYTHON`, else
//! `python3`), the AWS CLI (`aws` beside that Python, else on the PATH) and the AWS SDK for
//! JavaScript v3 (`tests/clients/js`, after `npm ci` there). Each sends the full specs of
//! `tests/clients/full-specs.json` and must read back exactly what it sent. Without a client its
//! test is skipped with the reason printed, except under `CI=true`, where `.ci/run` installs them
//! and a missing one is a failure.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `serve --port 0`, killed when dropped.
struct Served {
    child: Child,
    endpoint: String,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_appmesh-conformance"))
            .args(["serve", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first_line = String::new();
        BufReader::new(stdout).read_line(&mut first_line).expect("serve prints its address");
        let endpoint = first_line
            .split_whitespace()
            .find(|word| word.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {first_line:?}"))
            .to_string();
        Served { child, endpoint }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python_with_boto3() -> Option<String> {
    let python = std::env::var("APPMESH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let found = Command::new(&python).args(["-c", "import boto3"]).stderr(Stdio::null()).status();
    matches!(found, Ok(status) if status.success()).then_some(python)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn skip(reason: &str) {
    assert!(!in_ci(), "CI=true but {reason} (.ci/run installs it; set APPMESH_PYTHON)");
    println!("skipped: {reason}");
}

fn boto3_round_trip(serve_flags: &[&str], script_flags: &[&str]) {
    let Some(python) = python_with_boto3() else {
        return skip("no Python with boto3 (pip install boto3, or set APPMESH_PYTHON)");
    };
    let served = Served::start(serve_flags);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/boto3_round_trip.py");
    let output = Command::new(python).arg(script).arg(&served.endpoint).args(script_flags).output().unwrap();
    let shown = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "boto3 round trip failed:\n{shown}");
    assert!(shown.contains("boto3 round trip: ok"), "{shown}");
}

#[test]
fn boto3_round_trip_against_serve() {
    boto3_round_trip(&[], &[]);
}

#[test]
fn boto3_signatures_are_verified() {
    boto3_round_trip(&["--verify-sigv4"], &["--verify-sigv4"]);
}

/// The full specs every real client sends and reads back.
fn full_specs() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/full-specs.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The fixture is valid by the model and sets the members of the final API the 2019 page lacks.
#[test]
fn the_full_specs_are_valid_and_use_the_final_api() {
    let model = appmesh_conformance::model::ServiceModel::embedded();
    let specs = full_specs();
    for (key, shape) in
        [("mesh", "MeshSpec"), ("virtualNodeCloudMap", "VirtualNodeSpec"), ("virtualNodeDns", "VirtualNodeSpec")]
    {
        let found = appmesh_conformance::validate::validate(&model, shape, &specs[key]);
        assert!(found.is_empty(), "{key}: {found:?}");
    }
    let text = specs.to_string();
    for member in [
        "connectionPool",
        "outlierDetection",
        "subjectAlternativeNames",
        "\"sds\"",
        "format",
        "ipPreference",
        "responseType",
    ] {
        assert!(text.contains(member), "{member}");
    }
}

/// `node` with the SDK installed under tests/clients/js (`npm ci --prefix tests/clients/js`).
fn node_with_sdk() -> Option<String> {
    let installed = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/js/node_modules/@aws-sdk/client-app-mesh"
    ));
    let node = Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    (installed.is_dir() && matches!(node, Ok(status) if status.success())).then(|| "node".to_string())
}

#[test]
fn js_sdk_round_trip_against_serve() {
    let Some(node) = node_with_sdk() else {
        return skip("no AWS SDK for JavaScript (npm ci --prefix tests/clients/js, with node on the PATH)");
    };
    let served = Served::start(&["--verify-sigv4"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/js/round_trip.mjs");
    let output = Command::new(node).arg(script).arg(&served.endpoint).output().unwrap();
    let shown = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "js sdk round trip failed:\n{shown}");
    assert!(shown.contains("js sdk round trip: ok"), "{shown}");
}

/// `aws` beside the Python in use (a virtual environment's), else on the PATH.
fn aws_cli() -> Option<String> {
    let beside = std::env::var("APPMESH_PYTHON")
        .ok()
        .and_then(|python| std::path::Path::new(&python).parent().map(|dir| dir.join("aws")))
        .filter(|path| path.is_file())
        .map(|path| path.to_string_lossy().into_owned());
    let candidate = beside.unwrap_or_else(|| "aws".to_string());
    let works = Command::new(&candidate).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    matches!(works, Ok(status) if status.success()).then_some(candidate)
}

#[test]
fn aws_cli_creates_a_virtual_node() {
    let Some(aws) = aws_cli() else {
        return skip("no AWS CLI (pip install awscli)");
    };
    let served = Served::start(&["--verify-sigv4"]);
    let run = |args: &[&str]| {
        let output = Command::new(&aws)
            .args(args)
            .args(["--endpoint-url", &served.endpoint, "--region", "us-east-1", "--output", "json"])
            .env("AWS_ACCESS_KEY_ID", appmesh_conformance::emulator::DEFAULT_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", appmesh_conformance::emulator::DEFAULT_SECRET_ACCESS_KEY)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "aws {args:?} failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let specs = full_specs();
    let created = run(&["appmesh", "create-mesh", "--mesh-name", "cli-mesh", "--spec", &specs["mesh"].to_string()]);
    assert_eq!(created["mesh"]["spec"], specs["mesh"], "{created}");
    for name in ["virtualNodeCloudMap", "virtualNodeDns"] {
        let spec = specs[name].to_string();
        let args = ["appmesh", "create-virtual-node", "--mesh-name", "cli-mesh", "--virtual-node-name", name];
        let created = run(&[&args[..], &["--spec", &spec]].concat());
        assert_eq!(created["virtualNode"]["spec"], specs[name], "{created}");
        let described =
            run(&["appmesh", "describe-virtual-node", "--mesh-name", "cli-mesh", "--virtual-node-name", name]);
        assert_eq!(described["virtualNode"]["spec"], specs[name], "{described}");
        run(&["appmesh", "delete-virtual-node", "--mesh-name", "cli-mesh", "--virtual-node-name", name]);
    }
    let spec = r#"{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"a.local"}}}"#;
    let created = run(&[
        "appmesh",
        "create-virtual-node",
        "--mesh-name",
        "cli-mesh",
        "--virtual-node-name",
        "vn",
        "--spec",
        spec,
    ]);
    assert_eq!(created["virtualNode"]["metadata"]["version"], 1, "{created}");
    assert_eq!(created["virtualNode"]["spec"]["listeners"][0]["portMapping"]["port"], 9080, "{created}");
    let listed = run(&["appmesh", "list-virtual-nodes", "--mesh-name", "cli-mesh"]);
    assert_eq!(listed["virtualNodes"][0]["virtualNodeName"], "vn", "{listed}");
}
