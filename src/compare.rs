//! Comparing two answers to the same request (`diff`, `replay`): each is first normalised on its
//! own, so that what legitimately differs between two targets, or two runs, does not count.
//!
//! The normalisers, each applied to one side with that side's own knowledge:
//! - run ids: the run id a side's names carry becomes `<run>`;
//! - ARNs: the account and region inside an ARN become `<account>` and `<region>`;
//! - uids, page tokens, request ids: each distinct value is named by the answer it was first seen
//!   in (`<uid of answer 12>`), so two sides agree when their values repeat in the same places (a
//!   read answering the create's uid), whatever the values are;
//! - owners: a 12-digit `meshOwner` or `resourceOwner` is each side's own account;
//! - null members: absent, as an SDK reads them;
//! - timestamps: their type, and how `lastUpdatedAt` stands to `createdAt` in the same object;
//! - error messages: present or not (their wording is each implementation's own);
//! - list order: the items of a top-level list are compared as a set.
//!
//! Then status, error code and the normalised body are compared member by member.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

pub use crate::checks::DiffKind;
use crate::exchange::Exchange;

/// One difference between the two sides' normalised answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Difference {
    pub kind: DiffKind,
    /// The member path, `metadata.uid`; empty for status and code.
    pub path: String,
    pub a: String,
    pub b: String,
}

impl Difference {
    /// What makes differences the same cause: their kind and path, with list indexes dropped.
    pub fn cause(&self) -> String {
        let mut path = String::new();
        let mut in_index = false;
        for c in self.path.chars() {
            match c {
                '[' => {
                    in_index = true;
                    path.push_str("[]");
                }
                ']' => in_index = false,
                _ if in_index => {}
                _ => path.push(c),
            }
        }
        format!("{} {}", self.kind.as_str(), path)
    }
}

impl Difference {
    /// The difference as a failed check: side A (the reference: target A, or the recorded answer)
    /// is what was expected.
    pub fn failure(&self, operation: &str) -> crate::checks::CheckFailure {
        crate::checks::CheckFailure::new(
            crate::checks::CheckId::Differs(self.kind),
            crate::checks::Severity::Must,
            crate::model::provenance::source::REFERENCE_TARGET,
            &self.path,
            &format!("{operation} answers as the reference did ({})", self.kind.describe()),
            self.a.clone(),
            self.b.clone(),
        )
    }

    /// The difference in an answer whose request raced with another in the recording: which went
    /// first may explain it, so it is information.
    pub fn raced(&self, operation: &str) -> crate::checks::CheckFailure {
        let mut failure = self.failure(operation);
        failure.severity = crate::checks::Severity::Info;
        failure.hint = Some(
            "the request raced with another on the same resources when it was recorded; the answer may depend on \
             which went first"
                .to_string(),
        );
        failure
    }
}

/// The normaliser of one side: it learns the side's values as it goes.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    run_ids: Vec<String>,
    interned: HashMap<String, String>,
    /// Answers normalised so far: a value first seen in the n-th is named after it.
    answers: usize,
    /// New values seen in the current answer.
    fresh: usize,
}

/// An answer as compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub status: u16,
    pub error_code: Option<String>,
    pub body: Value,
}

/// Members whose values are each target's own identifiers, interned by first sighting.
const INTERNED: [(&str, &str); 3] = [("uid", "uid"), ("nextToken", "token"), ("requestId", "request")];
/// Members holding an account id: a well-formed one is each side's own.
const ACCOUNTS: [&str; 2] = ["meshOwner", "resourceOwner"];
const TIMESTAMPS: [&str; 2] = ["createdAt", "lastUpdatedAt"];

impl Normalizer {
    /// A normaliser for a side whose names carry these run ids.
    pub fn new(run_ids: impl IntoIterator<Item = String>) -> Normalizer {
        Normalizer { run_ids: run_ids.into_iter().filter(|r| !r.is_empty()).collect(), ..Normalizer::default() }
    }

    pub fn answer(&mut self, exchange: &Exchange) -> Normalized {
        self.answers += 1;
        self.fresh = 0;
        let body = match exchange.json() {
            Some(body) => self.value("", body, true),
            None if exchange.response.body.trim().is_empty() => Value::Null,
            None => Value::String(format!("<not JSON: {} bytes>", exchange.response.body.len())),
        };
        Normalized { status: exchange.status(), error_code: exchange.error_code(), body }
    }

