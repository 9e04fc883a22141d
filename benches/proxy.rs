//! What the validating proxy adds to a request: DescribeVirtualNode sent by a bare reqwest client
//! straight to `serve`, through `proxy` to the embedded emulator in the proxy's process, and
//! through `proxy` to that same `serve` (one more hop). Goal: through the proxy within 1.5 times the
//! direct call. As in `overhead`, the ratio comes from an interleaved run (each round one request
//! of each kind, the medians), because separate criterion benches drift apart by more than the
//! difference.
//!
//! `cargo bench --bench proxy`; reports in `target/criterion/report/index.html`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use appmesh_conformance::emulator::{self, Emulator, EmulatorConfig};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::proxy::{self, ProxyOptions, Upstream};
use criterion::{Criterion, criterion_group, criterion_main};

/// Rounds of the interleaved comparison; bounded by 30 seconds too.
const ROUNDS: usize = 3000;

/// Starts `serve` and two proxies, each on a thread and runtime of its own, as separate processes
/// would be; their endpoints, and a sender that stops them all.
fn start() -> ([String; 3], Vec<tokio::sync::oneshot::Sender<()>>, Vec<std::thread::JoinHandle<()>>) {
    let model = Arc::new(ServiceModel::embedded());
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut stops = Vec::new();
    let mut threads = Vec::new();
    // serve
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    stops.push(stop);
    let (serve_model, to_main) = (model.clone(), sender.clone());
    threads.push(std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let running = emulator::start(serve_model, EmulatorConfig::default(), 0).await.unwrap();
            to_main.send((0, running.endpoint())).unwrap();
            let _ = stopped.await;
            running.shutdown().await;
        })
    }));
    let serve_endpoint = receiver.recv_timeout(Duration::from_secs(10)).expect("serve starts").1;
    for (index, remote) in [(1, false), (2, true)] {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        let (model, to_main, serve_endpoint) = (model.clone(), sender.clone(), serve_endpoint.clone());
        threads.push(std::thread::spawn(move || {
            // One thread, as `proxy` runs: the judge works between the forwarding.
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let upstream = if remote {
                    let config = appmesh_conformance::client::ClientConfig {
                        endpoint: serve_endpoint,
                        region: "us-east-1".into(),
                        credentials: appmesh_conformance::target::embedded_credentials(),
                        timeout: Duration::from_secs(10),
                        retry: Default::default(),
                        max_rps: None,
                        run_deadline: None,
                        patience: appmesh_conformance::client::budget::PERSISTENT_TIME,
                    };
                    Upstream::Remote(Arc::new(appmesh_conformance::client::Client::new(model.clone(), config).unwrap()))
                } else {
                    Upstream::Embedded(Arc::new(Emulator::new(model.clone(), EmulatorConfig::default())))
                };
                let options = ProxyOptions {
                    max_in_flight: 64,
                    ..ProxyOptions::new("127.0.0.1:0".parse().unwrap(), "us-east-1")
                };
                let running = proxy::start(model, upstream, options, None, |_, _, _| {}).await.unwrap();
                to_main.send((index, running.endpoint())).unwrap();
                let _ = stopped.await;
                running.stop().await;
            })
        }));
    }
    let mut endpoints = [serve_endpoint, String::new(), String::new()];
    for _ in 0..2 {
        let (index, endpoint) = receiver.recv_timeout(Duration::from_secs(10)).expect("a proxy starts");
        endpoints[index] = endpoint;
    }
    (endpoints, stops, threads)
}

fn overhead(c: &mut Criterion) {
    appmesh_conformance::client::install_tls_provider();
    let (endpoints, stops, threads) = start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let node =
        r#"{"virtualNodeName":"described","spec":{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}]}}"#;
    runtime.block_on(async {
        // The node to read: in serve (both the direct path and the remote proxy read it there), and
        // in the embedded proxy's own emulator.
        for endpoint in [&endpoints[0], &endpoints[1]] {
            let mesh = http.put(format!("{endpoint}/v20190125/meshes")).body(r#"{"meshName":"bench"}"#).send().await;
            assert_eq!(mesh.unwrap().status().as_u16(), 200);
            let made = http.put(format!("{endpoint}/v20190125/meshes/bench/virtualNodes")).body(node).send().await;
            assert_eq!(made.unwrap().status().as_u16(), 200);
        }
    });
    let urls = endpoints.clone().map(|e| format!("{e}/v20190125/meshes/bench/virtualNodes/described"));
    let mut group = c.benchmark_group("proxy");
    for (name, url) in
        ["direct to serve", "through proxy, embedded upstream", "through proxy to serve"].iter().zip(&urls)
    {
        group.bench_function(*name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = http.get(url).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 200);
                response.bytes().await.unwrap();
            })
        });
    }
    group.finish();
    let [direct, embedded, remote] = runtime.block_on(interleaved(&http, &urls));
    let ratio = |time: Duration| time.as_secs_f64() / direct.as_secs_f64();
    println!(
        "proxy/interleaved (medians of up to {ROUNDS} rounds): direct {direct:?}; through the proxy, embedded \
         upstream {embedded:?} = {:.2}x; through the proxy to serve {remote:?} = {:.2}x",
        ratio(embedded),
        ratio(remote)
    );
    for stop in stops {
        let _ = stop.send(());
    }
    for thread in threads {
        thread.join().unwrap();
    }
}

/// Each round one request of each kind, in turn; the median of each.
async fn interleaved(http: &reqwest::Client, urls: &[String; 3]) -> [Duration; 3] {
    let mut times: [Vec<Duration>; 3] = Default::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while times[0].len() < ROUNDS && Instant::now() < deadline {
        for (index, url) in urls.iter().enumerate() {
            let started = Instant::now();
            let response = http.get(url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.bytes().await.unwrap();
            times[index].push(started.elapsed());
        }
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
