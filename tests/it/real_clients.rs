//! Real AWS clients against `appmesh-conformance serve`: boto3 (the Python in `APPMESH_PYTHON`, else
//! `python3`), the AWS CLI (`aws` beside that Python, else on the PATH; after its first command,
//! through the CLI's own driver in one Python process when it can be) and the AWS SDK for
//! JavaScript v3 (`tests/clients/js`, after `npm ci` there). Each sends the full specs of
//! `tests/clients/full-specs.json` and must read back exactly what it sent, then plays
//! `tests/clients/lifecycle.json`, the lifecycle of every resource type. Without a client its
//! test is skipped with the reason printed, except under `CI=true`, where `.ci/run` installs them
//! and a missing one is a failure.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::common::{python_with_boto3, skip};

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

/// `value` with every `${NAME}` replaced by what an earlier call saved under NAME.
fn fill(value: &Value, saved: &BTreeMap<String, Value>) -> Value {
    match value {
        Value::String(text) => {
            let mut filled = text.clone();
            for (name, saved) in saved {
                filled = filled.replace(&format!("${{{name}}}"), saved.as_str().unwrap_or_default());
            }
            Value::String(filled)
        }
        Value::Array(items) => Value::Array(items.iter().map(|item| fill(item, saved)).collect()),
        Value::Object(members) => {
            Value::Object(members.iter().map(|(key, item)| (key.clone(), fill(item, saved))).collect())
        }
        other => other.clone(),
    }
}