    /// A text with this side's run ids and ARN accounts and regions replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for run_id in &self.run_ids {
            out = out.replace(run_id.as_str(), "<run>");
        }
        arn_pattern().replace_all(&out, "arn:${1}:appmesh:<region>:<account>:").into_owned()
    }

    /// A value by where it was first seen: `<uid of answer 12>` (`.2` for the second new one in
    /// that answer). Two sides agree when a value comes back where it came back on the other side,
    /// and one extra or missing value does not shift the names of all that follow.
    fn intern(&mut self, class: &'static str, value: &str) -> String {
        if let Some(known) = self.interned.get(value) {
            return known.clone();
        }
        self.fresh += 1;
        let suffix = if self.fresh > 1 { format!(".{}", self.fresh) } else { String::new() };
        let name = format!("<{class} of answer {}{suffix}>", self.answers);
        self.interned.insert(value.to_string(), name.clone());
        name
    }

    fn value(&mut self, key: &str, value: Value, top: bool) -> Value {
        match value {
            Value::String(text) => {
                if let Some((_, class)) = INTERNED.iter().find(|(member, _)| *member == key) {
                    return Value::String(self.intern(class, &text));
                }
                if key == "message" || key == "Message" {
                    return Value::String("<message>".into());
                }
                if ACCOUNTS.contains(&key) && text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
                    return Value::String("<account>".into());
                }
                Value::String(self.text(&text))
            }
            Value::Array(items) => Value::Array(items.into_iter().map(|item| self.value("", item, false)).collect()),
            Value::Object(object) => Value::Object(self.object(object, top)),
            other => other,
        }
    }

    /// The members of an object; in the answer's own object (`top`), lists are sorted: no list's
    /// order is documented.
    fn object(&mut self, object: Map<String, Value>, top: bool) -> Map<String, Value> {
        let created = object.get("createdAt").cloned();
        let mut out = Map::new();
        for (key, value) in object {
            // An SDK reads a null member as an absent one.
            if value.is_null() {
                continue;
            }
            let normalised = if TIMESTAMPS.contains(&key.as_str()) {
                Value::String(timestamp(&key, &value, created.as_ref()))
            } else {
                match self.value(&key, value, false) {
                    Value::Array(mut items) if top => {
                        items.sort_by_cached_key(|item| item.to_string());
                        Value::Array(items)
                    }
                    other => other,
                }
            };
            out.insert(key, normalised);
        }
        out
    }
}

fn arn_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| regex::Regex::new(r"arn:([a-z-]+):appmesh:[a-z0-9-]*:[0-9]*:").expect("a valid pattern"))
}

/// `<number>`, `<string>`; for `lastUpdatedAt`, also how it stands to `createdAt`.
fn timestamp(key: &str, value: &Value, created: Option<&Value>) -> String {
    let kind = match value {
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Null => "null",
        _ => "other",
    };
    let relation = match (key, value.as_f64(), created.and_then(Value::as_f64)) {
        ("lastUpdatedAt", Some(updated), Some(created)) if updated < created => ", before createdAt",
        ("lastUpdatedAt", Some(updated), Some(created)) if updated == created => ", = createdAt",
        ("lastUpdatedAt", Some(_), Some(_)) => ", after createdAt",
        _ => "",
    };
    format!("<timestamp: {kind}{relation}>")
}

/// The differences between two normalised answers: status, then error code, then the bodies
/// member by member (only when the statuses agree: two different answers have different bodies by
/// nature, and the status says it once).
pub fn differences(a: &Normalized, b: &Normalized) -> Vec<Difference> {
    let mut found = Vec::new();
    if a.status != b.status {
        found.push(Difference {
            kind: DiffKind::Status,
            path: String::new(),
            a: a.status.to_string(),
            b: b.status.to_string(),
        });
    }
    if a.error_code != b.error_code {
        let shown = |code: &Option<String>| code.clone().unwrap_or_else(|| "none".into());
        found.push(Difference {
            kind: DiffKind::ErrorCode,
            path: String::new(),
            a: shown(&a.error_code),
            b: shown(&b.error_code),
        });
    }
    if found.is_empty() {
        walk("", &a.body, &b.body, &mut found);
    }
    found
}

/// The differences between two JSON values, member by member.
pub fn value_differences(a: &Value, b: &Value) -> Vec<Difference> {
    let mut found = Vec::new();
    walk("", a, b, &mut found);
    found
}

