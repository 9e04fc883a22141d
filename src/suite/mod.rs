//! The cucumber suite: the World, the step definitions (grouped by domain under [`steps`]) and the
//! runner shared by `appmesh-conformance run` and `cargo test --test conformance`.
//!
//! Every scenario creates its own mesh, named after the run id, and the after-hook deletes what
//! the scenario created (virtual nodes, then meshes) whether the scenario passed or failed.
//! A failing step panics with the failed checks and the recorded exchange, and its failures are
//! kept in the run's result for the summary.

mod progress;
pub mod steps;

pub use progress::Progress;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::{World, cli, event, writer, writer::Ext as _};
use futures::FutureExt as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::checks::{CheckContext, CheckFailure};
use crate::client::{Client, ClientError, Exchange};
use crate::profile::TargetProfile;

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
    results: Mutex<Vec<ScenarioResult>>,
    /// Every error answer the scenarios received, judged after the run (see
    /// [`judge_observed_errors`]).
    observed_errors: Mutex<Vec<Exchange>>,
    /// (operation, error code) pairs a scenario provoked on purpose or the target sent: the
    /// run's coverage of the error table.
    error_sightings: Mutex<std::collections::BTreeSet<(String, String)>>,
    /// The error codes scenarios asked for on purpose ("the request fails with ...").
    provoked_errors: Mutex<std::collections::BTreeSet<String>>,
    /// `--strict-docs`: judge disputed points by the documentation's reading.
    pub strict_docs: bool,
    cleanup_problems: AtomicUsize,
    /// Every mesh the run asked for, until it is known to be gone.
    pub ledger: crate::cleanup::Ledger,
    /// Meshes the target said it created.
    meshes_created: AtomicUsize,
    /// The longest one scenario may take: after it, its steps send nothing more.
    pub scenario_deadline: std::time::Duration,
    /// The seed of every random choice the scenarios make (names, client tokens).
    pub seed: u64,
    rng: Mutex<fastrand::Rng>,
    /// Feature files the progress writer saw fail to parse.
    parse_errors: AtomicUsize,
    /// Scenarios the run is expected to run, counted before it starts (for the progress bar).
    expected_scenarios: AtomicUsize,
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
            parse_errors: AtomicUsize::new(0),
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
    fn record_skip(
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

static CONTEXT: OnceLock<Arc<SuiteContext>> = OnceLock::new();

/// How long one scenario may take unless told otherwise.
pub const DEFAULT_SCENARIO_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// `features/x.feature:12`, where a scenario is written.
/// The path is relative to the working directory where it can be, so that locations (which
/// expectations files name) are the same on every machine.
fn scenario_location(feature: &cucumber::gherkin::Feature, scenario: &cucumber::gherkin::Scenario) -> String {
    match &feature.path {
        Some(path) => {
            let relative =
                std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
            format!("{}:{}", relative.as_deref().unwrap_or(path).display(), scenario.position.line)
        }
        None => format!("{}:{}", feature.name, scenario.position.line),
    }
}

fn context() -> Arc<SuiteContext> {
    CONTEXT.get().expect("suite::run installs the context before any scenario starts").clone()
}

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

/// The tags of a scenario with those of its rule and feature, without the `@`.
fn all_tags(
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
) -> Vec<String> {
    feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(scenario.tags.iter()).cloned().collect()
}

/// What a panic carried, as text.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a step panicked without a message".to_string())
}

