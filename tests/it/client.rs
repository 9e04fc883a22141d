//! The signed client against small loopback servers that misbehave on purpose: standard-mode
//! retries of 429 and 503 (and raw mode that shows them), `Retry-After`, timeouts and the cap on
//! response size. No call may hang.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use appmesh_conformance::client::{
    Client, ClientConfig, ClientError, Credentials, RetryMode, RetryPolicy, TransportKind,
};
use appmesh_conformance::model::ServiceModel;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::json;

/// Serves `handler` on a free loopback port; returns the base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn client(endpoint: String, timeout: Duration) -> Client {
    let config = ClientConfig {
        endpoint,
        region: "us-east-1".into(),
        credentials: Credentials {
            access_key_id: "AKIDCLIENTTEST".into(),
            secret_access_key: "client-test-secret-key".into(),
            session_token: Some("client-test-session-token".into()),
        },
        timeout,
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
        max_rps: None,
        run_deadline: None,
        patience: appmesh_conformance::client::budget::PERSISTENT_TIME,
    };
    Client::new(Arc::new(ServiceModel::embedded()), config).unwrap()
}

fn paced_client(endpoint: String, max_rps: f64) -> Client {
    let base = client(endpoint, Duration::from_secs(5));
    Client::new(Arc::new(ServiceModel::embedded()), ClientConfig { max_rps: Some(max_rps), ..base.config().clone() })
        .unwrap()
}

/// With `max_rps`, concurrent callers share one pace: sends are at least 1/rate apart.
#[tokio::test]
async fn max_rps_paces_all_traffic() {
    let (router, _) = flaky(StatusCode::OK, 0, None);
    let client = Arc::new(paced_client(serve(router).await, 20.0));
    let start = Instant::now();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call("DescribeMesh", &json!({"meshName": "m"})).await.unwrap() })
        })
        .collect();
    let mut sent: Vec<Instant> = Vec::new();
    for call in calls {
        sent.push(call.await.unwrap().sent_at.unwrap());
    }
    sent.sort();
    // Slot i is slot 0 + i/rate, and slot 0 is not before `start`: the i-th departure is never
    // before start + i/rate, however late a busy machine wakes any of them. Unpaced, all ten
    // leave within a few milliseconds.
    for (i, departure) in sent.iter().enumerate() {
        let since_start = *departure - start;
        assert!(since_start >= Duration::from_millis(50) * i as u32, "send {i} after {since_start:?}");
    }
}

/// Answers `failures` times with `status`, then 200.
fn flaky(status: StatusCode, failures: usize, retry_after: Option<&'static str>) -> (axum::Router, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            let call = counter.fetch_add(1, Ordering::SeqCst);
            let mut headers = HeaderMap::new();
            headers.insert("content-type", "application/json".parse().unwrap());
            if call < failures {
                headers.insert("x-amzn-errortype", "TooManyRequestsException".parse().unwrap());
                if let Some(after) = retry_after {
                    headers.insert("retry-after", after.parse().unwrap());
                }
                (status, headers, r#"{"message":"slow down"}"#).into_response()
            } else {
                (StatusCode::OK, headers, r#"{"mesh":{}}"#).into_response()
            }
        }
    });
    (router, calls)
}

#[tokio::test]
async fn standard_mode_retries_429_and_503_and_counts_them() {
    for status in [StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE] {
        let (router, calls) = flaky(status, 2, None);
        let client = client(serve(router).await, Duration::from_secs(5));
        let exchange = client.call("DescribeMesh", &json!({"meshName": "m"})).await.unwrap();
        assert_eq!((exchange.status(), exchange.attempts), (200, 3), "{status}");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!((client.retries(), client.requests()), (2, 3));
    }
}

#[tokio::test]
async fn attempts_are_bounded_and_raw_mode_shows_the_429() {
    let (router, calls) = flaky(StatusCode::TOO_MANY_REQUESTS, 100, None);
    let client = client(serve(router).await, Duration::from_secs(5));
    let exchange = client.call("DescribeMesh", &json!({"meshName": "m"})).await.unwrap();
    assert_eq!((exchange.status(), exchange.attempts), (429, 3));
    assert_eq!(exchange.error_code().as_deref(), Some("TooManyRequestsException"));
    let raw = client.call_raw("DescribeMesh", &json!({"meshName": "m"})).await.unwrap();
    assert_eq!((raw.status(), raw.attempts), (429, 1));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (router, _) = flaky(StatusCode::TOO_MANY_REQUESTS, 1, Some("0"));
    let client = client(serve(router).await, Duration::from_secs(5));
    let started = Instant::now();
    let exchange = client.call("DescribeMesh", &json!({"meshName": "m"})).await.unwrap();
    assert_eq!(exchange.status(), 200);
    // Retry-After: 0 means no wait, where the jittered backoff could have waited up to 20 ms.
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_silent_server_times_out_instead_of_hanging() {
    let router = axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "late"
    });
    let client = client(serve(router).await, Duration::from_millis(300));
    let started = Instant::now();
    let error = client.call("DescribeMesh", &json!({"meshName": "m"})).await.unwrap_err();
    assert!(matches!(error, ClientError::Transport { kind: TransportKind::Timeout, .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_oversized_response_is_cut_off() {
    let router =
        axum::Router::new().fallback(|| async { vec![b'x'; appmesh_conformance::client::MAX_RESPONSE_BYTES + 1] });
    let client = client(serve(router).await, Duration::from_secs(10));
    let error = client.call("DescribeMesh", &json!({"meshName": "m"})).await.unwrap_err();
    assert!(matches!(error, ClientError::Transport { kind: TransportKind::BodyTooLarge, .. }), "{error}");
}

#[tokio::test]
async fn recorded_exchanges_hold_no_secret_signature_or_token() {
    let echo = axum::Router::new().fallback(|headers: HeaderMap| async move {
        // A careless server that echoes the request's headers back in its body.
        let seen: Vec<String> = headers.iter().map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or(""))).collect();
        (StatusCode::BAD_REQUEST, seen.join("\n"))
    });
    let client = client(serve(echo).await, Duration::from_secs(5));
    let exchange = client
        .send(
            None,
            &appmesh_conformance::wire::build_request(client.model(), "DescribeMesh", &json!({"meshName": "m"}))
                .unwrap(),
            RetryMode::Raw,
        )
        .await
        .unwrap();
    let recorded = format!("{exchange}{}", serde_json::to_string(&exchange).unwrap());
    assert!(recorded.contains("authorization: AWS4-HMAC-SHA256 Credential="), "{recorded}");
    for secret in ["client-test-secret-key", "client-test-session-token", "AKIDCLIENTTEST"] {
        assert!(!recorded.contains(secret), "{secret} leaked into {recorded}");
    }
    let signature = regex::Regex::new("Signature=[0-9a-f]{64}").unwrap();
    assert!(!signature.is_match(&recorded), "a signature leaked into {recorded}");
}
