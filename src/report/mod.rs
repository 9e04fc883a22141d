//! The result model of a run and the reports written from it: `report.json` (checked against
//! `reports/schema.json`), `junit.xml`, `report.md` and a self-contained `report.html`.
//!
//! Every report is rendered from one [`Report`], built from the suite's [`RunSummary`], what is
//! known of the run and the target ([`RunInfo`]) and, when given, the expectations file of known
//! deviations. Exchanges were redacted when they were recorded (see `exchange`), so no
//! report can carry a secret key, a session token or a signature.

pub mod expectations;
mod html;
mod junit;
mod markdown;
pub mod traffic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checks::{CheckId, Severity};
use crate::client::{Exchange, LatencySummary};
use crate::generate::RuleTag;
use crate::model::ServiceModel;
use crate::model::provenance::source;
use crate::suite::{Outcome, RunSummary, ScenarioResult, StepFailure, Unjudged};

pub use expectations::{Expectation, Expectations};

/// The version of the report format; `reports/schema.json` describes it.
pub const FORMAT: &str = "appmesh-conformance-report/1";

/// The area of the contract a scenario is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Shape,
    Validation,
    Errors,
    Idempotency,
    Limits,
    Throttling,
    Auth,
    /// Resources over their life: update, delete, references, in-use rules, tags.
    Lifecycle,
}

impl Area {
    /// In the order the reports show them.
    pub const ALL: [Area; 8] = [
        Area::Shape,
        Area::Validation,
        Area::Errors,
        Area::Idempotency,
        Area::Limits,
        Area::Throttling,
        Area::Auth,
        Area::Lifecycle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Shape => "shape",
            Area::Validation => "validation",
            Area::Errors => "errors",
            Area::Idempotency => "idempotency",
            Area::Limits => "limits",
            Area::Throttling => "throttling",
            Area::Auth => "auth",
            Area::Lifecycle => "lifecycle",
        }
    }

    /// The area of a scenario, from its tags (those of its feature and rule included): the
    /// stateful features' tags first, then the generated scenarios' rule.
    pub fn of(tags: &[String]) -> Area {
        let has = |tag: &str| tags.iter().any(|t| t == tag);
        const FEATURES: [(&str, Area); 6] = [
            ("auth", Area::Auth),
            ("lifecycle", Area::Lifecycle),
            ("throttling", Area::Throttling),
            ("limits", Area::Limits),
            ("idempotency", Area::Idempotency),
            ("concurrency", Area::Idempotency),
        ];
        if let Some((_, area)) = FEATURES.iter().find(|(tag, _)| has(tag)) {
            return *area;
        }
        match RuleTag::of(tags) {
            Some(RuleTag::Error) => Area::Errors,
            Some(RuleTag::Happy) | None => Area::Shape,
            Some(_) => Area::Validation,
        }
    }

    /// The area of a failed check: what any response must look like is `shape`, whatever
    /// scenario showed it; other checks belong to their scenario's area.
    fn of_check(check: &CheckId, scenario: Area) -> Area {
        if check.is_about_shape() { Area::Shape } else { scenario }
    }
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known of the run besides the scenarios' results.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub seed: u64,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    pub duration_ms: f64,
    /// The cucumber tag expression that selected the scenarios, if any.
    pub tags: Option<String>,
    /// Scenarios run at once; `None`: unbounded.
    pub jobs: Option<usize>,
    /// The pace of the harness's traffic, when one applied.
    pub max_rps: Option<f64>,
    pub target: TargetInfo,
    pub model: ModelInfo,
    /// Time to answer per operation during the run.
    pub latency: BTreeMap<String, LatencySummary>,
    /// Why the run stopped before its scenarios were done (interrupted, a target that throttles
    /// or fails persistently, the deadline); `None` when it ran to the end.
    pub stopped: Option<String>,
    /// What the run asked the target to create, and what is left of it.
    pub resources: crate::cleanup::Account,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// One line: where the run pointed and why.
    pub description: String,
    pub endpoint: String,
    pub region: String,
    pub embedded: bool,
    /// The target profile's description, when one was given.
    pub profile: Option<String>,
    /// The deviation modes the embedded emulator ran with.
    pub deviations: Vec<String>,
    /// The readings of disputed points the embedded emulator was told to follow (`ID=SOURCE`).
    pub readings: Vec<String>,
}

