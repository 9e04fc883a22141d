//! SigV4 signing: a pure function of the request, credentials, region, service and time.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use super::target::Credentials;

#[derive(Debug, thiserror::Error)]
#[error("the request could not be signed: {0}")]
pub struct SignError(String);

/// The parts of a request that a signature covers. `url` is the full URL; `headers` must hold
/// every header that will be sent and should be signed, `host` among them.
#[derive(Debug, Clone, Copy)]
pub struct Signable<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Who signs, for which region and service.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    pub service: &'a str,
}

/// Returns the headers that sign the request (`authorization`, `x-amz-date` and, with a session
/// token, `x-amz-security-token`).
pub fn sign_headers(request: Signable, scope: Scope, time: SystemTime) -> Result<Vec<(String, String)>, SignError> {
    let Signable { method, url, headers, body } = request;
    let Scope { credentials, region, service } = scope;
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        credentials.session_token.clone(),
        None,
        "appmesh-conformance",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| SignError(e.to_string()))?.into_parts();
    let (new_headers, _query) = instructions.into_parts();
    Ok(new_headers.into_iter().map(|h| (h.name().to_string(), h.value().to_string())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(str::to_string),
        }
    }

    /// 2015-08-30T12:36:00Z, the time of the published SigV4 test suite.
    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The published `get-vanilla` vector of the AWS SigV4 test suite.
    #[test]
    fn matches_the_published_get_vanilla_vector() {
        let headers = vec![("host".to_string(), "example.amazonaws.com".to_string())];
        let credentials = credentials(None);
        let signed = sign_headers(
            Signable { method: "GET", url: "https://example.amazonaws.com/", headers: &headers, body: b"" },
            Scope { credentials: &credentials, region: "us-east-1", service: "service" },
            fixed_time(),
        )
        .unwrap();
        assert_eq!(header(&signed, "x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(
            header(&signed, "authorization"),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            )
        );
    }

    #[test]
    fn appmesh_scope_and_session_token() {
        let headers = vec![
            ("host".to_string(), "127.0.0.1:4566".to_string()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        let credentials = credentials(Some("TOKEN"));
        let sign_once = || {
            sign_headers(
                Signable {
                    method: "PUT",
                    url: "http://127.0.0.1:4566/v20190125/meshes/m/virtualNodes",
                    headers: &headers,
                    body: b"{}",
                },
                Scope { credentials: &credentials, region: "eu-west-1", service: "appmesh" },
                fixed_time(),
            )
            .unwrap()
        };
        let signed = sign_once();
        let authorization = header(&signed, "authorization").unwrap();
        assert!(authorization.contains("Credential=AKIDEXAMPLE/20150830/eu-west-1/appmesh/aws4_request"));
        assert!(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
        assert_eq!(header(&signed, "x-amz-security-token"), Some("TOKEN"));
        assert_eq!(signed, sign_once(), "signing is deterministic for a fixed time");
    }
}