/// The scenario state. `Debug` is short and shows no secrets: cucumber prints it on failure.
#[derive(World)]
#[world(init = Self::new)]
pub struct ConformanceWorld {
    ctx: Arc<SuiteContext>,
    /// Meshes this scenario asked for (whatever the answer), removed by the after-hook.
    asked_meshes: Vec<String>,
    /// After it, the scenario's steps send nothing more.
    deadline: std::time::Instant,
    /// The mesh the scenario works in.
    mesh: Option<String>,
    /// The target's account, as the scenario's mesh reported it (or as declared).
    account: Option<String>,
    /// The operation of the last request sent with an input.
    sent_operation: String,
    /// The last input sent (the whole input, URI members included, placeholders filled).
    sent: Option<Value>,
    last: Option<Exchange>,
    /// The VirtualNodeData of the last successful create.
    created: Option<Value>,
    /// The answers of the last requests sent all at once.
    concurrent: Vec<Exchange>,
    /// What the last burst saw.
    burst: Option<crate::probe::BurstReport>,
    step_failures: Vec<StepFailure>,
    /// Informational findings of this scenario.
    findings: Vec<StepFailure>,
    /// Checks this scenario's steps could not make, with why.
    unjudged: Vec<Unjudged>,
    /// The member and rule the scenario is about, from its `@member:` and rule tags.
    scenario_member: Option<String>,
    scenario_rule: Option<String>,
}

/// The tags that name a generated scenario's rule.
pub const RULE_TAGS: &[&str] = &["required", "bound", "enum", "union", "type", "uri", "error", "happy"];

impl fmt::Debug for ConformanceWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConformanceWorld")
            .field("mesh", &self.mesh)
            .field("last_status", &self.last.as_ref().map(Exchange::status))
            .finish()
    }
}

impl ConformanceWorld {
    fn new() -> Self {
        ConformanceWorld {
            deadline: std::time::Instant::now() + context().scenario_deadline,
            ctx: context(),
            asked_meshes: Vec::new(),
            mesh: None,
            account: None,
            sent_operation: "CreateVirtualNode".to_string(),
            sent: None,
            last: None,
            created: None,
            concurrent: Vec::new(),
            burst: None,
            step_failures: Vec::new(),
            findings: Vec::new(),
            unjudged: Vec::new(),
            scenario_member: None,
            scenario_rule: None,
        }
    }

    pub fn client(&self) -> &Client {
        &self.ctx.client
    }

    pub fn mesh(&self) -> &str {
        self.mesh.as_deref().expect("a Given step names the mesh first (for example `Given a fresh mesh`)")
    }

    pub fn last(&self) -> &Exchange {
        self.last.as_ref().expect("a When step sends a request first")
    }

    /// Fails the step when there are failures: records them and panics with a readable message.
    pub fn verdict(&mut self, step: &str, mut failures: Vec<CheckFailure>, exchange: Option<&Exchange>) {
        if failures.is_empty() {
            return;
        }
        // A check about the whole answer (its status, say) names the member and rule the
        // scenario is about, so that a failure says what part of the contract broke.
        if let Some(member) = &self.scenario_member {
            for failure in failures.iter_mut().filter(|f| f.path.is_empty()) {
                failure.path = member.clone();
                if let Some(rule) = &self.scenario_rule {
                    failure.rule = format!("[{rule} rule] {}", failure.rule);
                }
            }
        }
        let region = self.client().config().region.clone();
        let mut message = String::new();
        for failure in &failures {
            message.push_str(&format!("{failure}\n"));
        }
        if let Some(exchange) = exchange {
            message.push_str(&format!("exchange:\n{exchange}reproduce:\n  {}\n", exchange.curl(&region)));
        }
        self.step_failures.push(StepFailure {
            step: step.to_string(),
            failures,
            exchange: exchange.cloned(),
            error: None,
        });
        panic!("{message}");
    }

    /// Records informational findings (what a target did where the sources disagree); the step
    /// goes on and the scenario does not fail for them.
    pub fn inform(&mut self, step: &str, findings: Vec<CheckFailure>, exchange: Option<&Exchange>) {
        if findings.is_empty() {
            return;
        }
        self.findings.push(StepFailure {
            step: step.to_string(),
            failures: findings,
            exchange: exchange.cloned(),
            error: None,
        });
    }

    /// Records that the step found nothing to judge, and why: the check is skipped, not passed.
    pub fn unjudged(&mut self, step: &str, reason: impl Into<String>) {
        self.unjudged.push(Unjudged { step: step.to_string(), reason: reason.into() });
    }

