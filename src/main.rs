//! The `appmesh-conformance` command: `run` tests a target, `serve` runs the embedded emulator.
//!
//! Exit codes of `run`: 0 when every check passes, 1 when any check fails, 2 on a usage or
//! configuration error (bad flag, unreadable model, unreachable endpoint, missing credentials),
//! always with one line saying what to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use appmesh_conformance::cleanup;
use appmesh_conformance::emulator::{self, AuthConfig, Deviation, EmulatorConfig, Quotas, RateLimit};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::profile::TargetProfile;
use appmesh_conformance::report::{self, Expectations, ModelInfo, Report, RunInfo, TargetInfo};
use appmesh_conformance::suite::{self, RunOptions, SuiteContext};
use appmesh_conformance::target::{self, TargetOptions};
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "appmesh-conformance",
    version,
    about = "Contract and conformance tests for the AWS App Mesh CreateVirtualNode API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the conformance suite against a target (the embedded emulator unless told otherwise).
    Run(RunArgs),
    /// Serve the embedded emulator on a loopback port, for other clients and harnesses.
    Serve(ServeArgs),
    /// Generate the Gherkin scenarios of features/generated/ from the contract model.
    Generate(GenerateArgs),
    /// Replay a finding (a fuzz artifact or a shrunk proptest case) against a target and write
    /// it as a Gherkin regression scenario under features/regressions/.
    Repro(ReproArgs),
    /// Delete what harness runs left on a target: meshes named by a run (and tagged by it, where
    /// the target lists tags), with their virtual nodes.
    Cleanup(CleanupArgs),
}