/// The member of `value` at a dotted path (a number indexes a list); null when absent.
fn at(value: &Value, path: &str) -> Value {
    path.split('.')
        .try_fold(value, |v, part| match v {
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => v.get(part),
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// Plays tests/clients/lifecycle.json through `send` (an operation and its input, to the answer
/// or the error code): every call must answer what the plan expects. Panics naming the call.
fn play_lifecycle(mesh: &str, mut send: impl FnMut(&str, &Value) -> Result<Value, String>) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/lifecycle.json")).unwrap();
    let plan: Value = serde_json::from_str(&text).unwrap();
    let mut saved = BTreeMap::from([("mesh".to_string(), Value::from(mesh))]);
    for (number, step) in plan["calls"].as_array().unwrap().iter().enumerate() {
        let operation = step["call"].as_str().unwrap();
        let input = fill(&step["input"], &saved);
        let wanted_error = step["error"].as_str();
        let answer = match send(operation, &input) {
            Err(code) => {
                assert_eq!(Some(code.as_str()), wanted_error, "call {number} ({operation})");
                continue;
            }
            Ok(answer) => answer,
        };
        assert!(wanted_error.is_none(), "call {number} ({operation}) succeeded; expected {wanted_error:?}");
        for (path, expected) in step["expect"].as_object().into_iter().flatten() {
            let wanted = match expected.as_str().and_then(|e| e.strip_prefix("=input.")) {
                Some(member) => at(&input, member),
                None => fill(expected, &saved),
            };
            assert_eq!(at(&answer, path), wanted, "call {number} ({operation}): {path}");
        }
        for (name, path) in step["save"].as_object().into_iter().flatten() {
            saved.insert(name.clone(), at(&answer, path.as_str().unwrap()));
        }
    }
}

/// The plan's helpers read what they are given, and a wrong answer fails the play.
#[test]
fn the_lifecycle_plan_is_valid_and_its_player_can_fail() {
    let model = appmesh_conformance::model::ServiceModel::embedded();
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/lifecycle.json")).unwrap();
    let plan: Value = serde_json::from_str(&text).unwrap();
    let placeholders = BTreeMap::from([
        ("mesh".to_string(), Value::from("m")),
        ("router_arn".to_string(), Value::from("arn:aws:appmesh:us-east-1:111122223333:mesh/m/virtualRouter/vr")),
        ("mesh_arn".to_string(), Value::from("arn:aws:appmesh:us-east-1:111122223333:mesh/m")),
    ]);
    let mut called = std::collections::BTreeSet::new();
    for step in plan["calls"].as_array().unwrap() {
        let operation = model.operation(step["call"].as_str().unwrap()).expect("an operation of the model");
        called.insert(operation.name.clone());
        let input = fill(&step["input"], &placeholders);
        if step["error"].is_null() {
            let shape = operation.input.as_deref().unwrap();
            let found = appmesh_conformance::validate::validate(&model, shape, &input);
            assert!(found.is_empty(), "{}: {found:?}", operation.name);
        }
    }
    // Every operation of the API is played, by every client.
    let missing: Vec<&String> = model.operations.keys().filter(|op| !called.contains(*op)).collect();
    assert!(missing.is_empty(), "lifecycle.json leaves out {missing:?}");
    assert_eq!(at(&serde_json::json!({"a": [{"b": 1}]}), "a.0.b"), 1);
    assert_eq!(at(&serde_json::json!({"a": []}), "a.0.b"), Value::Null);
    let result = std::panic::catch_unwind(|| play_lifecycle("m", |_, _| Ok(serde_json::json!({}))));
    assert!(result.is_err(), "a target that answers {{}} to everything passed the lifecycle");
}

/// The AWS CLI, one command at a time. When the `aws` found is the Python package's script, its
/// commands go to the CLI's own driver kept in one Python process
/// (`tests/clients/aws_cli_driver.py`: the same driver `aws` calls, without a second of start-up
/// per command); otherwise (the AWS CLI v2 is a frozen binary) `aws` is started for each.
enum AwsCli {
    Driver { child: Child, stdin: std::process::ChildStdin, answers: BufReader<std::process::ChildStdout> },
    Command(String),
}

impl AwsCli {
    fn start(aws: &str) -> AwsCli {
        let Some(python) = script_python(aws) else { return AwsCli::Command(aws.to_string()) };
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/aws_cli_driver.py");
        let mut child = Command::new(python)
            .arg(script)
            .envs(cli_credentials())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the CLI's Python starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let answers = BufReader::new(child.stdout.take().expect("piped stdout"));
        AwsCli::Driver { child, stdin, answers }
    }

    /// `aws ARGS`: whether it exited 0, and what it printed on stdout and stderr.
    fn run(&mut self, args: &[&str]) -> (bool, String, String) {
        match self {
            AwsCli::Command(aws) => {
                let output = Command::new(aws).args(args).envs(cli_credentials()).output().unwrap();
                let printed = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
                (output.status.success(), printed(&output.stdout), printed(&output.stderr))
            }
            AwsCli::Driver { stdin, answers, .. } => {
                use std::io::Write as _;
                writeln!(stdin, "{}", serde_json::json!(args)).expect("the driver reads its commands");
                let mut line = String::new();
                answers.read_line(&mut line).expect("the driver answers");
                let answer: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("the driver answered {line:?}: {e}"));
                let printed = |key: &str| answer[key].as_str().unwrap_or_default().to_string();
                (answer["rc"] == 0, printed("stdout"), printed("stderr"))
            }
        }
    }
}

impl Drop for AwsCli {
    fn drop(&mut self) {
        if let AwsCli::Driver { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The Python that runs the `aws` script (its `#!` line), when it can import the CLI's driver.
fn script_python(aws: &str) -> Option<String> {
    let path = if aws.contains('/') {
        std::path::PathBuf::from(aws)
    } else {
        let paths = std::env::var_os("PATH")?;
        std::env::split_paths(&paths).map(|dir| dir.join(aws)).find(|path| path.is_file())?
    };
    let text = std::fs::read(&path).ok()?;
    let first = text.split(|b| *b == b'\n').next()?;
    let interpreter = std::str::from_utf8(first).ok()?.strip_prefix("#!")?.split_whitespace().last()?.to_string();
    let imports = Command::new(&interpreter)
        .args(["-c", "import awscli.clidriver"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    matches!(imports, Ok(status) if status.success()).then_some(interpreter)
}

#[test]
fn aws_cli_drives_every_resource_type() {
    let Some(aws) = aws_cli() else {
        return skip("no AWS CLI (pip install awscli)");
    };
    let served = Served::start(&["--verify-sigv4"]);
    let target = ["--endpoint-url", &served.endpoint, "--region", "us-east-1", "--output", "json"];
    let answer = |cli: &mut AwsCli, args: &[&str]| {
        let (success, stdout, stderr) = cli.run(&[args, &target].concat());
        assert!(success, "aws {args:?} failed: {stdout}{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let specs = full_specs();
    // The first command through the `aws` command itself, the rest through the same driver in
    // one process when it can be.
    let create_mesh = ["appmesh", "create-mesh", "--mesh-name", "cli-mesh", "--spec", &specs["mesh"].to_string()];
    let created = answer(&mut AwsCli::Command(aws.clone()), &create_mesh);
    assert_eq!(created["mesh"]["spec"], specs["mesh"], "{created}");
    let mut cli = AwsCli::start(&aws);
    let mut run = |args: &[&str]| answer(&mut cli, args);
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
    run(&["appmesh", "delete-virtual-node", "--mesh-name", "cli-mesh", "--virtual-node-name", "vn"]);
    run(&["appmesh", "delete-mesh", "--mesh-name", "cli-mesh"]);

    // Every resource type's lifecycle, each call through its CLI command and --cli-input-json.
    play_lifecycle("cli-life", |operation, input| {
        let command = kebab(operation);
        let input = input.to_string();
        let (success, stdout, stderr) =
            cli.run(&[&["appmesh", &command, "--cli-input-json", &input][..], &target].concat());
        if success {
            // A call without an answer body (TagResource) prints nothing.
            return Ok(serde_json::from_str(&stdout).unwrap_or(Value::Null));
        }
        // "An error occurred (NotFoundException) when calling ...".
        let code = stderr.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map(|(code, _)| code);
        Err(code.unwrap_or_else(|| panic!("aws {command} failed without an error code: {stderr}")).to_string())
    });
}

/// `CreateVirtualNode` as the CLI names it: `create-virtual-node`.
fn kebab(operation: &str) -> String {
    let mut out = String::new();
    for (i, c) in operation.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The emulator's default credentials, and no configuration of the machine's.
fn cli_credentials() -> [(&'static str, &'static str); 4] {
    [
        ("AWS_ACCESS_KEY_ID", appmesh_conformance::emulator::DEFAULT_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", appmesh_conformance::emulator::DEFAULT_SECRET_ACCESS_KEY),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ]
}
