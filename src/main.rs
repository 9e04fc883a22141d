//! The `appmesh-conformance` command: argument parsing and printing. What each command does
//! lives in the library (`session`, `settings`, `cleanup`, `repro`, `generate::files`,
//! `emulator`); this file turns flags into calls and results into lines and exit codes.
//!
//! Exit codes of `run`: 0 when every check passes, 1 when any check fails or the run stopped
//! early, 2 on a usage or configuration error (bad flag, unreadable model, unreachable endpoint,
//! missing credentials), always with one line saying what to do; 130 when interrupted.

/// The harness and the emulator share one process that allocates on every request: mimalloc
/// takes a third off the whole suite's time against glibc's allocator (README, "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use appmesh_conformance::cleanup;
use appmesh_conformance::emulator::{self, AuthConfig, Choices, Deviation, EmulatorConfig, Quotas, RateLimit};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::report::{Expectations, Report};
use appmesh_conformance::session::{self, Labels, Session, SessionOptions};
use appmesh_conformance::settings::{DeclarationArgs, Settings, TargetArgs};
use appmesh_conformance::suite::{self, FeatureSource, RunOptions};
use appmesh_conformance::target;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "appmesh-conformance",
    version,
    about = "Contract and conformance tests for the AWS App Mesh API, with an embedded emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the conformance suite against a target (the embedded emulator unless told otherwise).
    Run(Box<RunArgs>),
    /// Serve the embedded emulator on a loopback port, for other clients and harnesses.
    Serve(ServeArgs),
    /// Generate the Gherkin scenarios of features/generated/ from the contract model.
    Generate(GenerateArgs),
    /// Replay a finding (a fuzz artifact or a shrunk proptest case) against a target and write
    /// it as a Gherkin regression scenario under features/regressions/.
    Repro(ReproArgs),
    /// A validating proxy: forward any client's requests to a target, hand back its answers
    /// unchanged, judge every exchange against the model, and write the reports when stopped.
    Proxy(Box<ProxyArgs>),
    /// Send a cassette's requests again, freshly signed, to a target (the embedded emulator unless
    /// told otherwise); compare every answer with the recorded one, judge it against the model,
    /// and say which recorded failures are FIXED and which are STILL FAILING.
    Replay(ReplayArgs),
    /// Two targets side by side: replay the same requests against A twice and B once, and report
    /// how B answers differently from A beyond what A varies by itself. Exits 1 when they differ.
    Diff(Box<DiffArgs>),
    /// Judge a cassette's recorded exchanges against the model, sending nothing.
    Judge(JudgeArgs),
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
    #[command(flatten)]
    target: TargetArgs,
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
    #[command(flatten)]
    target: TargetArgs,
    /// Only the resources of this run (as printed by `run` and shown in its reports), for example
    /// acf-6743a1b2-x9k2. Default: every harness run's.
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// The operation to generate for (repeatable). Default: every operation of the model.
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
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    declared: DeclarationArgs,
    /// Cucumber tag expression selecting scenarios, for example '@error and not @serial'.
    #[arg(long, value_name = "EXPR")]
    tags: Option<String>,
    /// What the target is, for the reports, for example "moto 5.2.5".
    #[arg(long, value_name = "TEXT")]
    target_label: Option<String>,
    /// Scenarios run at once (@serial ones always run alone). [default: 16 against the embedded
    /// emulator; 8 against any other endpoint: each scenario owns a mesh, and App Mesh
    /// allows 15 meshes per account]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
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
    /// A directory of .feature files to run instead of the ones built into the binary.
    #[arg(long, value_name = "DIR")]
    features: Option<PathBuf>,
    /// Where the reports go.
    #[arg(long, value_name = "DIR", default_value = "reports/latest")]
    report_dir: PathBuf,
    /// An AWS SDK service model for App Mesh to test with instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Limit on the whole run, in seconds: past it the run stops, cleans up and writes its
    /// reports.
    #[arg(long, value_name = "SECONDS", default_value_t = appmesh_conformance::client::budget::DEFAULT_RUN_DEADLINE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    deadline: u64,
    /// Limit on one scenario, in seconds: past it the scenario sends nothing more and fails.
    #[arg(long, value_name = "SECONDS", default_value_t = suite::DEFAULT_SCENARIO_DEADLINE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    scenario_timeout: u64,
    /// Stop the run when the target has answered nothing but throttling (429, 503), server
    /// faults or silence for this many seconds (or to 30 requests in a row over 10 s, or over
    /// this time if shorter); clean-up gets the same patience.
    #[arg(long, value_name = "SECONDS", default_value_t = appmesh_conformance::client::budget::PERSISTENT_TIME.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    patience: u64,
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
    /// Write every exchange of the run (clean-up included), redacted, to this cassette, for
    /// `replay`, `diff --cassette` and `serve --cassette` (format: reports/cassette.schema.json).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The cassette: what `run --record` or `proxy --record` wrote.
    #[arg(value_name = "FILE")]
    cassette: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    /// Where the reports go.
    #[arg(long, value_name = "DIR", default_value = "reports/replay")]
    report_dir: PathBuf,
}