fn walk(path: &str, a: &Value, b: &Value, found: &mut Vec<Difference>) {
    let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    Some(other) => walk(&at(key), value, other, found),
                    None => found.push(Difference {
                        kind: DiffKind::Member,
                        path: at(key),
                        a: short(value),
                        b: "absent".into(),
                    }),
                }
            }
            for (key, value) in b.iter().filter(|(key, _)| !a.contains_key(*key)) {
                found.push(Difference { kind: DiffKind::Member, path: at(key), a: "absent".into(), b: short(value) });
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{index}]"), x, y, found);
            }
            if a.len() != b.len() {
                let kind = DiffKind::Value;
                found.push(Difference {
                    kind,
                    path: format!("{path}.length"),
                    a: a.len().to_string(),
                    b: b.len().to_string(),
                });
            }
        }
        (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
            found.push(Difference { kind: DiffKind::Type, path: path.to_string(), a: short(a), b: short(b) });
        }
        (a, b) if a != b => {
            found.push(Difference { kind: DiffKind::Value, path: path.to_string(), a: short(a), b: short(b) })
        }
        _ => {}
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 { format!("{}...", text.chars().take(120).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> Exchange {
        Exchange::fixture("GET", "/", status, &body.to_string())
    }

    fn node(run: &str, account: &str, uid: &str, created: f64, updated: Value) -> Value {
        json!({ "virtualNode": { "meshName": format!("{run}-m"), "metadata": {
            "arn": format!("arn:aws:appmesh:us-east-1:{account}:mesh/{run}-m/virtualNode/n"),
            "uid": uid, "createdAt": created, "lastUpdatedAt": updated, "version": 1 } } })
    }

    #[test]
    fn what_varies_by_itself_is_not_a_difference() {
        let (mut a, mut b) = (Normalizer::new(["acf-1-aaaa".to_string()]), Normalizer::new(["acf-2-bbbb".to_string()]));
        let x = a.answer(&answer(200, node("acf-1-aaaa", "111122223333", "u1", 5.0, json!(5.0))));
        let y = b.answer(&answer(200, node("acf-2-bbbb", "123456789012", "zz", 9.0, json!(9.0))));
        assert_eq!(differences(&x, &y), vec![]);
        // A read answering another uid than the create: the second sighting disagrees.
        let x = a.answer(&answer(200, node("acf-1-aaaa", "111122223333", "u1", 5.0, json!(5.0))));
        let y = b.answer(&answer(200, node("acf-2-bbbb", "123456789012", "other", 9.0, json!(9.0))));
        let found = differences(&x, &y);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].kind, found[0].path.as_str()), (DiffKind::Value, "virtualNode.metadata.uid"));
    }

    #[test]
    fn types_order_of_timestamps_status_and_code_are_differences() {
        let mut a = Normalizer::default();
        let mut b = Normalizer::default();
        let x = a.answer(&answer(200, node("r", "1", "u", 5.0, json!(5.0))));
        let y = b.answer(&answer(200, node("r", "1", "u", 5.0, json!(4.0))));
        assert_eq!(differences(&x, &y)[0].cause(), "value virtualNode.metadata.lastUpdatedAt");
        let y = b.answer(&answer(200, node("r", "1", "u", 5.0, json!("2026-01-01"))));
        assert_eq!(differences(&x, &y)[0].kind, DiffKind::Value);
        let mut z = answer(404, json!({"message": "no"}));
        z.response.headers.push(("x-amzn-errortype".into(), "NotFoundException".into()));
        let mut w = answer(400, json!({"message": "no such mesh"}));
        w.response.headers.push(("x-amzn-errortype".into(), "BadRequestException".into()));
        let found = differences(&a.answer(&z), &b.answer(&w));
        assert_eq!(found.iter().map(|d| d.kind).collect::<Vec<_>>(), vec![DiffKind::Status, DiffKind::ErrorCode]);
        assert_eq!(
            Difference { kind: DiffKind::Member, path: "a[3].b".into(), a: "".into(), b: "".into() }.cause(),
            "member a[].b"
        );
    }

    #[test]
    fn list_order_does_not_count_but_contents_do() {
        let mut a = Normalizer::default();
        let mut b = Normalizer::default();
        let x = a.answer(&answer(200, json!({"meshes": [{"meshName": "a"}, {"meshName": "b"}]})));
        let y = b.answer(&answer(200, json!({"meshes": [{"meshName": "b"}, {"meshName": "a"}]})));
        assert_eq!(differences(&x, &y), vec![]);
        let y = b.answer(&answer(200, json!({"meshes": [{"meshName": "b"}]})));
        assert!(!differences(&x, &y).is_empty());
    }
}
