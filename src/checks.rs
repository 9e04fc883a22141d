//! Checks of responses against the contract. Each check returns structured failures (a stable
//! check id, the severity, the member path, the rule and its source, expected and actual) and
//! never panics; the suite decides what a failure does. This module knows nothing of cucumber.
//!
//! Severity: MUST for what the documented request/response syntax, the model and the error table
//! say; SHOULD for behaviour documented elsewhere (the sample response, the AWS protocol
//! conventions); INFO for a point where the sources disagree or AWS's behaviour is not known,
//! which never fails a target. Every failure names its source: an id of the model's sources table
//! (see [`crate::model::provenance`]).

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::exchange::Exchange;
pub mod id;

pub use id::{CheckId, DiffKind, Meta};

use crate::model::provenance::source;
use crate::model::resources::ResourceKind;
use crate::model::{Operation, ServiceModel};
use crate::validate::{comparable, describe, normalize, violations};
use crate::wire;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Must,
    Should,
    /// Sources disagree, or AWS's behaviour is unknown: reported, never a failure (unless
    /// `--strict-docs` asks for the documentation's reading).
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Must => "MUST",
            Severity::Should => "SHOULD",
            Severity::Info => "INFO",
        })
    }
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckFailure {
    /// What the check judges; renders as a stable id, for example `metadata.version`.
    pub id: CheckId,
    pub severity: Severity,
    /// The source the rule comes from: an id of the model's sources table, for example
    /// `sdk-model` or `api-reference`.
    pub source: String,
    /// The member path in the response, for example `metadata.createdAt`; empty for the whole.
    pub path: String,
    /// The rule and where it comes from.
    pub rule: String,
    pub expected: String,
    pub actual: String,
    pub hint: Option<String>,
}

impl CheckFailure {
    /// A failure without a hint (set `hint` on the result for one); `source` is an id of the
    /// model's sources table.
    pub fn new(
        id: CheckId,
        severity: Severity,
        source: &str,
        path: &str,
        rule: &str,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        CheckFailure {
            id,
            severity,
            source: source.to_string(),
            path: path.to_string(),
            rule: rule.to_string(),
            expected: expected.into(),
            actual: actual.into(),
            hint: None,
        }
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "check failed [{}] {}", self.severity, self.id)?;
        if !self.path.is_empty() {
            writeln!(f, "  --> member: {}", self.path)?;
        }
        writeln!(f, "  rule:     {}", self.rule)?;
        writeln!(f, "  source:   {}", self.source)?;
        writeln!(f, "  expected: {}", self.expected)?;
        write!(f, "  actual:   {}", self.actual)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint:     {hint}")?;
        }
        Ok(())
    }
}

/// What the harness knows about the target and the request when judging a response.
#[derive(Debug, Clone)]
pub struct CheckContext {
    pub region: String,
    /// The target's account id, when declared or known (the embedded emulator's).
    pub account_id: Option<String>,
    /// The local clock, epoch seconds.
    pub now: f64,
}

/// A successful answer to `op`: the documented status, a JSON content type and a body that
/// validates against the output shape.
pub fn check_success(model: &ServiceModel, op: &Operation, exchange: &Exchange) -> Vec<CheckFailure> {
    let expected = op.http.response_code;
    if exchange.status() != expected {
        let mut failure = CheckFailure::new(
            CheckId::HttpStatus,
            Severity::Must,
            source::SDK_MODEL,
            "",
            &format!("{} answers {expected} on success (model: http.responseCode)", op.name),
            expected.to_string(),
            status_and_code(exchange),
        );
        failure.hint = exchange
            .json()
            .and_then(|b| b.get("message").and_then(Value::as_str).map(|m| format!("the target said: {m}")));
        return vec![failure];
    }
    let mut failures = check_content_type(exchange);
    let Some(shape) = wire::response_body_shape(model, op) else { return failures };
    match exchange.json() {
        None => failures.push(CheckFailure::new(
            CheckId::ShapeJson,
            Severity::Must,
            source::AWS_RESTJSON1,
            "",
            &format!("the {} response body is JSON", op.name),
            format!("a JSON {shape}"),
            describe_body(&exchange.response.body),
        )),
        Some(body) => failures.extend(shape_failures(model, &shape, &body)),
    }
    failures
}

