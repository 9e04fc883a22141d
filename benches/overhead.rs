//! What the harness adds to a request: signing, request building, response validation and error
//! parsing, each alone; then one full exchange with the harness's client (build, sign, send,
//! record, redact) against the emulator on loopback, beside a bare reqwest call of the same
//! request to the same emulator. Goal: the full exchange within 1.2 times the bare call.
//!
//! `cargo bench --bench overhead`; reports in `target/criterion/report/index.html`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use appmesh_conformance::client::sign::{self, Scope, Signable};
use appmesh_conformance::emulator::{self, EmulatorConfig};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::target::embedded_credentials;
use appmesh_conformance::{checks, validate, wire};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn overhead(c: &mut Criterion) {
    let model = Arc::new(ServiceModel::embedded());
    let credentials = embedded_credentials();
    let input = json!({
        "meshName": "bench",
        "virtualNodeName": "described",
        "spec": { "listeners": [{ "portMapping": { "port": 9080, "protocol": "http" } }] },
    });
    let mut group = c.benchmark_group("overhead");
    group.bench_function("build request", |b| {
        b.iter(|| wire::build_request(&model, "CreateVirtualNode", &input).unwrap())
    });
    let request = wire::build_request(&model, "CreateVirtualNode", &input).unwrap();
    let url = format!("http://127.0.0.1:9/{}", request.path_and_query);
    let headers = vec![("host".to_string(), "127.0.0.1:9".to_string())];
    group.bench_function("sign", |b| {
        b.iter(|| {
            let signable = Signable { method: &request.method, url: &url, headers: &headers, body: &request.body };
            let scope = Scope { credentials: &credentials, region: "us-east-1", service: "appmesh" };
            sign::sign_headers(signable, scope, SystemTime::now()).unwrap()
        })
    });
    let answer = json!({
        "meshName": "bench", "virtualNodeName": "described",
        "metadata": { "arn": "arn:aws:appmesh:us-east-1:123456789012:mesh/bench/virtualNode/described", "createdAt": 1.7e9,
                      "lastUpdatedAt": 1.7e9, "meshOwner": "123456789012", "resourceOwner": "123456789012", "uid": "u", "version": 1 },
        "spec": input["spec"], "status": { "status": "ACTIVE" },
    });
    group
        .bench_function("validate response", |b| b.iter(|| checks::shape_failures(&model, "VirtualNodeData", &answer)));
    group.bench_function("validate request", |b| {
        b.iter(|| validate::violations(&model, "CreateVirtualNodeInput", &input))
    });
    let error_headers =
        vec![("x-amzn-errortype".to_string(), "NotFoundException:http://internal.amazon.com/".to_string())];
    let error_body = br#"{"message":"mesh bench does not exist"}"#;
    group.bench_function("parse error", |b| {
        b.iter(|| (wire::error_code(&error_headers, error_body), wire::error_message(error_body)))
    });

    // Full exchange vs a bare call, over loopback, to the same emulator and request.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let running = runtime.block_on(emulator::start(model.clone(), EmulatorConfig::default(), 0)).unwrap();
    let endpoint = running.endpoint();
    let config = appmesh_conformance::client::ClientConfig {
        endpoint: endpoint.clone(),
        region: "us-east-1".into(),
        credentials: credentials.clone(),
        timeout: Duration::from_secs(10),
        retry: appmesh_conformance::client::RetryPolicy::default(),
        max_rps: None,
    };
    let client = appmesh_conformance::client::Client::new(model.clone(), config).unwrap();
    runtime.block_on(async {
        assert_eq!(client.call("CreateMesh", &json!({ "meshName": "bench" })).await.unwrap().status(), 200);
        assert_eq!(client.call("CreateVirtualNode", &input).await.unwrap().status(), 200);
    });
    let describe = json!({ "meshName": "bench", "virtualNodeName": "described" });
    group.bench_function("exchange: harness client", |b| {
        b.to_async(&runtime).iter(|| async {
            let exchange = client.call("DescribeVirtualNode", &describe).await.unwrap();
            assert_eq!(exchange.status(), 200);
        })
    });
    let bare = reqwest::Client::new();
    let describe_url = format!("{endpoint}/v20190125/meshes/bench/virtualNodes/described");
    group.bench_function("exchange: bare reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = bare.get(&describe_url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.bytes().await.unwrap();
        })
    });
    group.finish();
    runtime.block_on(running.shutdown());
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = overhead
}
criterion_main!(benches);
