//! `endpoint`: CreateVirtualNode requests shaped by the model, sent to the live target named by
//! `APPMESH_ENDPOINT` (signed with the standard credential chain, paced by `APPMESH_MAX_RPS`,
//! default 50). A 5xx, a malformed or misshapen answer, or no answer within
//! `APPMESH_TIMEOUT_SECS` (default 30, as for every command) is a crash; the exchange is saved under
//! `artifacts/endpoint/` beside libFuzzer's copy of the input. Every node a case creates is
//! deleted; the one mesh the campaign works in is deleted when the campaign ends (after a crash,
//! `appmesh-conformance cleanup --endpoint URL` removes it: it is named and tagged like every
//! harness mesh).
#![no_main]

use std::sync::{Arc, OnceLock};

use appmesh_conformance::fuzzing::{endpoint_case, endpoint_send};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::settings::Settings;
use appmesh_conformance::target::{self, TargetOptions};

struct Campaign {
    runtime: tokio::runtime::Runtime,
    client: Arc<appmesh_conformance::client::Client>,
    mesh: String,
}

fn campaign() -> &'static Campaign {
    static CAMPAIGN: OnceLock<Campaign> = OnceLock::new();
    CAMPAIGN.get_or_init(|| {
        let endpoint_set = ["APPMESH_ENDPOINT", "AWS_ENDPOINT_URL_APP_MESH", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|key| std::env::var(key).is_ok_and(|v| !v.trim().is_empty()));
        if !endpoint_set {
            eprintln!("error: the endpoint target needs APPMESH_ENDPOINT=URL (for example `appmesh-conformance serve` on http://127.0.0.1:9080)");
            std::process::exit(2);
        }
        let model = Arc::new(ServiceModel::embedded());
        // The settings every command uses (APPMESH_TIMEOUT_SECS, APPMESH_MAX_RPS, APPMESH_PROFILE, ...).
        let settings = Settings::from_env(&model).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2);
        });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        // A campaign is a flood: without an explicit pace it is held to 50 requests per second.
        let options = TargetOptions { max_rps: settings.target.max_rps.or(Some(50.0)), ..settings.target };
        let connected = runtime
            .block_on(target::connect(model, options))
            .unwrap_or_else(|e| {
                eprintln!("error: {e}");
                std::process::exit(2);
            });
        let run_id = appmesh_conformance::cleanup::run_id("fuzz");
        let created = runtime.block_on(appmesh_conformance::cleanup::create_run_mesh(&connected.client, &run_id, "mesh"));
        let mesh = match created {
            Ok((mesh, _)) => mesh,
            Err(problem) => {
                eprintln!("error: the campaign has no mesh on the target: {problem}");
                std::process::exit(2);
            }
        };
        unsafe extern "C" {
            fn atexit(callback: extern "C" fn()) -> i32;
        }
        extern "C" fn remove_mesh() {
            // At exit this thread's thread-locals (the runtime's context among them) are gone: the
            // deletion runs on a thread of its own.
            let removal = std::thread::spawn(|| {
                if let Some(campaign) = CAMPAIGN.get() {
                    let done = campaign.runtime.block_on(appmesh_conformance::cleanup::delete_mesh_fully(&campaign.client, &campaign.mesh));
                    if let Err(problem) = done {
                        eprintln!("warning: the campaign's mesh {} was not removed: {problem}", campaign.mesh);
                    }
                }
            });
            let _ = removal.join();
        }
        // SAFETY: registers a plain function with the C runtime, once.
        unsafe { atexit(remove_mesh) };
        Campaign { runtime, client: connected.client.clone(), mesh }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(case) = endpoint_case(data) else { return };
    let campaign = campaign();
    if let Err((problem, exchange)) = campaign.runtime.block_on(endpoint_send(&campaign.client, &campaign.mesh, &case))
    {
        let shown = exchange.map(|e| e.to_string()).unwrap_or_default();
        let dir = std::path::Path::new("artifacts/endpoint");
        let _ = std::fs::create_dir_all(dir);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let _ = std::fs::write(dir.join(format!("exchange-{nanos}.txt")), format!("{problem}\n{shown}"));
        panic!("the target misanswered:\n{problem}\n{shown}");
    }
});
