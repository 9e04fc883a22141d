//! `junit.xml`: one test suite per feature file, one test case per scenario. A scenario with a
//! failed check is a `<failure>` (every failed check in its text); one that failed only on a
//! transport or harness error is an `<error>`; a skipped scenario, and one whose failures are all
//! listed in the expectations file, is `<skipped>` with the reason as its message.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JUnitReport, TestCase, TestCaseStatus, TestSuite};

use super::{Failure, Report, ScenarioStatus};

pub fn render(report: &Report) -> Result<String, quick_junit::SerializeError> {
    let mut junit = JUnitReport::new("appmesh-conformance");
    junit.set_time(Duration::from_secs_f64(report.run.duration_ms / 1000.0));
    let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
    for scenario in &report.scenarios {
        let file = scenario.location.rsplit_once(':').map_or(scenario.location.as_str(), |(file, _)| file);
        let failures: Vec<&Failure> = report.failures.iter().filter(|f| f.location == scenario.location).collect();
        let status = match scenario.status {
            ScenarioStatus::Passed => TestCaseStatus::success(),
            ScenarioStatus::Skipped => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(scenario.skip_reason.clone().unwrap_or_else(|| "skipped".to_string()));
                status
            }
            ScenarioStatus::ExpectedFailure => {
                let mut status = TestCaseStatus::skipped();
                let reasons: Vec<String> = failures
                    .iter()
                    .filter_map(|f| f.expected_by.as_ref())
                    .map(|e| e.reason.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                status.set_message(format!("expected failure (known deviation): {}", reasons.join("; ")));
                status.set_type("expected-failure");
                status.set_description(describe(&failures));
                status
            }
            ScenarioStatus::Failed => {
                let only_errors = !failures.is_empty() && failures.iter().all(|f| f.error.is_some());
                let kind = if only_errors { NonSuccessKind::Error } else { NonSuccessKind::Failure };
                let mut status = TestCaseStatus::non_success(kind);
                let ids: Vec<&str> = failures.iter().map(|f| f.check_id.as_str()).collect();
                status.set_message(if ids.is_empty() {
                    "the scenario failed".to_string()
                } else {
                    format!("{} failed: {}", plural(ids.len(), "check"), ids.join(", "))
                });
                status.set_type(if only_errors { "harness.error" } else { "conformance" });
                status.set_description(describe(&failures));
                status
            }
        };
        let mut case = TestCase::new(format!("{} ({})", scenario.name, scenario.location), status);
        case.set_classname(scenario.feature.clone());
        suites.entry(file.to_string()).or_insert_with(|| TestSuite::new(file.to_string())).add_test_case(case);
    }
    junit.add_test_suites(suites.into_values());
    junit.to_string()
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// Every failure of a scenario as text: what failed, expected and actual, and how to reproduce it.
fn describe(failures: &[&Failure]) -> String {
    let mut text = String::new();
    for failure in failures {
        text.push_str(&format!("[{}] {} (step: {})\n", failure.severity, failure.check_id, failure.step));
        text.push_str(&format!(
            "  rule:     {}\n  expected: {}\n  actual:   {}\n",
            failure.rule, failure.expected, failure.actual
        ));
        if let Some(expected_by) = &failure.expected_by {
            text.push_str(&format!("  known deviation: {}\n", expected_by.reason));
        }
        if let Some(reproduce) = &failure.reproduce {
            text.push_str(&format!("  reproduce: {reproduce}\n"));
        }
    }
    text
}
