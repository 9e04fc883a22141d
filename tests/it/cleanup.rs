//! Nothing left behind: `appmesh-conformance cleanup` removes what harness runs created (and
//! nothing else), and a run interrupted with Ctrl-C removes its own resources before it exits.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use appmesh_conformance::cleanup::TAG_KEY;
use appmesh_conformance::client::Client;
use appmesh_conformance::emulator::AuthConfig;
use serde_json::json;

use crate::common::{binary, client, meshes_left, start_emulator, text};

async fn create_mesh(client: &Client, name: &str, run_tag: Option<&str>) {
    let mut input = json!({ "meshName": name });
    if let Some(run_id) = run_tag {
        input["tags"] = json!([{ "key": TAG_KEY, "value": run_id }]);
    }
    let created = client.call("CreateMesh", &input).await.unwrap();
    assert_eq!(created.status(), 200, "{created}");
    let node = json!({ "meshName": name, "virtualNodeName": "node-1", "spec": {} });
    let created = client.call("CreateVirtualNode", &node).await.unwrap();
    assert_eq!(created.status(), 200, "{created}");
}

async fn cleanup(args: &[&str]) -> std::process::Output {
    let mut command = binary();
    command.arg("cleanup").args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test]
async fn cleanup_deletes_only_what_harness_runs_created() {
    let running = start_emulator(&[], AuthConfig::default()).await;
    let endpoint = running.endpoint();
    let client = client(&endpoint);
    create_mesh(&client, "acf-6b000000-abcd-mesh-1", Some("acf-6b000000-abcd")).await;
    create_mesh(&client, "acf-6b000000-abcd-mesh-2", None).await;
    create_mesh(&client, "acf-6b111111-wxyz-mesh-1", Some("acf-6b111111-wxyz")).await;
    create_mesh(&client, "prod", None).await;
    create_mesh(&client, "k", Some("acf-6b000000-abcd")).await;
    create_mesh(&client, "q", Some("acf-6b111111-wxyz")).await;
    create_mesh(&client, "acf-6b222222-qrst-mesh-1", None).await;
    let all = sorted(meshes_left(&endpoint).await);

    let output = cleanup(&["--endpoint", &endpoint, "--dry-run"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("would delete mesh acf-6b000000-abcd-mesh-1"), "{}", text(&output));
    assert!(text(&output).contains("would delete mesh acf-6b111111-wxyz-mesh-1"), "{}", text(&output));
    assert_eq!(sorted(meshes_left(&endpoint).await), all, "--dry-run deleted something");

    // With a run id, everything that run could have made goes: its names, tagged or not (a
    // create whose answer was lost), and what its tag marks under a name too short to carry the
    // run id ("k"). Another run's short name ("q") and an untagged stranger ("prod") stay.
    let output = cleanup(&["--endpoint", &endpoint, "--run-id", "acf-6b000000-abcd"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        sorted(meshes_left(&endpoint).await),
        ["acf-6b111111-wxyz-mesh-1", "acf-6b222222-qrst-mesh-1", "prod", "q"],
        "that run's meshes go, with their virtual nodes"
    );

    // Without a run id, a harness-looking name needs the harness's tag as well.
    let output = cleanup(&["--endpoint", &endpoint]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("left alone: mesh acf-6b222222-qrst-mesh-1"), "{}", text(&output));
    assert_eq!(sorted(meshes_left(&endpoint).await), ["acf-6b222222-qrst-mesh-1", "prod", "q"]);

    let output = cleanup(&["--endpoint", &endpoint, "--run-id", "prod"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("is not a run id"), "{}", text(&output));
    let output = cleanup(&[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("cleanup needs a target"), "{}", text(&output));
    running.shutdown().await;
}

/// Ctrl-C in the middle of a run (paced, so it is still going): the run removes every mesh it
/// created, says so, and exits 130.
#[tokio::test]
async fn an_interrupted_run_leaves_nothing_behind() {
    let running = start_emulator(&[], AuthConfig::default()).await;
    let endpoint = running.endpoint();
    let mut child = binary()
        // Not the serial scenarios: they run alone, first, and would only delay the meshes.
        .args(["run", "--endpoint", &endpoint, "--max-rps", "40", "--tags", "not @serial", "--report-dir"])
        .arg(crate::common::tempdir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has meshes on the target.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the run created no mesh in 30 s");
        if meshes_left(&endpoint).await.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let interrupt = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupt.success());
    let stderr = child.stderr.take().unwrap();
    let waited = tokio::task::spawn_blocking(move || {
        let lines: Vec<String> = BufReader::new(stderr).lines().map_while(Result::ok).collect();
        (child.wait().unwrap(), lines.join("\n"))
    });
    let (status, stderr) = tokio::time::timeout(Duration::from_secs(60), waited)
        .await
        .expect("the interrupted run did not exit within 60 s")
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: stopping run"), "{stderr}");
    let left = meshes_left(&endpoint).await;
    assert!(left.is_empty(), "the interrupted run left meshes behind: {left:?}\n{stderr}");
    running.shutdown().await;
}
