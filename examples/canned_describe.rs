//! The floor for `serve`'s throughput: an axum server on 127.0.0.1 that answers every request with
//! one canned DescribeVirtualNode body, doing no routing, decoding, validation or store lookup.
//! `scripts/throughput.sh` measures `serve` against it side by side.
//!
//! `cargo run --release --example canned_describe -- PORT`

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

const BODY: &str = r#"{"meshName":"perf","metadata":{"arn":"arn:aws:appmesh:us-east-1:123456789012:mesh/perf/virtualNode/vn","createdAt":1.7646e9,"lastUpdatedAt":1.7646e9,"meshOwner":"123456789012","resourceOwner":"123456789012","uid":"00000000-0000-4000-8000-000000000000","version":1},"spec":{},"status":{"status":"ACTIVE"},"virtualNodeName":"vn"}"#;

#[tokio::main]
async fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: canned_describe PORT (a port number for 127.0.0.1)");
            std::process::exit(2);
        }
    };
    let app = axum::Router::new().fallback(|| async { ([(CONTENT_TYPE, "application/json")], BODY).into_response() });
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("canned_describe: cannot listen on 127.0.0.1:{port}: {error}");
            std::process::exit(2);
        }
    };
    println!("canned DescribeVirtualNode on http://127.0.0.1:{port}");
    if let Err(error) = axum::serve(listener, app).await {
        eprintln!("canned_describe: {error}");
        std::process::exit(1);
    }
}
