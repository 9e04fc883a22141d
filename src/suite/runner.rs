//! Running the suite: cucumber over the selected features, with the hooks that record every
//! scenario's result and clean up after it; and, after the last scenario, the error table judged
//! on every answer the run saw.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cucumber::{World as _, cli, event, writer, writer::Ext as _};
use futures::FutureExt as _;

use super::Progress;
use super::context::{SuiteContext, current, scoped};
use super::features::{FeatureSource, Preparsed};
use super::results::{Outcome, RunSummary, ScenarioResult, StepFailure};
use super::select::{Selection, all_tags, parse_tags, scenario_location, select};
use super::world::ConformanceWorld;
use cucumber::gherkin::Feature;
use cucumber::gherkin::tagexpr::TagOperation;

/// How to run the suite.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The features: the built-in ones, or a directory of `.feature` files.
    pub features: FeatureSource,
    /// A cucumber tag expression, for example `@bound and not @serial`.
    pub tags: Option<String>,
    /// Where to write cucumber's own `cucumber.json`; nothing is written when `None`.
    pub report_dir: Option<PathBuf>,
    /// Show a progress bar (or plain progress lines) instead of cucumber's step-by-step output.
    pub progress: bool,
    /// With `progress`: print nothing at all (a run inside a test of many runs).
    pub quiet: bool,
    /// How many scenarios run at once (each owns a mesh); `None` lets cucumber decide (64).
    pub max_concurrent_scenarios: Option<usize>,
}

/// Concurrent scenarios against a target other than the embedded emulator: each scenario owns a
/// mesh, and App Mesh allows 15 meshes per account by default.
pub const EXTERNAL_TARGET_CONCURRENCY: usize = 8;

/// Scenarios run at once against the embedded emulator when `--jobs` is not given: enough to keep
/// two cores busy while requests wait on each other, few enough that thousands of scenarios do not
/// hold their worlds and exchanges in memory at once (measured in README).
pub const EMBEDDED_TARGET_CONCURRENCY: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("bad tag expression {expression:?}: {message}")]
    BadTags { expression: String, message: String },
    #[error(
        "cannot read the features in {dir}: {error}; pass a directory of .feature files, or leave --features out to run the built-in ones"
    )]
    NoFeatures { dir: PathBuf, error: String },
    #[error("cannot write reports to {path}: {error}")]
    Reports { path: PathBuf, error: std::io::Error },
}

fn create_report_file(dir: &Path, name: &str) -> Result<std::fs::File, RunError> {
    let path = dir.join(name);
    std::fs::File::create(&path).map_err(|error| RunError::Reports { path, error })
}

/// What a panic carried, as text.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a step panicked without a message".to_string())
}