impl TargetInfo {
    /// Where the reproduction commands point: the embedded emulator's port changes every run,
    /// so they point at `appmesh-conformance serve`'s default port instead.
    pub fn reproduce_endpoint(&self) -> &str {
        if self.embedded { REPRODUCE_ENDPOINT } else { &self.endpoint }
    }

    /// For an embedded run: the command that serves what the run tested, for the reproductions.
    pub fn serve_command(&self) -> Option<String> {
        if !self.embedded {
            return None;
        }
        let deviations: String = self.deviations.iter().map(|d| format!(" --deviation {d}")).collect();
        let readings: String = self.readings.iter().map(|r| format!(" --reading {r}")).collect();
        Some(format!("appmesh-conformance serve --port 9080 --region {}{deviations}{readings}", self.region))
    }
}

/// Where reproductions of an embedded run point: `appmesh-conformance serve`'s default port.
pub const REPRODUCE_ENDPOINT: &str = "http://127.0.0.1:9080";

/// A shell command that sends the recorded request again, signed from the environment, to
/// `endpoint`. A request into a mesh first creates that mesh (the run deleted it), so the
/// command reproduces on its own.
pub fn reproduce(exchange: &Exchange, recorded_endpoint: &str, endpoint: &str, region: &str) -> String {
    let mut exchange = exchange.clone();
    if let Some(rest) = exchange.request.url.strip_prefix(recorded_endpoint) {
        exchange.request.url = format!("{endpoint}{rest}");
    }
    let request = exchange.curl(region);
    let path = exchange.request.url.strip_prefix(endpoint).unwrap_or_default();
    let mesh = path.strip_prefix("/v20190125/meshes/").and_then(|rest| rest.split(['/', '?']).next());
    match mesh {
        Some(mesh) if exchange.operation.as_deref() != Some("CreateMesh") && !mesh.is_empty() => {
            let decoded = percent_encoding::percent_decode_str(mesh).decode_utf8_lossy();
            let body = serde_json::json!({ "meshName": decoded }).to_string().replace('\'', "'\\''");
            format!(
                "curl -sS -X PUT --aws-sigv4 \"aws:amz:{region}:appmesh\" --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" -H 'content-type: application/json' --data-raw '{body}' '{endpoint}/v20190125/meshes'\n{request}"
            )
        }
        _ => request,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// `embedded` or the path given with `--model`.
    pub source: String,
    pub api_version: String,
    /// The first 16 hex digits of the SHA-256 of the model text: which model exactly.
    pub digest: String,
}

impl ModelInfo {
    pub fn new(source: &str, api_version: &str, text: &str) -> Self {
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        ModelInfo { source: source.to_string(), api_version: api_version.to_string(), digest: digest[..16].to_string() }
    }
}

/// A coverage line of the generator: how much of the contract the generated scenarios reach.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub operation: String,
    pub what: String,
    pub covered: usize,
    pub expected: usize,
    pub percent: f64,
    pub missing: Vec<String>,
}

/// The coverage of the generated scenarios of every operation of `model`.
pub fn coverage(model: &crate::model::ServiceModel) -> Vec<Coverage> {
    let mut lines = Vec::new();
    for operation in &crate::generate::operations(model) {
        let Ok(generated) = crate::generate::generate(model, operation, "coverage") else { continue };
        for line in &generated.coverage {
            lines.push(Coverage {
                operation: operation.to_string(),
                what: line.what.to_string(),
                covered: line.expected.intersection(&line.covered).count(),
                expected: line.expected.len(),
                percent: (line.percent() * 10.0).round() / 10.0,
                missing: line.missing().iter().map(|m| format!("{m:?}")).collect(),
            });
        }
    }
    lines
}

/// How a scenario ended, once expectations are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioStatus {
    Passed,
    Failed,
    /// Failed, and every failure is listed in the expectations file.
    ExpectedFailure,
    Skipped,
}