/// Every model violation of `body` as a failure `shape.<rule>`.
pub fn shape_failures(model: &ServiceModel, shape: &str, body: &Value) -> Vec<CheckFailure> {
    violations(model, shape, body)
        .into_iter()
        .map(|v| {
            let mut failure = CheckFailure::new(
                CheckId::Shape(v.rule),
                Severity::Must,
                source::SDK_MODEL,
                &v.path,
                &format!("the response validates against {shape} (model: {} rule)", v.rule),
                v.expected,
                v.found,
            );
            failure.hint = v.hint;
            failure
        })
        .collect()
}

fn check_content_type(exchange: &Exchange) -> Vec<CheckFailure> {
    let content_type = exchange.response_header("content-type").unwrap_or_default();
    let base = content_type.split(';').next().unwrap_or_default().trim();
    if base.eq_ignore_ascii_case("application/json") {
        return Vec::new();
    }
    vec![CheckFailure::new(
        CheckId::HttpContentType,
        Severity::Should,
        source::AWS_RESTJSON1,
        "",
        "restJson1 responses carry content-type application/json",
        "application/json",
        if content_type.is_empty() { "no content-type header".to_string() } else { content_type.to_string() },
    )]
}

fn describe_body(body: &str) -> String {
    let shown: String = body.chars().take(80).collect();
    if body.is_empty() { "an empty body".to_string() } else { format!("{shown:?}") }
}

fn status_and_code(exchange: &Exchange) -> String {
    match exchange.error_code() {
        Some(code) => format!("{} {code}", exchange.status()),
        None => exchange.status().to_string(),
    }
}

/// An error answer with the documented code: the model's status for that code, the
/// `x-amzn-ErrorType` header naming it, a JSON content type and a JSON `message`.
pub fn check_error(model: &ServiceModel, exchange: &Exchange, expected_code: &str) -> Vec<CheckFailure> {
    let expected_status = model.error_status(expected_code);
    let expected = match expected_status {
        Some(status) => format!("{status} {expected_code}"),
        None => expected_code.to_string(),
    };
    let rule = format!(
        "the documented error table: {expected_code} is HTTP {}",
        expected_status.map_or("?".into(), |s| s.to_string())
    );
    let found_code = exchange.error_code();
    if expected_status.is_some_and(|s| s != exchange.status())
        || found_code.as_deref().is_some_and(|c| c != expected_code)
    {
        let mut failure = CheckFailure::new(
            CheckId::ErrorStatus,
            Severity::Must,
            source::SDK_MODEL,
            "",
            &rule,
            expected,
            status_and_code(exchange),
        );
        failure.hint = exchange
            .json()
            .and_then(|b| b.get("message").and_then(Value::as_str).map(|m| format!("the target said: {m}")));
        return vec![failure];
    }
    check_error_shape(exchange, Some(expected_code))
}

/// The wire shape every error must have, whatever its code: `x-amzn-ErrorType`, JSON content
/// type, a JSON object body with a string `message`. With `expected_code`, the header must name it.
pub fn check_error_shape(exchange: &Exchange, expected_code: Option<&str>) -> Vec<CheckFailure> {
    let mut failures = Vec::new();
    let header = exchange.response_header("x-amzn-errortype");
    let header_code = header.map(wire::sanitize_error_code);
    match (header_code.as_deref(), expected_code) {
        (None, _) => failures.push(CheckFailure::new(
            CheckId::ErrorHeader,
            Severity::Should,
            source::AWS_RESTJSON1,
            "",
            "restJson1 errors name their code in the x-amzn-ErrorType header",
            expected_code.map_or("an x-amzn-ErrorType header".to_string(), |c| format!("x-amzn-ErrorType: {c}")),
            "no x-amzn-ErrorType header",
        )),
        (Some(found), Some(expected)) if found != expected => failures.push(CheckFailure::new(
            CheckId::ErrorHeader,
            Severity::Must,
            source::AWS_RESTJSON1,
            "",
            "the x-amzn-ErrorType header names the documented error",
            expected.to_string(),
            header.unwrap_or_default().to_string(),
        )),
        _ => {}
    }
    failures.extend(check_content_type(exchange).into_iter().map(|mut f| {
        f.id = CheckId::ErrorContentType;
        f
    }));
    match exchange.json() {
        Some(Value::Object(body))
            if body.get("message").or_else(|| body.get("Message")).is_some_and(Value::is_string) => {}
        Some(body) => failures.push(CheckFailure::new(
            CheckId::ErrorMessage,
            Severity::Must,
            source::SDK_MODEL,
            "message",
            "error bodies carry a string message (model: message member of every error shape)",
            "a JSON object with a string message",
            describe(&body),
        )),
        None => failures.push(CheckFailure::new(
            CheckId::ErrorMessage,
            Severity::Must,
            source::SDK_MODEL,
            "message",
            "error bodies are JSON with a string message",
            "a JSON object with a string message",
            describe_body(&exchange.response.body),
        )),
    }
    failures
}