#[derive(Debug, Args)]
struct DiffArgs {
    /// Target A, the reference: a URL, or `embedded` for the embedded emulator.
    #[arg(long, value_name = "URL")]
    a: String,
    /// Target B, compared with A: a URL, or `embedded`.
    #[arg(long, value_name = "URL")]
    b: String,
    /// Replay this cassette's requests. Without it: the requests of a seeded run of the suite
    /// (the scenarios --tags selects) against the embedded emulator, one scenario at a time.
    #[arg(long, value_name = "FILE")]
    cassette: Option<PathBuf>,
    /// Cucumber tag expression selecting the scenarios whose requests are compared (without
    /// --cassette).
    #[arg(long, value_name = "EXPR", conflicts_with = "cassette")]
    tags: Option<String>,
    /// Seed of the recorded run's random choices (without --cassette).
    #[arg(long, value_name = "S", conflicts_with = "cassette")]
    seed: Option<u64>,
    /// AWS region of both targets.
    #[arg(long)]
    region: Option<String>,
    /// Limit on each request, in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
    /// Where the reports go.
    #[arg(long, value_name = "DIR", default_value = "reports/diff")]
    report_dir: PathBuf,
}

#[derive(Debug, Args)]
struct JudgeArgs {
    /// The cassette: what `run --record` or `proxy --record` wrote, or a recording of a real
    /// service (reports/cassettes/).
    #[arg(value_name = "FILE")]
    cassette: PathBuf,
    /// Where the reports go.
    #[arg(long, value_name = "DIR", default_value = "reports/judge")]
    report_dir: PathBuf,
}