/// Runs the selected scenarios of `options.features` against the context's client. Any number of
/// runs may go on at once in one process: each installs its own context for its scenarios.
pub async fn run(ctx: Arc<SuiteContext>, options: RunOptions) -> Result<RunSummary, RunError> {
    let tags = options.tags.as_deref().map(parse_tags).transpose()?;
    // Parsed on a thread of its own: thousands of scenarios take a while to parse in a debug
    // build, and an interrupt (Ctrl-C) must be heard meanwhile. Not `spawn_blocking`: the runtime
    // would wait for it at exit, so an interrupted run would not end until the parse did.
    let source = options.features.clone();
    let (parsed, loaded) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || parsed.send(super::features::load(&source)));
    let loaded =
        loaded.await.unwrap_or_else(|_| Err(std::io::Error::other("the thread parsing the features panicked")));
    let (features, unparsed) = loaded.map_err(|error| match &options.features {
        FeatureSource::Dir(dir) => RunError::NoFeatures { dir: dir.clone(), error: error.to_string() },
        FeatureSource::Embedded => RunError::NoFeatures { dir: PathBuf::from("(embedded)"), error: error.to_string() },
    })?;
    for failure in &unparsed {
        eprintln!("error: the feature file {} does not parse: {}", failure.path, failure.message);
    }
    ctx.expected_scenarios.store(count_selected(&ctx, tags.as_ref(), &features), Ordering::Relaxed);

    let base = ConformanceWorld::cucumber::<PathBuf>()
        .with_parser(Preparsed)
        .before(|_feature, _rule, scenario, world| {
            world.scenario_member = scenario.tags.iter().find_map(|t| t.strip_prefix("member:")).map(str::to_string);
            world.scenario_rule = crate::generate::RuleTag::of(&scenario.tags);
            Box::pin(async {})
        })
        .after(|feature, rule, scenario, finished, world| {
            async move {
                let (mut step_failures, mut findings, mut unjudged) = (Vec::new(), Vec::new(), Vec::new());
                if let Some(world) = world {
                    world.clean_up().await;
                    step_failures = std::mem::take(&mut world.step_failures);
                    findings = std::mem::take(&mut world.findings);
                    unjudged = std::mem::take(&mut world.unjudged);
                }
                // A step that failed without recording a check (an assertion of the harness's
                // own, a missing step definition) still leaves its reason in the results.
                if step_failures.is_empty()
                    && let event::ScenarioFinished::StepFailed(_, _, error) = finished
                {
                    let message = match error {
                        event::StepError::Panic(payload) => panic_text(payload.as_ref()),
                        other => other.to_string(),
                    };
                    step_failures.push(StepFailure {
                        step: "(a step)".to_string(),
                        failures: vec![],
                        exchange: None,
                        error: Some(message),
                    });
                }
                let outcome = match finished {
                    event::ScenarioFinished::StepPassed => Outcome::Passed,
                    // A skipped step (usually one with no definition) fails the scenario unless the
                    // scenario allows it, as cucumber's own fail_on_skipped does.
                    event::ScenarioFinished::StepSkipped if scenario.tags.iter().any(|t| t == "allow.skipped") => {
                        Outcome::Skipped
                    }
                    _ => Outcome::Failed,
                };
                let location = scenario_location(feature, scenario);
                current().results.lock().unwrap_or_else(|p| p.into_inner()).push(ScenarioResult {
                    feature: feature.name.clone(),
                    scenario: scenario.name.clone(),
                    location,
                    outcome,
                    failures: step_failures,
                    findings,
                    unjudged,
                    skip_reason: None,
                    tags: all_tags(feature, rule, scenario),
                });
            }
            .boxed_local()
        })
        .fail_on_skipped()
        .max_concurrent_scenarios(options.max_concurrent_scenarios);

    // Select by the tag expression, then drop (and report as skipped, with the reason) what the
    // target profile does not declare the preconditions for.
    let filter_ctx = ctx.clone();
    let filter_tags = tags.clone();
    let filter = move |feature: &cucumber::gherkin::Feature,
                       rule: Option<&cucumber::gherkin::Rule>,
                       scenario: &cucumber::gherkin::Scenario| {
        match select(&filter_ctx, filter_tags.as_ref(), feature, rule, scenario) {
            Selection::Out => false,
            Selection::Run => true,
            Selection::Skip(reason) => {
                filter_ctx.record_skip(feature, rule, scenario, reason);
                false
            }
        }
    };
    let cucumber_json = match &options.report_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| RunError::Reports { path: dir.clone(), error })?;
            Some(create_report_file(dir, "cucumber.json")?)
        }
        None => None,
    };
    let progress = || Progress::new(ctx.clone(), options.quiet);
    let running = async {
        match (options.progress, cucumber_json) {
            (true, Some(json)) => {
                let writer = progress().tee::<ConformanceWorld, _>(writer::Json::for_tee(json)).normalized();
                let cli = cli::Opts::<_, _, _, cli::Empty>::default();
                base.with_writer(writer).with_cli(cli).filter_run(features, filter).await;
            }
            (true, None) => {
                let cli = cli::Opts::<_, _, _, cli::Empty>::default();
                base.with_writer(progress().normalized()).with_cli(cli).filter_run(features, filter).await;
            }
            (false, Some(json)) => {
                let writer = writer::Basic::stdout()
                    .summarized()
                    .tee::<ConformanceWorld, _>(writer::Json::for_tee(json))
                    .normalized();
                let cli = cli::Opts::<_, _, _, cli::Empty>::default();
                base.with_writer(writer).with_cli(cli).filter_run(features, filter).await;
            }
            (false, None) => {
                base.with_cli(cli::Opts::<_, _, _, cli::Empty>::default()).filter_run(features, filter).await;
            }
        }
    };
    scoped(ctx.clone(), running).await;

    let mut summary = summary_so_far(&ctx);
    summary.parsing_errors = unparsed.len();
    Ok(summary)
}

