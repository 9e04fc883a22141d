//! What a run produces: each scenario's outcome with its failed checks, informational findings
//! and unjudged checks, and the summary of the whole run.

use serde::Serialize;

use crate::checks::CheckFailure;
use crate::exchange::Exchange;

/// A failed step: the checks that failed, where, and the exchange that showed it.
#[derive(Debug, Clone, Serialize)]
pub struct StepFailure {
    pub step: String,
    pub failures: Vec<CheckFailure>,
    pub exchange: Option<Exchange>,
    /// A transport or harness error instead of a failed check.
    pub error: Option<String>,
}

/// A check a step could not make: there was nothing to judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unjudged {
    pub step: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub feature: String,
    pub scenario: String,
    pub location: String,
    pub outcome: Outcome,
    pub failures: Vec<StepFailure>,
    /// Informational findings (severity INFO): what the target did where the sources disagree.
    /// They never fail the scenario.
    pub findings: Vec<StepFailure>,
    /// Checks a step could not make, with why: skipped, never passed.
    pub unjudged: Vec<Unjudged>,
    /// Why the scenario did not run, when it was skipped.
    pub skip_reason: Option<String>,
    /// The tags of the scenario, its rule and its feature, without the `@`.
    pub tags: Vec<String>,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub parsing_errors: usize,
    pub cleanup_problems: usize,
    pub requests: u64,
    pub retries: u64,
    pub scenarios: Vec<ScenarioResult>,
    /// (operation, error code): errors a scenario provoked on purpose or the target sent.
    pub error_sightings: Vec<(String, String)>,
}

impl RunSummary {
    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.parsing_errors == 0 && self.passed + self.skipped > 0
    }

    /// The closing line CI tools recognise.
    pub fn closing_line(&self) -> String {
        format!("conformance: {} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}