/// What a create was asked to make.
#[derive(Debug, Clone)]
pub struct SentNode<'a> {
    pub mesh_name: &'a str,
    pub virtual_node_name: &'a str,
    pub spec: &'a Value,
}

/// The behaviours of a VirtualNodeData returned by a create, beyond its shape: ARN form, version,
/// timestamps, owners, uid, status and the echo of what was sent.
pub fn check_created_node(
    model: &ServiceModel,
    data: &Value,
    sent: &SentNode,
    ctx: &CheckContext,
) -> Vec<CheckFailure> {
    let mut failures = Vec::new();
    let metadata = &data["metadata"];
    let account = ctx.account_id.as_deref();

    let arn = metadata["arn"].as_str().unwrap_or_default();
    let expected_arn = format!(
        "arn:aws:appmesh:{}:{}:mesh/{}/virtualNode/{}",
        ctx.region,
        account.unwrap_or("{account}"),
        sent.mesh_name,
        sent.virtual_node_name
    );
    if !arn_matches(arn, &expected_arn) {
        failures.push(CheckFailure::new(
            CheckId::Metadata(Meta::Arn),
            Severity::Should,
            source::IAM_REFERENCE,
            "metadata.arn",
            "arn:aws:appmesh:{region}:{account}:mesh/{mesh}/virtualNode/{name} (documented sample response)",
            expected_arn,
            metadata["arn"].to_string(),
        ));
    }
    if metadata["version"] != 1 {
        failures.push(CheckFailure::new(
            CheckId::Metadata(Meta::Version),
            Severity::Should,
            source::API_REFERENCE,
            "metadata.version",
            "a newly created resource is at version 1 (documented sample response)",
            "1",
            describe(&metadata["version"]),
        ));
    }
    // A timestamp that is absent or not a number cannot be judged against the clock: that is a
    // failure of its own, never a silent pass.
    let timestamp = |meta: Meta, failures: &mut Vec<CheckFailure>| {
        let member = meta.member();
        let value = &metadata[member];
        let number = value.as_f64();
        if number.is_none() {
            failures.push(CheckFailure::new(
                CheckId::Metadata(meta),
                Severity::Must,
                source::AWS_RESTJSON1,
                &meta.path(),
                &format!("{member} is a timestamp, sent as epoch seconds (a JSON number)"),
                "a JSON number of epoch seconds",
                if value.is_null() { "absent".to_string() } else { describe(value) },
            ));
        }
        number
    };
    let created = timestamp(Meta::CreatedAt, &mut failures);
    let updated = timestamp(Meta::LastUpdatedAt, &mut failures);
    if let Some(created) = created
        && (created - ctx.now).abs() > 300.0
    {
        failures.push(CheckFailure::new(
            CheckId::Metadata(Meta::CreatedAt),
            Severity::Should,
            source::API_REFERENCE,
            "metadata.createdAt",
            "createdAt is the creation time, in epoch seconds, within 5 minutes of the local clock",
            format!("within 300 s of {:.3}", ctx.now),
            format!("{created} ({:+.0} s)", created - ctx.now),
        ));
    }
    if let (Some(created), Some(updated)) = (created, updated)
        && updated < created
    {
        failures.push(CheckFailure::new(
            CheckId::Metadata(Meta::LastUpdatedAt),
            Severity::Should,
            source::API_REFERENCE,
            "metadata.lastUpdatedAt",
            "lastUpdatedAt is not before createdAt",
            format!(">= {created}"),
            updated.to_string(),
        ));
    }
    for owner in [Meta::MeshOwner, Meta::ResourceOwner] {
        let value = &metadata[owner.member()];
        let text = value.as_str().unwrap_or_default();
        let good = crate::model::is_account_id(text) && account.is_none_or(|a| a == text);
        if !good {
            failures.push(CheckFailure::new(
                CheckId::Metadata(owner),
                Severity::Should,
                source::API_REFERENCE,
                &owner.path(),
                "owners are 12-digit AWS account ids (the caller's account for a mesh it owns)",
                account.map_or("a 12-digit account id".to_string(), str::to_string),
                describe(value),
            ));
        }
    }
    if metadata["uid"].as_str().is_none_or(str::is_empty) {
        failures.push(CheckFailure::new(
            CheckId::Metadata(Meta::Uid),
            Severity::Should,
            source::API_REFERENCE,
            "metadata.uid",
            "every resource has a non-empty uid",
            "a non-empty string",
            describe(&metadata["uid"]),
        ));
    }
    if data["status"]["status"] != "ACTIVE" {
        failures.push(CheckFailure::new(
            CheckId::Status,
            Severity::Must,
            source::SDK_MODEL,
            "status.status",
            "a newly created virtual node is ACTIVE (model: VirtualNodeStatusCode)",
            "\"ACTIVE\"",
            describe(&data["status"]["status"]),
        ));
    }
    for (member, sent_value) in [("meshName", sent.mesh_name), ("virtualNodeName", sent.virtual_node_name)] {
        if data[member] != sent_value {
            failures.push(CheckFailure::new(
                CheckId::Echo(member.to_string()),
                Severity::Must,
                source::API_REFERENCE,
                member,
                "the response names the resource that was created",
                format!("{sent_value:?}"),
                describe(&data[member]),
            ));
        }
    }
    let sent_spec = comparable(&normalize(model, "VirtualNodeSpec", sent.spec));
    let echoed_spec = comparable(&normalize(model, "VirtualNodeSpec", &data["spec"]));
    for (path, expected, actual) in json_differences("spec", &sent_spec, &echoed_spec) {
        failures.push(CheckFailure::new(
            CheckId::Echo("spec".into()),
            Severity::Must,
            source::API_REFERENCE,
            &path,
            "the response echoes the spec that was sent (null members dropped)",
            expected,
            actual,
        ));
    }
    failures
}