#[derive(Debug, Args)]
struct ProxyArgs {
    /// The address the proxy listens on; clients point their App Mesh endpoint here.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9081")]
    listen: std::net::SocketAddr,
    /// Where requests go on to, signed again with the proxy's credentials (the standard AWS
    /// chain, as for `run --endpoint`). Without it, and without APPMESH_ENDPOINT: the embedded
    /// emulator, in the proxy's own process.
    #[arg(long, value_name = "URL", conflicts_with_all = ["endpoint", "aws"])]
    upstream: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
    /// Stop after judging this many exchanges, and write the reports.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_requests: Option<u64>,
    /// Stop after this many seconds, and write the reports.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    duration: Option<u64>,
    /// Requests forwarded at once; more get 503 from the proxy at once.
    #[arg(long, value_name = "N", default_value_t = appmesh_conformance::proxy::DEFAULT_MAX_IN_FLIGHT as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_in_flight: u64,
    /// Also write every exchange, redacted, to this cassette.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Where the reports go when the proxy stops.
    #[arg(long, value_name = "DIR", default_value = "reports/proxy")]
    report_dir: PathBuf,
    /// A deviation mode of the embedded emulator (repeatable); only without --upstream.
    #[arg(long, value_name = "NAME")]
    deviation: Vec<Deviation>,
    /// Print only failures, not information.
    #[arg(long)]
    quiet: bool,
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
    /// Any quota of the model's table by its id (repeatable), for example
    /// `virtual-gateways-per-mesh=5`; --list-deviations prints them with their defaults.
    #[arg(long, value_name = "ID=N")]
    quota: Vec<String>,
    /// Whether a reference the documentation leaves open (a virtual service's provider, a gateway
    /// route's target) must name an existing resource (`refuse`, NotFoundException, the default)
    /// or may name one that does not exist (`accept`).
    #[arg(long, value_name = "WHAT", default_value = "refuse", value_parser = ["refuse", "accept"])]
    open_references: String,
    /// What Describe answers right after a Delete, which the documentation leaves open: 404
    /// NotFoundException (`gone`, the default), or the record with status DELETED
    /// (`deleted-record`; the last 1,000 deletes, until the name is taken again).
    #[arg(long, value_name = "WHAT", default_value = "gone", value_parser = ["gone", "deleted-record"])]
    after_delete: String,
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
    /// Answer from this cassette instead of emulating: each request gets the recorded answer to
    /// the same request (any harness run id counting as the same), 501 when it has none.
    /// Signatures are not verified and nothing is throttled.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["deviation", "verify_sigv4", "rate_limit"])]
    cassette: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    // The proxy runs on one thread: a request's two hops and its judging then never wait for a
    // thread handoff, which on two cores cost more than a second worker gave (`benches/proxy.rs`).
    let mut builder = match cli.command {
        Command::Proxy(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run(*args).await,
            Command::Serve(args) => serve(args).await,
            Command::Generate(args) => generate(args),
            Command::Cleanup(args) => cleanup(args).await,
            Command::Repro(args) => repro(args).await,
            Command::Proxy(args) => proxy(*args).await,
            Command::Replay(args) => replay(args).await,
            Command::Diff(args) => diff(*args).await,
            Command::Judge(args) => judge(args),
        }
    })
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// `--reading ID=SOURCE` flags, checked against the model's disputed points.
fn chosen_readings(
    model: &ServiceModel,
    given: &[String],
) -> Result<BTreeMap<String, String>, emulator::readings::ReadingError> {
    given.iter().map(|text| emulator::readings::parse(model, text)).collect()
}

