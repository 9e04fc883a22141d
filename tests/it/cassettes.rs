//! Cassettes: the documented CreateVirtualNode sample judged conformant and answered by
//! `serve --cassette`; a run recorded from the embedded emulator, valid by its schema, replaying
//! clean against the emulator and showing each deviation mode's subject against that mode; `diff`
//! between the emulator and itself, and against a deviation mode.

use std::path::Path;
use std::sync::Arc;

use appmesh_conformance::cassette::Cassette;
use appmesh_conformance::checks::Severity;
use appmesh_conformance::emulator::{self, Deviation, EmulatorConfig};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::replay::{self, Replay};

use crate::common;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/reports/cassettes/aws-sample-create-virtual-node.jsonl");

/// The scenarios whose traffic the recorded-run tests use: every kind's lifecycle (references,
/// in-use conflicts, tags) and CreateVirtualNode's idempotency, with its 20 requests at once.
const RECORDED: &str = "@lifecycle or @idempotency";

fn failed(replay: &Replay) -> Vec<String> {
    replay
        .judged()
        .iter()
        .flat_map(|j| j.findings.iter().filter(|f| f.severity != Severity::Info).map(move |f| (j, f)))
        .map(|(j, f)| format!("#{} {} | {} | {} | {} | {}", j.seq, f.id, f.path, f.rule, f.expected, f.actual))
        .collect()
}

