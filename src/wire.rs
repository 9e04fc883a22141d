//! restJson1 wire protocol helpers, driven by the model's HTTP bindings, in both directions.
//!
//! Client side: [`build_request`] turns an operation input (one JSON object holding every member,
//! URI and query members included) into method, path, query, headers and JSON body.
//! Server side: [`route`] finds the operation for a method and path and [`decode_input`] rebuilds
//! the input object, so the emulator validates exactly what a client meant to send.
//! Errors: [`error_code`] reads the error code the way the AWS SDKs do.
//! No I/O happens here.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::model::{Location, Operation, ServiceModel, ShapeKind, Structure};

/// Characters left as they are in a URI label: the RFC 3986 unreserved set.
const LABEL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// A greedy label (`{key+}`) keeps its slashes.
const GREEDY_LABEL: &AsciiSet = &LABEL.remove(b'/');

/// An HTTP request as the model binds it, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// Path and query string, percent-encoded, for example `/v20190125/meshes/m%20x?meshOwner=1`.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("the model has no operation `{0}`")]
    UnknownOperation(String),
    #[error("operation `{0}` has no input structure in the model")]
    NoInput(String),
    #[error("the input for `{operation}` is not a JSON object")]
    InputNotObject { operation: String },
    #[error("the input for `{operation}` has no value for the URI label `{label}`")]
    MissingLabel { operation: String, label: String },
    #[error("the URI label `{label}` of `{operation}` is empty, which no request path can carry")]
    EmptyLabel { operation: String, label: String },
    #[error(
        "the URI label `{label}` of `{operation}` is `{value}`, a dot segment that URL parsers remove (even percent-encoded), so no request path can carry it"
    )]
    DotSegmentLabel { operation: String, label: String, value: String },
}

fn input_structure<'m>(model: &'m ServiceModel, op: &Operation) -> Result<&'m Structure, WireError> {
    op.input.as_deref().and_then(|name| model.structure(name)).ok_or_else(|| WireError::NoInput(op.name.clone()))
}

/// A scalar as it appears in a URI, query string or header.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Builds the HTTP request for `operation` from `input`. Members the input does not set are left
/// out; members the model does not know are sent in the body as they are (so that scenarios can
/// send unknown or wrongly typed members on purpose).
pub fn build_request(model: &ServiceModel, operation: &str, input: &Value) -> Result<HttpRequest, WireError> {
    let op = model.operation(operation).ok_or_else(|| WireError::UnknownOperation(operation.to_string()))?;
    let structure = input_structure(model, op)?;
    let object = input.as_object().ok_or_else(|| WireError::InputNotObject { operation: operation.to_string() })?;

    let (template_path, template_query) = match op.http.request_uri.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (op.http.request_uri.as_str(), None),
    };
    let mut path = template_path.to_string();
    for member in structure.members.iter().filter(|m| m.location == Location::Uri) {
        let greedy = format!("{{{}+}}", member.location_name);
        let plain = format!("{{{}}}", member.location_name);
        let Some(value) = object.get(&member.name).filter(|v| !v.is_null()) else {
            if path.contains(&plain) || path.contains(&greedy) {
                return Err(WireError::MissingLabel {
                    operation: operation.to_string(),
                    label: member.location_name.clone(),
                });
            }
            continue;
        };
        let text = scalar_text(value);
        if text.is_empty() {
            return Err(WireError::EmptyLabel {
                operation: operation.to_string(),
                label: member.location_name.clone(),
            });
        }
        if text == "." || text == ".." {
            return Err(WireError::DotSegmentLabel {
                operation: operation.to_string(),
                label: member.location_name.clone(),
                value: text,
            });
        }
        path = path.replace(&greedy, &utf8_percent_encode(&text, GREEDY_LABEL).to_string());
        path = path.replace(&plain, &utf8_percent_encode(&text, LABEL).to_string());
    }

    let mut query: Vec<String> = template_query.map(|q| vec![q.to_string()]).unwrap_or_default();
    let mut headers = Vec::new();
    let mut body = Map::new();
    for (name, value) in object {
        match structure.member(name) {
            Some(member) if member.location == Location::Query => {
                if value.is_null() {
                    continue;
                }
                let key = utf8_percent_encode(&member.location_name, LABEL).to_string();
                let values = match value {
                    Value::Array(items) => items.iter().map(scalar_text).collect(),
                    other => vec![scalar_text(other)],
                };
                for item in values {
                    query.push(format!("{key}={}", utf8_percent_encode(&item, LABEL)));
                }
            }
            Some(member) if member.location == Location::Header => {
                if !value.is_null() {
                    headers.push((member.location_name.clone(), scalar_text(value)));
                }
            }
            Some(member) if member.location == Location::Uri => {}
            _ => {
                body.insert(name.clone(), value.clone());
            }
        }
    }
    let has_body_members = structure.members.iter().any(|m| m.location == Location::Body);
    let body = if has_body_members || !body.is_empty() {
        headers.push(("content-type".to_string(), "application/json".to_string()));
        serde_json::to_vec(&Value::Object(body)).expect("a JSON map serializes")
    } else {
        Vec::new()
    };
    let path_and_query = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
    Ok(HttpRequest { method: op.http.method.clone(), path_and_query, headers, body })
}

