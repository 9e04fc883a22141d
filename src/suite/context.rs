//! What every scenario of one run shares (the [`SuiteContext`]), and how a scenario finds it:
//! the run installs its context as a task-local for the duration of its cucumber run, so that
//! any number of runs can go on in one process, at once.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::results::{Outcome, ScenarioResult};
use super::select::{all_tags, scenario_location};
use crate::checks::CheckContext;
use crate::client::Client;
use crate::exchange::Exchange;
use crate::profile::TargetProfile;

tokio::task_local! {
    /// The context of the run whose scenarios the current task executes.
    static CURRENT: Arc<SuiteContext>;
}

/// How long one scenario may take unless told otherwise.
pub const DEFAULT_SCENARIO_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// What every scenario of a run shares: the client, what is known of the target, the run id and
/// the collected results.
pub struct SuiteContext {
    pub client: Arc<Client>,
    pub account_id: Option<String>,
    /// What is declared about the target.
    pub profile: TargetProfile,
    /// `--max-rps` as the user gave it: it binds the probe's bursts too. (The client may also be
    /// paced automatically below a declared throttle rate; bursts are not bound by that.)
    pub explicit_max_rps: Option<f64>,
    /// Prefix of every resource name the run creates, so leftovers can be traced to their run.
    pub run_id: String,
    sequence: AtomicU64,
    pub(super) results: Mutex<Vec<ScenarioResult>>,
    /// Every error answer the scenarios received, judged after the run (see
    /// [`judge_observed_errors`]).
    pub(super) observed_errors: Mutex<Vec<Exchange>>,
    /// (operation, error code) pairs a scenario provoked on purpose or the target sent: the
    /// run's coverage of the error table.
    pub(super) error_sightings: Mutex<std::collections::BTreeSet<(String, String)>>,
    /// The error codes scenarios asked for on purpose ("the request fails with ...").
    pub(super) provoked_errors: Mutex<std::collections::BTreeSet<String>>,
    /// `--strict-docs`: judge disputed points by the documentation's reading.
    pub strict_docs: bool,
    pub(super) cleanup_problems: AtomicUsize,
    /// Every mesh the run asked for, until it is known to be gone.
    pub ledger: crate::cleanup::Ledger,
    /// Meshes the target said it created.
    meshes_created: AtomicUsize,
    /// The longest one scenario may take: after it, its steps send nothing more.
    pub scenario_deadline: std::time::Duration,
    /// The seed of every random choice the scenarios make (names, client tokens).
    pub seed: u64,
    rng: Mutex<fastrand::Rng>,
    /// Scenarios the run is expected to run, counted before it starts (for the progress bar).
    pub(super) expected_scenarios: AtomicUsize,
}

impl SuiteContext {
    pub fn new(client: Arc<Client>, account_id: Option<String>, profile: TargetProfile) -> Self {
        Self::with_seed(client, account_id, profile, fastrand::u64(..))
    }

    /// A context whose random choices (names, client tokens) follow `seed`: with one scenario at
    /// a time (`--jobs 1`) a run repeats them exactly.
    pub fn with_seed(client: Arc<Client>, account_id: Option<String>, profile: TargetProfile, seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let run_id = crate::cleanup::run_id(&crate::cleanup::random_tag(&mut rng));
        SuiteContext {
            seed,
            rng: Mutex::new(rng),
            ledger: Default::default(),
            meshes_created: AtomicUsize::new(0),
            scenario_deadline: DEFAULT_SCENARIO_DEADLINE,
            client,
            account_id,
            profile,
            explicit_max_rps: None,
            run_id,
            sequence: AtomicU64::new(0),
            results: Mutex::new(Vec::new()),
            observed_errors: Mutex::new(Vec::new()),
            error_sightings: Mutex::new(Default::default()),
            provoked_errors: Mutex::new(Default::default()),
            strict_docs: false,
            cleanup_problems: AtomicUsize::new(0),
            expected_scenarios: AtomicUsize::new(0),
        }
    }

    /// A name unique to this run: `{run_id}-{kind}-{n}`.
    pub fn unique_name(&self, kind: &str) -> String {
        format!("{}-{kind}-{}", self.run_id, self.sequence.fetch_add(1, Ordering::Relaxed))
    }