    /// Fails the step on a transport or harness error.
    pub fn transport_failure(&mut self, step: &str, error: ClientError) -> ! {
        let message = error.to_string();
        self.step_failures.push(StepFailure {
            step: step.to_string(),
            failures: vec![],
            exchange: None,
            error: Some(message.clone()),
        });
        panic!("{step}: {message}");
    }

    /// Calls an operation with standard retries; a transport error fails the step.
    /// Calls an operation with standard retries. A transport error fails the step; so does a 5xx
    /// answer without the documented error shape, whichever step receives it. Every error answer
    /// is kept for the error-table scenarios.
    pub async fn call(&mut self, step: &str, operation: &str, input: &Value) -> Exchange {
        self.check_deadline(step);
        let client = self.ctx.client.clone();
        let exchange = match client.call(operation, input).await {
            Ok(exchange) => exchange,
            Err(error) => self.transport_failure(step, error),
        };
        self.observe(step, &exchange);
        exchange
    }

    /// Fails the step when the scenario has run past its deadline: it sends nothing more.
    pub fn check_deadline(&mut self, step: &str) {
        if std::time::Instant::now() >= self.deadline {
            let seconds = self.ctx.scenario_deadline.as_secs();
            self.transport_failure(
                step,
                ClientError::Stopped(format!("the scenario ran past its deadline of {seconds} s")),
            );
        }
    }

    /// A CreateMesh is about to be sent for `name`: the ledger and the after-hook know it.
    pub fn asking_for_mesh(&mut self, name: &str) {
        self.ctx.ledger.asked(name);
        if !self.asked_meshes.iter().any(|m| m == name) {
            self.asked_meshes.push(name.to_string());
        }
    }

    /// Signs and sends a request whose body is given as it is (malformed on purpose).
    pub async fn send_raw(&mut self, step: &str, operation: &str, input: &Value, body: &str) -> Exchange {
        self.check_deadline(step);
        let client = self.ctx.client.clone();
        let mut request = match crate::wire::build_request(client.model(), operation, input) {
            Ok(request) => request,
            Err(error) => self.transport_failure(step, error.into()),
        };
        request.body = body.as_bytes().to_vec();
        if !request.headers.iter().any(|(name, _)| name == "content-type") {
            request.headers.push(("content-type".to_string(), "application/json".to_string()));
        }
        let exchange = match client.send(Some(operation), &request, crate::client::RetryMode::Standard).await {
            Ok(exchange) => exchange,
            Err(error) => self.transport_failure(step, error),
        };
        self.observe(step, &exchange);
        exchange
    }

    fn observe(&mut self, step: &str, exchange: &Exchange) {
        if exchange.status() < 400 {
            return;
        }
        self.ctx.observe_error(exchange);
        if exchange.status() >= 500 {
            let model = self.client().model();
            let mut failures = crate::checks::check_error_shape(exchange, None);
            if let Some(code) = exchange.error_code()
                && model.error_status(&code).is_some()
            {
                failures.extend(crate::checks::check_error(model, exchange, &code));
            }
            self.verdict(step, failures, Some(exchange));
        }
    }

    /// Fills the placeholders of a request written in a feature file: `${mesh}`, `${account}`,
    /// `${fresh-token}` and `${unique-name:N}`.
    pub fn fill_placeholders(&self, text: &str) -> String {
        let mut filled = text.to_string();
        if let Some(mesh) = &self.mesh {
            filled = filled.replace("${mesh}", mesh);
        }
        if let Some(account) = self.account.as_ref().or(self.ctx.account_id.as_ref()) {
            filled = filled.replace("${account}", account);
        }
        while filled.contains("${fresh-token}") {
            filled = filled.replacen("${fresh-token}", &self.ctx.fresh_token(), 1);
        }
        static UNIQUE: OnceLock<regex::Regex> = OnceLock::new();
        let unique = UNIQUE.get_or_init(|| regex::Regex::new(r"\$\{unique-name:(\d+)\}").expect("a valid pattern"));
        unique
            .replace_all(&filled, |c: &regex::Captures| self.ctx.unique_name_of_length(c[1].parse().unwrap_or(24)))
            .into_owned()
    }