impl ScenarioStatus {
    pub fn label(self) -> &'static str {
        match self {
            ScenarioStatus::Passed => "passed",
            ScenarioStatus::Failed => "failed",
            ScenarioStatus::ExpectedFailure => "expected failure",
            ScenarioStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub feature: String,
    pub location: String,
    pub area: Area,
    pub tags: Vec<String>,
    pub status: ScenarioStatus,
    pub skip_reason: Option<String>,
    /// Checks a step could not make (nothing to judge), with why.
    pub unjudged: Vec<Unjudged>,
}

/// One failed check (or a harness error) in one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Stable across runs: the check's id, then `@` and the member path with indexes as `[]`
    /// (for example `shape.type@metadata.createdAt`); `harness.error` for a transport or harness
    /// error.
    pub check_id: String,
    /// The key of the bucket of failures that share this one's cause.
    pub bucket: String,
    pub severity: Severity,
    /// Where the rule comes from: an id of the report's `sources` table.
    pub source: String,
    pub area: Area,
    pub scenario: String,
    pub location: String,
    /// The operation its scenario is about (its `@op:` tag), when it names one.
    pub operation: Option<String>,
    pub step: String,
    pub path: String,
    pub rule: String,
    pub expected: String,
    pub actual: String,
    pub hint: Option<String>,
    /// A transport or harness error instead of a failed check.
    pub error: Option<String>,
    /// The entry of the expectations file that lists this failure, if any.
    pub expected_by: Option<Expectation>,
    pub exchange: Option<Exchange>,
    /// A curl command that sends the request again, signed from the user's environment.
    pub reproduce: Option<String>,
}

impl Failure {
    /// A failure placed in a scenario's step, with no check, exchange or reproduction filled in
    /// yet: callers complete it with struct update syntax.
    pub fn located(area: Area, scenario: &str, location: &str, step: &str) -> Failure {
        Failure {
            check_id: String::new(),
            bucket: String::new(),
            severity: Severity::Must,
            source: source::HARNESS.to_string(),
            area,
            scenario: scenario.to_string(),
            location: location.to_string(),
            operation: None,
            step: step.to_string(),
            path: String::new(),
            rule: String::new(),
            expected: String::new(),
            actual: String::new(),
            hint: None,
            error: None,
            expected_by: None,
            exchange: None,
            reproduce: None,
        }
    }
}

/// Failures that share a cause: the same check on the same member, or the same check in every
/// scenario of one generated rule (a target that checks no bounds fails every bound scenario
/// alike).
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    pub key: String,
    pub check_id: String,
    pub severity: Severity,
    /// The source of the rule (an id of the report's `sources` table).
    pub source: String,
    pub area: Area,
    pub title: String,
    pub count: usize,
    /// The scenarios (locations) with a failure in this bucket.
    pub scenarios: Vec<String>,
    /// The distinct members concerned.
    pub members: Vec<String>,
    /// Up to three distinct actual values seen.
    pub actual_examples: Vec<String>,
    pub expected: String,
    /// Every failure in the bucket is an expected one.
    pub all_expected: bool,
    /// The index in `failures` of the first failure of the bucket.
    pub example: usize,
}

/// How a set of scenarios ended, and the passed share of those that ran.
#[derive(Debug, Clone, Serialize)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub expected_failures: usize,
    pub skipped: usize,
    /// Passed share of the scenarios that ran, in percent; `None` when none ran.
    pub score: Option<f64>,
}

