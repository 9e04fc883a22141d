//! Golden tests of the report renderers: one fixed result (a pass, a failure with its exchange,
//! an expected failure, a skip, an informational finding, an unjudged check, a leftover mesh)
//! rendered as report.json, junit.xml, report.md and report.html, each compared with its
//! snapshot under `tests/it/snapshots/`. A change to a renderer shows as a diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test --test it golden` then `git diff`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use appmesh_conformance::checks::{CheckFailure, CheckId, Severity};
use appmesh_conformance::cleanup::{Account, Leftover};
use appmesh_conformance::client::LatencySummary;
use appmesh_conformance::exchange::{Exchange, RecordedRequest, RecordedResponse};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::model::provenance::source;
use appmesh_conformance::report::expectations::Expectations;
use appmesh_conformance::report::{Coverage, ModelInfo, Report, RunInfo, TargetInfo};
use appmesh_conformance::suite::{Outcome, RunSummary, ScenarioResult, StepFailure, Unjudged};
use appmesh_conformance::validate::Rule;

fn exchange(status: u16, body: &str) -> Exchange {
    Exchange {
        operation: Some("CreateVirtualNode".to_string()),
        request: RecordedRequest {
            method: "PUT".to_string(),
            url: "http://127.0.0.1:9080/v20190125/meshes/acf-1-abcd-mesh-1/virtualNodes".to_string(),
            headers: vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("authorization".to_string(), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/…, Signature=<redacted>".into()),
            ],
            body: r#"{"virtualNodeName":"vn","spec":{}}"#.to_string(),
        },
        response: RecordedResponse {
            status,
            headers: vec![("content-type".to_string(), "application/json".to_string())],
            body: body.to_string(),
        },
        duration: Duration::from_millis(3),
        attempts: 1,
        sent_at: None,
    }
}

