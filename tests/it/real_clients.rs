//! Real AWS clients against `appmesh-conformance serve`. The Python used is `APPMESH_PYTHON`, else
//! `python3`; it needs boto3. Without it the test is skipped with the reason printed, except under
//! `CI=true`, where `.ci/run` installs boto3 and a missing one is a failure.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `serve --port 0`, killed when dropped.
struct Served {
    child: Child,
    endpoint: String,
}

impl Served {
    fn start() -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_appmesh-conformance"))
            .args(["serve", "--port", "0"])
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

#[test]
fn boto3_round_trip_against_serve() {
    let Some(python) = python_with_boto3() else {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!in_ci, "CI=true but no Python with boto3 (set APPMESH_PYTHON; .ci/run installs one)");
        println!("skipped: no Python with boto3 (pip install boto3, or set APPMESH_PYTHON)");
        return;
    };
    let served = Served::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/boto3_round_trip.py");
    let output = Command::new(python).args([script, &served.endpoint]).output().unwrap();
    let shown = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "boto3 round trip failed:\n{shown}");
    assert!(shown.contains("boto3 round trip: ok"), "{shown}");
}
