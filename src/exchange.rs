//! A recorded request and response, with secrets removed at recording time, so nothing that
//! reaches a report, a log or a failure message can carry a signature, a secret key or a
//! session token. Plain data below the client and the checks: the client records exchanges, the
//! checks judge them, the reports show them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Removes secrets from recorded text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Literal secrets (secret key, session token) replaced wherever they appear.
    secrets: Vec<String>,
    /// The access key id, masked wherever it appears.
    access_key_id: Option<String>,
}

pub const REDACTED: &str = "<redacted>";

/// A SigV4 signature anywhere in a text, as a header value or a presigned query parameter.
fn signature_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| regex::Regex::new("(?i)((?:x-amz-)?signature=)[0-9a-f]{64}").expect("a valid pattern"))
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Redactor { secrets: secrets.into_iter().filter(|s| s.len() >= 4).collect(), access_key_id: None }
    }

    /// Also masks the access key id wherever it appears.
    pub fn with_access_key_id(mut self, access_key_id: &str) -> Self {
        self.access_key_id = Some(access_key_id.to_string()).filter(|k| k.len() >= 4);
        self
    }

    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        if let Some(key) = &self.access_key_id
            && out.contains(key.as_str())
        {
            out = out.replace(key.as_str(), &mask(key));
        }
        // Most texts hold no signature: spare them the regex search (this runs on every header
        // and body the harness records).
        if !contains_ignoring_ascii_case(&out, "signature=") {
            return out;
        }
        signature_pattern().replace_all(&out, format!("${{1}}{REDACTED}")).into_owned()
    }

    /// A header as it may be shown: the signature and access key of `authorization` and the whole
    /// of `x-amz-security-token` are hidden.
    pub fn header(&self, name: &str, value: &str) -> (String, String) {
        let lower = name.to_ascii_lowercase();
        let shown = match lower.as_str() {
            "authorization" => redact_authorization(value),
            "x-amz-security-token" | "x-amz-signature" | "cookie" | "set-cookie" => REDACTED.to_string(),
            _ => self.text(value),
        };
        (lower, shown)
    }
}

fn contains_ignoring_ascii_case(text: &str, needle: &str) -> bool {
    text.as_bytes().windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=..., Signature=abc` keeps its scope and
/// signed headers (useful when debugging a 403) and loses the signature and most of the key id.
fn redact_authorization(value: &str) -> String {
    let Some(rest) = value.strip_prefix("AWS4-HMAC-SHA256 ") else { return REDACTED.to_string() };
    let parts: Vec<String> = rest
        .split(',')
        .map(|part| {
            let part = part.trim();
            if let Some(credential) = part.strip_prefix("Credential=") {
                let (key, scope) = credential.split_once('/').unwrap_or((credential, ""));
                format!("Credential={}/{scope}", mask(key))
            } else if part.starts_with("SignedHeaders=") {
                part.to_string()
            } else if part.starts_with("Signature=") {
                format!("Signature={REDACTED}")
            } else {
                REDACTED.to_string()
            }
        })
        .collect();
    format!("AWS4-HMAC-SHA256 {}", parts.join(", "))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// One exchange with the target, as sent and received (after redaction).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// The model operation, when the request was built from one.
    pub operation: Option<String>,
    pub request: RecordedRequest,
    pub response: RecordedResponse,
    #[serde(with = "duration_millis")]
    pub duration: Duration,
    /// How many times the request was sent (retries of 429 and 503 included).
    pub attempts: u32,
    /// When the last attempt left the harness (for measuring the harness's own rate).
    #[serde(skip)]
    pub sent_at: Option<std::time::Instant>,
}

mod duration_millis {
    use serde::Deserialize as _;

    pub fn serialize<S: serde::Serializer>(duration: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(duration.as_secs_f64() * 1000.0)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        let millis = f64::deserialize(d)?;
        std::time::Duration::try_from_secs_f64(millis / 1000.0).map_err(serde::de::Error::custom)
    }
}

impl Exchange {
    /// For tests: `method path` to `http://127.0.0.1:1` with an empty body, answered at once with
    /// `status` and a JSON `body`.
    #[cfg(test)]
    pub fn fixture(method: &str, path: &str, status: u16, body: &str) -> Exchange {
        let json = || vec![("content-type".to_string(), "application/json".to_string())];
        Exchange {
            operation: None,
            request: RecordedRequest {
                method: method.into(),
                url: format!("http://127.0.0.1:1{path}"),
                headers: json(),
                body: String::new(),
            },
            response: RecordedResponse { status, headers: json(), body: body.into() },
            duration: Duration::ZERO,
            attempts: 1,
            sent_at: None,
        }
    }

    pub fn status(&self) -> u16 {
        self.response.status
    }

    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The response body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.response.body).ok()
    }

    /// The error code as the AWS SDKs would read it, for a non-2xx response.
    pub fn error_code(&self) -> Option<String> {
        if (200..300).contains(&self.response.status) {
            return None;
        }
        crate::wire::error_code(&self.response.headers, self.response.body.as_bytes())
    }

    /// A `curl` command that sends the same request, signing it from the user's environment.
    pub fn curl(&self, region: &str) -> String {
        let mut command = format!(
            "curl -sS -X {} --aws-sigv4 \"aws:amz:{region}:appmesh\" --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\"",
            self.request.method
        );
        for (name, value) in &self.request.headers {
            if name == "content-type" {
                command.push_str(&format!(" -H '{name}: {value}'"));
            }
        }
        if !self.request.body.is_empty() {
            command.push_str(&format!(" --data-raw '{}'", self.request.body.replace('\'', "'\\''")));
        }
        command.push_str(&format!(" '{}'", self.request.url));
        command
    }
}