impl Tally {
    fn of<'s>(scenarios: impl Iterator<Item = &'s ScenarioReport>) -> Tally {
        let (mut passed, mut failed, mut expected_failures, mut skipped) = (0, 0, 0, 0);
        for scenario in scenarios {
            match scenario.status {
                ScenarioStatus::Passed => passed += 1,
                ScenarioStatus::Failed => failed += 1,
                ScenarioStatus::ExpectedFailure => expected_failures += 1,
                ScenarioStatus::Skipped => skipped += 1,
            }
        }
        let score = percent(passed, passed + failed + expected_failures);
        Tally { passed, failed, expected_failures, skipped, score }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaScore {
    pub area: Area,
    #[serde(flatten)]
    pub tally: Tally,
}

/// Conformance and coverage of one operation, or of one resource type's operations.
#[derive(Debug, Clone, Serialize)]
pub struct Scoreboard {
    /// The operation (`CreateRoute`), or the resource type (`VirtualRouter`; `tags` for the
    /// operations that name a resource by ARN).
    pub name: String,
    #[serde(flatten)]
    pub tally: Tally,
    /// The contract coverage of its generated scenarios, the generator's coverage lines pooled,
    /// in percent; `None` when nothing is generated for it.
    pub coverage: Option<f64>,
    /// Its documented errors provoked or observed in this run, in percent (the runtime line
    /// `ERRORS_SEEN`, pooled); `None` when it documents none.
    pub errors_seen: Option<f64>,
}

impl Scoreboard {
    /// The scenarios' results, and the pooled generator and runtime coverage of `lines`.
    fn of<'s>(
        name: &str,
        scenarios: impl Iterator<Item = &'s ScenarioReport>,
        lines: impl Iterator<Item = &'s Coverage>,
    ) -> Scoreboard {
        let lines: Vec<&Coverage> = lines.collect();
        let pooled = |runtime: bool| {
            let (covered, expected) = lines
                .iter()
                .filter(|line| (line.what == ERRORS_SEEN) == runtime)
                .fold((0, 0), |(c, e), line| (c + line.covered, e + line.expected));
            percent(covered, expected)
        };
        Scoreboard {
            name: name.to_string(),
            tally: Tally::of(scenarios),
            coverage: pooled(false),
            errors_seen: pooled(true),
        }
    }
}

/// `part` of `whole` in percent, to one decimal; `None` of nothing.
fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (1000.0 * part as f64 / whole as f64).round() / 10.0)
}

/// The tag that names the operation a scenario is about (`op:CreateRoute`, the generated
/// features' and the CreateVirtualNode features'), and those that name the resource types a
/// lifecycle feature is about (`kind:VirtualRouter`).
const OPERATION_TAG: &str = "op:";
const KIND_TAG: &str = "kind:";

/// The operation a scenario's tags say it is about.
pub fn operation_of(tags: &[String]) -> Option<&str> {
    tags.iter().find_map(|t| t.strip_prefix(OPERATION_TAG))
}

/// The name of the group of operations that name a resource by ARN rather than a kind.
pub const BY_ARN: &str = "tags";

/// Each operation of the model, and each resource type, with its scenarios' results and coverage.
fn scoreboards(
    scenarios: &[ScenarioReport],
    coverage: &[Coverage],
    model: &ServiceModel,
) -> (Vec<Scoreboard>, Vec<Scoreboard>) {
    let tagged =
        |s: &ScenarioReport, prefix: &str, value: &str| s.tags.iter().any(|t| t.strip_prefix(prefix) == Some(value));
    let operations: Vec<Scoreboard> = model
        .operations
        .keys()
        .map(|op| {
            Scoreboard::of(
                op,
                scenarios.iter().filter(|s| tagged(s, OPERATION_TAG, op)),
                coverage.iter().filter(|l| &l.operation == op),
            )
        })
        .collect();
    let kind_of = |op: &str| model.resource_of(op).map_or(BY_ARN.to_string(), |k| k.name);
    let mut kinds: Vec<String> = model.resource_kinds().iter().map(|k| k.name.clone()).collect();
    kinds.push(BY_ARN.to_string());
    let by_kind = kinds
        .iter()
        .map(|kind| {
            let of_kind = |s: &&ScenarioReport| {
                tagged(s, KIND_TAG, kind)
                    || s.tags.iter().filter_map(|t| t.strip_prefix(OPERATION_TAG)).any(|op| &kind_of(op) == kind)
            };
            Scoreboard::of(
                kind,
                scenarios.iter().filter(of_kind),
                coverage.iter().filter(|l| &kind_of(&l.operation) == kind),
            )
        })
        .collect();
    (operations, by_kind)
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
    pub expected_failures: usize,
    pub skipped: usize,
    pub failed_checks: usize,
    pub unexpected_failures: usize,
    pub unexpectedly_passing: usize,
    pub requests: u64,
    pub retries: u64,
    pub cleanup_problems: usize,
    pub parsing_errors: usize,
    /// Informational findings: what the target did where the sources disagree.
    pub informational: usize,
    /// Checks skipped because a step found nothing to judge.
    pub unjudged: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpectationsReport {
    pub file: String,
    /// Listed, and the run shows them fixed: remove them from the file.
    pub unexpectedly_passing: Vec<Expectation>,
    /// Listed, but nothing the run did concerns them (the tag expression left them out).
    pub not_exercised: Vec<Expectation>,
    /// The entries scoped to one operation that this run's failures matched, with how many each
    /// matched: the target's known deviations per operation, operations it lacks included.
    pub by_operation: Vec<OperationDeviation>,
}

/// An entry of the expectations file scoped to one operation, and the failures it matched.
#[derive(Debug, Clone, Serialize)]
pub struct OperationDeviation {
    pub operation: String,
    /// The check it lists; `None`: every failure of the operation's scenarios.
    pub check: Option<String>,
    pub reason: String,
    pub failures: usize,
}

/// The result model every report is rendered from.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub harness: Harness,
    pub run: RunInfo,
    pub counts: Counts,
    pub areas: Vec<AreaScore>,
    /// Every operation of the model: its scenarios' results and its coverage.
    pub operations: Vec<Scoreboard>,
    /// Every resource type, the same over its operations and its lifecycle features.
    pub resource_types: Vec<Scoreboard>,
    pub coverage: Vec<Coverage>,
    pub buckets: Vec<Bucket>,
    pub failures: Vec<Failure>,
    /// Severity INFO: points where the sources disagree (or AWS's behaviour is unknown), what the
    /// target did, and which reading that follows. They never change the verdict.
    pub informational: Vec<Failure>,
    pub scenarios: Vec<ScenarioReport>,
    pub expectations: Option<ExpectationsReport>,
    /// The sources the failures and findings cite, by id.
    pub sources: BTreeMap<String, SourceInfo>,
}

