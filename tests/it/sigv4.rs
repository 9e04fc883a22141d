//! The emulator's SigV4 verifier against signatures made by the client's signer (the aws-sigv4
//! crate): what one signs the other accepts, and each defect is refused with its AWS code. The two
//! are independent implementations, so each checks the other.

use std::time::{Duration, SystemTime};

use appmesh_conformance::client::Credentials;
use appmesh_conformance::client::sign::{Scope, Signable, sign_headers};
use appmesh_conformance::emulator::sigv4::{Expected, Received, verify};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn expected(service: &'static str) -> Expected<'static> {
    Expected { access_key_id: "AKIDEXAMPLE", secret_access_key: SECRET, region: "us-east-1", service }
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

fn signed_by_client(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    token: Option<&str>,
    time: SystemTime,
) -> Vec<(String, String)> {
    let credentials = Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: SECRET.into(),
        session_token: token.map(str::to_string),
    };
    let mut headers = headers(&[("host", "127.0.0.1:9080"), ("content-type", "application/json")]);
    let url = format!("http://127.0.0.1:9080{path_and_query}");
    let signed = sign_headers(
        Signable { method, url: &url, headers: &headers, body },
        Scope { credentials: &credentials, region: "us-east-1", service: "appmesh" },
        time,
    )
    .unwrap();
    headers.extend(signed);
    headers
}

fn split(path_and_query: &str) -> (&str, &str) {
    path_and_query.split_once('?').unwrap_or((path_and_query, ""))
}

/// What the aws-sigv4 crate signs, this verifier accepts: encoded labels, query strings,
/// bodies, session tokens.
#[test]
fn signatures_from_the_client_verify() {
    let now = SystemTime::now();
    let cases: &[(&str, &str, &[u8], Option<&str>)] = &[
        ("PUT", "/v20190125/meshes/m/virtualNodes", br#"{"virtualNodeName":"vn","spec":{}}"#, None),
        ("GET", "/v20190125/meshes/my%20mesh%2Fx/virtualNodes?limit=5&nextToken=a%2Bb%20c", b"", None),
        ("DELETE", "/v20190125/meshes/m/virtualNodes/n?meshOwner=123456789012", b"", Some("session-token")),
        ("PUT", "/v20190125/meshes", "{\"meshName\":\"é\"}".as_bytes(), None),
    ];
    for (method, path_and_query, body, token) in cases {
        let headers = signed_by_client(method, path_and_query, body, *token, now);
        let (raw_path, raw_query) = split(path_and_query);
        let request = Received { method, raw_path, raw_query, headers: &headers, body };
        assert_eq!(verify(request, &expected("appmesh"), now), Ok(()), "{method} {path_and_query}");
    }
}

fn refusal(headers: &[(String, String)], body: &[u8], expected: &Expected, now: SystemTime) -> &'static str {
    let request = Received { method: "PUT", raw_path: "/v20190125/meshes", raw_query: "", headers, body };
    verify(request, expected, now).unwrap_err().code
}

#[test]
fn each_defect_is_refused_with_its_code() {
    let now = SystemTime::now();
    let body = br#"{"meshName":"m"}"#;
    let good = signed_by_client("PUT", "/v20190125/meshes", body, None, now);
    let ok = expected("appmesh");
    assert_eq!(
        verify(
            Received { method: "PUT", raw_path: "/v20190125/meshes", raw_query: "", headers: &good, body },
            &ok,
            now
        ),
        Ok(())
    );

    let without = |name: &str| good.iter().filter(|(n, _)| !n.eq_ignore_ascii_case(name)).cloned().collect::<Vec<_>>();
    assert_eq!(refusal(&without("authorization"), body, &ok, now), "MissingAuthenticationTokenException");
    assert_eq!(refusal(&without("x-amz-date"), body, &ok, now), "IncompleteSignatureException");
    assert_eq!(
        refusal(&good, br#"{"meshName":"n"}"#, &ok, now),
        "InvalidSignatureException",
        "body changed after signing"
    );
    let wrong_secret = Expected { secret_access_key: "another-secret", ..ok.clone() };
    assert_eq!(refusal(&good, body, &wrong_secret, now), "InvalidSignatureException");
    let other_key = Expected { access_key_id: "AKIDOTHER", ..ok.clone() };
    assert_eq!(refusal(&good, body, &other_key, now), "UnrecognizedClientException");
    let other_region = Expected { region: "eu-west-1", ..ok.clone() };
    assert_eq!(refusal(&good, body, &other_region, now), "InvalidSignatureException");
    let other_service = Expected { service: "s3", ..ok.clone() };
    assert_eq!(refusal(&good, body, &other_service, now), "InvalidSignatureException");
    assert_eq!(
        refusal(&good, body, &ok, now + Duration::from_secs(301)),
        "InvalidSignatureException",
        "a stale signature"
    );
    assert_eq!(
        refusal(&good, body, &ok, now - Duration::from_secs(301)),
        "InvalidSignatureException",
        "a signature from the future"
    );

    let mut unsigned_host = good.clone();
    for (name, value) in &mut unsigned_host {
        if name == "authorization" {
            *value =
                value.replace("SignedHeaders=content-type;host;x-amz-date", "SignedHeaders=content-type;x-amz-date");
        }
    }
    assert_eq!(refusal(&unsigned_host, body, &ok, now), "IncompleteSignatureException");
    let mut wrong_hash = good.clone();
    wrong_hash.push(("x-amz-content-sha256".into(), "0".repeat(64)));
    assert_eq!(refusal(&wrong_hash, body, &ok, now), "InvalidSignatureException");
    let garbage = headers(&[("authorization", "Bearer abc"), ("host", "h")]);
    assert_eq!(refusal(&garbage, body, &ok, now), "IncompleteSignatureException");
}
