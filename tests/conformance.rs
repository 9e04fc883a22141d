//! The conformance suite as a `cargo test` target, run the one way every run goes (settings from
//! the environment, a session, the run, the clean-up account): every feature against the resolved
//! target (`APPMESH_ENDPOINT` and friends, else the embedded emulator).
//!
//! Against the embedded emulator it runs the mutation self-test alongside, in this process and in
//! parallel: the suite against every deviation mode of the emulator (each scoped to the scenarios
//! that can see it where that is sound), each of which must fail with a check that names the
//! deviation's subject, and leave nothing behind.
//!
//! `cargo test --test conformance -- --tags '@error'` runs a slice (and skips the self-test).
//! Other arguments cargo passes to test binaries (filters, `--nocapture`) are ignored.

/// The suite allocates on every request, as the binary does: the same allocator (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use appmesh_conformance::emulator::{Deviation, RateLimit};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::session::{INTERRUPTED_CLEANUP, Session, SessionOptions};
use appmesh_conformance::settings::{DeclarationArgs, Settings, TargetArgs};
use appmesh_conformance::suite::{FeatureSource, RunOptions, RunSummary};

fn tags_argument() -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut tags = std::env::var("CUCUMBER_FILTER_TAGS").ok().filter(|t| !t.trim().is_empty());
    for (index, arg) in args.iter().enumerate() {
        if let Some(value) = arg.strip_prefix("--tags=") {
            tags = Some(value.to_string());
        } else if arg == "--tags" || arg == "-t" {
            tags = args.get(index + 1).cloned();
        }
    }
    tags
}

/// Deviations the suite cannot catch yet, each with the scenarios that will catch it. A list of
/// known failures: the self-test fails when one of them starts being caught, so it only shrinks.
const AWAITING_SCENARIOS: &[(Deviation, &str)] = &[];

/// The scenarios that can see a deviation. Sound because the claim is only that some scenario
/// catches it; that the suite fails no faithful target is shown by the whole-suite run above.
fn scope(deviation: Deviation) -> &'static str {
    use Deviation::*;
    match deviation {
        VersionZero
        | TimestampsAsStrings
        | WrongArnForm
        | LowercaseStatus
        | SpecMemberDropped
        | HtmlContentType
        | MissingUid
        | LastUpdatedBeforeCreated
        | ReadbackDiffers => "@documented-example",
        DuplicateNameAccepted | NoErrorTypeHeader => "@error and @op:CreateVirtualNode",
        UnknownMeshBadRequest => "@uri and @op:CreateVirtualNode",
        ReusedTokenDifferentRequestAccepted | NewUidOnReplay => "@idempotency",
        PortZeroAccepted | RejectsMaxPort => {
            "@bound and @member:spec.listeners.portMapping.port and @op:CreateVirtualNode"
        }
        LongNameAccepted | RejectsMaxName => "@bound and @member:virtualNodeName and @op:CreateVirtualNode",
        RejectsMaxTags | TooManyTagsAccepted => "@bound and @member:tags and @op:CreateVirtualNode",
        EnumNotEnforced => "@enum and @member:spec.listeners.portMapping.protocol and @op:CreateVirtualNode",
        MalformedJsonServerError => "@type and @member:body and @op:CreateVirtualNode",
        ThrottleAsBadRequest => "@throttling",
        QuotaNotEnforced => "@limits",
        SignatureNotChecked => "@auth",
        UpdateWithoutVersionBump
        | DeleteRouterWithRoutes
        | RouteInMissingRouter
        | WrongGatewayRouteArn
        | TagsNotBounded => "@lifecycle",
    }
}

/// One run, quiet, against the embedded emulator with `deviation`; the text of every failed check
/// (id, member, rule, expected, actual), and what the run left behind.
async fn run_with(model: Arc<ServiceModel>, deviation: Deviation) -> (RunSummary, Vec<String>, Vec<String>) {
    let no_env = |_: &str| None;
    let mut settings = Settings::resolve(&model, &TargetArgs::default(), &DeclarationArgs::default(), &no_env)
        .expect("defaults are valid");
    if deviation == Deviation::ThrottleAsBadRequest {
        // Throttling shows only on a rate-limited target that is declared as such.
        settings.target.emulator.rate_limit = Some(RateLimit { requests_per_second: 50.0, burst: 10 });
        settings.profile.throttle_rps = Some(50.0);
        settings.target.throttle_rps = Some(50.0);
    }
    if deviation == Deviation::QuotaNotEnforced {
        // Whether the quota is enforced does not depend on its value: a small one fills sooner.
        settings.target.emulator.quotas.virtual_nodes_per_mesh = 5;
        settings.profile.node_quota = 5;
    }
    let options = SessionOptions { deviations: vec![deviation], ..SessionOptions::default() };
    let session = Session::open(model, &settings, options, None).await.expect("the embedded emulator starts");
    let run = RunOptions {
        features: FeatureSource::Embedded,
        tags: Some(scope(deviation).to_string()),
        progress: true,
        quiet: true,
        ..RunOptions::default()
    };
    let outcome = session.run(run, std::future::pending()).await.expect("the suite runs");
    let account = session.settle(INTERRUPTED_CLEANUP * 5, std::future::pending()).await;
    session.close().await;
    let checks = outcome
        .summary
        .scenarios
        .iter()
        .flat_map(|s| &s.failures)
        .flat_map(|step| &step.failures)
        .map(|f| format!("{} | {} | {} | {} | {}", f.id, f.path, f.rule, f.expected, f.actual))
        .collect();
    let left = account.left.iter().map(|l| l.name.clone()).chain(account.unnamed).collect();
    (outcome.summary, checks, left)
}

