//! Endpoint latency, signed, against the resolved target: `APPMESH_ENDPOINT` (and the other
//! endpoint variables, credentials from the standard chain), else the embedded emulator on
//! loopback. Four requests: CreateVirtualNode with a fresh name per iteration, an idempotent
//! replay of one create, DescribeVirtualNode, and an error path (DescribeVirtualNode of a name
//! that does not exist: 404). Everything created lives in one harness mesh, deleted at the end.
//!
//! ```sh
//! cargo bench --bench latency -- --save-baseline nightly   # record
//! cargo bench --bench latency -- --baseline nightly        # compare with the record
//! APPMESH_ENDPOINT=http://127.0.0.1:5000 APPMESH_MAX_RPS=20 cargo bench --bench latency -- --quick
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use appmesh_conformance::emulator::{EmulatorConfig, Quotas};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::settings::Settings;
use appmesh_conformance::target::{self, TargetOptions};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const SPEC: &str = r#"{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"colorgateway.default.svc.cluster.local"}}}"#;

fn latency(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let model = Arc::new(ServiceModel::embedded());
    let settings = Settings::from_env(&model).unwrap_or_else(|e| panic!("{e}"));
    let options = TargetOptions {
        // Room for every create criterion may make in one mesh.
        emulator: EmulatorConfig {
            quotas: Quotas { virtual_nodes_per_mesh: usize::MAX, ..settings.target.emulator.quotas },
            ..settings.target.emulator
        },
        ..settings.target
    };
    let connected =
        runtime.block_on(target::connect(model, options)).unwrap_or_else(|e| panic!("the target does not answer: {e}"));
    let client = connected.client.clone();
    println!("latency: {}", connected.describe());
    let run_id = appmesh_conformance::cleanup::run_id("lat0");
    let (mesh, _) = runtime
        .block_on(appmesh_conformance::cleanup::create_run_mesh(&client, &run_id, "mesh"))
        .unwrap_or_else(|problem| panic!("{problem}"));
    let spec: serde_json::Value = serde_json::from_str(SPEC).expect("valid JSON");
    let replayed =
        json!({ "meshName": mesh, "virtualNodeName": "replayed", "spec": spec, "clientToken": "bench-replay-token" });
    let first = runtime.block_on(client.call("CreateVirtualNode", &replayed)).expect("CreateVirtualNode");
    assert_eq!(first.status(), 200, "{first}");

    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group("latency");
    group.bench_function("CreateVirtualNode", |b| {
        b.to_async(&runtime).iter(|| {
            let input = json!({
                "meshName": mesh,
                "virtualNodeName": format!("vn-{}", counter.fetch_add(1, Ordering::Relaxed)),
                "spec": spec,
            });
            let client = &client;
            async move {
                let answer = client.call("CreateVirtualNode", &input).await.expect("an answer");
                assert_eq!(answer.status(), 200, "{answer}");
            }
        })
    });
    group.bench_function("CreateVirtualNode replay", |b| {
        b.to_async(&runtime).iter(|| async {
            let answer = client.call("CreateVirtualNode", &replayed).await.expect("an answer");
            assert_eq!(answer.status(), 200, "{answer}");
        })
    });
    let describe = json!({ "meshName": mesh, "virtualNodeName": "replayed" });
    group.bench_function("DescribeVirtualNode", |b| {
        b.to_async(&runtime).iter(|| async {
            let answer = client.call("DescribeVirtualNode", &describe).await.expect("an answer");
            assert_eq!(answer.status(), 200, "{answer}");
        })
    });
    let missing = json!({ "meshName": mesh, "virtualNodeName": "no-such-node" });
    group.bench_function("DescribeVirtualNode 404", |b| {
        b.to_async(&runtime).iter(|| async {
            let answer = client.call("DescribeVirtualNode", &missing).await.expect("an answer");
            assert_eq!(answer.status(), 404, "{answer}");
        })
    });
    group.finish();

    if let Err(problem) = runtime.block_on(appmesh_conformance::cleanup::delete_mesh_fully(&client, &mesh)) {
        eprintln!("warning: the bench's mesh {mesh} was not removed: {problem}");
    }
    if let Some(emulator) = connected.emulator {
        runtime.block_on(emulator.shutdown());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = latency
}
criterion_main!(benches);