fn scenario(name: &str, line: u32, outcome: Outcome, tags: &[&str]) -> ScenarioResult {
    ScenarioResult {
        feature: "CreateVirtualNode: documented bounds".to_string(),
        scenario: name.to_string(),
        location: format!("features/generated/create_virtual_node/bounds.feature:{line}"),
        outcome,
        failures: Vec::new(),
        findings: Vec::new(),
        unjudged: Vec::new(),
        skip_reason: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

fn fixed_report() -> Report {
    let model = ServiceModel::embedded();
    let passed = scenario(
        "A port of 1 is accepted",
        7,
        Outcome::Passed,
        &["generated", "op:CreateVirtualNode", "bound", "expect:success"],
    );
    let mut failed = scenario(
        "A port of 65536 is refused <here & there>",
        20,
        Outcome::Failed,
        &["generated", "bound", "member:spec.listeners[].portMapping.port", "expect:BadRequestException"],
    );
    failed.failures.push(StepFailure {
        step: "Then the request fails with BadRequestException".to_string(),
        failures: vec![CheckFailure::new(
            CheckId::ErrorStatus,
            Severity::Must,
            source::SDK_MODEL,
            "",
            "an error has its documented status and code",
            "400 BadRequestException",
            "200",
        )],
        exchange: Some(exchange(200, r#"{"virtualNodeName":"vn","note":"</script><b>"}"#)),
        error: None,
    });
    failed.unjudged.push(Unjudged {
        step: "And nothing was created".to_string(),
        reason: "the request named no resource".to_string(),
    });
    let mut expected = scenario(
        "A name of 255 characters is accepted",
        33,
        Outcome::Failed,
        &["generated", "op:CreateVirtualNode", "bound"],
    );
    expected.failures.push(StepFailure {
        step: "Then the request succeeds".to_string(),
        failures: vec![CheckFailure::new(
            CheckId::Shape(Rule::Type),
            Severity::Should,
            source::API_REFERENCE,
            "metadata.createdAt",
            "a timestamp is a number of seconds",
            "a number",
            "a string",
        )],
        exchange: None,
        error: None,
    });
    let mut skipped =
        scenario("The target throttles a burst", 44, Outcome::Skipped, &["throttling", "op:CreateVirtualNode"]);
    skipped.skip_reason = Some("no throttle rate is declared for this target".to_string());
    let mut disputed =
        scenario("Sources disagree on listeners", 51, Outcome::Passed, &["generated", "op:CreateMesh", "disputed"]);
    disputed.findings.push(StepFailure {
        step: "Then the answer follows one of the readings of \"listeners-per-virtual-node\"".to_string(),
        failures: vec![CheckFailure::new(
            CheckId::Dispute("listeners-per-virtual-node".to_string()),
            Severity::Info,
            source::SDK_MODEL,
            "spec.listeners",
            "the target follows the final SDK model's reading",
            "either reading",
            "200 (sdk-model)",
        )],
        exchange: None,
        error: None,
    });
    let summary = RunSummary {
        passed: 2,
        failed: 2,
        skipped: 1,
        parsing_errors: 0,
        cleanup_problems: 0,
        requests: 12,
        retries: 1,
        scenarios: vec![passed, failed, expected, skipped, disputed],
        error_sightings: vec![("CreateVirtualNode".to_string(), "BadRequestException".to_string())],
    };
    let run = RunInfo {
        run_id: "acf-1-abcd".to_string(),
        seed: 42,
        started_at: "2026-12-01T00:00:00Z".to_string(),
        duration_ms: 1234.5,
        tags: Some("@bound".to_string()),
        jobs: Some(4),
        max_rps: None,
        target: TargetInfo {
            description: "the embedded emulator on 127.0.0.1:40000".to_string(),
            endpoint: "http://127.0.0.1:40000".to_string(),
            region: "us-east-1".to_string(),
            embedded: true,
            profile: None,
            deviations: vec![],
            readings: vec![],
        },
        model: ModelInfo::new("embedded", "2019-01-25", "{}"),
        latency: BTreeMap::from([(
            "CreateVirtualNode".to_string(),
            LatencySummary { count: 9, p50_ms: 1.5, p90_ms: 2.5, p99_ms: 3.5, max_ms: 4.0 },
        )]),
        stopped: None,
        resources: Account {
            asked: 4,
            created: 3,
            gone: 3,
            left: vec![Leftover { name: "acf-1-abcd-mesh-9".to_string(), why: "DeleteMesh: HTTP 500".to_string() }],
            unnamed: vec![],
        },
    };
    let coverage = vec![Coverage {
        operation: "CreateVirtualNode".to_string(),
        what: "documented bounds".to_string(),
        covered: 3,
        expected: 4,
        percent: 75.0,
        missing: vec!["spec.backendDefaults: above-max".to_string()],
    }];
    let expectations =
        Expectations::parse("[[expected]]\ncheck = \"shape.type\"\nreason = \"timestamps as text (issue 7)\"\n")
            .unwrap();
    Report::build(
        &summary,
        run,
        coverage,
        Some((Path::new("reports/expectations/example.toml"), &expectations)),
        &model,
    )
}

fn rendered() -> BTreeMap<String, String> {
    let dir = tempfile_dir();
    let written = fixed_report().write_all(&dir).expect("the reports are written");
    let files = written
        .iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(path).unwrap())
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    files
}

fn tempfile_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("appmesh-golden-{}", uuid::Uuid::new_v4().simple()))
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn every_renderer_matches_its_golden_file() {
    let files = rendered();
    assert_eq!(files.keys().collect::<Vec<_>>(), ["junit.xml", "report.html", "report.json", "report.md"]);
    settings().bind(|| {
        insta::assert_snapshot!("report.json", files["report.json"]);
        insta::assert_snapshot!("junit.xml", files["junit.xml"]);
        insta::assert_snapshot!("report.md", files["report.md"]);
        insta::assert_snapshot!("report.html", files["report.html"]);
    });
}

#[test]
fn the_renderers_are_deterministic() {
    assert_eq!(rendered(), rendered());
}
