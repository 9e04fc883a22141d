//! The committed scenarios under `features/generated/` are exactly what `generate` makes from the
//! embedded model: a model change without regenerating fails here, naming the command to run.

use std::path::Path;

use appmesh_conformance::generate;
use appmesh_conformance::model::ServiceModel;

#[test]
fn committed_generated_features_are_current() {
    let model = ServiceModel::embedded();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("features/generated");
    let source = "the embedded contract model (src/model/contract.json)";
    let mut stale = Vec::new();
    for operation in &generate::operations(&model) {
        let generated = generate::generate(&model, operation, source).unwrap();
        let expected: Vec<_> = generated.files.iter().map(|f| out.join(&f.path)).collect();
        for file in &generated.files {
            if std::fs::read_to_string(out.join(&file.path)).ok().as_deref() != Some(file.text.as_str()) {
                stale.push(file.path.clone());
            }
        }
        let dir = out.join(generate::snake_case(operation));
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if !expected.contains(&entry.path()) {
                stale.push(format!("{} (no longer generated)", entry.path().display()));
            }
        }
    }
    assert!(stale.is_empty(), "stale generated features {stale:?}: run `cargo run -- generate` and commit the result");
}

#[test]
fn generate_check_exits_1_and_names_a_stale_file() {
    let scratch = std::env::temp_dir().join(format!("appmesh-generated-{}", uuid::Uuid::new_v4().simple()));
    let out = scratch.to_string_lossy().into_owned();
    let binary = env!("CARGO_BIN_EXE_appmesh-conformance");
    let write = std::process::Command::new(binary).args(["generate", "--out", &out]).output().unwrap();
    assert!(write.status.success(), "{}", String::from_utf8_lossy(&write.stderr));
    let fresh = std::process::Command::new(binary).args(["generate", "--check", "--out", &out]).output().unwrap();
    assert_eq!(fresh.status.code(), Some(0));
    let bounds = scratch.join("create_virtual_node/bounds.feature");
    std::fs::write(&bounds, "# edited by hand\n").unwrap();
    let checked = std::process::Command::new(binary).args(["generate", "--check", "--out", &out]).output().unwrap();
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert_eq!(checked.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("create_virtual_node/bounds.feature") && stderr.contains("cargo run -- generate"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