#[derive(Debug, Args)]
struct ReproArgs {
    /// The finding: a fuzz artifact (fuzz/artifacts/TARGET/crash-...) of `endpoint` or
    /// `emulator_request`, or a JSON CreateVirtualNode input (a property's counterexample).
    #[arg(value_name = "ARTIFACT")]
    artifact: PathBuf,
    /// The target to replay against. Without it: APPMESH_ENDPOINT and the other endpoint
    /// variables, else the embedded emulator.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// AWS region. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1.
    #[arg(long)]
    region: Option<String>,
    /// Where the regression feature goes.
    #[arg(long, value_name = "DIR", default_value = "features/regressions")]
    out: PathBuf,
    /// The scenario's title [default: from the artifact's file name].
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Replay only; write no scenario.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct CleanupArgs {
    /// The target, for example http://127.0.0.1:4566. Without it: APPMESH_ENDPOINT,
    /// AWS_ENDPOINT_URL_APP_MESH, AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Clean up the real regional AWS endpoint (https://appmesh.REGION.amazonaws.com).
    #[arg(long, conflicts_with = "endpoint")]
    aws: bool,
    /// AWS region. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1.
    #[arg(long)]
    region: Option<String>,
    /// Only the resources of this run (as printed by `run` and shown in its reports), for example
    /// acf-6743a1b2-x9k2. Default: every harness run's.
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Pace the requests to at most this many per second [default: unpaced; 8 with --aws].
    #[arg(long, value_name = "R")]
    max_rps: Option<f64>,
    /// Limit on each request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// The operation to generate for (repeatable). Default: CreateVirtualNode and CreateMesh.
    #[arg(long, value_name = "NAME")]
    operation: Vec<String>,
    /// An AWS SDK service model for App Mesh to generate from instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Where the feature files go, one folder per operation.
    #[arg(long, value_name = "DIR", default_value = "features/generated")]
    out: PathBuf,
    /// Write nothing; exit 1 and name the files that differ from what would be generated.
    #[arg(long)]
    check: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Endpoint to test, for example http://127.0.0.1:4566. Without it: APPMESH_ENDPOINT,
    /// AWS_ENDPOINT_URL_APP_MESH, AWS_ENDPOINT_URL, else the embedded emulator.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Test the real regional AWS endpoint (https://appmesh.REGION.amazonaws.com). Creates and
    /// deletes real resources in your account. Never chosen implicitly.
    #[arg(long, conflicts_with = "endpoint")]
    aws: bool,
    /// AWS region. Default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1.
    #[arg(long)]
    region: Option<String>,
    /// The target's 12-digit account id, when known; owners and ARNs are then checked against it.
    #[arg(long, env = "APPMESH_ACCOUNT_ID", value_name = "ID")]
    account_id: Option<String>,
    /// A TOML target profile declaring what the harness cannot know (see targets/*.toml). Flags
    /// given as well override it.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// The target's virtual-node quota per mesh [default: 200, App Mesh's].
    #[arg(long, value_name = "N")]
    node_quota: Option<usize>,
    /// The request rate the target is expected to throttle above [default: unknown, and the
    /// scenarios that need it are skipped with the reason printed].
    #[arg(long, value_name = "RPS")]
    throttle_rps: Option<f64>,
    /// Whether the target refuses unsigned and wrongly signed requests [default: true].
    #[arg(long, value_name = "BOOL")]
    auth_enforced: Option<bool>,
    /// Cucumber tag expression selecting scenarios, for example '@error and not @serial'.
    #[arg(long, value_name = "EXPR")]
    tags: Option<String>,
    /// What the target is, for the reports, for example "moto 5.2.5".
    #[arg(long, value_name = "TEXT")]
    target_label: Option<String>,
    /// Scenarios run at once (@serial ones always run alone). [default: unbounded against the
    /// embedded emulator; 8 against any other endpoint: each scenario owns a mesh, and App Mesh
    /// allows 15 meshes per account]
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Seed of the run's random choices (names, client tokens); printed and kept in the report.
    /// With --jobs 1 a run with the same seed makes the same choices. [default: random]
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// A TOML file of known deviations (see reports/expectations/): the failures it lists are
    /// expected, and the run exits 0 when every failure is.
    #[arg(long, value_name = "FILE")]
    expectations: Option<PathBuf>,
    /// With --expectations: also fail when a listed deviation no longer shows (remove it from the
    /// file).
    #[arg(long, requires = "expectations")]
    strict: bool,
    /// Directory of .feature files.
    #[arg(long, value_name = "DIR", default_value = "features")]
    features: PathBuf,
    /// Where the reports go.
    #[arg(long, value_name = "DIR", default_value = "reports/latest")]
    report_dir: PathBuf,
    /// An AWS SDK service model for App Mesh to test with instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Pace all the harness's requests, retries included, to at most this many per second.
    /// [default: unpaced; 8 with --aws, which a real account does not throttle]
    #[arg(long, value_name = "R")]
    max_rps: Option<f64>,
    /// Limit on each request, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// Limit on the whole run, in seconds: past it the run stops, cleans up and writes its
    /// reports.
    #[arg(long, value_name = "SECONDS", default_value_t = appmesh_conformance::client::budget::DEFAULT_RUN_DEADLINE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    deadline: u64,
    /// Limit on one scenario, in seconds: past it the scenario sends nothing more and fails.
    #[arg(long, value_name = "SECONDS", default_value_t = suite::DEFAULT_SCENARIO_DEADLINE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    scenario_timeout: u64,
    /// Switch on a deviation mode of the embedded emulator (repeatable); for proving the suite
    /// catches it. Only with the embedded emulator.
    #[arg(long, value_name = "NAME")]
    deviation: Vec<Deviation>,
    /// Make the embedded emulator follow another source's reading of a disputed point
    /// (repeatable), as `serve --reading` does. Only with the embedded emulator.
    #[arg(long, value_name = "ID=SOURCE")]
    reading: Vec<String>,
    /// Judge the points where the sources disagree by the documentation's reading (the API
    /// reference pages), and fail a target that follows another. By default such points are
    /// reported as information and never change the exit code.
    #[arg(long)]
    strict_docs: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 9080)]
    port: u16,
    /// The region the emulator answers for (in ARNs).
    #[arg(long, default_value = emulator::DEFAULT_REGION)]
    region: String,
    /// The 12-digit account id the emulator answers for.
    #[arg(long, default_value = emulator::DEFAULT_ACCOUNT_ID)]
    account: String,
    /// Virtual nodes per mesh before LimitExceededException.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().virtual_nodes_per_mesh)]
    node_quota: usize,
    /// Meshes per account before LimitExceededException.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().meshes_per_account)]
    mesh_quota: usize,
    /// Backends per virtual node before LimitExceededException.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().backends_per_virtual_node)]
    backend_quota: usize,
    /// Throttle above this many requests per second (a token bucket over all operations); excess
    /// requests get 429 TooManyRequestsException. Off by default.
    #[arg(long, value_name = "RPS")]
    rate_limit: Option<f64>,
    /// The bucket size for --rate-limit: how many requests may come at once. Default: the rate,
    /// rounded up.
    #[arg(long, value_name = "N", requires = "rate_limit")]
    burst: Option<u32>,
    /// Verify the SigV4 signature of every request; a missing or wrong one gets 403.
    #[arg(long)]
    verify_sigv4: bool,
    /// The access key id requests must be signed with (with --verify-sigv4).
    #[arg(long, value_name = "ID", default_value = emulator::DEFAULT_ACCESS_KEY_ID, requires = "verify_sigv4")]
    access_key: String,
    /// The secret key requests must be signed with (with --verify-sigv4).
    #[arg(long, value_name = "KEY", default_value = emulator::DEFAULT_SECRET_ACCESS_KEY, requires = "verify_sigv4", hide_default_value = true)]
    secret_key: String,
    /// Switch on a deliberate deviation from the contract (repeatable); see --list-deviations.
    #[arg(long, value_name = "NAME")]
    deviation: Vec<Deviation>,
    /// Print the deviation modes and the readings of disputed points, and exit.
    #[arg(long)]
    list_deviations: bool,
    /// Follow another source's reading of a point where the sources disagree (repeatable), for
    /// example `listeners-per-virtual-node=api-create-virtual-node-2019`; see --list-deviations.
    #[arg(long, value_name = "ID=SOURCE")]
    reading: Vec<String>,
    /// An AWS SDK service model for App Mesh to serve instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Connections held at most; beyond it the one that has waited longest for a request is
    /// closed, or, when all are being answered, the new one gets 503. [default: the open-file
    /// limit less 64, between 32 and 10,000]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Serve(args) => serve(args).await,
            Command::Generate(args) => generate(args),
            Command::Cleanup(args) => cleanup(args).await,
            Command::Repro(args) => repro(args).await,
        }
    })
}