fn load_model(path: Option<&Path>) -> Result<ServiceModel, String> {
    let Some(path) = path else { return Ok(ServiceModel::embedded()) };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the model {}: {e}", path.display()))?;
    ServiceModel::from_user_json(&text).map_err(|e| format!("the model {} cannot be used: {e}", path.display()))
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

async fn run(args: RunArgs) -> ExitCode {
    // From the start: a Ctrl-C during set-up still ends the run with its clean-up and report.
    let interrupted = shutdown_signal();
    let model = match load_model(args.model.as_deref()) {
        Ok(model) => Arc::new(model),
        Err(message) => return usage_error(message),
    };
    let model_text = match &args.model {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => return usage_error(format!("cannot read the model {}: {error}", path.display())),
        },
        None => appmesh_conformance::model::EMBEDDED_MODEL_JSON.to_string(),
    };
    let expectations = match &args.expectations {
        Some(path) => match Expectations::load(path) {
            Ok(expectations) => Some((path.clone(), expectations)),
            Err(error) => return usage_error(error),
        },
        None => None,
    };
    if let Some(tags) = &args.tags
        && let Err(error) = suite::parse_tags(tags)
    {
        return usage_error(error);
    }
    let readings = match chosen_readings(&model, &args.reading) {
        Ok(readings) => readings,
        Err(error) => return usage_error(error),
    };
    let settings = match Settings::resolve(&model, &args.target, &args.declared, &env) {
        Ok(settings) => settings,
        Err(error) => return usage_error(error),
    };
    let options = SessionOptions {
        seed: args.seed,
        strict_docs: args.strict_docs,
        scenario_deadline: Duration::from_secs(args.scenario_timeout),
        run_deadline: Duration::from_secs(args.deadline),
        patience: Duration::from_secs(args.patience),
        deviations: args.deviation.clone(),
        readings,
        record: args.record.clone(),
    };
    let jobs = args.jobs.map(|j| usize::try_from(j).unwrap_or(usize::MAX));
    let session = match Session::open(model, &settings, options, jobs).await {
        Ok(session) => session,
        Err(error) => return usage_error(error),
    };
    println!("conformance: testing {}", session.describe());
    println!(
        "conformance: run {} with seed {} (repeat with --seed {})",
        session.ctx.run_id, session.seed, session.seed
    );
    let run_options = RunOptions {
        features: args.features.clone().map_or(FeatureSource::Embedded, FeatureSource::Dir),
        tags: args.tags.clone(),
        report_dir: Some(args.report_dir.clone()),
        max_concurrent_scenarios: None,
        progress: true,
        quiet: false,
    };
    let outcome = match session.run(run_options, interrupted).await {
        Ok(outcome) => outcome,
        Err(error) => return usage_error(error),
    };
    let cleanup_budget = match (&outcome.stopped, outcome.interrupted) {
        (_, true) => {
            eprintln!(
                "\ninterrupted: stopping run {} and removing what it created (at most {} s; Ctrl-C again to stop now)",
                session.ctx.run_id,
                session::INTERRUPTED_CLEANUP.as_secs()
            );
            session::INTERRUPTED_CLEANUP
        }
        (Some(reason), false) => {
            eprintln!("stopped: {reason}");
            session::END_CLEANUP
        }
        (None, false) => session::END_CLEANUP,
    };
    let account = session.settle(cleanup_budget, shutdown_signal()).await;
    let labels = Labels {
        target: args.target_label.clone(),
        model_source: args.model.as_ref().map_or("embedded".to_string(), |p| p.display().to_string()),
        model_text,
        tags: args.tags.clone(),
    };
    let built =
        session.report(&outcome, account.clone(), &labels, expectations.as_ref().map(|(p, e)| (p.as_path(), e)));
    let endpoint = session.target.client.config().endpoint.clone();
    let run_id = session.ctx.run_id.clone();
    let recorded = session.finish_recording();
    session.close().await;
    match recorded {
        Some(Ok((count, path))) => println!("recorded: {count} exchange(s) to {}", path.display()),
        Some(Err(error)) => eprintln!("error: {error}"),
        None => {}
    }
    if let Err(error) = built.write_all(&args.report_dir) {
        return usage_error(error);
    }
    print_failures(&built);
    for scenario in outcome.summary.scenarios.iter().filter(|s| s.feature == suite::ERROR_TABLE_FEATURE) {
        if let Some(reason) = &scenario.skip_reason {
            println!("skipped: {}: {reason}", scenario.scenario);
        }
    }
    print_account(&account, &run_id, &endpoint, args.target.aws);
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
    if let Some(reason) = &outcome.stopped {
        println!("conformance: STOPPED before the suite was done: {reason}");
        return ExitCode::from(if outcome.interrupted { 130 } else { 1 });
    }
    let summary = &outcome.summary;
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
    let model = ServiceModel::embedded();
    let settings = match Settings::resolve(&model, &args.target, &DeclarationArgs::default(), &env) {
        Ok(settings) => settings,
        Err(error) => return usage_error(error),
    };
    let connected = match target::connect(Arc::new(model), settings.target).await {
        Ok(connected) => connected,
        Err(error) => return usage_error(error),
    };
    println!("repro: replaying {} against {}", args.artifact.display(), connected.describe());
    let request = appmesh_conformance::repro::ReproRequest {
        artifact: args.artifact.clone(),
        out: args.out.clone(),
        title: args.title.clone(),
        dry_run: args.dry_run,
    };
    let outcome = appmesh_conformance::repro::replay(&connected, &request).await;
    if let Some(emulator) = connected.emulator {
        emulator.shutdown().await;
    }
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => return usage_error(error),
    };
    if let Some(leftover) = &outcome.leftover {
        eprintln!("warning: the replay's mesh was not removed: {leftover}");
    }
    match &outcome.misanswer {
        None => println!("repro: the target now answers as the contract says ({})", outcome.expected),
        Some(problem) => {
            println!("repro: the target still misanswers (the contract says {}):\n{problem}", outcome.expected)
        }
    }
    if let Some(path) = &outcome.written {
        println!("repro: wrote {}; it runs with the suite from now on", path.display());
    }
    if outcome.misanswer.is_none() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

