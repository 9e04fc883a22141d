//! `serve --cassette`: answers from a cassette instead of the store, so that exchanges recorded
//! from a real service stand in as a target.
//!
//! A request is matched to a recorded one by method, path and query, and body (JSON compared
//! with its keys in order), with any harness run id in them counted as the same: a replay, which
//! makes names under a fresh run id, finds the recorded answers, and gets them back with its own
//! run id. Requests that match several recorded ones get them in the recorded order, the last
//! one again once they are used up. A request the cassette holds no answer to gets 501 with a
//! message saying so. Signatures are not verified and nothing is throttled: the cassette already
//! says what the service answered.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::cassette::Cassette;

/// The recorded answers, by request.
#[derive(Debug)]
pub struct Recorded {
    answers: Mutex<HashMap<String, (Vec<RecordedAnswer>, usize)>>,
    count: usize,
    recorded_at: u64,
}

/// A recorded answer as given again.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The answer header that says an answer is a recording, and when it was recorded (epoch
/// seconds): a judge holds it to the API of that time (see `judge`).
pub const RECORDED_AT_HEADER: &str = "x-appmesh-conformance-recorded-at";

#[derive(Debug, Clone)]
struct RecordedAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

fn run_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| regex::Regex::new("acf-[0-9a-f]{6,16}-[0-9a-z]{4}").expect("a valid pattern"))
}

/// JSON with its object keys sorted, or the text itself when it is not JSON.
fn canonical_body(body: &str) -> String {
    fn sorted(value: Value) -> Value {
        match value {
            Value::Object(object) => {
                let mut entries: Vec<(String, Value)> = object.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    match serde_json::from_str::<Value>(body) {
        Ok(value) => sorted(value).to_string(),
        Err(_) => body.trim().to_string(),
    }
}

/// What identifies a request: method, path and query, body, with run ids made alike.
fn key(method: &str, path_and_query: &str, body: &str) -> String {
    let text = format!("{method} {path_and_query} {}", canonical_body(body));
    run_pattern().replace_all(&text, "<run>").into_owned()
}

impl Recorded {
    pub fn new(cassette: &Cassette) -> Recorded {
        let mut answers: HashMap<String, (Vec<RecordedAnswer>, usize)> = HashMap::new();
        for entry in &cassette.entries {
            let request = &entry.exchange.request;
            let path_and_query = match url::Url::parse(&request.url) {
                Ok(url) => url[url::Position::BeforePath..].to_string(),
                Err(_) => request.url.clone(),
            };
            let response = &entry.exchange.response;
            let answer = RecordedAnswer {
                status: response.status,
                headers: response.headers.clone(),
                body: response.body.clone(),
            };
            answers.entry(key(&request.method, &path_and_query, &request.body)).or_default().0.push(answer);
        }
        Recorded {
            answers: Mutex::new(answers),
            count: cassette.entries.len(),
            recorded_at: cassette.header.recorded_at,
        }
    }

    /// The recorded answer to a request: status, headers, body (with the request's run id in place
    /// of the recorded one); `None` when the cassette holds none.
    pub fn answer(&self, method: &str, path_and_query: &str, body: &[u8]) -> Option<Reply> {
        let body = String::from_utf8_lossy(body);
        let key = key(method, path_and_query, &body);
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        let (list, next) = answers.get_mut(&key)?;
        let answer = list[(*next).min(list.len() - 1)].clone();
        *next += 1;
        let asked_run =
            run_pattern().find(path_and_query).or_else(|| run_pattern().find(&body)).map(|m| m.as_str().to_string());
        let with_run = |text: &str| match &asked_run {
            Some(run) => run_pattern().replace_all(text, run.as_str()).into_owned(),
            None => text.to_string(),
        };
        let mut headers: Vec<(String, String)> = answer
            .headers
            .iter()
            .filter(|(name, _)| {
                !matches!(name.as_str(), "content-length" | "connection" | "transfer-encoding" | "date")
            })
            .map(|(name, value)| (name.clone(), with_run(value)))
            .collect();
        headers.push((RECORDED_AT_HEADER.to_string(), self.recorded_at.to_string()));
        Some(Reply { status: answer.status, headers, body: with_run(&answer.body).into_bytes() })
    }

    /// Exchanges in the cassette.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// The answer headers a cassette's answers keep (the server writes names it knows): those an App
/// Mesh answer carries. Others (a proxy's, a load balancer's) stay behind.
pub fn header_name(name: &str) -> Option<&'static str> {
    const KEPT: [&str; 7] = [
        "content-type",
        "x-amzn-errortype",
        "x-amzn-requestid",
        "retry-after",
        "x-amz-apigw-id",
        "x-amzn-trace-id",
        RECORDED_AT_HEADER,
    ];
    KEPT.into_iter().find(|kept| kept.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_under_another_run_id_finds_its_answer_with_its_own_run_id() {
        let line = |seq: u64, body: &str, status: u16, answer: &str| {
            serde_json::json!({
                "seq": seq, "operation": "CreateMesh", "duration": 1.0, "attempts": 1,
                "request": {"method": "PUT", "url": "http://h:1/v20190125/meshes", "headers": [], "body": body},
                "response": {"status": status, "headers": [["content-type", "application/json"]], "body": answer}
            })
            .to_string()
        };
        let header = serde_json::to_string(&crate::cassette::Header::new("t", "us-east-1", None)).unwrap();
        let text = format!(
            "{header}\n{}\n{}\n",
            line(1, r#"{"meshName":"acf-6743a1b2-aaaa-m","spec":{}}"#, 200, r#"{"meshName":"acf-6743a1b2-aaaa-m"}"#),
            line(2, r#"{"meshName":"acf-6743a1b2-aaaa-m","spec":{}}"#, 409, r#"{"message":"taken"}"#)
        );
        let dir = std::env::temp_dir().join(format!("recorded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("c.jsonl"), text).unwrap();
        let recorded = Recorded::new(&Cassette::load(&dir.join("c.jsonl")).unwrap());
        let asked = br#"{"spec":{},"meshName":"acf-6743a1b9-bbbb-m"}"#;
        let reply = recorded.answer("PUT", "/v20190125/meshes", asked).expect("recorded");
        assert_eq!(reply.headers.last().map(|(n, _)| n.as_str()), Some(RECORDED_AT_HEADER));
        assert_eq!(
            (reply.status, String::from_utf8(reply.body).unwrap()),
            (200, r#"{"meshName":"acf-6743a1b9-bbbb-m"}"#.to_string())
        );
        // Then the second answer, and the last again once they are used up.
        assert_eq!(recorded.answer("PUT", "/v20190125/meshes", asked).unwrap().status, 409);
        assert_eq!(recorded.answer("PUT", "/v20190125/meshes", asked).unwrap().status, 409);
        assert!(recorded.answer("GET", "/v20190125/meshes", b"").is_none());
        std::fs::remove_dir_all(dir).ok();
    }
}