    /// ListVirtualNodes of the scenario's mesh, every page, shows exactly `expected` virtual nodes.
    /// A listing that fails is its own failure (`list.readable`), never a count.
    pub async fn expect_node_count(&mut self, step: &str, expected: usize, rule: &str) {
        let mesh = self.mesh().to_string();
        let failure = match list_all_nodes(self.client(), &mesh).await {
            Err(problem) => CheckFailure::new(
                "list.readable",
                crate::checks::Severity::Must,
                crate::model::provenance::source::SDK_MODEL,
                "",
                "ListVirtualNodes answers for an existing mesh",
                "200 with a virtualNodes list",
                problem,
            ),
            Ok(names) if names.len() == expected => return,
            Ok(names) => CheckFailure::new(
                "list.count",
                crate::checks::Severity::Must,
                crate::model::provenance::source::API_REFERENCE,
                "virtualNodes",
                rule,
                format!("{expected} virtual node(s)"),
                format!("{} ({})", names.len(), names.join(", ")),
            ),
        };
        self.verdict(step, vec![failure], None);
    }

    /// DescribeVirtualNode of the node the scenario created first: a valid VirtualNodeData equal to
    /// what the create answered.
    pub async fn read_back_created(&mut self, step: &str) {
        let created = self.created.clone().expect("an earlier step created a virtual node");
        let input = json!({ "meshName": created["meshName"], "virtualNodeName": created["virtualNodeName"] });
        let exchange = self.call(step, "DescribeVirtualNode", &input).await;
        let model = self.client().model();
        let op = model.operation("DescribeVirtualNode").expect("DescribeVirtualNode is a required operation");
        let mut failures = crate::checks::check_success(model, op, &exchange);
        if failures.is_empty() {
            failures =
                crate::checks::check_readback("DescribeVirtualNode", &created, &exchange.json().unwrap_or_default());
        }
        self.verdict(step, failures, Some(&exchange));
        self.list_agrees(step, &created).await;
    }