/// A source as a report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub title: String,
    pub url: Option<String>,
    pub precedence: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Harness {
    pub name: &'static str,
    pub version: &'static str,
}

/// `spec.listeners[0].port` → `spec.listeners[].port`: failures at different indexes share a cause.
fn normalized_path(path: &str) -> String {
    static INDEX: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| regex::Regex::new(r"\[\d+\]").expect("a valid pattern")).replace_all(path, "[]").into_owned()
}

fn member_tag(tags: &[String]) -> Option<&str> {
    tags.iter().find_map(|t| t.strip_prefix("member:"))
}

impl Report {
    pub fn build(
        summary: &RunSummary,
        run: RunInfo,
        mut coverage: Vec<Coverage>,
        expectations: Option<(&Path, &Expectations)>,
        model: &ServiceModel,
    ) -> Report {
        let provenance = &model.provenance;
        let region = run.target.region.clone();
        let endpoints = (run.target.endpoint.clone(), run.target.reproduce_endpoint().to_string());
        let mut failures = Vec::new();
        let mut informational = Vec::new();
        let mut scenarios = Vec::new();
        for result in &summary.scenarios {
            let area = Area::of(&result.tags);
            let first = failures.len();
            let places = (endpoints.0.as_str(), endpoints.1.as_str(), region.as_str());
            failures.extend(failures_of(result, &result.failures, area, places, expectations.map(|(_, e)| e)));
            informational.extend(failures_of(result, &result.findings, area, places, None));
            let own = &failures[first..];
            let status = match result.outcome {
                Outcome::Passed => ScenarioStatus::Passed,
                Outcome::Skipped => ScenarioStatus::Skipped,
                Outcome::Failed if !own.is_empty() && own.iter().all(|f| f.expected_by.is_some()) => {
                    ScenarioStatus::ExpectedFailure
                }
                Outcome::Failed => ScenarioStatus::Failed,
            };
            scenarios.push(ScenarioReport {
                name: result.scenario.clone(),
                feature: result.feature.clone(),
                location: result.location.clone(),
                area,
                tags: result.tags.clone(),
                status,
                skip_reason: result.skip_reason.clone(),
                unjudged: result.unjudged.clone(),
            });
        }
        scenarios.sort_by(|a, b| a.location.cmp(&b.location));
        informational.sort_by(|a, b| (&a.rule, &a.location).cmp(&(&b.rule, &b.location)));
        coverage.extend(error_coverage(summary, &coverage, model));
        let sources = failures
            .iter()
            .chain(&informational)
            .map(|f| f.source.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|id| {
                let info = match provenance.source(&id) {
                    Some(found) => SourceInfo {
                        title: found.title.clone(),
                        url: Some(found.url.clone()),
                        precedence: Some(found.precedence),
                    },
                    None if id == source::REFERENCE_TARGET => SourceInfo {
                        title: "the reference of a comparison: the recorded answer (replay) or target A (diff)"
                            .to_string(),
                        url: None,
                        precedence: None,
                    },
                    None => SourceInfo {
                        title: "the harness: the request completes and its answer can be read".to_string(),
                        url: None,
                        precedence: None,
                    },
                };
                (id, info)
            })
            .collect();

        let expectations_report = expectations.map(|(path, expectations)| {
            let (unexpectedly_passing, not_exercised) =
                expectations.unmatched(&failures, &scenarios, run.tags.is_some());
            let mut by_operation: Vec<OperationDeviation> = Vec::new();
            for entry in failures.iter().filter_map(|f| f.expected_by.as_ref()) {
                let Some(operation) = &entry.operation else { continue };
                match by_operation.iter_mut().find(|d| &d.operation == operation && d.check == entry.check) {
                    Some(known) => known.failures += 1,
                    None => by_operation.push(OperationDeviation {
                        operation: operation.clone(),
                        check: entry.check.clone(),
                        reason: entry.reason.clone(),
                        failures: 1,
                    }),
                }
            }
            by_operation.sort_by(|a, b| (&a.operation, &a.check).cmp(&(&b.operation, &b.check)));
            ExpectationsReport { file: path.display().to_string(), unexpectedly_passing, not_exercised, by_operation }
        });
        let buckets = bucket(&failures);
        let count = |status: ScenarioStatus| scenarios.iter().filter(|s| s.status == status).count();
        let counts = Counts {
            scenarios: scenarios.len(),
            passed: count(ScenarioStatus::Passed),
            failed: count(ScenarioStatus::Failed),
            expected_failures: count(ScenarioStatus::ExpectedFailure),
            skipped: count(ScenarioStatus::Skipped),
            failed_checks: failures.len(),
            unexpected_failures: failures.iter().filter(|f| f.expected_by.is_none()).count(),
            unexpectedly_passing: expectations_report.as_ref().map_or(0, |e| e.unexpectedly_passing.len()),
            requests: summary.requests,
            retries: summary.retries,
            cleanup_problems: summary.cleanup_problems,
            parsing_errors: summary.parsing_errors,
            informational: informational.len(),
            unjudged: scenarios.iter().map(|s| s.unjudged.len()).sum(),
        };
        let areas = Area::ALL
            .iter()
            .map(|area| AreaScore { area: *area, tally: Tally::of(scenarios.iter().filter(|s| s.area == *area)) })
            .collect();
        let (operations, resource_types) = scoreboards(&scenarios, &coverage, model);
        Report {
            format: FORMAT,
            harness: Harness { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") },
            run,
            counts,
            areas,
            operations,
            resource_types,
            coverage,
            buckets,
            failures,
            informational,
            scenarios,
            expectations: expectations_report,
            sources,
        }
    }

    /// Whether the run passes: no unexpected failure, the features parsed, something ran, and
    /// under `strict` no listed deviation that now passes.
    pub fn passed(&self, strict: bool) -> bool {
        self.run.stopped.is_none()
            && self.counts.unexpected_failures == 0
            && self.counts.failed == 0
            && self.counts.parsing_errors == 0
            && self.counts.scenarios > 0
            && !(strict && self.counts.unexpectedly_passing > 0)
    }

    /// Writes `report.json`, `junit.xml`, `report.md` and `report.html` into `dir`.
    pub fn write_all(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Write { path: dir.to_path_buf(), source })?;
        let json = serde_json::to_string_pretty(self)? + "\n";
        let files = [
            ("report.json", json),
            ("junit.xml", junit::render(self)?),
            ("report.md", markdown::render(self)),
            ("report.html", html::render(self)?),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| ReportError::Write { path: path.clone(), source })?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Reports that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {}: {source}; choose another folder with --report-dir", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot render the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot render junit.xml: {0}")]
    JUnit(#[from] quick_junit::SerializeError),
}