/// The largest seed: 2^53 - 1, the largest integer a JSON reader holds exactly.
const MAX_SEED: u64 = (1 << 53) - 1;

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// `--reading ID=SOURCE` flags, checked against the model's disputed points.
fn chosen_readings(model: &ServiceModel, given: &[String]) -> Result<BTreeMap<String, String>, String> {
    given.iter().map(|text| emulator::readings::parse(model, text)).collect()
}

fn load_model(path: Option<&Path>) -> Result<ServiceModel, String> {
    let Some(path) = path else { return Ok(ServiceModel::embedded()) };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the model {}: {e}", path.display()))?;
    ServiceModel::from_user_json(&text).map_err(|e| format!("the model {} cannot be used: {e}", path.display()))
}

/// `features` as given, else the checkout's own `features/` (for runs from another directory).
fn features_dir(given: &Path) -> PathBuf {
    if given.is_dir() || given != Path::new("features") {
        return given.to_path_buf();
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
    if checkout.is_dir() { checkout } else { given.to_path_buf() }
}

async fn run(args: RunArgs) -> ExitCode {
    let model = match load_model(args.model.as_deref()) {
        Ok(model) => Arc::new(model),
        Err(message) => return usage_error(message),
    };
    let model_text = match &args.model {
        Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
        None => appmesh_conformance::model::EMBEDDED_MODEL_JSON.to_string(),
    };
    let expectations = match &args.expectations {
        Some(path) => match Expectations::load(path) {
            Ok(expectations) => Some((path.clone(), expectations)),
            Err(message) => return usage_error(message),
        },
        None => None,
    };
    if args.jobs == Some(0) {
        return usage_error("--jobs must be at least 1");
    }
    if let Some(seed) = args.seed
        && seed > MAX_SEED
    {
        return usage_error(format!(
            "--seed {seed} is too large: at most {MAX_SEED}, so every JSON reader keeps it exact"
        ));
    }
    if !args.deviation.is_empty() && (args.endpoint.is_some() || args.aws) {
        return usage_error("--deviation applies to the embedded emulator only; drop --endpoint/--aws or --deviation");
    }
    if !args.reading.is_empty() && (args.endpoint.is_some() || args.aws) {
        return usage_error("--reading applies to the embedded emulator only; drop --endpoint/--aws or --reading");
    }
    let readings = match chosen_readings(&model, &args.reading) {
        Ok(readings) => readings,
        Err(message) => return usage_error(message),
    };
    if let Some(account) = &args.account_id
        && (account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()))
    {
        return usage_error(format!("--account-id {account:?} is not a 12-digit AWS account id"));
    }
    if let Some(tags) = &args.tags
        && let Err(error) = suite::parse_tags(tags)
    {
        return usage_error(error);
    }
    let mut profile = match &args.profile {
        Some(path) => match TargetProfile::load(path) {
            Ok(profile) => profile,
            Err(error) => return usage_error(error),
        },
        None => TargetProfile::default(),
    };
    profile.node_quota = args.node_quota.unwrap_or(profile.node_quota);
    profile.throttle_rps = args.throttle_rps.or(profile.throttle_rps);
    profile.auth_enforced = args.auth_enforced.unwrap_or(profile.auth_enforced);
    profile.account_id = args.account_id.clone().or(profile.account_id);
    if let Err(message) = profile.validate() {
        return usage_error(message);
    }
    if let Some(rate) = args.max_rps
        && !(rate.is_finite() && rate > 0.0)
    {
        return usage_error(format!("--max-rps {rate} must be a positive number of requests per second"));
    }
    let options = TargetOptions {
        endpoint: args.endpoint.clone().or(profile.endpoint.clone()).filter(|_| !args.aws),
        aws: args.aws,
        region: args.region.clone(),
        account_id: profile.account_id.clone(),
        timeout: Some(Duration::from_secs(args.timeout.max(1))),
        max_rps: args.max_rps,
        throttle_rps: profile.throttle_rps,
        run_deadline: Some(Duration::from_secs(args.deadline)),
        emulator: EmulatorConfig {
            deviations: args.deviation.iter().copied().collect(),
            quotas: Quotas { virtual_nodes_per_mesh: profile.node_quota, ..Quotas::of(&model) },
            readings: readings.clone(),
            ..EmulatorConfig::default()
        },
    };
    let connected = match target::connect(model.clone(), options).await {
        Ok(connected) => connected,
        Err(error) => return usage_error(error),
    };
    let profile_description = profile.description.clone();
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..=MAX_SEED));
    let mut ctx = SuiteContext::with_seed(connected.client.clone(), connected.account_id.clone(), profile, seed);
    ctx.explicit_max_rps = args.max_rps;
    ctx.strict_docs = args.strict_docs;
    ctx.scenario_deadline = Duration::from_secs(args.scenario_timeout);
    let ctx = Arc::new(ctx);
    println!("conformance: testing {}", connected.describe());
    println!("conformance: run {} with seed {seed} (repeat with --seed {seed})", ctx.run_id);
    let jobs = args.jobs.or(connected.emulator.is_none().then_some(suite::EXTERNAL_TARGET_CONCURRENCY));
    let run_options = RunOptions {
        features: features_dir(&args.features),
        tags: args.tags.clone(),
        report_dir: Some(args.report_dir.clone()),
        max_concurrent_scenarios: jobs,
        progress: true,
    };
    let started = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let run = suite::run(ctx.clone(), run_options);
    let budget = connected.client.budget().clone();
    // The run ends when its scenarios are done, when it is interrupted, or when its budget says
    // stop (a target that throttles or fails persistently, the deadline): then the scenarios in
    // flight are dropped, and what they created is removed below all the same.
    let (summary, stopped, interrupted) = tokio::select! {
        result = run => match result {
            Ok(summary) => (summary, None, false),
            Err(error) => return usage_error(error),
        },
        () = shutdown_signal() => {
            eprintln!("\ninterrupted: stopping run {} and removing what it created (at most {} s; Ctrl-C again to stop now)",
                ctx.run_id, INTERRUPTED_CLEANUP.as_secs());
            (suite::summary_so_far(&ctx), Some("interrupted (Ctrl-C or SIGTERM)".to_string()), true)
        }
        reason = budget.wait_stopped() => {
            eprintln!("stopped: {reason}");
            (suite::summary_so_far(&ctx), Some(reason), false)
        }
    };
    let cleanup_budget = if interrupted { INTERRUPTED_CLEANUP } else { END_CLEANUP };
    let account = tokio::select! {
        account = ctx.ledger.settle(&connected.client, cleanup_budget, ctx.meshes_created()) => account,
        () = shutdown_signal() => ctx.ledger.account(ctx.meshes_created()),
    };
    let run_info = RunInfo {
        run_id: ctx.run_id.clone(),
        seed,
        started_at: report::rfc3339(started.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs()),
        duration_ms: clock.elapsed().as_secs_f64() * 1000.0,
        tags: args.tags.clone(),
        jobs,
        max_rps: connected.client.config().max_rps,
        target: TargetInfo {
            description: match &args.target_label {
                Some(label) => format!("{label} at {}", connected.describe()),
                None => connected.describe(),
            },
            endpoint: connected.client.config().endpoint.clone(),
            region: connected.client.config().region.clone(),
            embedded: connected.emulator.is_some(),
            profile: profile_description,
            deviations: args.deviation.iter().map(|d| d.name().to_string()).collect(),
            readings: readings.iter().map(|(dispute, reading)| format!("{dispute}={reading}")).collect(),
        },
        model: ModelInfo::new(
            &args.model.as_ref().map_or("embedded".to_string(), |p| p.display().to_string()),
            &model.metadata.api_version,
            &model_text,
        ),
        latency: connected.client.latency(),
        stopped: stopped.clone(),
        resources: account.clone(),
    };
    let endpoint = connected.client.config().endpoint.clone();
    if let Some(emulator) = connected.emulator {
        emulator.shutdown().await;
    }
    let coverage = report::coverage(&model);
    let built =
        Report::build(&summary, run_info, coverage, expectations.as_ref().map(|(p, e)| (p.as_path(), e)), &model);
    if let Err(error) = built.write_all(&args.report_dir) {
        return usage_error(error);
    }
    print_failures(&built);
    for scenario in summary.scenarios.iter().filter(|s| s.feature == suite::ERROR_TABLE_FEATURE) {
        if let Some(reason) = &scenario.skip_reason {
            println!("skipped: {}: {reason}", scenario.scenario);
        }
    }
    print_account(&account, &ctx.run_id, &endpoint, args.aws);
    println!("reports: {}", args.report_dir.display());
    let counts = &built.counts;
    if counts.expected_failures > 0 {
        println!("conformance: {} scenario(s) failed as listed in the expectations file", counts.expected_failures);
    }
    if counts.informational > 0 {
        println!(
            "conformance: {} informational finding(s) where the sources disagree (report.md, \"Where the sources disagree\"); they never change the exit code",
            counts.informational
        );
    }
    // Failed counts the unexpected failures only: what a CI log reader should act on.
    println!("conformance: {} passed, {} failed, {} skipped", counts.passed, counts.failed, counts.skipped);
    if let Some(reason) = &stopped {
        println!("conformance: STOPPED before the suite was done: {reason}");
        return ExitCode::from(if interrupted { 130 } else { 1 });
    }
    if summary.parsing_errors > 0 {
        eprintln!("error: {} feature file(s) could not be parsed", summary.parsing_errors);
        return ExitCode::from(2);
    }
    if summary.passed + summary.failed + summary.skipped == 0 {
        eprintln!("error: no scenario matched; check --tags and --features");
        return ExitCode::from(2);
    }
    if !account.unnamed.is_empty() {
        eprintln!("error: the target created resources the run cannot name (above); find them by hand");
        return ExitCode::from(1);
    }
    if built.passed(args.strict) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// How long clean-up may take after the suite, and after an interruption (Ctrl-C must end a run
