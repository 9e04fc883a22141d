//! What the harness adds to a request: signing, request building, response validation and error
//! parsing, each alone; then one full exchange with the harness's client (build, sign, send,
//! record, redact) against the emulator on loopback, beside a bare reqwest call of the same
//! request to the same emulator. Goal: the full exchange within 1.2 times the bare call. The ratio
//! itself comes from the last step, which interleaves the exchanges (see [`interleaved`]) and
//! prints the medians: two criterion benches run minutes apart drift by more than the difference.
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
    // The emulator on a thread of its own, as a server in another process would be; the client on
    // one thread. (With both in one multi-threaded runtime, the time a request takes depends on
    // whether the other worker was still spinning or had gone to sleep: any work between two
    // requests, signing among it, would be charged a thread wake-up.)
    let (endpoint_sender, endpoint_receiver) = std::sync::mpsc::channel();
    let (stop_sender, stop_receiver) = tokio::sync::oneshot::channel::<()>();
    let serving_model = model.clone();
    let server = std::thread::Builder::new()
        .name("emulator".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let running = emulator::start(serving_model, EmulatorConfig::default(), 0).await.unwrap();
                endpoint_sender.send(running.endpoint()).unwrap();
                let _ = stop_receiver.await;
                running.shutdown().await;
            })
        })
        .unwrap();
    let endpoint = endpoint_receiver.recv_timeout(Duration::from_secs(10)).expect("the emulator starts");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = appmesh_conformance::client::ClientConfig {
        endpoint: endpoint.clone(),
        region: "us-east-1".into(),
        credentials: credentials.clone(),
        timeout: Duration::from_secs(10),
        retry: appmesh_conformance::client::RetryPolicy::default(),
        max_rps: None,
        run_deadline: None,
        patience: appmesh_conformance::client::budget::PERSISTENT_TIME,
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
    let bare = {
        appmesh_conformance::client::install_tls_provider();
        reqwest::Client::new()
    };
    let describe_url = format!("{endpoint}/v20190125/meshes/bench/virtualNodes/described");
    group.bench_function("exchange: bare reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = bare.get(&describe_url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.bytes().await.unwrap();
        })
    });
    group.finish();
    let request = wire::build_request(&model, "DescribeVirtualNode", &describe).unwrap();
    let [harness, unsigned, bare_call] = runtime.block_on(interleaved(&client, &request, &bare, &describe_url));
    let ratio = |time: Duration| time.as_secs_f64() / bare_call.as_secs_f64();
    println!(
        "overhead/interleaved (medians of {PAIRS} rounds): bare {bare_call:?}; harness {harness:?} = {:.2}x; \
         harness without signing {unsigned:?} = {:.2}x",
        ratio(harness),
        ratio(unsigned)
    );
    let _ = stop_sender.send(());
    server.join().unwrap();
}

/// Rounds of the interleaved comparison.
const PAIRS: usize = 3000;

/// The ratio the goal is about, measured so that the exchanges meet the same machine: each round
/// makes one harness exchange, one harness exchange left unsigned, and one bare call, in turn;
/// the median of each. Bounded by [`PAIRS`] rounds and by 30 seconds.
async fn interleaved(
    client: &appmesh_conformance::client::Client,
    request: &wire::HttpRequest,
    bare: &reqwest::Client,
    url: &str,
) -> [Duration; 3] {
    use appmesh_conformance::client::{RetryMode, Tamper};
    let mut times: [Vec<Duration>; 3] = Default::default();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while times[0].len() < PAIRS && std::time::Instant::now() < deadline {
        let started = std::time::Instant::now();
        let signed = client.send(Some("DescribeVirtualNode"), request, RetryMode::Standard).await.unwrap();
        times[0].push(started.elapsed());
        let started = std::time::Instant::now();
        let unsigned = client.send_tampered(Some("DescribeVirtualNode"), request, Tamper::Unsigned).await.unwrap();
        times[1].push(started.elapsed());
        let started = std::time::Instant::now();
        let response = bare.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        response.bytes().await.unwrap();
        times[2].push(started.elapsed());
        assert_eq!((signed.status(), unsigned.status(), status), (200, 200, 200));
    }
    times.map(|mut each| {
        each.sort();
        each[each.len() / 2]
    })
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = overhead
}
criterion_main!(benches);