    /// ListVirtualNodes of the node's mesh, every page, has one entry for it, agreeing with
    /// `created`.
    pub async fn list_agrees(&mut self, step: &str, created: &Value) {
        let mut entries = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..100 {
            let mut input = json!({ "meshName": created["meshName"] });
            if let Some(token) = &next_token {
                input["nextToken"] = json!(token);
            }
            let exchange = self.call(step, "ListVirtualNodes", &input).await;
            let model = self.client().model();
            let op = model.operation("ListVirtualNodes").expect("ListVirtualNodes is a required operation");
            let failures = crate::checks::check_success(model, op, &exchange);
            self.verdict(step, failures, Some(&exchange));
            let page = exchange.json().unwrap_or_default();
            entries.extend(page["virtualNodes"].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
        let failures = crate::checks::check_listed(self.client().model(), created, &json!({ "virtualNodes": entries }));
        self.verdict(step, failures, None);
    }

    /// Creates a mesh for this scenario and remembers it for clean-up. Set-up asks only for a
    /// success status: the shape of MeshData is not what the CreateVirtualNode scenarios judge,
    /// and demanding it here would hide every CreateVirtualNode check behind a mesh defect.
    pub async fn create_mesh(&mut self, step: &str) -> String {
        let name = self.ctx.unique_name("mesh");
        self.create_mesh_named(step, name).await
    }

    /// Creates a mesh with the given name for this scenario; see [`Self::create_mesh`].
    pub async fn create_mesh_named(&mut self, step: &str, name: String) -> String {
        // In the ledger before it is sent, so a lost answer or an interrupted run still removes it.
        self.asking_for_mesh(&name);
        let input = self.ctx.tagged(json!({ "meshName": name }));
        let exchange = self.call(step, "CreateMesh", &input).await;
        self.ctx.mesh_answered(Some(&name), &exchange);
        if let Some(owner) = exchange.json().and_then(|b| b["metadata"]["meshOwner"].as_str().map(str::to_string)) {
            self.account.get_or_insert(owner);
        }
        let model = self.client().model();
        let op = model.operation("CreateMesh").expect("CreateMesh is a required operation");
        let failures =
            crate::checks::check_success(model, op, &exchange).into_iter().filter(|f| f.id == "http.status").collect();
        self.verdict(step, failures, Some(&exchange));
        name
    }

    /// Removes every mesh the scenario asked for, whatever its create answered (a lost answer
    /// may have created it), with its virtual nodes. Problems are printed, counted, kept in the
    /// ledger for the end of the run, and do not hide the scenario's own result.
    async fn clean_up(&mut self) {
        let client = self.ctx.client.clone();
        for mesh in std::mem::take(&mut self.asked_meshes) {
            self.ctx.ledger.remove(&client, &mesh).await;
            if let Some((_, crate::cleanup::MeshState::Left(why))) =
                self.ctx.ledger.outstanding().into_iter().find(|(name, _)| *name == mesh)
            {
                self.ctx.cleanup_problems.fetch_add(1, Ordering::Relaxed);
                eprintln!("warning: clean-up of mesh {mesh:?} left something behind: {why}");
            }
        }
    }
}

pub use crate::cleanup::list_all_nodes;

/// How to run the suite.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The directory of `.feature` files.
    pub features: PathBuf,
    /// A cucumber tag expression, for example `@bound and not @serial`.
    pub tags: Option<String>,
    /// Where to write cucumber's own `cucumber.json`; nothing is written when `None`.
    pub report_dir: Option<PathBuf>,
    /// Show a progress bar (or plain progress lines) instead of cucumber's step-by-step output.
    pub progress: bool,
    /// How many scenarios run at once (each owns a mesh); `None` lets cucumber decide (64).
    pub max_concurrent_scenarios: Option<usize>,
}

/// Concurrent scenarios against a target other than the embedded emulator: each scenario owns a
/// mesh, and App Mesh allows 15 meshes per account by default.
pub const EXTERNAL_TARGET_CONCURRENCY: usize = 8;

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

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the suite can run only once per process")]
    AlreadyRan,
    #[error("bad tag expression {expression:?}: {message}")]
    BadTags { expression: String, message: String },
    #[error("the features directory {0} does not exist; run from the repository root or pass --features DIR")]
    NoFeatures(PathBuf),
    #[error("cannot write reports to {path}: {error}")]
    Reports { path: PathBuf, error: std::io::Error },
}

/// Parses a cucumber tag expression, with an error that names it.
pub fn parse_tags(expression: &str) -> Result<TagOperation, RunError> {
    expression
        .parse::<TagOperation>()
        .map_err(|e| RunError::BadTags { expression: expression.to_string(), message: e.to_string() })
}

fn create_report_file(dir: &Path, name: &str) -> Result<std::fs::File, RunError> {
    let path = dir.join(name);
    std::fs::File::create(&path).map_err(|error| RunError::Reports { path, error })
}

/// Whether a scenario runs: left out by the tag expression, skipped for an undeclared
/// precondition (with the reason), or run.
enum Selection {
    Out,
    Skip(String),
    Run,
}

fn select(
    ctx: &SuiteContext,
    tags: Option<&TagOperation>,
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
) -> Selection {
    let all: Vec<&String> =
        feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(scenario.tags.iter()).collect();
    if let Some(selection) = tags
        && !cucumber::tag::Ext::eval(selection, all.iter().copied())
    {
        return Selection::Out;
    }
    let has = |tag: &str| all.iter().any(|t| t.as_str() == tag);
    let unmet = ctx
        .profile
        .unmet(all.iter().copied())
        .or_else(|| {
            (ctx.explicit_max_rps.is_none() && has("requires:max-rps"))
                .then(|| "no --max-rps is set for this run (APPMESH_MAX_RPS for cargo test)".to_string())
        })
        .or_else(|| match (ctx.explicit_max_rps, ctx.profile.throttle_rps) {
            (Some(max), Some(throttle)) if has("requires:throttle-rps") && max <= throttle => Some(format!(
                "--max-rps {max} keeps every burst at or below the declared throttle rate {throttle}, so none can be throttled"
            )),
            _ => None,
        });
    match unmet {
        None => Selection::Run,
        Some(reason) => Selection::Skip(reason),
    }
}