/// `expected` may hold `{account}` where the account is not known: then any 12 digits match.
fn arn_matches(arn: &str, expected: &str) -> bool {
    match expected.split_once("{account}") {
        None => arn == expected,
        Some((before, after)) => {
            arn.strip_prefix(before).and_then(|rest| rest.strip_suffix(after)).is_some_and(crate::model::is_account_id)
        }
    }
}

/// The ARN of a `kind` resource ends with each parent's segment and name, then the resource's own
/// (`mesh/m/virtualGateway/g/gatewayRoute/x`), in `region`.
pub fn check_arn_names(kind: &ResourceKind, data: &Value, region: &str) -> Option<CheckFailure> {
    let path: Vec<String> = kind
        .identifiers()
        .iter()
        .map(|label| {
            format!("{}/{}", crate::model::resources::arn_segment(label), data[label].as_str().unwrap_or_default())
        })
        .collect();
    let expected = format!("arn:<partition>:appmesh:{region}:<account>:{}", path.join("/"));
    let actual = data["metadata"]["arn"].as_str().unwrap_or_default();
    let fits = actual.starts_with("arn:aws")
        && actual.split(':').nth(3) == Some(region)
        && actual.split(':').nth(2) == Some("appmesh")
        && actual.splitn(6, ':').nth(5) == Some(path.join("/").as_str());
    (!fits).then(|| {
        CheckFailure::new(
            CheckId::Metadata(Meta::Arn),
            Severity::Must,
            source::IAM_REFERENCE,
            "metadata.arn",
            &format!("the ARN of a {} names its mesh and parents", kind.noun),
            expected,
            if data["metadata"]["arn"].is_null() { "absent".to_string() } else { data["metadata"]["arn"].to_string() },
        )
    })
}

/// A readback (DescribeVirtualNode) returns the same resource as the create did.
pub fn check_readback(operation: &str, created: &Value, readback: &Value) -> Vec<CheckFailure> {
    json_differences("", &comparable(created), &comparable(readback))
        .into_iter()
        .map(|(path, expected, actual)| {
            CheckFailure::new(
                CheckId::Readback(operation.to_string()),
                Severity::Should,
                source::API_REFERENCE,
                &path,
                &format!("{operation} returns the VirtualNodeData the create returned"),
                expected,
                actual,
            )
        })
        .collect()
}