/// The failures (or findings) of one scenario's steps as report entries.
fn failures_of(
    result: &ScenarioResult,
    steps: &[StepFailure],
    area: Area,
    (recorded_endpoint, endpoint, region): (&str, &str, &str),
    expectations: Option<&Expectations>,
) -> Vec<Failure> {
    let rule = RuleTag::of(&result.tags);
    let member = member_tag(&result.tags);
    let mut out = Vec::new();
    for step in steps {
        let reproduce = step.exchange.as_ref().map(|e| reproduce(e, recorded_endpoint, endpoint, region));
        // What every failure of this step shares; each entry fills in the rest.
        let located = Failure {
            exchange: step.exchange.clone(),
            reproduce,
            operation: operation_of(&result.tags).map(str::to_string),
            ..Failure::located(area, &result.scenario, &result.location, &step.step)
        };
        let mut entries: Vec<Failure> = step
            .failures
            .iter()
            .map(|check| {
                let path = normalized_path(&check.path);
                let check_id = if path.is_empty() { check.id.to_string() } else { format!("{}@{path}", check.id) };
                // A status-level failure of a generated scenario, placed on the scenario's member:
                // one cause per rule, however many members show it.
                let bucket = match (rule, member) {
                    _ if check.id.is_whole_answer() => check.id.to_string(),
                    (Some(rule), Some(member)) if check.path == member => format!("{} [{rule}]", check.id),
                    // A wrong status is one cause per answer the contract asks for.
                    _ if check.id.is_status() => {
                        format!("{} (expected {})", check_id, check.expected)
                    }
                    _ => check_id.clone(),
                };
                Failure {
                    check_id,
                    bucket,
                    severity: check.severity,
                    source: check.source.clone(),
                    area: Area::of_check(&check.id, area),
                    path: check.path.clone(),
                    rule: check.rule.clone(),
                    expected: check.expected.clone(),
                    actual: check.actual.clone(),
                    hint: check.hint.clone(),
                    ..located.clone()
                }
            })
            .collect();
        fold_repeats(&mut entries);
        if let Some(error) = &step.error {
            entries.push(Failure {
                check_id: "harness.error".to_string(),
                bucket: "harness.error".to_string(),
                rule: "the request completes and the step runs to its end".to_string(),
                expected: "an answer".to_string(),
                actual: error.clone(),
                error: Some(error.clone()),
                ..located
            });
        }
        out.extend(entries);
    }
    if let Some(expectations) = expectations {
        for failure in &mut out {
            failure.expected_by = expectations.find(failure).cloned();
        }
    }
    out
}

