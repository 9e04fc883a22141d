//! The conformance suite as a `cargo test` target: every `.feature` under `features/` against the
//! resolved target (`APPMESH_ENDPOINT` and friends, else the embedded emulator).
//!
//! `cargo test --test conformance -- --tags '@error'` runs a slice. Other arguments cargo passes
//! to test binaries (filters, `--nocapture`) are ignored rather than refused.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::profile::TargetProfile;
use appmesh_conformance::suite::{self, RunOptions, SuiteContext};
use appmesh_conformance::target::{self, TargetOptions};

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

#[tokio::main]
async fn main() -> ExitCode {
    let model = Arc::new(ServiceModel::embedded());
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    let profile = match env("APPMESH_PROFILE").map(|path| TargetProfile::load(std::path::Path::new(&path))) {
        None => Ok(TargetProfile::default()),
        Some(loaded) => loaded.map_err(|e| e.to_string()),
    }
    .and_then(|profile| profile.with_env(env));
    let profile = match profile {
        Ok(profile) => profile,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let mut options = TargetOptions { account_id: profile.account_id.clone(), ..TargetOptions::default() };
    options.endpoint = profile.endpoint.clone().filter(|_| env("APPMESH_ENDPOINT").is_none());
    options.emulator.quotas.virtual_nodes_per_mesh = profile.node_quota;
    options.throttle_rps = profile.throttle_rps;
    options.max_rps = match env("APPMESH_MAX_RPS").map(|r| r.trim().parse::<f64>()) {
        None => None,
        Some(Ok(rate)) if rate > 0.0 => Some(rate),
        Some(_) => {
            eprintln!("error: APPMESH_MAX_RPS must be a positive number of requests per second");
            return ExitCode::from(2);
        }
    };
    let options_max_rps = options.max_rps;
    let connected = match target::connect(model, options).await {
        Ok(connected) => connected,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    println!("conformance: testing {}", connected.describe());
    let mut ctx = SuiteContext::new(connected.client.clone(), connected.account_id.clone(), profile);
    ctx.explicit_max_rps = options_max_rps;
    let ctx = Arc::new(ctx);
    let run_options = RunOptions {
        features: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("features"),
        tags: tags_argument(),
        report_dir: None,
        max_concurrent_scenarios: connected.emulator.is_none().then_some(suite::EXTERNAL_TARGET_CONCURRENCY),
        // cucumber's own step-by-step output: a developer's detailed view.
        progress: false,
    };
    let summary = match suite::run(ctx, run_options).await {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(emulator) = connected.emulator {
        emulator.shutdown().await;
    }
    println!("{}", summary.closing_line());
    if summary.succeeded() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
