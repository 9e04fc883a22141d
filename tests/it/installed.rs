//! The suite travels with the binary: a copy of the built binary, as `cargo install` makes one,
//! runs the whole suite from an empty directory, with every feature file of the checkout in it.
//! Nothing in the library reads the checkout at run time (the tidy test keeps
//! `CARGO_MANIFEST_DIR` out of non-test code), so the copy stands for an installed binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::tempdir;

/// Every `.feature` file under `features/`, relative to the checkout.
fn checked_in_features() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = BTreeSet::new();
    let mut stack = vec![root.join("features")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "feature") {
                out.insert(path.strip_prefix(root).unwrap().to_string_lossy().to_string());
            }
        }
    }
    out
}

#[test]
fn an_installed_binary_runs_the_whole_suite_from_an_empty_directory() {
    let home = PathBuf::from(tempdir());
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let installed = bin.join("appmesh-conformance");
    std::fs::copy(env!("CARGO_BIN_EXE_appmesh-conformance"), &installed).unwrap();
    let empty = home.join("empty");
    std::fs::create_dir_all(&empty).unwrap();

    // The run's own deadline bounds it.
    let mut command = Command::new(&installed);
    command.args(["run", "--report-dir", "reports", "--deadline", "300"]).current_dir(&empty);
    for variable in ["APPMESH_ENDPOINT", "AWS_ENDPOINT_URL_APP_MESH", "AWS_ENDPOINT_URL", "APPMESH_PROFILE"] {
        command.env_remove(variable);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the installed binary's run failed:\n{}\n{}",
        stdout.lines().rev().take(30).collect::<Vec<_>>().join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(empty.join("reports/report.json")).unwrap()).unwrap();
    let scenarios = report["scenarios"].as_array().unwrap();
    let files: BTreeSet<String> = scenarios
        .iter()
        .filter_map(|s| s["location"].as_str())
        .map(|location| location.rsplit_once(':').map_or(location, |(file, _)| file).to_string())
        .collect();
    let missing: Vec<String> = checked_in_features().into_iter().filter(|f| !files.contains(f)).collect();
    assert!(missing.is_empty(), "feature files the installed binary did not run: {missing:?}");
    assert!(scenarios.len() > 500, "only {} scenarios ran", scenarios.len());
    assert_eq!(report["counts"]["failed"], 0, "{}", report["counts"]);
    let _ = std::fs::remove_dir_all(&home);
}