/// within seconds).
const END_CLEANUP: Duration = Duration::from_secs(20);
const INTERRUPTED_CLEANUP: Duration = Duration::from_secs(3);

/// The account of what the run created: a line, then every mesh left, with the command that
/// removes them.
fn print_account(account: &cleanup::Account, run_id: &str, endpoint: &str, aws: bool) {
    println!("{}", account.line());
    for leftover in &account.left {
        println!("  left: mesh {:?}: {}", leftover.name, leftover.why);
    }
    for unnamed in &account.unnamed {
        println!("  left: {unnamed}");
    }
    // `cleanup` finds what carries the run's name (or tag); the rest is named for a person.
    let removable = account.left.iter().any(|l| cleanup::is_harness_name(&l.name, Some(run_id)));
    if removable {
        let target = if aws { "--aws".to_string() } else { format!("--endpoint {endpoint}") };
        println!("  remove them with: appmesh-conformance cleanup {target} --run-id {run_id}");
    }
}

async fn repro(args: ReproArgs) -> ExitCode {
    use appmesh_conformance::fuzzing::{Finding, read_finding};
    let data = match std::fs::read(&args.artifact) {
        Ok(data) => data,
        Err(error) => return usage_error(format!("cannot read {}: {error}", args.artifact.display())),
    };
    let finding = match read_finding(&data) {
        Ok(finding) => finding,
        Err(message) => return usage_error(format!("{}: {message}", args.artifact.display())),
    };
    let stem = args.artifact.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let title = args.title.clone().unwrap_or_else(|| format!("Regression: {stem}"));
    let options = TargetOptions {
        endpoint: args.endpoint.clone(),
        region: args.region.clone(),
        timeout: Some(Duration::from_secs(30)),
        ..TargetOptions::default()
    };
    let connected = match target::connect(Arc::new(ServiceModel::embedded()), options).await {
        Ok(connected) => connected,
        Err(error) => return usage_error(error),
    };
    println!("repro: replaying {} against {}", args.artifact.display(), connected.describe());
    let expected = finding.expected();
    let (client, account) = (connected.client.clone(), connected.account_id.clone());
    let target = match appmesh_conformance::property::check::PropertyTarget::set_up(client, account).await {
        Ok(target) => target,
        Err(error) => return usage_error(error),
    };
    let outcome = match &finding {
        Finding::Input(input) => {
            let input = target.place(input.clone(), None);
            if expected == "success" {
                target.valid_case(&input).await.map_err(|c| c.to_string())
            } else {
                let model = ServiceModel::embedded();
                let found = appmesh_conformance::validate::violations(&model, "CreateVirtualNodeInput", &input);
                let first = found
                    .first()
                    .map(|v| (v.path.clone(), v.rule))
                    .unwrap_or((String::new(), appmesh_conformance::validate::Rule::Type));
                let invalid = appmesh_conformance::property::Invalid {
                    value: input.clone(),
                    path: first.0,
                    rule: first.1,
                    error: "BadRequestException",
                };
                target.invalid_case(&input, &invalid).await.map_err(|c| c.to_string())
            }
        }
        Finding::RawBody(body) => {
            let case = appmesh_conformance::fuzzing::EndpointCase::RawBody(body.clone().into_bytes());
            appmesh_conformance::fuzzing::endpoint_send(&connected.client, target.mesh(), &case).await.map_err(
                |(problem, exchange)| format!("{problem}\n{}", exchange.map(|e| e.to_string()).unwrap_or_default()),
            )
        }
    };
    if let Err(error) = target.tear_down().await {
        eprintln!("warning: the replay's mesh was not removed: {error}; run `appmesh-conformance cleanup`");
    }
    if let Some(emulator) = connected.emulator {
        emulator.shutdown().await;
    }
    match &outcome {
        Ok(()) => println!("repro: the target now answers as the contract says ({expected})"),
        Err(problem) => println!("repro: the target still misanswers (the contract says {expected}):\n{problem}"),
    }
    if !args.dry_run {
        let slug: String =
            stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
        let path = args.out.join(format!("{slug}.feature"));
        let text = format!(
            "# Written by `appmesh-conformance repro {}`; keep it: every bug found stays found.\n@regression\nFeature: Regression from {stem}\n\n{}",
            args.artifact.display(),
            finding.scenario(&title)
        );
        if let Err(error) = std::fs::create_dir_all(&args.out).and_then(|()| std::fs::write(&path, text)) {
            return usage_error(format!("cannot write {}: {error}", path.display()));
        }
        println!("repro: wrote {}; it runs with the suite from now on", path.display());
    }
    if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

async fn cleanup(args: CleanupArgs) -> ExitCode {
    if let Some(rate) = args.max_rps
        && !(rate.is_finite() && rate > 0.0)
    {
        return usage_error(format!("--max-rps {rate} must be a positive number of requests per second"));
    }
    if let Some(run_id) = &args.run_id
        && !cleanup::is_harness_name(&format!("{run_id}-x"), None)
    {
        return usage_error(format!(
            "--run-id {run_id:?} is not a run id; run ids look like acf-6743a1b2-x9k2 (printed by `run` and in its reports)"
        ));
    }
    let from_env = appmesh_conformance::client::target::resolve_endpoint(None, false, "us-east-1", |key: &str| {
        std::env::var(key).ok()
    });
    if args.endpoint.is_none() && !args.aws && from_env.is_ok_and(|choice| choice.url.is_none()) {
        return usage_error(
            "cleanup needs a target: --endpoint URL, APPMESH_ENDPOINT, or --aws (the embedded emulator keeps nothing)",
        );
    }
    let options = TargetOptions {
        endpoint: args.endpoint.clone(),
        aws: args.aws,
        region: args.region.clone(),
        timeout: Some(Duration::from_secs(args.timeout.max(1))),
        max_rps: args.max_rps,
        ..TargetOptions::default()
    };
    let connected = match target::connect(Arc::new(ServiceModel::embedded()), options).await {
        Ok(connected) => connected,
        Err(error) => return usage_error(error),
    };
    println!("cleanup: {}", connected.describe());
    let options = cleanup::SweepOptions { run_id: args.run_id.as_deref(), known: Vec::new(), dry_run: args.dry_run };
    let sweep = match cleanup::sweep(&connected.client, options).await {
        Ok(sweep) => sweep,
        Err(error) => {
            eprintln!("error: cannot list the target's meshes: {error}");
            return ExitCode::from(1);
        }
    };
    let verb = if args.dry_run { "would delete" } else { "deleted" };
    for name in &sweep.deleted {
        println!("{verb} mesh {name} and its virtual nodes");
    }
    for name in &sweep.untagged {
        println!("left alone: mesh {name} is named like a harness mesh but lacks the {} tag", cleanup::TAG_KEY);
    }
    if !sweep.tags_checked {
        println!("note: the target does not list tags; meshes were recognised by name alone");
    }
    for problem in &sweep.problems {
        eprintln!("error: could not remove {problem}");
    }
    println!("cleanup: {} mesh(es) {verb}, {} problem(s)", sweep.deleted.len(), sweep.problems.len());
    if sweep.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// A short list of what failed, by cause, and of listed deviations that no longer show: the
/// reports hold every detail.
fn print_failures(report: &Report) {
    if !report.buckets.is_empty() {
        println!("\nfailures by cause (unexpected first):");
    }
    for bucket in &report.buckets {
        let status = if bucket.all_expected { "expected" } else { "UNEXPECTED" };
        println!(
            "  {status:<10} [{}] {}: {} failure(s) in {} scenario(s); expected {}, actual {}",
            bucket.severity,
            bucket.key,
            bucket.count,
            bucket.scenarios.len(),
            bucket.expected,
            bucket.actual_examples.first().map(String::as_str).unwrap_or("?")
        );
    }
    if let Some(expectations) = &report.expectations {
        for entry in &expectations.unexpectedly_passing {
            let what = entry.check.as_deref().or(entry.scenario.as_deref()).unwrap_or_default();
            println!("  unexpectedly passing: {what} (listed in {}): remove it from the file", expectations.file);
        }
    }
}

/// Prints a line of `serve`'s output. A closed stdout (a parent that stopped reading) must not
/// stop the server, so write errors are ignored where `println!` would panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

async fn serve(args: ServeArgs) -> ExitCode {
    let model = match load_model(args.model.as_deref()) {
        Ok(model) => Arc::new(model),
        Err(message) => return usage_error(message),
    };
    if args.list_deviations {
        for deviation in Deviation::ALL {
            println!("{:<30} {}", deviation.name(), deviation.description());
        }
        println!("\nreadings of disputed points (--reading ID=SOURCE; * marks the default):");
        for dispute in &model.provenance.disputes {
            println!("{} ({})", dispute.id, dispute.title);
            for reading in &dispute.readings {
                let default = if reading.source == dispute.emulator { "*" } else { " " };
                println!("  {default} {:<30} {}: {}", reading.source, reading.outcome.describe(), reading.says);
            }
        }
        return ExitCode::SUCCESS;
    }
    if args.account.len() != 12 || !args.account.bytes().all(|b| b.is_ascii_digit()) {
        return usage_error(format!("--account {:?} is not a 12-digit AWS account id", args.account));
    }
    let readings = match chosen_readings(&model, &args.reading) {
        Ok(readings) => readings,
        Err(message) => return usage_error(message),
    };
    let rate_limit = match (args.rate_limit, args.burst) {
        (None, _) => None,
        (Some(rps), _) if !(rps.is_finite() && rps > 0.0) => {
            return usage_error(format!("--rate-limit {rps} must be a positive number of requests per second"));
        }
        (Some(_), Some(0)) => return usage_error("--burst must be at least 1"),
        (Some(rps), burst) => Some(RateLimit { requests_per_second: rps, burst: burst.unwrap_or(rps.ceil() as u32) }),
    };
    if args.node_quota == 0 || args.mesh_quota == 0 {
        return usage_error("--node-quota and --mesh-quota must be at least 1");
    }
    let config = EmulatorConfig {
        region: args.region.clone(),
        account_id: args.account.clone(),
        deviations: args.deviation.iter().copied().collect(),
        quotas: Quotas {
            meshes_per_account: args.mesh_quota,
            virtual_nodes_per_mesh: args.node_quota,
            backends_per_virtual_node: args.backend_quota,
        },
        rate_limit,
        auth: args
            .verify_sigv4
            .then(|| AuthConfig { access_key_id: args.access_key.clone(), secret_access_key: args.secret_key.clone() }),
        readings,
    };
    let mut limits = emulator::server::ServerLimits::default();
    if let Some(max) = args.max_connections {
        limits.max_connections = usize::try_from(max).unwrap_or(usize::MAX);
    }
    let running = match emulator::start_with_limits(model, config.clone(), args.port, limits).await {
        Ok(running) => running,
        Err(error) => {
            return usage_error(format!("cannot listen on 127.0.0.1:{}: {error}; choose another --port", args.port));
        }
    };
    say!(
        "appmesh-conformance emulator listening on {} (region {}, account {})",
        running.endpoint(),
        args.region,
        args.account
    );
    let quotas = config.quotas;
    say!(
        "quotas: {} meshes, {} virtual nodes per mesh, {} backends per virtual node",
        quotas.meshes_per_account,
        quotas.virtual_nodes_per_mesh,
        quotas.backends_per_virtual_node
    );
    say!(
        "connections: at most {}; request heads within {} s, bodies within {} s; idle connections closed after {} s",
        limits.max_connections,
        limits.head_timeout.as_secs(),
        limits.body_timeout.as_secs(),
        limits.idle_timeout.as_secs()
    );
    if let Some(limit) = config.rate_limit {
        say!("rate limit: {} requests/s, burst {}", limit.requests_per_second, limit.burst);
    }
    if let Some(auth) = &config.auth {
        say!("verifying SigV4 signatures for access key {} in {}", auth.access_key_id, config.region);
    }
    if !args.deviation.is_empty() {
        let names: Vec<&str> = args.deviation.iter().map(|d| d.name()).collect();
        say!("deviations on: {}", names.join(", "));
    }
    for (dispute, reading) in &config.readings {
        say!("following {reading} on {dispute}");
    }
    shutdown_signal().await;
    say!("shutting down");
    running.shutdown().await;
    ExitCode::SUCCESS
}

fn generate(args: GenerateArgs) -> ExitCode {
    let model = match load_model(args.model.as_deref()) {
        Ok(model) => model,
        Err(message) => return usage_error(message),
    };
    let source = match &args.model {
        None => "the embedded contract model (src/model/contract.json)".to_string(),
        Some(path) => format!("the model {}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
    };
    let operations: Vec<String> = if args.operation.is_empty() {
        appmesh_conformance::generate::DEFAULT_OPERATIONS.iter().map(|s| s.to_string()).collect()
    } else {
        args.operation.clone()
    };
    let mut stale = Vec::new();
    for operation in &operations {
        let generated = match appmesh_conformance::generate::generate(&model, operation, &source) {
            Ok(generated) => generated,
            Err(error) => return usage_error(error),
        };
        let dir = args.out.join(appmesh_conformance::generate::snake_case(operation));
        let expected: Vec<PathBuf> = generated.files.iter().map(|f| args.out.join(&f.path)).collect();
        for file in &generated.files {
            let path = args.out.join(&file.path);
            let current = std::fs::read_to_string(&path).ok();
            if current.as_deref() == Some(file.text.as_str()) {
                continue;
            }
            if args.check {
                stale.push(path.display().to_string());
                continue;
            }
            if let Err(error) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &file.text)) {
                return usage_error(format!("cannot write {}: {error}", path.display()));
            }
        }
        // Files of an earlier generation that this one no longer makes.
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "feature") && !expected.contains(&path) {
                if args.check {
                    stale.push(format!("{} (no longer generated)", path.display()));
                } else if let Err(error) = std::fs::remove_file(&path) {
                    return usage_error(format!("cannot remove {}: {error}", path.display()));
                }
            }
        }
        println!(
            "{operation}: {} scenarios in {} files under {}",
            generated.scenario_count,
            generated.files.len(),
            dir.display()
        );
        for line in &generated.coverage {
            let covered = line.expected.intersection(&line.covered).count();
            println!("  {:<45} {covered:>4}/{:<4} {:>5.1}%", line.what, line.expected.len(), line.percent());
            for missing in line.missing() {
                println!("    not covered: {missing:?}");
            }
        }
    }
    if !stale.is_empty() {
        eprintln!("error: these generated files are stale; run `cargo run -- generate` and commit the result:");
        for path in &stale {
            eprintln!("  {path}");
        }
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