/// One failure per check id in a step: the same check failing on every entry of a list answer
/// (`shape.type@meshes[].createdAt` on each mesh ListMeshes shows) is one failure saying how many
/// entries showed it, so a count does not depend on how many entries the list happened to hold.
fn fold_repeats(entries: &mut Vec<Failure>) {
    let mut kept: Vec<(Failure, usize)> = Vec::new();
    for entry in entries.drain(..) {
        match kept.iter_mut().find(|(first, _)| first.check_id == entry.check_id) {
            Some((_, more)) => *more += 1,
            None => kept.push((entry, 0)),
        }
    }
    entries.extend(kept.into_iter().map(|(mut first, more)| {
        if more > 0 {
            first.actual = format!("{} (and {more} more like it in this answer)", first.actual);
        }
        first
    }));
}

fn bucket(failures: &[Failure]) -> Vec<Bucket> {
    let mut buckets: BTreeMap<&str, Bucket> = BTreeMap::new();
    for (index, failure) in failures.iter().enumerate() {
        let bucket = buckets.entry(failure.bucket.as_str()).or_insert_with(|| Bucket {
            key: failure.bucket.clone(),
            check_id: failure.check_id.split('@').next().unwrap_or_default().to_string(),
            severity: failure.severity,
            source: failure.source.clone(),
            area: failure.area,
            title: failure.rule.clone(),
            count: 0,
            scenarios: Vec::new(),
            members: Vec::new(),
            actual_examples: Vec::new(),
            expected: failure.expected.clone(),
            all_expected: true,
            example: index,
        });
        bucket.count += 1;
        bucket.all_expected &= failure.expected_by.is_some();
        if !bucket.scenarios.contains(&failure.location) {
            bucket.scenarios.push(failure.location.clone());
        }
        let member = normalized_path(&failure.path);
        if !member.is_empty() && !bucket.members.contains(&member) {
            bucket.members.push(member);
        }
        if bucket.actual_examples.len() < 3 && !bucket.actual_examples.contains(&failure.actual) {
            bucket.actual_examples.push(failure.actual.clone());
        }
    }
    let mut list: Vec<Bucket> = buckets.into_values().collect();
    // Unexpected first, then MUST before SHOULD, then the biggest.
    list.sort_by(|a, b| {
        (a.all_expected, a.severity != Severity::Must, std::cmp::Reverse(a.count), &a.key).cmp(&(
            b.all_expected,
            b.severity != Severity::Must,
            std::cmp::Reverse(b.count),
            &b.key,
        ))
    });
    list
}

