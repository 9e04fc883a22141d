//! From a finding to a regression test: `repro` replays a counterexample against a target, says
//! whether the target still misanswers, and writes a scenario that then runs with the suite.

use std::sync::Arc;

use appmesh_conformance::emulator::{self, AuthConfig, Deviation, EmulatorConfig};
use appmesh_conformance::model::ServiceModel;

use crate::common::{binary, tempdir, text};

#[tokio::test]
async fn a_counterexample_becomes_a_regression_scenario_that_fails_while_the_bug_is_there() {
    let dir = std::path::PathBuf::from(tempdir());
    let features = dir.join("features");
    std::fs::create_dir_all(&features).unwrap();
    let finding = dir.join("port-zero.json");
    std::fs::write(
        &finding,
        r#"{"meshName":"acf-6b000000-abcd-prop","virtualNodeName":"a","spec":{"listeners":[{"portMapping":{"port":0,"protocol":"http"}}]}}"#,
    )
    .unwrap();

    // The faithful emulator (embedded): it refuses port 0, as the contract says.
    let mut command = binary();
    command.arg("repro").arg(&finding).arg("--out").arg(&features);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("answers as the contract says (BadRequestException)"), "{}", text(&output));
    let scenario = std::fs::read_to_string(features.join("port_zero.feature")).unwrap();
    assert!(scenario.contains("Then the request fails with BadRequestException"), "{scenario}");

    // A target with the bug: repro says so, and the written scenario fails against it.
    let config = EmulatorConfig {
        deviations: [Deviation::PortZeroAccepted].into_iter().collect(),
        auth: Some(AuthConfig::default()),
        ..Default::default()
    };
    let broken = emulator::start(Arc::new(ServiceModel::embedded()), config, 0).await.unwrap();
    let endpoint = broken.endpoint();
    let (finding_arg, features_arg, reports) = (finding.clone(), features.clone(), dir.join("reports"));
    let (replayed, suite) = tokio::task::spawn_blocking(move || {
        let replayed =
            binary().args(["repro", "--dry-run", "--endpoint", &endpoint]).arg(&finding_arg).output().unwrap();
        let suite = binary()
            .args(["run", "--endpoint", &endpoint, "--features"])
            .arg(&features_arg)
            .arg("--report-dir")
            .arg(&reports)
            .output()
            .unwrap();
        (replayed, suite)
    })
    .await
    .unwrap();
    broken.shutdown().await;
    assert_eq!(replayed.status.code(), Some(1), "{}", text(&replayed));
    assert!(text(&replayed).contains("still misanswers"), "{}", text(&replayed));
    assert_eq!(suite.status.code(), Some(1), "the regression scenario passes against the bug:\n{}", text(&suite));
    assert!(text(&suite).contains("1 failed"), "{}", text(&suite));
    let _ = std::fs::remove_dir_all(&dir);
}