const SHOWN_BODY_CHARS: usize = 4000;

fn pretty_body(body: &str) -> String {
    let pretty = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string());
    if pretty.chars().count() > SHOWN_BODY_CHARS {
        let cut: String = pretty.chars().take(SHOWN_BODY_CHARS).collect();
        format!("{cut}\n... ({} characters in all)", pretty.chars().count())
    } else {
        pretty
    }
}

/// Headers and body of one side of a transcript, each line behind `marker`.
fn write_message(f: &mut fmt::Formatter<'_>, marker: char, headers: &[(String, String)], body: &str) -> fmt::Result {
    for (name, value) in headers {
        writeln!(f, "{marker} {name}: {value}")?;
    }
    if !body.is_empty() {
        writeln!(f, "{marker}")?;
        for line in pretty_body(body).lines() {
            writeln!(f, "{marker} {line}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "> {} {}", self.request.method, self.request.url)?;
        write_message(f, '>', &self.request.headers, &self.request.body)?;
        let attempts = if self.attempts == 1 { "1 attempt".to_string() } else { format!("{} attempts", self.attempts) };
        writeln!(f, "< {} ({} ms, {attempts})", self.response.status, self.duration.as_millis())?;
        write_message(f, '<', &self.response.headers, &self.response.body)
    }
}

/// Text with all but its last four characters masked (at most eight `*`).
pub fn mask(text: &str) -> String {
    let count = text.chars().count();
    let keep: String = text.chars().skip(count.saturating_sub(4)).collect();
    format!("{}{keep}", "*".repeat(count.saturating_sub(4).min(8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_keeps_scope_and_hides_signature_and_key() {
        let redactor = Redactor::default();
        let (name, value) = redactor.header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE1234/20150830/us-east-1/appmesh/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
        assert_eq!(name, "authorization");
        assert_eq!(
            value,
            "AWS4-HMAC-SHA256 Credential=********1234/20150830/us-east-1/appmesh/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=<redacted>"
        );
        assert_eq!(redactor.header("Authorization", "Bearer abc").1, REDACTED);
        assert_eq!(redactor.header("X-Amz-Security-Token", "tok").1, REDACTED);
    }

    #[test]
    fn signatures_and_key_ids_are_removed_from_any_text() {
        let redactor = Redactor::default().with_access_key_id("AKIDEXAMPLE1234");
        let text = format!(
            "echo: Credential=AKIDEXAMPLE1234/x, Signature={} and X-Amz-Signature={}; sIgNaTuRe={}",
            "a".repeat(64),
            "B".repeat(64),
            "c".repeat(64)
        );
        assert_eq!(
            redactor.text(&text),
            "echo: Credential=********1234/x, Signature=<redacted> and X-Amz-Signature=<redacted>; sIgNaTuRe=<redacted>"
        );
        // Text without a signature passes through whole.
        assert_eq!(redactor.text("signature: none"), "signature: none");
    }

    #[test]
    fn literal_secrets_are_removed_from_any_text() {
        let redactor = Redactor::new(["very-secret-key".to_string(), "ab".to_string()]);
        assert_eq!(redactor.text("x very-secret-key y"), "x <redacted> y");
        // Secrets too short to be meaningful are not used, or every "ab" would vanish.
        assert_eq!(redactor.text("ab"), "ab");
    }
}