#[test]
fn the_documented_sample_is_judged_conformant() {
    let output = common::binary().args(["judge", SAMPLE, "--report-dir", &common::tempdir()]).output().unwrap();
    let shown = common::text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("judge: 1 recorded exchange(s) conform, 0 fail, 0 not judged"), "{shown}");
    // What the 2019 sample lacks of the final API (the owner members mesh sharing added in 2020)
    // is information, named, not a failure.
    let cassette = Cassette::load(Path::new(SAMPLE)).unwrap();
    let judged = replay::judged_recorded(&cassette);
    let found: Vec<(Severity, String)> =
        judged[0].findings.iter().map(|f| (f.severity, format!("{} {}", f.id, f.path))).collect();
    assert_eq!(
        found,
        vec![
            (Severity::Info, "shape.required metadata.meshOwner".to_string()),
            (Severity::Info, "shape.required metadata.resourceOwner".to_string())
        ]
    );
    assert_eq!(judged[0].operation.as_deref(), Some("CreateVirtualNode"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_cassette_answers_the_sample_and_a_replay_of_it_is_clean() {
    let cassette = Cassette::load(Path::new(SAMPLE)).unwrap();
    let model = Arc::new(ServiceModel::embedded());
    let recorded = emulator::Emulator::from_cassette(model, EmulatorConfig::default(), &cassette);
    let served = emulator::serve_emulator(Arc::new(recorded), 0, Default::default()).await.unwrap();
    let client = common::client(&served.endpoint());
    let replayed = replay::replay(&client, &cassette, "acf-6b0fd3ab-test").await;
    assert_eq!(replayed.differing(), 0, "{:?}", replayed.entries[0].differences);
    assert_eq!(failed(&replayed), Vec::<String>::new());
    assert_eq!(replayed.entries[0].live.as_ref().unwrap().status(), 200);
    assert!(replayed.left.is_empty(), "{:?}", replayed.left);
    // A request the cassette holds no answer to gets 501, saying so.
    let other = client.call("DescribeMesh", &serde_json::json!({"meshName": "nope"})).await.unwrap();
    assert_eq!(other.status(), 501);
    assert!(other.response.body.contains("the cassette holds no answer to GET /v20190125/meshes/nope"), "{other}");
    served.shutdown().await;
}

/// One recording of the chosen scenarios, for the tests below.
async fn recorded_run() -> Cassette {
    static RECORDED_ONCE: tokio::sync::OnceCell<Cassette> = tokio::sync::OnceCell::const_new();
    RECORDED_ONCE
        .get_or_init(|| async {
            let path = Path::new(&common::tempdir()).join("run.jsonl");
            let cassette = appmesh_conformance::diff::record_suite(&path, Some(7), Some(RECORDED.to_string()))
                .await
                .expect("the run records");
            // Every line follows the documented schema.
            let schema: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/cassette.schema.json")).unwrap(),
            )
            .unwrap();
            let validator = jsonschema::draft202012::new(&schema).expect("a valid JSON Schema");
            for (number, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                let problems: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
                assert!(problems.is_empty(), "line {}: {problems:?}", number + 1);
            }
            let _ = std::fs::remove_dir_all(path.parent().unwrap());
            cassette
        })
        .await
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_run_replays_clean_and_each_deviation_shows_its_subject() {
    let cassette = recorded_run().await;
    assert!(cassette.entries.len() > 100, "{} exchanges", cassette.entries.len());
    assert!(cassette.header.run_id.is_some());
    let replay_against = |deviations: Vec<Deviation>| {
        let cassette = cassette.clone();
        async move {
            let config = EmulatorConfig { deviations: deviations.into_iter().collect(), ..EmulatorConfig::default() };
            let running = common::start_emulator_with(config).await;
            let client = common::client(&running.endpoint());
            let run_id = appmesh_conformance::cleanup::run_id("test");
            let replayed = replay::replay(&client, &cassette, &run_id).await;
            let left = common::meshes_left(&running.endpoint()).await;
            running.shutdown().await;
            (replayed, left)
        }
    };
    // The concurrent requests were recorded as racing, and only they.
    let races = appmesh_conformance::races::Races::of(&cassette.entries);
    let raced: Vec<&str> = (0..cassette.entries.len())
        .filter(|&i| races.raced(i))
        .filter_map(|i| cassette.entries[i].exchange.operation.as_deref())
        .collect();
    assert!(raced.len() >= 20 && raced.iter().all(|op| *op == "CreateVirtualNode"), "{raced:?}");
    let (clean, left) = replay_against(vec![]).await;
    assert_eq!(
        clean.differing(),
        0,
        "{:#?}",
        clean.entries.iter().filter(|e| !e.differences.is_empty()).collect::<Vec<_>>()
    );
    assert_eq!(failed(&clean), Vec::<String>::new());
    assert!(left.is_empty() && clean.left.is_empty(), "{left:?} {:?}", clean.left);
    for deviation in [Deviation::UpdateWithoutVersionBump, Deviation::DeleteRouterWithRoutes, Deviation::NewUidOnReplay]
    {
        let (replayed, left) = replay_against(vec![deviation]).await;
        let found = failed(&replayed);
        assert!(
            found.iter().any(|f| f.contains(deviation.subject())),
            "{deviation}: no failure names {:?}: {found:#?}",
            deviation.subject()
        );
        assert!(left.is_empty(), "{deviation}: left {left:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_the_emulator_with_itself_is_empty_and_with_a_deviation_names_it() {
    let cassette = recorded_run().await;
    let start = |deviations: Vec<Deviation>| async move {
        common::start_emulator_with(EmulatorConfig {
            deviations: deviations.into_iter().collect(),
            ..Default::default()
        })
        .await
    };
    let (a, a_again, b, broken) = (
        start(vec![]).await,
        start(vec![]).await,
        start(vec![]).await,
        start(vec![Deviation::UpdateWithoutVersionBump]).await,
    );
    let clients = [&a, &a_again, &b, &broken].map(|e| common::client(&e.endpoint()));
    let same = appmesh_conformance::diff::compare(&clients[0], &clients[1], &clients[2], &cassette).await;
    assert_eq!(
        same.differing(),
        0,
        "{:#?}",
        same.pairs.iter().filter(|p| !p.differences.is_empty()).collect::<Vec<_>>()
    );
    assert_eq!(same.pairs.len(), cassette.entries.len());
    let differs = appmesh_conformance::diff::compare(&clients[0], &clients[1], &clients[3], &cassette).await;
    let causes: Vec<String> = differs
        .pairs
        .iter()
        .flat_map(|p| &p.differences)
        .map(|d| format!("{} {} -> {}", d.cause(), d.a, d.b))
        .collect();
    assert!(causes.iter().any(|c| c.contains("metadata.version")), "{causes:#?}");
    for running in [a, a_again, b, broken] {
        assert!(common::meshes_left(&running.endpoint()).await.is_empty());
        running.shutdown().await;
    }
}

/// `replay` and `diff` as a user runs them: a cassette of failures (the proxy's traffic to a
/// deviation mode) says FIXED against the faithful emulator and STILL FAILING against the mode;
/// `diff` of the emulator with itself exits 0, and with the mode exits 1 naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_says_fixed_or_still_failing_and_diff_exits_by_the_differences() {
    let dir = common::tempdir();
    let cassette = format!("{dir}/failing.jsonl");
    let broken = common::start_emulator_with(EmulatorConfig {
        deviations: [Deviation::VersionZero].into(),
        ..EmulatorConfig::default()
    })
    .await;
    // A cassette of failures: a run against the mode, recorded.
    let output = common::binary()
        .args(["run", "--endpoint", &broken.endpoint(), "--jobs", "1", "--tags", "@kind:VirtualNode"])
        .args(["--record", &cassette, "--report-dir", &format!("{dir}/run")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", common::text(&output));
    let replay = |endpoint: String| {
        let (cassette, report_dir) = (cassette.clone(), format!("{dir}/replay"));
        tokio::task::spawn_blocking(move || {
            common::binary()
                .args(["replay", &cassette, "--endpoint", &endpoint, "--report-dir", &report_dir])
                .output()
                .unwrap()
        })
    };
    let fixed = replay("embedded".to_string()).await.unwrap();
    let shown = common::text(&fixed);
    assert!(shown.contains("FIXED: #") && !shown.contains("STILL FAILING"), "{shown}");
    let still = replay(broken.endpoint()).await.unwrap();
    let shown = common::text(&still);
    assert!(shown.contains("STILL FAILING: #") && shown.contains("metadata.version"), "{shown}");
    assert_eq!(still.status.code(), Some(1));
    let diff = |b: String| {
        let report_dir = format!("{dir}/diff");
        tokio::task::spawn_blocking(move || {
            common::binary()
                .args([
                    "diff",
                    "--a",
                    "embedded",
                    "--b",
                    &b,
                    "--tags",
                    "@kind:VirtualNode",
                    "--report-dir",
                    &report_dir,
                ])
                .output()
                .unwrap()
        })
    };
    let same = diff("embedded".to_string()).await.unwrap();
    assert_eq!(same.status.code(), Some(0), "{}", common::text(&same));
    assert!(common::text(&same).contains("diff: 0 of "), "{}", common::text(&same));
    let differs = diff(broken.endpoint()).await.unwrap();
    assert_eq!(differs.status.code(), Some(1), "{}", common::text(&differs));
    assert!(common::failed_checks(&format!("{dir}/diff")).iter().any(|f| f.contains("metadata.version")));
    assert!(common::meshes_left(&broken.endpoint()).await.is_empty());
    broken.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A cassette with no exchange judges nothing: `judge`, `replay` and `diff` refuse it rather than
/// pass.
#[test]
fn an_empty_cassette_is_refused_not_passed() {
    let dir = common::tempdir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = format!("{dir}/empty.jsonl");
    let header = std::fs::read_to_string(SAMPLE).unwrap().lines().next().unwrap().to_string();
    std::fs::write(&path, header + "\n").unwrap();
    for args in [
        vec!["judge", &path],
        vec!["replay", &path],
        vec!["diff", "--a", "embedded", "--b", "embedded", "--cassette", &path],
    ] {
        let output = common::binary().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", common::text(&output));
        assert!(common::text(&output).contains("holds no exchange"), "{}", common::text(&output));
    }
    let _ = std::fs::remove_dir_all(dir);
}