    /// A name of exactly `length` characters, unique to the run where the length allows (the run
    /// id and a sequence number, padded); shorter names are random.
    pub fn unique_name_of_length(&self, length: usize) -> String {
        let name = self.unique_name("n");
        if name.len() <= length {
            let padding = "x".repeat(length - name.len());
            return format!("{name}{padding}");
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        (0..length).map(|_| rng.alphanumeric().to_ascii_lowercase()).collect()
    }

    /// A random version-4 UUID from the run's seed, for client tokens.
    pub fn fresh_token(&self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    /// Records a scenario skipped because its precondition is not declared, with why (the
    /// progress writer shows it).
    pub(super) fn record_skip(
        &self,
        feature: &cucumber::gherkin::Feature,
        rule: Option<&cucumber::gherkin::Rule>,
        scenario: &cucumber::gherkin::Scenario,
        reason: String,
    ) {
        let location = scenario_location(feature, scenario);
        let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        if results.iter().any(|r| r.location == location) {
            return;
        }
        results.push(ScenarioResult {
            feature: feature.name.clone(),
            scenario: scenario.name.clone(),
            location,
            outcome: Outcome::Skipped,
            failures: Vec::new(),
            findings: Vec::new(),
            unjudged: Vec::new(),
            skip_reason: Some(reason),
            tags: all_tags(feature, rule, scenario),
        });
    }

    /// The answer to a CreateMesh the run sent for `asked` (its name as sent, if it had one):
    /// the ledger learns what was created, and under which name.
    pub fn mesh_answered(&self, asked: Option<&str>, exchange: &Exchange) {
        if exchange.status() != 200 {
            return;
        }
        self.meshes_created.fetch_add(1, Ordering::Relaxed);
        let answered = exchange.json().unwrap_or_default();
        match (asked, answered["meshName"].as_str()) {
            (Some(name), _) | (None, Some(name)) => self.ledger.created(name),
            (None, None) => {
                let arn = answered["metadata"]["arn"].as_str();
                self.ledger.created_unnamed(arn, "a mesh created by a CreateMesh that named none".to_string());
            }
        }
    }

    /// Meshes the target said it created for this run.
    pub fn meshes_created(&self) -> usize {
        self.meshes_created.load(Ordering::Relaxed)
    }

    /// A create's input with the run's tag, unless it sets tags of its own.
    pub fn tagged(&self, input: Value) -> Value {
        crate::cleanup::with_run_tag(input, &self.run_id)
    }

    /// Keeps an error answer, to be judged against the error table after the run.
    pub fn observe_error(&self, exchange: &Exchange) {
        if let (Some(operation), Some(code)) = (&exchange.operation, exchange.error_code()) {
            self.sight_error(operation, &code);
        }
        self.observed_errors.lock().unwrap_or_else(|p| p.into_inner()).push(exchange.clone());
    }

    /// Records that `operation` answered (or was made to answer) `code`.
    pub fn sight_error(&self, operation: &str, code: &str) {
        let mut sightings = self.error_sightings.lock().unwrap_or_else(|p| p.into_inner());
        sightings.insert((operation.to_string(), code.to_string()));
    }

    /// A scenario asked `operation` for `code` on purpose: it counts toward the run's coverage of
    /// the error table whatever the target answered (the scenario judges the answer).
    pub fn provoke_error(&self, operation: &str, code: &str) {
        self.sight_error(operation, code);
        self.provoked_errors.lock().unwrap_or_else(|p| p.into_inner()).insert(code.to_string());
    }

    /// The error answers received with the given code.
    pub fn observed_errors(&self, code: &str) -> Vec<Exchange> {
        let observed = self.observed_errors.lock().unwrap_or_else(|p| p.into_inner());
        observed.iter().filter(|e| e.error_code().as_deref() == Some(code)).cloned().collect()
    }

    pub fn check_context(&self) -> CheckContext {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        CheckContext { region: self.client.config().region.clone(), account_id: self.account_id.clone(), now }
    }
}

/// The context of the run being executed on this task.
pub(super) fn current() -> Arc<SuiteContext> {
    CURRENT.with(Clone::clone)
}

/// Runs `future` with `ctx` as the current run's context.
pub(super) async fn scoped<F: std::future::Future>(ctx: Arc<SuiteContext>, future: F) -> F::Output {
    CURRENT.scope(ctx, future).await
}