/// The mutation self-test: every deviation mode makes the suite fail with a failed check that
/// names the deviation's subject. Runs in parallel, four at a time.
async fn mutation_self_test(model: Arc<ServiceModel>) -> bool {
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(4));
    // The runs that mostly wait (the rate-limited one, the quota fill) start first, so that the
    // others overlap them.
    let mut order = Deviation::ALL.to_vec();
    order.sort_by_key(|d| !matches!(d, Deviation::ThrottleAsBadRequest | Deviation::QuotaNotEnforced));
    let runs = order.iter().map(|deviation| {
        let (model, permits) = (model.clone(), permits.clone());
        async move {
            let _permit = permits.acquire().await.expect("the semaphore stays open");
            let started = Instant::now();
            let result = run_with(model, *deviation).await;
            (*deviation, result, started.elapsed())
        }
    });
    let mut missed = Vec::new();
    let mut newly_caught = Vec::new();
    let mut leaks = Vec::new();
    let mut times = Vec::new();
    for (deviation, (summary, checks, left), took) in futures::future::join_all(runs).await {
        times.push((took, deviation));
        let killed = summary.failed > 0 && checks.iter().any(|check| check.contains(deviation.subject()));
        match (killed, AWAITING_SCENARIOS.iter().any(|(d, _)| *d == deviation)) {
            (true, false) | (false, true) => {}
            (true, true) => newly_caught.push(deviation.name()),
            (false, false) => missed.push(format!(
                "{deviation}: {} failed scenario(s), no failed check names {:?}; checks: {checks:?}",
                summary.failed,
                deviation.subject()
            )),
        }
        if !left.is_empty() {
            leaks.push(format!("{deviation}: {left:?}"));
        }
    }
    let caught = Deviation::ALL.len() - missed.len() - AWAITING_SCENARIOS.len();
    println!(
        "mutation self-test: {caught}/{} deviations caught ({} awaiting scenarios) in {:.1} s",
        Deviation::ALL.len(),
        AWAITING_SCENARIOS.len(),
        started.elapsed().as_secs_f64()
    );
    times.sort_by(|a, b| b.cmp(a));
    let slowest: Vec<String> =
        times.iter().take(3).map(|(took, d)| format!("{d} {:.1} s", took.as_secs_f64())).collect();
    println!("mutation self-test: slowest runs: {}", slowest.join(", "));
    for line in missed.iter().chain(&leaks) {
        eprintln!("mutation self-test: {line}");
    }
    if !newly_caught.is_empty() {
        eprintln!("mutation self-test: now caught, remove them from AWAITING_SCENARIOS: {newly_caught:?}");
    }
    missed.is_empty() && newly_caught.is_empty() && leaks.is_empty()
}

#[tokio::main]
async fn main() -> ExitCode {
    let model = Arc::new(ServiceModel::embedded());
    let settings = match Settings::from_env(&model) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let tags = tags_argument();
    let session = match Session::open(model.clone(), &settings, SessionOptions::default(), None).await {
        Ok(session) => session,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    println!("conformance: testing {}", session.describe());
    let embedded = session.target.emulator.is_some();
    let self_test = embedded && tags.is_none();
    let whole_suite = async {
        let run = RunOptions { features: FeatureSource::Embedded, tags: tags.clone(), ..RunOptions::default() };
        let outcome = match session.run(run, std::future::pending()).await {
            Ok(outcome) => outcome,
            Err(error) => {
                eprintln!("error: {error}");
                return None;
            }
        };
        let account = session.settle(Duration::from_secs(20), std::future::pending()).await;
        println!("{}", account.line());
        println!("{}", outcome.summary.closing_line());
        Some(outcome.summary.succeeded() && account.left.is_empty() && account.unnamed.is_empty())
    };
    // The self-test alongside the whole suite: its longest run mostly waits on a rate limit.
    // Every run's steps fail by panicking, and cucumber hides those panics by swapping the panic
    // hook for the length of its run; runs that overlap would swap each other's. One quiet hook
    // for all of them, and the original back afterwards.
    let hook = self_test.then(|| {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        hook
    });
    let self_tested = async { !self_test || mutation_self_test(model.clone()).await };
    let (suite_passed, self_test_passed) = tokio::join!(whole_suite, self_tested);
    if let Some(hook) = hook {
        std::panic::set_hook(hook);
    }
    session.close().await;
    match suite_passed {
        None => ExitCode::from(2),
        Some(passed) if passed && self_test_passed => ExitCode::SUCCESS,
        Some(_) => ExitCode::FAILURE,
    }
}