/// How many scenarios under `dir` will run (an outline counts once per example row), for the
/// progress bar before cucumber has parsed everything. Unparseable files count nothing here;
/// cucumber reports them.
fn count_selected(ctx: &SuiteContext, tags: Option<&TagOperation>, dir: &Path) -> usize {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "feature") {
                files.push(path);
            }
        }
    }
    let mut count = 0;
    for path in files {
        let Ok(feature) = cucumber::gherkin::Feature::parse_path(&path, cucumber::gherkin::GherkinEnv::default())
        else {
            continue;
        };
        let scenarios = feature
            .scenarios
            .iter()
            .map(|s| (None, s))
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))));
        for (rule, scenario) in scenarios {
            if let Selection::Run = select(ctx, tags, &feature, rule, scenario) {
                let rows: usize = scenario
                    .examples
                    .iter()
                    .map(|e| e.table.as_ref().map_or(0, |t| t.rows.len().saturating_sub(1)))
                    .sum();
                count += if scenario.examples.is_empty() { 1 } else { rows };
            }
        }
    }
    count
}

/// Runs every scenario under `options.features` against the context's client.
pub async fn run(ctx: Arc<SuiteContext>, options: RunOptions) -> Result<RunSummary, RunError> {
    let tags = options.tags.as_deref().map(parse_tags).transpose()?;
    if !options.features.is_dir() {
        return Err(RunError::NoFeatures(options.features.clone()));
    }
    CONTEXT.set(ctx.clone()).map_err(|_| RunError::AlreadyRan)?;

    let base = ConformanceWorld::cucumber()
        .before(|_feature, _rule, scenario, world| {
            world.scenario_member = scenario.tags.iter().find_map(|t| t.strip_prefix("member:")).map(str::to_string);
            world.scenario_rule = scenario.tags.iter().find(|t| RULE_TAGS.contains(&t.as_str())).cloned();
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
                context().results.lock().unwrap_or_else(|p| p.into_inner()).push(ScenarioResult {
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
    ctx.expected_scenarios.store(count_selected(&ctx, tags.as_ref(), &options.features), Ordering::Relaxed);
    let cucumber_json = match &options.report_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| RunError::Reports { path: dir.clone(), error })?;
            Some(create_report_file(dir, "cucumber.json")?)
        }
        None => None,
    };
    let features = options.features.clone();
    let parsing_errors = match (options.progress, cucumber_json) {
        (true, Some(json)) => {
            let writer = Progress::new().tee::<ConformanceWorld, _>(writer::Json::for_tee(json)).normalized();
            base.with_writer(writer)
                .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
                .filter_run(features, filter)
                .await;
            ctx.parse_errors.load(Ordering::Relaxed)
        }
        (true, None) => {
            let writer = Progress::new().normalized();
            base.with_writer(writer)
                .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
                .filter_run(features, filter)
                .await;
            ctx.parse_errors.load(Ordering::Relaxed)
        }
        (false, Some(json)) => {
            let writer = writer::Basic::stdout()
                .summarized()
                .tee::<ConformanceWorld, _>(writer::Json::for_tee(json))
                .normalized();
            let result = base
                .with_writer(writer)
                .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
                .filter_run(features, filter)
                .await;
            writer::Stats::<ConformanceWorld>::parsing_errors(&result)
        }
        (false, None) => {
            let result = base.with_cli(cli::Opts::<_, _, _, cli::Empty>::default()).filter_run(features, filter).await;
            writer::Stats::<ConformanceWorld>::parsing_errors(&result)
        }
    };

    let mut summary = summary_so_far(&ctx);
    summary.parsing_errors = parsing_errors;
    Ok(summary)
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