/// The operation a method and path address, with its decoded URI labels. Where several templates
/// match, the one with the most literal segments wins.
pub fn route<'m>(model: &'m ServiceModel, method: &str, path: &str) -> Option<(&'m Operation, Labels)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(usize, &Operation, Labels)> = None;
    for op in model.operations.values() {
        if !op.http.method.eq_ignore_ascii_case(method) {
            continue;
        }
        let template = op.http.request_uri.split('?').next().unwrap_or_default();
        let Some((literals, labels)) = match_template(template, &segments) else { continue };
        if best.as_ref().is_none_or(|(score, _, _)| literals > *score) {
            best = Some((literals, op, labels));
        }
    }
    best.map(|(_, op, labels)| (op, labels))
}

/// Decoded URI labels, `(label, value)`.
pub type Labels = Vec<(String, String)>;

fn match_template(template: &str, segments: &[&str]) -> Option<(usize, Labels)> {
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let mut labels = Vec::new();
    let mut literals = 0;
    for (index, part) in parts.iter().enumerate() {
        if let Some(label) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if let Some(greedy) = label.strip_suffix('+') {
                let rest = segments.get(index..)?.join("/");
                if rest.is_empty() {
                    return None;
                }
                labels.push((greedy.to_string(), decode(&rest)));
                return Some((literals, labels));
            }
            let segment = segments.get(index)?;
            if segment.is_empty() {
                return None;
            }
            labels.push((label.to_string(), decode(segment)));
        } else {
            if segments.get(index) != Some(part) {
                return None;
            }
            literals += 1;
        }
    }
    (parts.len() == segments.len()).then_some((literals, labels))
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Splits a raw query string into decoded `(key, value)` pairs; `+` means a space, as in forms.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&key.replace('+', " ")), decode(&value.replace('+', " ")))
        })
        .collect()
}

/// Checks that every percent-encoded part of a request target decodes to UTF-8: a URI label or
/// query value that does not cannot name anything, and decoding it lossily would turn distinct
/// bytes into the same `\u{fffd}` name.
pub fn check_utf8(path: &str, query: &str) -> Result<(), DecodeError> {
    for (part, what) in
        path.split('/').map(|s| (s, "path segment")).chain(query.split(['&', '=']).map(|s| (s, "query part")))
    {
        if percent_decode_str(&part.replace('+', " ")).decode_utf8().is_err() {
            return Err(DecodeError::NotUtf8(format!("the {what} {part:?}")));
        }
    }
    Ok(())
}

/// Why a request body could not become an input object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("{0} is percent-encoded bytes that are not UTF-8; names and values must be UTF-8 text")]
    NotUtf8(String),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body must be a JSON object, found {0}")]
    NotAnObject(String),
}