/// What the report calls the runtime coverage of the error table.
pub const ERRORS_SEEN: &str = "documented errors provoked or observed in this run";

/// For each operation the generator covers: which of its documented errors a scenario provoked
/// or the target sent during the run. An error counts only when it was seen.
fn error_coverage(summary: &RunSummary, coverage: &[Coverage], model: &ServiceModel) -> Vec<Coverage> {
    let operations: std::collections::BTreeSet<&str> = coverage.iter().map(|c| c.operation.as_str()).collect();
    operations
        .into_iter()
        .filter_map(|operation| {
            let documented = &model.operation(operation)?.errors;
            let seen = |code: &String| summary.error_sightings.iter().any(|(op, c)| op == operation && c == code);
            let missing: Vec<String> = documented.iter().filter(|c| !seen(c)).cloned().collect();
            let covered = documented.len() - missing.len();
            let percent = if documented.is_empty() { 100.0 } else { 100.0 * covered as f64 / documented.len() as f64 };
            Some(Coverage {
                operation: operation.to_string(),
                what: ERRORS_SEEN.to_string(),
                covered,
                expected: documented.len(),
                percent: (percent * 10.0).round() / 10.0,
                missing,
            })
        })
        .collect()
}

/// Seconds since the Unix epoch as RFC 3339 in UTC, for example `2026-11-24T21:29:49Z`.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_failing_on_every_list_entry_is_one_failure() {
        let at = |check_id: &str, actual: &str| Failure {
            check_id: check_id.to_string(),
            actual: actual.to_string(),
            ..Failure::located(Area::Shape, "S", "features/s.feature:1", "Then x")
        };
        let mut entries = vec![
            at("shape.type@meshes[].createdAt", "string \"a\""),
            at("shape.length@meshes[].meshOwner", "length 20"),
            at("shape.type@meshes[].createdAt", "string \"b\""),
            at("shape.type@meshes[].createdAt", "string \"c\""),
        ];
        fold_repeats(&mut entries);
        let shown: Vec<(&str, &str)> = entries.iter().map(|f| (f.check_id.as_str(), f.actual.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("shape.type@meshes[].createdAt", "string \"a\" (and 2 more like it in this answer)"),
                ("shape.length@meshes[].meshOwner", "length 20")
            ]
        );
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_555_789), "2026-11-24T21:29:49Z");
    }

    #[test]
    fn areas_follow_the_tags() {
        let tags = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Area::of(&tags(&["generated", "bound", "member:spec.x"])), Area::Validation);
        assert_eq!(Area::of(&tags(&["idempotency", "concurrency"])), Area::Idempotency);
        assert_eq!(Area::of(&tags(&["throttling", "serial"])), Area::Throttling);
        assert_eq!(Area::of(&tags(&["lifecycle"])), Area::Lifecycle);
        assert_eq!(Area::of(&tags(&["documented-example"])), Area::Shape);
        assert_eq!(Area::of(&tags(&["generated", "error"])), Area::Errors);
        assert_eq!(Area::of(&tags(&["generated", "disputed"])), Area::Validation);
    }

    #[test]
    fn paths_lose_their_indexes() {
        assert_eq!(normalized_path("spec.listeners[0].tls.certificate[12]"), "spec.listeners[].tls.certificate[]");
    }
}