/// The members an input sent in its body come back in the output data with the values sent; the
/// service may add members (defaults) but not change or drop what was sent.
pub fn check_echo(model: &ServiceModel, op: &Operation, sent: &Value, data: &Value) -> Vec<CheckFailure> {
    let Some(input) = op.input.as_deref().and_then(|name| model.structure(name)) else { return Vec::new() };
    let output_shape = wire::response_body_shape(model, op).unwrap_or_default();
    let Some(output) = model.structure(&output_shape) else { return Vec::new() };
    let mut failures = Vec::new();
    for member in input.members.iter().filter(|m| m.location == crate::model::Location::Body) {
        let Some(out_member) = output.member(&member.name) else { continue };
        if sent[&member.name].is_null() {
            continue;
        }
        let sent_value = comparable(&normalize(model, &member.target, &sent[&member.name]));
        let echoed = comparable(&normalize(model, &out_member.target, &data[&member.name]));
        for (path, expected, actual) in json_differences(&member.name, &sent_value, &echoed) {
            if expected == "absent" {
                continue; // a member the service added
            }
            failures.push(CheckFailure::new(
                CheckId::Echo(member.name.clone()),
                Severity::Must,
                source::API_REFERENCE,
                &path,
                "the response echoes what was sent (members the service adds are allowed)",
                expected,
                actual,
            ));
        }
    }
    failures
}

/// A replay of a create with the same client token and request returns the node the first create
/// made: the same uid, ARN and creation time, still at version 1.
pub fn check_replay(first: &Value, replay: &Value) -> Vec<CheckFailure> {
    let mut failures = Vec::new();
    for meta in [Meta::Uid, Meta::Arn, Meta::CreatedAt, Meta::Version] {
        let member = meta.member();
        let (expected, actual) = (&first["metadata"][member], &replay["metadata"][member]);
        if json_differences("", expected, actual).is_empty() {
            continue;
        }
        failures.push(CheckFailure::new(
            CheckId::Replay(meta),
            Severity::Must,
            source::API_REFERENCE,
            &meta.path(),
            "a reused client token with the same request returns the resource the first request created",
            short(expected),
            short(actual),
        ));
    }
    failures
}

/// ListVirtualNodes (one page, the node's own mesh) lists the created node once, and its
/// VirtualNodeRef agrees with the create's VirtualNodeData.
pub fn check_listed(
    model: &ServiceModel,
    kind: &ResourceKind,
    created: &Value,
    entries: &[Value],
) -> Vec<CheckFailure> {
    let list = kind.list.as_deref().unwrap_or_default();
    let member = kind.list_member.as_deref().unwrap_or_default();
    let name = &created[&kind.name_member];
    let same_parents = |entry: &Value| kind.parents.iter().all(|parent| entry[parent] == created[parent]);
    let refs: Vec<&Value> = entries.iter().filter(|r| &r[&kind.name_member] == name && same_parents(r)).collect();
    let [listed] = refs.as_slice() else {
        return vec![CheckFailure::new(
            CheckId::Readback(list.to_string()),
            Severity::Must,
            source::API_REFERENCE,
            member,
            &format!("{list} lists a created {} exactly once", kind.noun),
            format!("one entry named {name}"),
            format!("{} entries", refs.len()),
        )];
    };
    let ref_shape = kind.ref_shape.as_deref().unwrap_or_default();
    let expected = crate::validate::summary_of(model, ref_shape, created);
    let actual = comparable(listed);
    json_differences("", &expected, &actual)
        .into_iter()
        .filter(|(_, expected, _)| expected != "absent")
        .map(|(path, expected, actual)| {
            CheckFailure::new(
                CheckId::Readback(list.to_string()),
                Severity::Should,
                source::API_REFERENCE,
                &format!("{member}[].{path}"),
                &format!("the {ref_shape} in {list} agrees with the resource the last answer returned"),
                expected,
                actual,
            )
        })
        .collect()
}

/// The paths where two JSON values differ, with what each side holds; at most 20.
pub fn json_differences(path: &str, expected: &Value, actual: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    differences(path, expected, actual, &mut out);
    out.truncate(20);
    out
}