/// Rebuilds an operation's input object from the parts of an HTTP request. Query values are typed
/// by their target shape where they parse (`limit=5` becomes the number 5); a value that does not
/// parse stays a string, so the validator reports it as a type violation. An empty body counts as
/// an empty object.
pub fn decode_input(
    model: &ServiceModel,
    op: &Operation,
    labels: &[(String, String)],
    query: &[(String, String)],
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Value, DecodeError> {
    let mut input = Map::new();
    let structure = op.input.as_deref().and_then(|name| model.structure(name));
    let has_body_members = structure.is_some_and(|s| s.members.iter().any(|m| m.location == Location::Body));
    if has_body_members && !body.iter().all(u8::is_ascii_whitespace) {
        let parsed: Value = serde_json::from_slice(body).map_err(|e| DecodeError::MalformedJson(e.to_string()))?;
        match parsed {
            Value::Object(object) => input = object,
            other => return Err(DecodeError::NotAnObject(crate::validate::describe(&other))),
        }
    }
    let Some(structure) = structure else { return Ok(Value::Object(input)) };
    for member in &structure.members {
        match member.location {
            Location::Body => {}
            Location::Uri => {
                input.remove(&member.name);
                if let Some((_, value)) = labels.iter().find(|(label, _)| label == &member.location_name) {
                    input.insert(member.name.clone(), Value::String(value.clone()));
                }
            }
            Location::Query => {
                input.remove(&member.name);
                let values: Vec<&String> =
                    query.iter().filter(|(key, _)| key == &member.location_name).map(|(_, v)| v).collect();
                if values.is_empty() {
                    continue;
                }
                let typed = match &model.shape(&member.target).map(|s| &s.kind) {
                    Some(ShapeKind::List { member: item, .. }) => {
                        Value::Array(values.iter().map(|v| typed_scalar(model, item, v)).collect())
                    }
                    _ => typed_scalar(model, &member.target, values[values.len() - 1]),
                };
                input.insert(member.name.clone(), typed);
            }
            Location::Header => {
                input.remove(&member.name);
                if let Some((_, value)) =
                    headers.iter().find(|(name, _)| name.eq_ignore_ascii_case(&member.location_name))
                {
                    input.insert(member.name.clone(), typed_scalar(model, &member.target, value));
                }
            }
        }
    }
    Ok(Value::Object(input))
}

fn typed_scalar(model: &ServiceModel, shape: &str, text: &str) -> Value {
    match model.shape(shape).map(|s| &s.kind) {
        Some(ShapeKind::Integer { .. } | ShapeKind::Long { .. }) => {
            text.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(text.to_string()))
        }
        Some(ShapeKind::Boolean) => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        _ => Value::String(text.to_string()),
    }
}

/// The response body for an operation's output: the payload member alone when the output binds
/// one (as every App Mesh create, describe and delete does), else the object of body members.
pub fn encode_output(model: &ServiceModel, op: &Operation, output: &Value) -> Vec<u8> {
    let payload = op.output.as_deref().and_then(|name| model.structure(name)).and_then(|s| s.payload.as_deref());
    let body = match payload {
        Some(member) => output.get(member).cloned().unwrap_or(Value::Null),
        None => output.clone(),
    };
    serde_json::to_vec(&body).expect("a JSON value serializes")
}

/// The shape a successful response body has: the payload member's target, or the output itself.
pub fn response_body_shape(model: &ServiceModel, op: &Operation) -> Option<String> {
    let output = op.output.as_deref()?;
    let structure = model.structure(output)?;
    Some(match &structure.payload {
        Some(member) => structure.member(member)?.target.clone(),
        None => output.to_string(),
    })
}

/// Reads the error code of an error response as the AWS SDKs do: the `x-amzn-ErrorType` header
/// first, else the body's `code`, else its `__type`. The code is sanitized: keep what is before the
/// first `:`, then what is after the first `#`.
pub fn error_code(headers: &[(String, String)], body: &[u8]) -> Option<String> {
    let from_header =
        headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("x-amzn-errortype")).map(|(_, v)| v.clone());
    let raw = from_header.or_else(|| {
        let parsed: Value = serde_json::from_slice(body).ok()?;
        ["code", "__type"].iter().find_map(|key| parsed.get(*key).and_then(Value::as_str).map(str::to_string))
    })?;
    let sanitized = sanitize_error_code(&raw);
    (!sanitized.is_empty()).then_some(sanitized)
}

