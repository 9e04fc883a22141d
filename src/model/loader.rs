//! Parses the AWS SDK service model JSON format into the typed shape graph.
//!
//! Unknown keys (documentation, deprecation marks, endpoint rules) are ignored so that newer SDK
//! models load; an unknown shape *type* or a dangling shape reference is an error, because the
//! validator could not honour it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{
    Bounds, ErrorTrait, HttpBinding, Location, Member, Metadata, Operation, Pattern, ServiceModel, Shape, ShapeKind,
    Structure,
};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the model has no `{0}` object at the top level; is this an AWS SDK service model?")]
    MissingSection(&'static str),
    #[error("shape `{shape}`: {problem}")]
    BadShape { shape: String, problem: String },
    #[error("operation `{operation}`: {problem}")]
    BadOperation { operation: String, problem: String },
    #[error("`{from}` refers to shape `{to}`, which the model does not define")]
    DanglingReference { from: String, to: String },
    #[error("the model has no `{0}` operation, which the harness needs")]
    MissingOperation(String),
    #[error("the model's `{key}` section: {0}", key = super::provenance::KEY)]
    Provenance(#[from] super::provenance::ProvenanceError),
}

pub(super) fn load(text: &str) -> Result<ServiceModel, ModelError> {
    let root: Value = serde_json::from_str(text)?;
    let metadata = root.get("metadata").and_then(Value::as_object).ok_or(ModelError::MissingSection("metadata"))?;
    let raw_operations =
        root.get("operations").and_then(Value::as_object).ok_or(ModelError::MissingSection("operations"))?;
    let raw_shapes = root.get("shapes").and_then(Value::as_object).ok_or(ModelError::MissingSection("shapes"))?;

    let mut shapes = BTreeMap::new();
    for (name, raw) in raw_shapes {
        let kind = shape_kind(name, raw)?;
        shapes.insert(name.clone(), Shape { name: name.clone(), kind });
    }
    let mut operations = BTreeMap::new();
    for (name, raw) in raw_operations {
        operations.insert(name.clone(), operation(name, raw)?);
    }
    let provenance = super::provenance::parse(&root)?;
    for group in &provenance.exclusive {
        let bad = |problem: String| bad_shape(&group.shape, format!("in the exclusive table: {problem}"));
        let Some(Shape { kind: ShapeKind::Structure(structure), .. }) = shapes.get_mut(&group.shape) else {
            return Err(bad("is not a structure of the model".to_string()));
        };
        if let Some(missing) = group.members.iter().find(|m| structure.member(m).is_none()) {
            return Err(bad(format!("`{missing}` is not a member")));
        }
        structure.exclusive = group.members.clone();
    }
    let model =
        ServiceModel { metadata: metadata_of(metadata), operations, shapes, provenance, kinds: Default::default() };
    check_references(&model)?;
    for dispute in &model.provenance.disputes {
        for probe in &dispute.probes {
            if !model.operations.contains_key(&probe.operation) {
                return Err(ModelError::Provenance(super::provenance::ProvenanceError::UnknownOperation {
                    dispute: dispute.id.clone(),
                    operation: probe.operation.clone(),
                }));
            }
        }
    }
    Ok(model)
}

fn text(map: &Map<String, Value>, key: &str) -> String {
    map.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn metadata_of(raw: &Map<String, Value>) -> Metadata {
    let signing_name = text(raw, "signingName");
    let endpoint_prefix = text(raw, "endpointPrefix");
    Metadata {
        api_version: text(raw, "apiVersion"),
        protocol: text(raw, "protocol"),
        service_id: text(raw, "serviceId"),
        signing_name: if signing_name.is_empty() { endpoint_prefix.clone() } else { signing_name },
        endpoint_prefix,
    }
}

fn bad_shape(shape: &str, problem: impl Into<String>) -> ModelError {
    ModelError::BadShape { shape: shape.to_string(), problem: problem.into() }
}

fn target_of(shape: &str, raw: Option<&Value>, what: &str) -> Result<String, ModelError> {
    raw.and_then(|v| v.get("shape"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad_shape(shape, format!("`{what}` has no `shape` reference")))
}

fn bounds(shape: &str, raw: &Map<String, Value>) -> Result<Bounds, ModelError> {
    let read = |key: &str| -> Result<Option<f64>, ModelError> {
        match raw.get(key) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or_else(|| bad_shape(shape, format!("`{key}` is not a number"))),
        }
    };
    Ok(Bounds { min: read("min")?, max: read("max")? })
}

fn shape_kind(name: &str, raw: &Value) -> Result<ShapeKind, ModelError> {
    let raw = raw.as_object().ok_or_else(|| bad_shape(name, "is not a JSON object"))?;
    let kind = raw.get("type").and_then(Value::as_str).ok_or_else(|| bad_shape(name, "has no `type`"))?;
    let range = bounds(name, raw)?;
    Ok(match kind {
        "structure" => ShapeKind::Structure(structure(name, raw)?),
        "list" => ShapeKind::List { member: target_of(name, raw.get("member"), "member")?, size: range },
        "map" => ShapeKind::Map {
            key: target_of(name, raw.get("key"), "key")?,
            value: target_of(name, raw.get("value"), "value")?,
            size: range,
        },
        "string" => ShapeKind::String {
            length: range,
            pattern: raw.get("pattern").and_then(Value::as_str).map(|source| {
                regex::Regex::new(source)
                    .map(Pattern::Enforced)
                    .unwrap_or_else(|_| Pattern::Unsupported(source.to_string()))
            }),
            enum_values: match raw.get("enum") {
                None => None,
                Some(Value::Array(values)) => Some(
                    values
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| bad_shape(name, "an `enum` value is not a string"))
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(_) => return Err(bad_shape(name, "`enum` is not an array")),
            },
        },
        "integer" => ShapeKind::Integer { range },
        "long" => ShapeKind::Long { range },
        "float" | "double" | "bigdecimal" => ShapeKind::Float { range },
        "boolean" => ShapeKind::Boolean,
        "timestamp" => ShapeKind::Timestamp,
        "blob" => ShapeKind::Blob,
        other => return Err(bad_shape(name, format!("has type `{other}`, which the harness does not know"))),
    })
}

fn structure(name: &str, raw: &Map<String, Value>) -> Result<Structure, ModelError> {
    let mut members = Vec::new();
    if let Some(raw_members) = raw.get("members") {
        let raw_members = raw_members.as_object().ok_or_else(|| bad_shape(name, "`members` is not an object"))?;
        for (member_name, raw_member) in raw_members {
            let target = target_of(name, Some(raw_member), member_name)?;
            let location = match raw_member.get("location").and_then(Value::as_str) {
                None => Location::Body,
                Some("uri") => Location::Uri,
                Some("querystring") => Location::Query,
                Some("header") => Location::Header,
                Some(other) => {
                    return Err(bad_shape(name, format!("member `{member_name}` has unknown location `{other}`")));
                }
            };
            let location_name = raw_member
                .get("locationName")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| member_name.clone());
            members.push(Member {
                name: member_name.clone(),
                target,
                location,
                location_name,
                idempotency_token: raw_member.get("idempotencyToken").and_then(Value::as_bool).unwrap_or(false),
            });
        }
    }
    let required: BTreeSet<String> = raw
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    for member in &required {
        if !members.iter().any(|m| &m.name == member) {
            return Err(bad_shape(name, format!("requires `{member}`, which is not a member")));
        }
    }
    let error = raw.get("error").map(|e| ErrorTrait {
        http_status: e.get("httpStatusCode").and_then(Value::as_u64).unwrap_or(400) as u16,
        sender_fault: e.get("senderFault").and_then(Value::as_bool).unwrap_or(false),
        throttling: raw.get("retryable").and_then(|r| r.get("throttling")).and_then(Value::as_bool).unwrap_or(false),
    });
    let payload = raw.get("payload").and_then(Value::as_str).map(str::to_string);
    if let Some(payload) = &payload
        && !members.iter().any(|m| &m.name == payload)
    {
        return Err(bad_shape(name, format!("payload `{payload}` is not a member")));
    }
    Ok(Structure {
        members,
        required,
        union: raw.get("union").and_then(Value::as_bool).unwrap_or(false),
        exclusive: Vec::new(),
        payload,
        error,
    })
}

fn operation(name: &str, raw: &Value) -> Result<Operation, ModelError> {
    let bad = |problem: &str| ModelError::BadOperation { operation: name.to_string(), problem: problem.to_string() };
    let http = raw.get("http").and_then(Value::as_object).ok_or_else(|| bad("has no `http` binding"))?;
    let method = http.get("method").and_then(Value::as_str).ok_or_else(|| bad("has no `http.method`"))?;
    let request_uri = http.get("requestUri").and_then(Value::as_str).ok_or_else(|| bad("has no `http.requestUri`"))?;
    let shape_ref = |key: &str| raw.get(key).and_then(|v| v.get("shape")).and_then(Value::as_str).map(str::to_string);
    Ok(Operation {
        name: name.to_string(),
        http: HttpBinding {
            method: method.to_ascii_uppercase(),
            request_uri: request_uri.to_string(),
            response_code: http.get("responseCode").and_then(Value::as_u64).unwrap_or(200) as u16,
        },
        input: shape_ref("input"),
        output: shape_ref("output"),
        errors: raw
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors.iter().filter_map(|e| e.get("shape").and_then(Value::as_str)).map(str::to_string).collect()
            })
            .unwrap_or_default(),
        idempotent: raw.get("idempotent").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn check_references(model: &ServiceModel) -> Result<(), ModelError> {
    let exists = |from: &str, to: &str| {
        if model.shapes.contains_key(to) {
            Ok(())
        } else {
            Err(ModelError::DanglingReference { from: from.to_string(), to: to.to_string() })
        }
    };
    for shape in model.shapes.values() {
        match &shape.kind {
            ShapeKind::Structure(structure) => {
                for member in &structure.members {
                    exists(&format!("{}.{}", shape.name, member.name), &member.target)?;
                }
            }
            ShapeKind::List { member, .. } => exists(&shape.name, member)?,
            ShapeKind::Map { key, value, .. } => {
                exists(&shape.name, key)?;
                exists(&shape.name, value)?;
            }
            _ => {}
        }
    }
    for op in model.operations.values() {
        for shape in op.input.iter().chain(op.output.iter()).chain(op.errors.iter()) {
            exists(&op.name, shape)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small model in the AWS SDK format, written for this test: a map, a double, a header
    /// member, documentation strings and an endpoint rule set the harness must ignore.
    const SDK_FIXTURE: &str = include_str!("../../tests/data/sdk-format-fixture.json");

    #[test]
    fn loads_an_sdk_format_model_with_extra_keys_and_types() {
        let model = ServiceModel::from_json(SDK_FIXTURE).unwrap();
        assert_eq!(model.metadata.signing_name, "appmesh");
        let input = model.structure("DescribeThingInput").unwrap();
        let header = input.member("traceId").unwrap();
        assert_eq!(header.location, Location::Header);
        assert_eq!(header.location_name, "X-Trace-Id");
        assert!(matches!(model.shape("Labels").unwrap().kind, ShapeKind::Map { .. }));
        assert!(matches!(model.shape("Ratio").unwrap().kind, ShapeKind::Float { .. }));
        model.check_required_operations().unwrap();
    }

    #[test]
    fn a_lookahead_pattern_is_kept_but_not_enforced() {
        let model = ServiceModel::from_json(SDK_FIXTURE).unwrap();
        match &model.shape("LookaheadName").unwrap().kind {
            ShapeKind::String { pattern: Some(Pattern::Unsupported(source)), .. } => assert!(source.contains("(?!")),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn load_err(text: &str) -> String {
        ServiceModel::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn broken_models_give_errors_that_name_the_problem() {
        assert!(load_err("{").contains("not valid JSON"));
        assert!(load_err(r#"{"operations":{},"shapes":{}}"#).contains("`metadata`"));
        let dangling = r#"{"metadata":{},"operations":{},"shapes":{"A":{"type":"list","member":{"shape":"B"}}}}"#;
        assert_eq!(load_err(dangling), "`A` refers to shape `B`, which the model does not define");
        let bad_type = r#"{"metadata":{},"operations":{},"shapes":{"A":{"type":"quaternion"}}}"#;
        assert!(load_err(bad_type).contains("type `quaternion`"));
        let bad_required =
            r#"{"metadata":{},"operations":{},"shapes":{"A":{"type":"structure","members":{},"required":["x"]}}}"#;
        assert!(load_err(bad_required).contains("requires `x`"));
        let no_http = r#"{"metadata":{},"operations":{"Op":{}},"shapes":{}}"#;
        assert!(load_err(no_http).contains("operation `Op`: has no `http` binding"));
    }

    #[test]
    fn a_model_without_the_support_operations_is_refused() {
        let model = ServiceModel::from_json(r#"{"metadata":{},"operations":{},"shapes":{}}"#).unwrap();
        assert_eq!(
            model.check_required_operations().unwrap_err().to_string(),
            "the model has no `CreateMesh` operation, which the harness needs"
        );
    }
}
