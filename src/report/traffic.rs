//! Reports of traffic the harness did not write (`proxy`, `replay`, `diff`): each judged exchange
//! becomes one entry of the run's results, so the same renderers and the same scoreboards (per
//! operation, per resource type) serve them as serve `run`.

use crate::checks::{CheckFailure, Severity};
use crate::exchange::Exchange;
use crate::suite::{Outcome, RunSummary, ScenarioResult, StepFailure, Unjudged};

/// One exchange and what was found in it.
#[derive(Debug, Clone)]
pub struct Judged {
    /// 1, 2, ... in the order the answers came.
    pub seq: u64,
    pub exchange: Exchange,
    pub operation: Option<String>,
    /// The kind of resource the operation acts on, when it acts on one.
    pub kind: Option<String>,
    /// Failed checks and information (INFO).
    pub findings: Vec<CheckFailure>,
    /// What could not be judged, and why.
    pub unjudged: Vec<String>,
    /// What the entry is about, shown as its step (for example "the answer conforms to the model").
    pub step: String,
}

/// The results of judged traffic, as a run's summary: one scenario per exchange under `feature`.
pub fn summary(feature: &str, judged: &[Judged], requests: u64) -> RunSummary {
    let scenarios: Vec<ScenarioResult> = judged.iter().map(|j| scenario(feature, j)).collect();
    let count = |outcome: Outcome| scenarios.iter().filter(|s| s.outcome == outcome).count();
    let error_sightings = judged
        .iter()
        .filter_map(|j| Some((j.operation.clone()?, j.exchange.error_code()?)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    RunSummary {
        passed: count(Outcome::Passed),
        failed: count(Outcome::Failed),
        skipped: count(Outcome::Skipped),
        parsing_errors: 0,
        cleanup_problems: 0,
        requests,
        retries: 0,
        scenarios,
        error_sightings,
    }
}

fn scenario(feature: &str, judged: &Judged) -> ScenarioResult {
    let request = &judged.exchange.request;
    let path = url::Url::parse(&request.url).map(|u| u.path().to_string()).unwrap_or_else(|_| request.url.clone());
    let (failing, info): (Vec<CheckFailure>, Vec<CheckFailure>) =
        judged.findings.iter().cloned().partition(|f| f.severity != Severity::Info);
    let step = |failures: Vec<CheckFailure>| {
        (!failures.is_empty())
            .then(|| StepFailure {
                step: judged.step.clone(),
                failures,
                exchange: Some(judged.exchange.clone()),
                error: None,
            })
            .into_iter()
            .collect::<Vec<_>>()
    };
    let skip_reason = judged.operation.is_none().then(|| judged.unjudged.join("; "));
    let outcome = match (&skip_reason, failing.is_empty()) {
        (Some(_), _) => Outcome::Skipped,
        (None, true) => Outcome::Passed,
        (None, false) => Outcome::Failed,
    };
    let mut tags = vec!["traffic".to_string()];
    tags.extend(judged.operation.iter().map(|op| format!("op:{op}")));
    tags.extend(judged.kind.iter().map(|kind| format!("kind:{kind}")));
    ScenarioResult {
        feature: feature.to_string(),
        scenario: format!(
            "#{} {} {} {} -> {}",
            judged.seq,
            judged.operation.as_deref().unwrap_or("(no operation)"),
            request.method,
            path,
            judged.exchange.status()
        ),
        location: format!("{feature}:{:06}", judged.seq),
        outcome,
        failures: step(failing),
        findings: step(info),
        unjudged: if skip_reason.is_some() {
            Vec::new()
        } else {
            judged
                .unjudged
                .iter()
                .map(|reason| Unjudged { step: judged.step.clone(), reason: reason.clone() })
                .collect()
        },
        skip_reason,
        tags,
    }
}

/// A stretch of judged traffic, as the reports describe it.
pub struct Traffic<'a> {
    /// What the run id of the reports is made of (`proxy`, `replay`), unless `run_id` is given.
    pub label: &'a str,
    pub run_id: Option<String>,
    /// The feature name every exchange is reported under.
    pub feature: &'a str,
    pub target: super::TargetInfo,
    pub started: std::time::SystemTime,
    pub took: std::time::Duration,
    pub latency: std::collections::BTreeMap<String, crate::client::LatencySummary>,
    pub requests: u64,
}

impl super::TargetInfo {
    /// A target of judged traffic: no profile, deviations or readings of the harness's own.
    pub fn of_traffic(description: String, endpoint: String, region: String, embedded: bool) -> super::TargetInfo {
        super::TargetInfo {
            description,
            endpoint,
            region,
            embedded,
            profile: None,
            deviations: Vec::new(),
            readings: Vec::new(),
        }
    }
}

/// The report of judged traffic, on the embedded model.
pub fn report(traffic: Traffic, judged: &[Judged]) -> super::Report {
    let model = crate::model::ServiceModel::embedded();
    let since_epoch = traffic.started.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let info = super::RunInfo {
        run_id: traffic.run_id.unwrap_or_else(|| format!("{}-{since_epoch}", traffic.label)),
        seed: 0,
        started_at: super::rfc3339(since_epoch),
        duration_ms: traffic.took.as_secs_f64() * 1000.0,
        tags: None,
        jobs: None,
        max_rps: None,
        target: traffic.target,
        model: super::ModelInfo::new("embedded", &model.metadata.api_version, crate::model::EMBEDDED_MODEL_JSON),
        latency: traffic.latency,
        stopped: None,
        resources: crate::cleanup::Account::default(),
    };
    let summary = summary(traffic.feature, judged, traffic.requests);
    super::Report::build(&summary, info, Vec::new(), None, &model)
}