/// `aws.protocoltests#FooError:http://internal` becomes `FooError`.
pub fn sanitize_error_code(raw: &str) -> String {
    let before_colon = raw.split(':').next().unwrap_or_default();
    let after_hash = before_colon.split_once('#').map(|(_, rest)| rest).unwrap_or(before_colon);
    after_hash.trim().to_string()
}

/// The error message, from the body's `message` or `Message`.
pub fn error_message(body: &[u8]) -> Option<String> {
    let parsed: Value = serde_json::from_slice(body).ok()?;
    ["message", "Message"].iter().find_map(|key| parsed.get(*key).and_then(Value::as_str).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> ServiceModel {
        ServiceModel::embedded()
    }

    #[test]
    fn create_virtual_node_binds_labels_query_and_body() {
        let input = json!({
            "meshName": "my mesh/1", "meshOwner": "123456789012", "virtualNodeName": "vn",
            "spec": {}, "clientToken": "t"
        });
        let request = build_request(&model(), "CreateVirtualNode", &input).unwrap();
        assert_eq!(request.method, "PUT");
        assert_eq!(request.path_and_query, "/v20190125/meshes/my%20mesh%2F1/virtualNodes?meshOwner=123456789012");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body, json!({"virtualNodeName": "vn", "spec": {}, "clientToken": "t"}));
        assert!(request.headers.contains(&("content-type".into(), "application/json".into())));
    }

    #[test]
    fn a_get_has_no_body_and_typed_query_members() {
        let input = json!({"meshName": "m", "limit": 5, "nextToken": "a b+c"});
        let request = build_request(&model(), "ListVirtualNodes", &input).unwrap();
        assert_eq!(request.method, "GET");
        assert!(request.body.is_empty());
        assert_eq!(request.path_and_query, "/v20190125/meshes/m/virtualNodes?limit=5&nextToken=a%20b%2Bc");
    }

    #[test]
    fn a_missing_label_is_an_error_not_a_malformed_path() {
        let err = build_request(&model(), "DescribeVirtualNode", &json!({"meshName": "m"})).unwrap_err();
        assert_eq!(
            err,
            WireError::MissingLabel { operation: "DescribeVirtualNode".into(), label: "virtualNodeName".into() }
        );
        let err = build_request(&model(), "DescribeMesh", &json!({"meshName": ""})).unwrap_err();
        assert_eq!(err, WireError::EmptyLabel { operation: "DescribeMesh".into(), label: "meshName".into() });
        let err = build_request(&model(), "DescribeMesh", &json!({"meshName": ".."})).unwrap_err();
        assert!(matches!(err, WireError::DotSegmentLabel { .. }), "{err}");
    }

    /// What the client builds, the server side routes and decodes back to the same input.
    #[test]
    fn build_route_and_decode_round_trip() {
        let model = model();
        let input = json!({
            "meshName": "mesh é/x", "meshOwner": "123456789012", "virtualNodeName": "vn",
            "spec": {"listeners": []}, "tags": [{"key": "k", "value": "v"}]
        });
        let request = build_request(&model, "CreateVirtualNode", &input).unwrap();
        let (path, query) = request.path_and_query.split_once('?').unwrap();
        let (op, labels) = route(&model, &request.method, path).unwrap();
        assert_eq!(op.name, "CreateVirtualNode");
        let decoded = decode_input(&model, op, &labels, &parse_query(query), &[], &request.body).unwrap();
        assert_eq!(decoded, input);
    }

    #[test]
    fn routing_picks_the_operation_by_method_and_path() {
        let model = model();
        let name = |method: &str, path: &str| route(&model, method, path).map(|(op, _)| op.name.clone());
        assert_eq!(name("PUT", "/v20190125/meshes").as_deref(), Some("CreateMesh"));
        assert_eq!(name("GET", "/v20190125/meshes/m").as_deref(), Some("DescribeMesh"));
        assert_eq!(name("GET", "/v20190125/meshes/m/virtualNodes").as_deref(), Some("ListVirtualNodes"));
        assert_eq!(name("DELETE", "/v20190125/meshes/m/virtualNodes/n").as_deref(), Some("DeleteVirtualNode"));
        assert_eq!(name("POST", "/v20190125/meshes/m/virtualNodes"), None);
        assert_eq!(name("GET", "/v20190125/meshes//virtualNodes"), None);
        assert_eq!(name("GET", "/v20190125/meshes/m/virtualNodes/n/extra"), None);
    }

    #[test]
    fn decoding_types_query_values_and_reports_bad_bodies() {
        let model = model();
        let list = model.operation("ListVirtualNodes").unwrap();
        let labels = vec![("meshName".to_string(), "m".to_string())];
        let decoded = decode_input(&model, list, &labels, &parse_query("limit=7&limit=abc"), &[], b"").unwrap();
        assert_eq!(decoded, json!({"meshName": "m", "limit": "abc"}));
        let create = model.operation("CreateVirtualNode").unwrap();
        let err = decode_input(&model, create, &labels, &[], &[], b"{\"spec\":").unwrap_err();
        assert!(matches!(err, DecodeError::MalformedJson(_)));
        let err = decode_input(&model, create, &labels, &[], &[], b"[1]").unwrap_err();
        assert_eq!(err, DecodeError::NotAnObject("array of 1 items".into()));
        // A body member cannot override a URI label.
        let decoded = decode_input(&model, create, &labels, &[], &[], br#"{"meshName":"other"}"#).unwrap();
        assert_eq!(decoded["meshName"], "m");
        assert_eq!(decode_input(&model, create, &labels, &[], &[], b"  ").unwrap(), json!({"meshName": "m"}));
    }

    #[test]
    fn outputs_with_a_payload_send_the_payload_alone() {
        let model = model();
        let describe = model.operation("DescribeVirtualNode").unwrap();
        let body = encode_output(&model, describe, &json!({"virtualNode": {"meshName": "m"}}));
        assert_eq!(body, br#"{"meshName":"m"}"#);
        assert_eq!(response_body_shape(&model, describe).as_deref(), Some("VirtualNodeData"));
        let list = model.operation("ListVirtualNodes").unwrap();
        assert_eq!(response_body_shape(&model, list).as_deref(), Some("ListVirtualNodesOutput"));
    }

    /// The forms of error code the AWS SDKs accept, and the precedence between them.
    #[test]
    fn error_code_forms() {
        let header = |v: &str| vec![("X-Amzn-Errortype".to_string(), v.to_string())];
        let table: &[(Labels, &[u8], Option<&str>)] = &[
            (header("ConflictException"), b"{}", Some("ConflictException")),
            (header("ConflictException:http://internal.amazon.com/"), b"", Some("ConflictException")),
            (header("aws.appmesh#NotFoundException:extra"), b"", Some("NotFoundException")),
            (header("NotFoundException"), br#"{"code":"BadRequestException"}"#, Some("NotFoundException")),
            (vec![], br#"{"code":"BadRequestException"}"#, Some("BadRequestException")),
            (vec![], br#"{"__type":"com.amazonaws.appmesh#LimitExceededException"}"#, Some("LimitExceededException")),
            (vec![], br#"{"code":"A","__type":"B"}"#, Some("A")),
            (vec![], br#"{"message":"no code"}"#, None),
            (vec![], b"<html>oops</html>", None),
            (header(""), b"", None),
        ];
        for (headers, body, expected) in table {
            assert_eq!(
                error_code(headers, body).as_deref(),
                *expected,
                "headers {headers:?} body {:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(error_message(br#"{"Message":"m"}"#).as_deref(), Some("m"));
    }

    #[test]
    fn percent_encoded_bytes_that_are_not_utf8_are_refused() {
        assert_eq!(check_utf8("/v20190125/meshes/m%C3%A9sh/virtualNodes", "meshOwner=1&x=%E2%9C%93"), Ok(()));
        let error = check_utf8("/v20190125/meshes/%FF%FE", "").unwrap_err();
        assert_eq!(error, DecodeError::NotUtf8("the path segment \"%FF%FE\"".to_string()));
        assert!(error.to_string().contains("not UTF-8"));
        assert!(check_utf8("/v20190125/meshes", "nextToken=%C3").is_err());
    }
}
