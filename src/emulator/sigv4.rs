//! SigV4 verification for the emulator, written from the published algorithm with hmac and sha2
//! and independent of the aws-sigv4 crate the client signs with, so that one cannot hide a bug of
//! the other. A pure function of the request, the expected credentials and scope, and the time.
//!
//! Checks, in order: an `Authorization` header is present (else
//! `MissingAuthenticationTokenException`), it has the `AWS4-HMAC-SHA256` form with credential,
//! signed headers and signature (else `IncompleteSignatureException`), the access key is the
//! expected one (else `UnrecognizedClientException`), `host` is signed, the credential scope is
//! `{date}/{region}/appmesh/aws4_request` with the date of `X-Amz-Date`, that date is within five
//! minutes of now, `x-amz-content-sha256` matches the body when sent, and the signature matches
//! (else `InvalidSignatureException`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// What a signature is checked against.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// The parts of a received request a signature covers, as they came off the wire.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub method: &'a str,
    /// The path as sent, still percent-encoded.
    pub raw_path: &'a str,
    /// The query string as sent, without `?`.
    pub raw_query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Why a request is refused: an AWS auth error code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError { code, message: message.into() }
}

const MISSING: &str = "MissingAuthenticationTokenException";
const INCOMPLETE: &str = "IncompleteSignatureException";
const UNRECOGNIZED: &str = "UnrecognizedClientException";
const INVALID: &str = "InvalidSignatureException";

/// How far `X-Amz-Date` may be from the verifier's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

struct Authorization<'a> {
    access_key_id: &'a str,
    scope: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| refuse(INCOMPLETE, "the Authorization header must use the AWS4-HMAC-SHA256 algorithm"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |what: &str| refuse(INCOMPLETE, format!("the Authorization header has no {what}"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let (access_key_id, scope) = credential
        .split_once('/')
        .ok_or_else(|| refuse(INCOMPLETE, "Credential must be KEY/DATE/REGION/SERVICE/aws4_request"))?;
    Ok(Authorization { access_key_id, scope, signed_headers: signed.split(';').collect(), signature })
}

/// Verifies the request's signature. `Ok(())` means it was signed by the expected credentials for
/// the expected region and service, recently, over exactly these bytes.
pub fn verify(request: Received, expected: &Expected, now: SystemTime) -> Result<(), AuthError> {
    let authorization = header(request.headers, "authorization")
        .ok_or_else(|| refuse(MISSING, "the request is not signed: it has no Authorization header"))?;
    let auth = parse_authorization(authorization)?;
    if auth.access_key_id != expected.access_key_id {
        return Err(refuse(UNRECOGNIZED, "the access key id in the request is not one this service knows"));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(refuse(INCOMPLETE, "the host header must be among the SignedHeaders"));
    }
    let amz_date = header(request.headers, "x-amz-date")
        .ok_or_else(|| refuse(INCOMPLETE, "the request has no X-Amz-Date header"))?;
    let signed_at = parse_amz_date(amz_date)
        .ok_or_else(|| refuse(INCOMPLETE, format!("X-Amz-Date {amz_date:?} is not of the form YYYYMMDDTHHMMSSZ")))?;
    let expected_scope = format!("{}/{}/{}/aws4_request", &amz_date[..8], expected.region, expected.service);
    if auth.scope != expected_scope {
        return Err(refuse(INVALID, format!("the credential scope {} should be {expected_scope}", auth.scope)));
    }
    let skew = match now.duration_since(signed_at) {
        Ok(behind) => behind,
        Err(ahead) => ahead.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(refuse(
            INVALID,
            format!("signature expired: X-Amz-Date {amz_date} is more than 5 minutes from the server's time"),
        ));
    }
    let body_hash = hex::encode(Sha256::digest(request.body));
    let payload_hash = match header(request.headers, "x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => "UNSIGNED-PAYLOAD".to_string(),
        Some(sent) if !sent.eq_ignore_ascii_case(&body_hash) => {
            return Err(refuse(INVALID, "x-amz-content-sha256 does not match the SHA-256 of the request body"));
        }
        _ => body_hash,
    };
    let canonical = canonical_request(&request, &auth.signed_headers, &payload_hash)?;
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{expected_scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(expected.secret_access_key, &amz_date[..8], expected.region, expected.service);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    let given = hex::decode(auth.signature).map_err(|_| refuse(INCOMPLETE, "the Signature is not hexadecimal"))?;
    // verify_slice compares in constant time.
    mac.verify_slice(&given).map_err(|_| {
        refuse(INVALID, "the request signature does not match the one computed from the request and the secret key")
    })
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    hmac(&k_service, "aws4_request")
}

/// RFC 3986 encoding with the unreserved set left as is; `/` too when `keep_slash`.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
        if unreserved || (keep_slash && byte == b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The canonical request. Services other than S3 sign the path encoded twice: the path as sent
/// (already encoded once) is encoded again.
fn canonical_request(request: &Received, signed_headers: &[&str], payload_hash: &str) -> Result<String, AuthError> {
    let path = if request.raw_path.is_empty() { "/" } else { request.raw_path };
    let canonical_uri = uri_encode(path, true);

    let mut pairs: Vec<(String, String)> = request
        .raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (uri_encode(&percent_decode(key), false), uri_encode(&percent_decode(value), false))
        })
        .collect();
    pairs.sort();
    let canonical_query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();

    let mut canonical_headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(refuse(INCOMPLETE, format!("the signed header {name} is not in the request")));
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(format!(
        "{}\n{canonical_uri}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        request.method,
        canonical_query.join("&"),
        signed_headers.join(";"),
    ))
}

/// `20150830T123600Z` as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u64>().ok();
    let (year, month, day) = (number(0..4)?, number(4..6)?, number(6..8)?);
    let (hour, minute, second) = (number(9..11)?, number(11..13)?, number(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year as i64, month as i64, day as i64);
    let seconds = u64::try_from(days).ok()? * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn vector_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    fn expected(service: &'static str) -> Expected<'static> {
        Expected { access_key_id: "AKIDEXAMPLE", secret_access_key: SECRET, region: "us-east-1", service }
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    /// `get-vanilla` and `get-vanilla-query-order-key-case` from the published SigV4 test suite.
    #[test]
    fn published_vectors_verify() {
        let cases = [
            ("", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ("Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ];
        for (query, signature) in cases {
            let authorization = format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"
            );
            let headers = headers(&[
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", "20150830T123600Z"),
                ("Authorization", &authorization),
            ]);
            let request = Received { method: "GET", raw_path: "/", raw_query: query, headers: &headers, body: b"" };
            assert_eq!(verify(request, &expected("service"), vector_time()), Ok(()), "query {query:?}");
            let mut tampered = headers.clone();
            tampered[0].1 = "example.amazonaws.org".into();
            let request = Received { headers: &tampered, ..request };
            assert_eq!(verify(request, &expected("service"), vector_time()).unwrap_err().code, INVALID);
        }
    }

    #[test]
    fn amz_dates_parse_exactly() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(vector_time()));
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(UNIX_EPOCH));
        assert_eq!(parse_amz_date("20240229T000000Z"), Some(UNIX_EPOCH + Duration::from_secs(1_709_164_800)));
        for bad in ["2015-08-30T12:36:00Z", "20151330T123600Z", "20150830T123600", "x"] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }
}