/// How many scenarios will run (outlines are expanded already), for the progress bar.
fn count_selected(ctx: &SuiteContext, tags: Option<&TagOperation>, features: &[Feature]) -> usize {
    let mut count = 0;
    for feature in features {
        let scenarios = feature
            .scenarios
            .iter()
            .map(|s| (None, s))
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))));
        for (rule, scenario) in scenarios {
            if let Selection::Run = select(ctx, tags, feature, rule, scenario) {
                count += 1;
            }
        }
    }
    count
}

/// The results of the scenarios that have finished, with the error table judged on what they
/// saw: the summary of a whole run, or of a run stopped early (its unfinished scenarios are left
/// out).
pub fn summary_so_far(ctx: &SuiteContext) -> RunSummary {
    let mut scenarios = std::mem::take(&mut *ctx.results.lock().unwrap_or_else(|p| p.into_inner()));
    // The error table is judged on what the scenarios saw; with no scenario run, there is no run.
    if !scenarios.is_empty() {
        scenarios.extend(judge_observed_errors(ctx));
    }
    let count = |outcome: Outcome| scenarios.iter().filter(|s| s.outcome == outcome).count();
    RunSummary {
        passed: count(Outcome::Passed),
        failed: count(Outcome::Failed),
        skipped: count(Outcome::Skipped),
        parsing_errors: 0,
        cleanup_problems: ctx.cleanup_problems.load(Ordering::Relaxed),
        requests: ctx.client.requests(),
        retries: ctx.client.retries(),
        scenarios,
        error_sightings: ctx.error_sightings.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect(),
    }
}

/// The feature name of the results [`judge_observed_errors`] adds.
pub const ERROR_TABLE_FEATURE: &str = "The documented error table, judged on every answer";

/// After every scenario has run: each error code documented for the operations the run called
/// is judged on every answer that carried it (status, `x-amzn-ErrorType`, JSON message). A code
/// no answer carried is skipped with the reason, never passed: a client cannot provoke a server
/// fault, and a target may never throttle.
fn judge_observed_errors(ctx: &SuiteContext) -> Vec<ScenarioResult> {
    let model = ctx.client.model();
    let called = ctx.client.latency().into_keys().collect::<Vec<_>>();
    let codes: std::collections::BTreeSet<&String> =
        called.iter().filter_map(|name| model.operation(name)).flat_map(|op| &op.errors).collect();
    codes
        .into_iter()
        .map(|code| {
            let observed = ctx.observed_errors(code);
            let failures: Vec<StepFailure> = observed
                .iter()
                .filter_map(|exchange| {
                    let failures = crate::checks::check_error(model, exchange, code);
                    (!failures.is_empty()).then(|| StepFailure {
                        step: format!("Then every {code} answer has the documented wire shape"),
                        failures,
                        exchange: Some(exchange.clone()),
                        error: None,
                    })
                })
                .collect();
            let provoked = ctx.provoked_errors.lock().unwrap_or_else(|p| p.into_inner()).contains(code);
            let skip_reason = observed.is_empty().then(|| {
                let server_fault = model.structure(code).and_then(|s| s.error.as_ref()).is_some_and(|e| !e.sender_fault);
                if provoked {
                    format!("scenarios asked for {code}, but no answer carried it (each of those scenarios judges its answer)")
                } else if server_fault {
                    format!("no {code} answer came during the run: a client cannot provoke a server fault, so it is judged whenever a target sends one")
                } else {
                    format!("no scenario of this run provokes {code} and the target sent none, so there was nothing to judge")
                }
            });
            let outcome = match (&skip_reason, failures.is_empty()) {
                (Some(_), _) => Outcome::Skipped,
                (None, true) => Outcome::Passed,
                (None, false) => Outcome::Failed,
            };
            ScenarioResult {
                feature: ERROR_TABLE_FEATURE.to_string(),
                scenario: format!("Every {code} answer has the documented wire shape"),
                location: format!("error-table:{code}"),
                outcome,
                failures,
                findings: Vec::new(),
                unjudged: Vec::new(),
                skip_reason,
                tags: vec!["error".to_string(), "observed".to_string(), format!("expect:{code}")],
            }
        })
        .collect()
}