async fn cleanup(args: CleanupArgs) -> ExitCode {
    if let Some(run_id) = &args.run_id
        && !cleanup::is_harness_name(&format!("{run_id}-x"), None)
    {
        return usage_error(format!(
            "--run-id {run_id:?} is not a run id; run ids look like acf-6743a1b2-x9k2 (printed by `run` and in its reports)"
        ));
    }
    let model = ServiceModel::embedded();
    let settings = match Settings::resolve(&model, &args.target, &DeclarationArgs::default(), &env) {
        Ok(settings) => settings,
        Err(error) => return usage_error(error),
    };
    let from_env = appmesh_conformance::client::target::resolve_endpoint(None, false, "us-east-1", env);
    if settings.target.endpoint.is_none() && !args.target.aws && from_env.is_ok_and(|choice| choice.url.is_none()) {
        return usage_error(
            "cleanup needs a target: --endpoint URL, APPMESH_ENDPOINT, or --aws (the embedded emulator keeps nothing)",
        );
    }
    let connected = match target::connect(Arc::new(model), settings.target).await {
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

/// A cassette to replay, compare or judge: one with no exchange would judge nothing, and pass.
fn load_cassette(path: &Path) -> Result<appmesh_conformance::cassette::Cassette, ExitCode> {
    let cassette = appmesh_conformance::cassette::Cassette::load(path).map_err(usage_error)?;
    if cassette.entries.is_empty() {
        return Err(usage_error(format!(
            "the cassette {} holds no exchange, so there is nothing to judge; record one with run --record or proxy --record",
            path.display()
        )));
    }
    Ok(cassette)
}

/// Writes the four reports of judged traffic and prints what failed, by cause; a usage error when
/// the folder cannot be written.
fn write_reports(report: &Report, dir: &Path) -> Result<(), ExitCode> {
    report.write_all(dir).map_err(usage_error)?;
    print_failures(report);
    Ok(())
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
        println!("\nquotas (--quota ID=N):");
        for quota in &model.provenance.quotas {
            println!("  {:<36} {:>4}  {}", quota.id, quota.value, quota.counts);
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
    if !appmesh_conformance::model::is_account_id(&args.account) {
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
    let mut quotas = Quotas {
        meshes_per_account: args.mesh_quota,
        virtual_nodes_per_mesh: args.node_quota,
        backends_per_virtual_node: args.backend_quota,
        ..Quotas::of(&model)
    };
    for setting in &args.quota {
        let parsed = setting.split_once('=').and_then(|(id, n)| Some((id, n.trim().parse::<usize>().ok()?)));
        let Some((id, value)) = parsed else {
            return usage_error(format!("--quota {setting:?} is not ID=N with N a whole number"));
        };
        if let Err(error) = quotas.set(id.trim(), value, &model) {
            return usage_error(error);
        }
    }
    let config = EmulatorConfig {
        region: args.region.clone(),
        account_id: args.account.clone(),
        deviations: args.deviation.iter().copied().collect(),
        quotas,
        rate_limit,
        auth: args
            .verify_sigv4
            .then(|| AuthConfig { access_key_id: args.access_key.clone(), secret_access_key: args.secret_key.clone() }),
        readings,
        choices: Choices {
            open_references_must_exist: args.open_references == "refuse",
            after_delete: if args.after_delete == "deleted-record" {
                emulator::AfterDelete::DeletedRecord
            } else {
                emulator::AfterDelete::Gone
            },
        },
    };
    let mut limits = emulator::server::ServerLimits::default();
    if let Some(max) = args.max_connections {
        limits.max_connections = usize::try_from(max).unwrap_or(usize::MAX);
    }
    let served_model = Arc::clone(&model);
    let model_quotas: Vec<String> = model.provenance.quotas.iter().map(|q| q.id.clone()).collect();
    let served = match &args.cassette {
        Some(path) => match appmesh_conformance::cassette::Cassette::load(path) {
            Ok(cassette) => {
                say!("answering from the cassette {} ({} exchanges)", path.display(), cassette.entries.len());
                emulator::Emulator::from_cassette(model, config.clone(), &cassette)
            }
            Err(error) => return usage_error(error),
        },
        None => emulator::Emulator::new(model, config.clone()),
    };
    let running = match emulator::serve_emulator(Arc::new(served), args.port, limits).await {
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
    let quotas: Vec<String> =
        model_quotas.iter().map(|id| format!("{id} {}", config.quotas.limit(id, &served_model))).collect();
    say!("quotas: {}", quotas.join(", "));
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

async fn proxy(args: ProxyArgs) -> ExitCode {
    use appmesh_conformance::proxy::{self as proxying, ProxyOptions};
    let interrupted = shutdown_signal();
    let model = Arc::new(ServiceModel::embedded());
    let mut target_args = args.target.clone();
    if args.upstream.is_some() {
        target_args.endpoint = args.upstream.clone();
    }
    let settings = match Settings::resolve(&model, &target_args, &DeclarationArgs::default(), &env) {
        Ok(settings) => settings,
        Err(error) => return usage_error(error),
    };
    let upstream = match proxying::upstream(model.clone(), &settings, &args.deviation).await {
        Ok(upstream) => upstream,
        Err(error) => return usage_error(error),
    };
    let recorder = match &args.record {
        Some(path) => {
            let header = appmesh_conformance::cassette::Header::new(
                format!("proxy to {}", upstream.describe()),
                upstream.region(),
                None,
            );
            match appmesh_conformance::cassette::Recorder::create(path, &header) {
                Ok(recorder) => Some(Arc::new(recorder)),
                Err(error) => return usage_error(error),
            }
        }
        None => None,
    };
    let upstream = match (upstream, &recorder) {
        (proxying::Upstream::Remote(client), Some(recorder)) => {
            proxying::Upstream::Remote(Arc::new(client.recording(recorder.clone())))
        }
        (upstream, _) => upstream,
    };
    let options = ProxyOptions {
        max_requests: args.max_requests,
        duration: args.duration.map(Duration::from_secs),
        max_in_flight: usize::try_from(args.max_in_flight).unwrap_or(usize::MAX),
        ..ProxyOptions::new(args.listen, upstream.region())
    };
    let quiet = args.quiet;
    let print =
        move |seq: u64, _: &appmesh_conformance::exchange::Exchange, verdict: &appmesh_conformance::judge::Verdict| {
            let operation = verdict.operation.as_deref().unwrap_or("(no operation)");
            for finding in &verdict.findings {
                let info = finding.severity == appmesh_conformance::checks::Severity::Info;
                if info && quiet {
                    continue;
                }
                let verdict = if info { "info" } else { "FAIL" };
                say!(
                    "proxy: #{seq} {operation} {verdict} {} [{}, {}]{}: expected {}, got {}",
                    finding.id,
                    finding.severity,
                    finding.source,
                    if finding.path.is_empty() { String::new() } else { format!(" at {}", finding.path) },
                    finding.expected,
                    finding.actual
                );
            }
        };
    let running = match proxying::start(model.clone(), upstream.clone(), options, recorder.clone(), print).await {
        Ok(running) => running,
        Err(error) => return usage_error(error),
    };
    say!("proxy: listening on {}, forwarding to {}", running.endpoint(), upstream.describe());
    say!("proxy: point a client at it, for example: aws appmesh list-meshes --endpoint-url {}", running.endpoint());
    let outcome = running.wait(interrupted).await;
    say!("proxy: stopped ({}); {} exchange(s) judged", outcome.stopped, outcome.judged.len());
    if let Some(recorder) = &recorder {
        match recorder.finish() {
            Ok(count) => say!("recorded: {count} exchange(s) to {}", recorder.path().display()),
            Err(error) => eprintln!("error: {error}"),
        }
    }
    let report = proxying::report(&outcome, &upstream);
    if let Err(code) = write_reports(&report, &args.report_dir) {
        return code;
    }
    println!("reports: {}", args.report_dir.display());
    let counts = &report.counts;
    println!("proxy: {} exchange(s) conform, {} failed, {} not judged", counts.passed, counts.failed, counts.skipped);
    if outcome.judged.is_empty() {
        println!("proxy: no exchange came through, so nothing was judged");
    }
    if report.passed(false) { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

async fn replay(args: ReplayArgs) -> ExitCode {
    use appmesh_conformance::replay;
    let cassette = match load_cassette(&args.cassette) {
        Ok(cassette) => cassette,
        Err(code) => return code,
    };
    let model = Arc::new(ServiceModel::embedded());
    let settings = match Settings::resolve(&model, &args.target, &DeclarationArgs::default(), &env) {
        Ok(settings) => settings,
        Err(error) => return usage_error(error),
    };
    let connected = match target::connect(model.clone(), settings.target).await {
        Ok(connected) => connected,
        Err(error) => return usage_error(error),
    };
    let run_id = cleanup::run_id(&cleanup::random_tag(&mut fastrand::Rng::new()));
    println!(
        "replay: {} exchange(s) of {} ({}) against {} as run {run_id}",
        cassette.entries.len(),
        args.cassette.display(),
        cassette.header.source,
        connected.describe()
    );
    let started = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let replayed = replay::replay(&connected.client, &cassette, &run_id).await;
    for entry in &replayed.entries {
        let operation = entry.operation.as_deref().unwrap_or("(no operation)");
        if let Some(fixed) = entry.fixed() {
            let checks: Vec<String> = entry.failed_then.iter().map(|f| f.id.to_string()).collect();
            let verdict = if fixed { "FIXED" } else { "STILL FAILING" };
            println!("{verdict}: #{} {operation} ({})", entry.recorded.seq, checks.join(", "));
        }
        if let Err(error) = &entry.live {
            println!("no answer: #{} {operation}: {error}", entry.recorded.seq);
        }
    }
    let report = replay::report(&replayed, &cassette, &connected, started, clock.elapsed());
    let endpoint = connected.client.config().endpoint.clone();
    if let Some(emulator) = connected.emulator {
        emulator.shutdown().await;
    }
    if let Err(code) = write_reports(&report, &args.report_dir) {
        return code;
    }
    for left in &replayed.left {
        println!("  left: {left}; remove it with: appmesh-conformance cleanup --endpoint {endpoint} --run-id {run_id}");
    }
    println!("reports: {}", args.report_dir.display());
    println!(
        "replay: {} of {} answer(s) differ from the recording; {} fail a check",
        replayed.differing(),
        replayed.entries.len(),
        report.counts.failed
    );
    if report.passed(false) && replayed.differing() == 0 && replayed.left.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn diff(args: DiffArgs) -> ExitCode {
    use appmesh_conformance::diff;
    let model = Arc::new(ServiceModel::embedded());
    let connect = |url: &str| {
        let target = TargetArgs {
            endpoint: Some(url.to_string()),
            region: args.region.clone(),
            timeout: args.timeout,
            ..TargetArgs::default()
        };
        let model = model.clone();
        async move {
            let settings = Settings::resolve(&model, &target, &DeclarationArgs::default(), &env)?;
            target::connect(model, settings.target).await.map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
        }
    };
    let mut temporary = None;
    let (cassette, source) = match &args.cassette {
        Some(path) => match load_cassette(path) {
            Ok(cassette) => (cassette, format!("the requests of {}", path.display())),
            Err(code) => return code,
        },
        None => {
            let dir = std::env::temp_dir().join(format!("appmesh-conformance-diff-{}", std::process::id()));
            let path = dir.join("suite.jsonl");
            println!("diff: recording the suite's requests against the embedded emulator, one scenario at a time");
            let recorded = diff::record_suite(&path, args.seed, args.tags.clone()).await;
            temporary = Some(dir);
            match recorded {
                Ok(cassette) => (cassette, "the requests of a seeded run of the suite".to_string()),
                Err(error) => return usage_error(error),
            }
        }
    };
    let mut sides = Vec::new();
    for url in [&args.a, &args.a, &args.b] {
        match connect(url).await {
            Ok(connected) => sides.push(connected),
            Err(error) => return usage_error(error),
        }
    }
    println!(
        "diff: {} request(s) ({source}) against A = {} (twice, for the noise) and B = {}",
        cassette.entries.len(),
        sides[0].describe(),
        sides[2].describe()
    );
    let started = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let comparison = diff::compare(&sides[0].client, &sides[1].client, &sides[2].client, &cassette).await;
    let report = diff::report(&comparison, &sides[0], &sides[2], &source, started, clock.elapsed());
    for side in sides {
        if let Some(emulator) = side.emulator {
            emulator.shutdown().await;
        }
    }
    if let Some(dir) = temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Err(code) = write_reports(&report, &args.report_dir) {
        return code;
    }
    for left in &comparison.left {
        println!("  left: {left}");
    }
    println!("reports: {}", args.report_dir.display());
    println!(
        "diff: {} of {} answer(s) differ beyond the noise; {} varied by themselves on A and were set aside",
        comparison.differing(),
        comparison.pairs.len(),
        comparison.noisy()
    );
    if comparison.differing() == 0 && comparison.left.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn judge(args: JudgeArgs) -> ExitCode {
    let cassette = match load_cassette(&args.cassette) {
        Ok(cassette) => cassette,
        Err(code) => return code,
    };
    let report = appmesh_conformance::replay::judge_recorded(&cassette, &args.cassette);
    if let Err(code) = write_reports(&report, &args.report_dir) {
        return code;
    }
    println!("reports: {}", args.report_dir.display());
    let counts = &report.counts;
    println!(
        "judge: {} recorded exchange(s) conform, {} fail, {} not judged; {} informational finding(s)",
        counts.passed, counts.failed, counts.skipped, counts.informational
    );
    if report.passed(false) { ExitCode::SUCCESS } else { ExitCode::from(1) }
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
        appmesh_conformance::generate::operations(&model)
    } else {
        args.operation.clone()
    };
    let written = match appmesh_conformance::generate::files::write(&model, &source, &operations, &args.out, args.check)
    {
        Ok(written) => written,
        Err(error) => return usage_error(error),
    };
    let mut stale = Vec::new();
    for file in &written {
        let generated = &file.generated;
        println!(
            "{}: {} scenarios in {} files under {}",
            generated.operation,
            generated.scenario_count,
            generated.files.len(),
            file.dir.display()
        );
        for line in &generated.coverage {
            let covered = line.expected.intersection(&line.covered).count();
            println!("  {:<45} {covered:>4}/{:<4} {:>5.1}%", line.what, line.expected.len(), line.percent());
            for missing in line.missing() {
                println!("    not covered: {missing:?}");
            }
        }
        if args.check {
            stale.extend(file.changed.iter().cloned());
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

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled: a run spends its first seconds parsing features, and a signal then must still
/// stop it cleanly rather than kill it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