fn differences(path: &str, expected: &Value, actual: &Value, out: &mut Vec<(String, String, String)>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, e_value) in e {
                let child = crate::model::join_path(path, key);
                match a.get(key) {
                    Some(a_value) => differences(&child, e_value, a_value, out),
                    None => out.push((child, short(e_value), "absent".into())),
                }
            }
            for (key, a_value) in a {
                if !e.contains_key(key) {
                    out.push((crate::model::join_path(path, key), "absent".into(), short(a_value)));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (index, (e_item, a_item)) in e.iter().zip(a).enumerate() {
                differences(&format!("{path}[{index}]"), e_item, a_item, out);
            }
        }
        (e, a) if e == a => {}
        // JSON numbers compare by value: 1 and 1.0 are the same number.
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) => out.push((path.to_string(), short(e), short(a))),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 { format!("{}…", text.chars().take(120).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn exchange(status: u16, headers: &[(&str, &str)], body: &str) -> Exchange {
        let mut exchange = Exchange::fixture("PUT", "/", status, body);
        exchange.response.headers = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        exchange
    }

    fn ids(failures: &[CheckFailure]) -> Vec<String> {
        failures.iter().map(|f| f.id.to_string()).collect()
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn a_well_formed_error_passes_and_each_defect_is_named() {
        let model = ServiceModel::embedded();
        let good = exchange(409, &[JSON, ("x-amzn-errortype", "ConflictException")], r#"{"message":"taken"}"#);
        assert_eq!(check_error(&model, &good, "ConflictException"), vec![]);
        let wrong_status = exchange(200, &[JSON], "{}");
        let failures = check_error(&model, &wrong_status, "ConflictException");
        assert_eq!(ids(&failures), ["error.status"]);
        assert_eq!(failures[0].expected, "409 ConflictException");
        let no_header = exchange(409, &[JSON], r#"{"message":"taken","code":"ConflictException"}"#);
        assert_eq!(ids(&check_error(&model, &no_header, "ConflictException")), ["error.x-amzn-ErrorType"]);
        let html =
            exchange(409, &[("content-type", "text/html"), ("x-amzn-errortype", "ConflictException")], "<b>no</b>");
        assert_eq!(ids(&check_error(&model, &html, "ConflictException")), ["error.content-type", "error.message"]);
        let not_found_as_400 =
            exchange(400, &[JSON, ("x-amzn-errortype", "BadRequestException")], r#"{"message":"m"}"#);
        let failures = check_error(&model, &not_found_as_400, "NotFoundException");
        assert_eq!(
            (failures[0].expected.as_str(), failures[0].actual.as_str()),
            ("404 NotFoundException", "400 BadRequestException")
        );
        // Same status, other code: LimitExceededException and BadRequestException are both 400.
        let limit_as_bad_request =
            exchange(400, &[JSON, ("x-amzn-errortype", "BadRequestException")], r#"{"message":"m"}"#);
        assert_eq!(ids(&check_error(&model, &limit_as_bad_request, "LimitExceededException")), ["error.status"]);
    }

    fn node(version: Value, created: Value, status: &str) -> Value {
        json!({
            "meshName": "m", "virtualNodeName": "vn", "status": {"status": status},
            "spec": {"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}, "healthCheck": null}], "logging": null},
            "metadata": {
                "arn": "arn:aws:appmesh:us-east-1:123456789012:mesh/m/virtualNode/vn", "createdAt": created,
                "lastUpdatedAt": 1000.5, "meshOwner": "123456789012", "resourceOwner": "123456789012", "uid": "u",
                "version": version
            }
        })
    }

    fn created_checks(data: &Value, account: Option<&str>) -> Vec<CheckFailure> {
        let spec = json!({"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]});
        let sent = SentNode { mesh_name: "m", virtual_node_name: "vn", spec: &spec };
        let ctx = CheckContext { region: "us-east-1".into(), account_id: account.map(str::to_string), now: 1100.0 };
        check_created_node(&ServiceModel::embedded(), data, &sent, &ctx)
    }

    #[test]
    fn a_conformant_node_passes_with_or_without_a_known_account() {
        let data = node(json!(1), json!(1000.5), "ACTIVE");
        assert_eq!(created_checks(&data, Some("123456789012")), vec![]);
        assert_eq!(created_checks(&data, None), vec![]);
        assert_eq!(
            ids(&created_checks(&data, Some("999999999999"))),
            ["metadata.arn", "metadata.meshOwner", "metadata.resourceOwner"]
        );
    }

    #[test]
    fn each_deviation_of_a_created_node_is_named() {
        assert_eq!(ids(&created_checks(&node(json!(0), json!(1000.5), "ACTIVE"), None)), ["metadata.version"]);
        assert_eq!(ids(&created_checks(&node(json!(1), json!(1.0), "ACTIVE"), None)), ["metadata.createdAt"]);
        assert_eq!(ids(&created_checks(&node(json!(1), json!(1001.0), "ACTIVE"), None)), ["metadata.lastUpdatedAt"]);
        assert_eq!(ids(&created_checks(&node(json!(1), json!(1000.5), "active"), None)), ["status.status"]);
        let mut data = node(json!(1), json!(1000.5), "ACTIVE");
        data["spec"]["listeners"][0]["portMapping"]["port"] = json!(8080);
        data["metadata"]["uid"] = json!("");
        let failures = created_checks(&data, None);
        assert_eq!(ids(&failures), ["metadata.uid", "echo.spec"]);
        assert_eq!(failures[1].path, "spec.listeners[0].portMapping.port");
        assert_eq!((failures[1].expected.as_str(), failures[1].actual.as_str()), ("9080", "8080"));
    }

    /// The timestamp steps used to pass when the member was absent or a string: now each is a
    /// failure of the member, saying what was there.
    #[test]
    fn an_absent_or_string_timestamp_fails_its_check() {
        let mut data = node(json!(1), json!("2026-11-24T00:00:00Z"), "ACTIVE");
        data["metadata"].as_object_mut().unwrap().remove("lastUpdatedAt");
        let failures = created_checks(&data, None);
        assert_eq!(ids(&failures), ["metadata.createdAt", "metadata.lastUpdatedAt"]);
        assert_eq!(failures[0].actual, "string \"2026-11-24T00:00:00Z\"");
        assert_eq!(failures[1].actual, "absent");
        assert!(failures.iter().all(|f| f.severity == Severity::Must && f.source == source::AWS_RESTJSON1));
    }

    #[test]
    fn success_checks_cover_status_content_type_and_shape() {
        let model = ServiceModel::embedded();
        let op = model.operation("CreateVirtualNode").unwrap();
        let body = node(json!(1), json!("yesterday"), "ACTIVE").to_string();
        let failures = check_success(&model, op, &exchange(200, &[("content-type", "text/html")], &body));
        assert_eq!(ids(&failures), ["http.content-type", "shape.type"]);
        assert_eq!(failures[1].path, "metadata.createdAt");
        let failures = check_success(&model, op, &exchange(500, &[JSON], r#"{"message":"boom"}"#));
        assert_eq!(ids(&failures), ["http.status"]);
        assert_eq!(failures[0].hint.as_deref(), Some("the target said: boom"));
    }

    #[test]
    fn readback_differences_are_listed_by_path() {
        let created = node(json!(1), json!(1000.5), "ACTIVE");
        let mut described = created.clone();
        // App Mesh shows an unset list as [] in later reads: the same resource.
        described["spec"]["backends"] = json!([]);
        assert_eq!(check_readback("DescribeVirtualNode", &created, &described), vec![]);
        described["metadata"]["uid"] = json!("other");
        described["metadata"]["version"] = json!(1.0);
        let failures = check_readback("DescribeVirtualNode", &created, &described);
        assert_eq!(ids(&failures), ["readback.DescribeVirtualNode"]);
        assert_eq!(failures[0].path, "metadata.uid");
    }

    #[test]
    fn failures_render_like_compiler_errors() {
        let mut failure = CheckFailure::new(
            CheckId::Metadata(Meta::Version),
            Severity::Should,
            "api-reference",
            "metadata.version",
            "rule",
            "1",
            "number 0",
        );
        failure.hint = Some("h".into());
        assert_eq!(
            failure.to_string(),
            "check failed [SHOULD] metadata.version\n  --> member: metadata.version\n  rule:     rule\n  source:   api-reference\n  expected: 1\n  actual:   number 0\n  hint:     h"
        );
    }
}
