//! The embedded emulator's request handling, in-process (no sockets): CreateVirtualNode with a
//! fresh name per iteration and DescribeVirtualNode of an existing node. The whole path is
//! measured: routing, decoding, validation against the model, the store and encoding.
//!
//! `cargo bench --bench emulator`; reports in `target/criterion/report/index.html`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use appmesh_conformance::emulator::{self, EmulatorConfig, Quotas};
use appmesh_conformance::model::ServiceModel;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tower::ServiceExt;

const SPEC: &str = r#"{"listeners":[{"portMapping":{"port":9080,"protocol":"http"}}],"serviceDiscovery":{"dns":{"hostname":"colorgateway.default.svc.cluster.local"}},"backends":[{"virtualService":{"virtualServiceName":"tcpecho.default.svc.cluster.local"}},{"virtualService":{"virtualServiceName":"colorteller.default.svc.cluster.local"}}]}"#;

async fn call(router: &axum::Router, method: &str, uri: &str, body: String) -> u16 {
    let request = Request::builder().method(method).uri(uri).body(Body::from(body)).expect("a valid request");
    let response = router.clone().oneshot(request).await.expect("the router answers");
    let status = response.status().as_u16();
    axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    status
}

fn handler(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    // A quota high enough for every iteration criterion may run.
    let quotas = Quotas { virtual_nodes_per_mesh: usize::MAX, ..Quotas::default() };
    let router = emulator::router(Arc::new(ServiceModel::embedded()), EmulatorConfig { quotas, ..Default::default() });
    runtime.block_on(async {
        assert_eq!(call(&router, "PUT", "/v20190125/meshes", json!({"meshName": "bench"}).to_string()).await, 200);
        let body = format!(r#"{{"virtualNodeName":"described","spec":{SPEC}}}"#);
        assert_eq!(call(&router, "PUT", "/v20190125/meshes/bench/virtualNodes", body).await, 200);
    });

    let counter = AtomicU64::new(0);
    c.bench_function("emulator/CreateVirtualNode", |b| {
        b.to_async(&runtime).iter(|| {
            let name = format!("vn-{}", counter.fetch_add(1, Ordering::Relaxed));
            let body = format!(r#"{{"virtualNodeName":"{name}","spec":{SPEC}}}"#);
            let router = &router;
            async move { assert_eq!(call(router, "PUT", "/v20190125/meshes/bench/virtualNodes", body).await, 200) }
        })
    });
    c.bench_function("emulator/DescribeVirtualNode", |b| {
        b.to_async(&runtime).iter(|| async {
            assert_eq!(call(&router, "GET", "/v20190125/meshes/bench/virtualNodes/described", String::new()).await, 200)
        })
    });
}

criterion_group!(benches, handler);
criterion_main!(benches);
