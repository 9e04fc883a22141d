//! Nothing left behind: `appmesh-conformance cleanup` removes what harness runs created (and
//! nothing else), a run interrupted with Ctrl-C removes its own resources before it exits, and a
//! scenario's mesh goes with everything in it for as few requests as can be sure of that.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use appmesh_conformance::cleanup::{Ledger, TAG_KEY};
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

/// Requests of each operation a client sent, by operation name.
fn sent(client: &Client) -> std::collections::BTreeMap<String, u64> {
    client.latency().into_iter().map(|(operation, summary)| (operation, summary.count)).collect()
}

/// A mesh with a resource of every kind, each kind's parent with a child under it.
async fn populated_mesh(client: &Client, mesh: &str) {
    let listener = json!([{ "portMapping": { "port": 8080, "protocol": "http" } }]);
    let requests = [
        ("CreateMesh", json!({ "meshName": mesh })),
        ("CreateVirtualNode", json!({ "meshName": mesh, "virtualNodeName": "n", "spec": {} })),
        (
            "CreateVirtualRouter",
            json!({ "meshName": mesh, "virtualRouterName": "r", "spec": { "listeners": listener } }),
        ),
        (
            "CreateRoute",
            json!({ "meshName": mesh, "virtualRouterName": "r", "routeName": "rt", "spec": { "httpRoute": {
                "match": { "prefix": "/" },
                "action": { "weightedTargets": [{ "virtualNode": "n", "weight": 1 }] } } } }),
        ),
        (
            "CreateVirtualService",
            json!({ "meshName": mesh, "virtualServiceName": "s.local",
                "spec": { "provider": { "virtualRouter": { "virtualRouterName": "r" } } } }),
        ),
        (
            "CreateVirtualGateway",
            json!({ "meshName": mesh, "virtualGatewayName": "g", "spec": { "listeners": listener } }),
        ),
        (
            "CreateGatewayRoute",
            json!({ "meshName": mesh, "virtualGatewayName": "g", "gatewayRouteName": "gr", "spec": { "httpRoute": {
                "match": { "prefix": "/" },
                "action": { "target": { "virtualService": { "virtualServiceName": "s.local" } } } } } }),
        ),
    ];
    for (operation, input) in requests {
        let answer = client.call(operation, &input).await.unwrap();
        assert_eq!(answer.status(), 200, "{operation}: {}", answer.response.body);
    }
}

/// A mesh's clean-up lists each kind once (a parent's list, taken to reach its children, serves
/// again for the parent itself) and deletes every resource. A mesh whose scenario deleted what it
/// made goes with one DeleteMesh; when the target says it is in use after all, with everything
/// in it as before.
#[tokio::test]
async fn a_mesh_goes_with_everything_in_it_for_few_requests() {
    let running = start_emulator(&[], AuthConfig::default()).await;
    let endpoint = running.endpoint();
    let ledger = Ledger::default();
    populated_mesh(&client(&endpoint), "full").await;
    ledger.created("full");
    let remover = client(&endpoint);
    ledger.remove(&remover, "full", false).await;
    let counts = sent(&remover);
    let lists: Vec<(&String, &u64)> = counts.iter().filter(|(operation, _)| operation.starts_with("List")).collect();
    assert_eq!(lists.len(), 6, "every child kind is listed: {counts:?}");
    assert!(lists.iter().all(|(_, count)| **count == 1), "each kind is listed once: {counts:?}");
    for delete in ["DeleteRoute", "DeleteGatewayRoute", "DeleteVirtualService", "DeleteVirtualRouter", "DeleteMesh"] {
        assert_eq!(counts.get(delete), Some(&1), "{delete}: {counts:?}");
    }
    assert!(meshes_left(&endpoint).await.is_empty());
    assert!(ledger.outstanding().is_empty(), "{:?}", ledger.outstanding());

    // Said to be emptied, but holding a node: the refused DeleteMesh leads to the full removal.
    populated_mesh(&client(&endpoint), "not-empty").await;
    ledger.created("not-empty");
    let remover = client(&endpoint);
    ledger.remove(&remover, "not-empty", true).await;
    let counts = sent(&remover);
    assert_eq!(counts.get("DeleteMesh"), Some(&2), "refused, then sent again when emptied: {counts:?}");
    assert_eq!(counts.get("DeleteVirtualNode"), Some(&1), "{counts:?}");
    assert!(meshes_left(&endpoint).await.is_empty());

    // Emptied indeed: one request.
    client(&endpoint).call("CreateMesh", &json!({ "meshName": "empty" })).await.unwrap();
    ledger.created("empty");
    let remover = client(&endpoint);
    ledger.remove(&remover, "empty", true).await;
    assert_eq!(remover.requests(), 1, "{:?}", sent(&remover));
    assert!(meshes_left(&endpoint).await.is_empty());
    assert!(ledger.outstanding().is_empty(), "{:?}", ledger.outstanding());
    running.shutdown().await;
}
