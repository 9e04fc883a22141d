//! Validates JSON values against shapes of the contract model.
//!
//! One validator serves both sides: the emulator validates requests with it and the harness
//! validates responses with it. A `null` member counts as absent (real App Mesh sends `null` for
//! unset optional members) and an unknown member is reported as information, not as a violation,
//! so that a newer service stays conformant. The module does no I/O.

use std::fmt;

use serde_json::{Map, Value};

use crate::model::{Bounds, Pattern, ServiceModel, ShapeKind, join_path};

/// The rule a value broke, named as in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A required member is absent or `null`.
    Required,
    /// The JSON type is not the one the shape describes.
    Type,
    /// A number below the shape's `min`.
    Min,
    /// A number above the shape's `max`.
    Max,
    /// A string length or list size outside the shape's `min`/`max`.
    Length,
    Enum,
    Pattern,
    /// A union with zero members or more than one member set.
    Union,
    /// A member the model does not know. Information only: see [`Rule::is_violation`].
    UnknownMember,
}

impl Rule {
    pub const ALL: &'static [Rule] = &[
        Rule::Required,
        Rule::Type,
        Rule::Min,
        Rule::Max,
        Rule::Length,
        Rule::Enum,
        Rule::Pattern,
        Rule::Union,
        Rule::UnknownMember,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::Type => "type",
            Rule::Min => "min",
            Rule::Max => "max",
            Rule::Length => "length",
            Rule::Enum => "enum",
            Rule::Pattern => "pattern",
            Rule::Union => "union",
            Rule::UnknownMember => "unknown-member",
        }
    }

    /// Whether breaking this rule makes a value non-conformant. Unknown members do not.
    pub fn is_violation(self) -> bool {
        self != Rule::UnknownMember
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: where, which rule, what the model expects and what was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The member path, for example `spec.listeners[0].portMapping.port`; empty for the root.
    pub path: String,
    pub rule: Rule,
    pub expected: String,
    pub found: String,
    /// A suggestion, for example the enum value that differs only in case.
    pub hint: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "(root)" } else { &self.path };
        write!(f, "{path}: {} rule: expected {}, found {}", self.rule, self.expected, self.found)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Validates `value` against the shape named `shape`. Returns every finding, violations and
/// information alike, in document order; filter with [`Rule::is_violation`] or use [`violations`].
pub fn validate(model: &ServiceModel, shape: &str, value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    Validator { model, out: &mut out }.value(shape, "", value);
    out
}

/// Only the findings that make the value non-conformant.
pub fn violations(model: &ServiceModel, shape: &str, value: &Value) -> Vec<Violation> {
    validate(model, shape, value).into_iter().filter(|v| v.rule.is_violation()).collect()
}

/// A short description of a JSON value for messages: its type, and the value when short.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("string {s:?}"),
        Value::String(s) => format!("string of length {}", s.chars().count()),
        Value::Array(items) => format!("array of {} items", items.len()),
        Value::Object(_) => "object".into(),
    }
}

struct Validator<'a> {
    model: &'a ServiceModel,
    out: &'a mut Vec<Violation>,
}

impl Validator<'_> {
    fn push(&mut self, path: &str, rule: Rule, expected: impl Into<String>, found: impl Into<String>) {
        self.out.push(Violation {
            path: path.to_string(),
            rule,
            expected: expected.into(),
            found: found.into(),
            hint: None,
        });
    }

    fn value(&mut self, shape_name: &str, path: &str, value: &Value) {
        let Some(shape) = self.model.shape(shape_name) else {
            // The loader guarantees references resolve; a caller naming a missing shape is a bug.
            self.push(path, Rule::Type, format!("a value of shape {shape_name}"), "a shape the model does not define");
            return;
        };
        match &shape.kind {
            ShapeKind::Structure(structure) => {
                let Some(object) = value.as_object() else {
                    return self.push(path, Rule::Type, "object", describe(value));
                };
                self.structure(shape_name, structure, path, object);
            }
            ShapeKind::List { member, size } => {
                let Some(items) = value.as_array() else {
                    return self.push(path, Rule::Type, "array", describe(value));
                };
                self.bounds(path, Rule::Length, *size, items.len() as f64, || format!("{} items", items.len()));
                for (index, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{index}]");
                    if item.is_null() {
                        self.push(&item_path, Rule::Type, "a list item", "null");
                    } else {
                        self.value(member, &item_path, item);
                    }
                }
            }
            ShapeKind::Map { key, value: value_shape, size } => {
                let Some(object) = value.as_object() else {
                    return self.push(path, Rule::Type, "object (map)", describe(value));
                };
                self.bounds(path, Rule::Length, *size, object.len() as f64, || format!("{} entries", object.len()));
                for (map_key, map_value) in object {
                    let entry_path = format!("{path}.{map_key}");
                    self.value(key, &entry_path, &Value::String(map_key.clone()));
                    self.value(value_shape, &entry_path, map_value);
                }
            }
            ShapeKind::String { length, pattern, enum_values } => {
                let Some(text) = value.as_str() else {
                    return self.push(path, Rule::Type, "string", describe(value));
                };
                let count = text.chars().count();
                self.bounds(path, Rule::Length, *length, count as f64, || format!("length {count}"));
                if let Some(values) = enum_values
                    && !values.iter().any(|v| v == text)
                {
                    let hint = values
                        .iter()
                        .find(|v| v.eq_ignore_ascii_case(text))
                        .map(|v| format!("did you mean {v:?}? enum values are case-sensitive"));
                    self.out.push(Violation {
                        path: path.to_string(),
                        rule: Rule::Enum,
                        expected: format!("one of {}", values.join("|")),
                        found: format!("{text:?}"),
                        hint,
                    });
                }
                if let Some(Pattern::Enforced(regex)) = pattern
                    && !regex.is_match(text)
                {
                    self.push(path, Rule::Pattern, format!("a match for {}", regex.as_str()), describe(value));
                }
            }
            ShapeKind::Integer { range } => self.integer(path, value, *range, i32::MIN as i64, i32::MAX as i64),
            ShapeKind::Long { range } => self.integer(path, value, *range, i64::MIN, i64::MAX),
            ShapeKind::Float { range } => match value.as_f64() {
                Some(number) => self.bounds_number(path, *range, number),
                None => self.push(path, Rule::Type, "number", describe(value)),
            },
            ShapeKind::Boolean => {
                if !value.is_boolean() {
                    self.push(path, Rule::Type, "boolean", describe(value));
                }
            }
            ShapeKind::Timestamp => {
                if !value.is_number() {
                    self.push(path, Rule::Type, "timestamp as epoch seconds (a JSON number)", describe(value));
                }
            }
            ShapeKind::Blob => {
                if !value.is_string() {
                    self.push(path, Rule::Type, "base64 string", describe(value));
                }
            }
        }
    }

    fn structure(
        &mut self,
        shape_name: &str,
        structure: &crate::model::Structure,
        path: &str,
        object: &Map<String, Value>,
    ) {
        for required in &structure.required {
            if object.get(required).is_none_or(Value::is_null) {
                let target = structure.member(required).map(|m| m.target.as_str()).unwrap_or("?");
                self.push(&join_path(path, required), Rule::Required, format!("a value of shape {target}"), "absent");
            }
        }
        let mut set_members = Vec::new();
        for (name, member_value) in object {
            let member_path = join_path(path, name);
            let Some(member) = structure.member(name) else {
                self.push(
                    &member_path,
                    Rule::UnknownMember,
                    format!("a member of {shape_name}"),
                    describe(member_value),
                );
                continue;
            };
            if member_value.is_null() {
                continue;
            }
            set_members.push(name.as_str());
            self.value(&member.target, &member_path, member_value);
        }
        if structure.union && set_members.len() != 1 {
            let names: Vec<&str> = structure.members.iter().map(|m| m.name.as_str()).collect();
            let found = if set_members.is_empty() {
                "no member set".to_string()
            } else {
                format!("{} members set ({})", set_members.len(), set_members.join(", "))
            };
            self.push(path, Rule::Union, format!("exactly one of {}", names.join("|")), found);
        }
        let exclusive: Vec<&str> =
            set_members.iter().copied().filter(|m| structure.exclusive.iter().any(|e| e == m)).collect();
        if exclusive.len() > 1 {
            let found = format!("{} members set ({})", exclusive.len(), exclusive.join(", "));
            self.push(path, Rule::Union, format!("at most one of {}", structure.exclusive.join("|")), found);
        }
    }

    fn integer(&mut self, path: &str, value: &Value, range: Bounds, type_min: i64, type_max: i64) {
        let number = match value {
            Value::Number(n) => n,
            other => return self.push(path, Rule::Type, "integer", describe(other)),
        };
        let Some(integer) = number.as_i64() else {
            let expected = if number.is_u64() { "an integer in the 64-bit range" } else { "integer" };
            return self.push(path, Rule::Type, expected, describe(value));
        };
        if integer < type_min || integer > type_max {
            return self.push(path, Rule::Type, "a 32-bit integer", describe(value));
        }
        self.bounds_number(path, range, integer as f64);
    }

    fn bounds_number(&mut self, path: &str, range: Bounds, number: f64) {
        if let Some(min) = range.min
            && number < min
        {
            self.push(path, Rule::Min, format!(">= {min}"), number.to_string());
        }
        if let Some(max) = range.max
            && number > max
        {
            self.push(path, Rule::Max, format!("<= {max}"), number.to_string());
        }
    }

    fn bounds(&mut self, path: &str, rule: Rule, bounds: Bounds, measured: f64, found: impl Fn() -> String) {
        let below = bounds.min.is_some_and(|min| measured < min);
        let above = bounds.max.is_some_and(|max| measured > max);
        if below || above {
            self.push(path, rule, format!("length {bounds}"), found());
        }
    }
}

/// Keeps only what the model knows: drops `null` members and members the shape does not define,
/// recursively. This is the form in which an echoed spec is compared with the sent one, and the
/// form in which the emulator stores a spec.
pub fn normalize(model: &ServiceModel, shape_name: &str, value: &Value) -> Value {
    let Some(shape) = model.shape(shape_name) else { return value.clone() };
    match (&shape.kind, value) {
        (ShapeKind::Structure(structure), Value::Object(object)) => Value::Object(
            object
                .iter()
                .filter(|(_, v)| !v.is_null())
                .filter_map(|(name, v)| structure.member(name).map(|m| (name.clone(), normalize(model, &m.target, v))))
                .collect(),
        ),
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            Value::Array(items.iter().map(|item| normalize(model, member, item)).collect())
        }
        (ShapeKind::Map { value: value_shape, .. }, Value::Object(object)) => Value::Object(
            object
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(model, value_shape, v)))
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The summary of a resource a list operation returns (a `VirtualNodeRef`, a `MeshRef`), built
/// from the resource's data by the model: each member of `ref_shape` is taken from `data`, or
/// else from `data.metadata`. Members found in neither are left out.
pub fn summary_of(model: &ServiceModel, ref_shape: &str, data: &Value) -> Value {
    let Some(structure) = model.structure(ref_shape) else { return Value::Null };
    Value::Object(
        structure
            .members
            .iter()
            .filter_map(|m| {
                let value = data.get(&m.name).or_else(|| data.get("metadata").and_then(|md| md.get(&m.name)))?;
                (!value.is_null()).then(|| (m.name.clone(), value.clone()))
            })
            .collect(),
    )
}

/// The comparison form of two answers about the same resource: `null` members and empty lists
/// are dropped everywhere (App Mesh leaves an unset list out of a create's answer and shows it as
/// `[]` in later reads, and sends `null` for unset members), unknown members are kept.
pub fn comparable(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(_, v)| !v.is_null() && !v.as_array().is_some_and(Vec::is_empty))
                .map(|(k, v)| (k.clone(), comparable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model() -> ServiceModel {
        ServiceModel::embedded()
    }

    /// A minimal valid CreateVirtualNode input with one listener and DNS discovery.
    fn valid_input() -> Value {
        json!({
            "meshName": "m",
            "virtualNodeName": "n",
            "spec": {
                "listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}],
                "serviceDiscovery": {"dns": {"hostname": "a.local"}}
            }
        })
    }

    /// One helper for the whole feature: apply `mutate` to a valid input, expect exactly the
    /// listed `(path, rule)` violations.
    fn check(mutate: impl FnOnce(&mut Value), expected: &[(&str, Rule)]) {
        let mut input = valid_input();
        mutate(&mut input);
        let found: Vec<(String, Rule)> =
            violations(&model(), "CreateVirtualNodeInput", &input).into_iter().map(|v| (v.path, v.rule)).collect();
        let expected: Vec<(String, Rule)> = expected.iter().map(|(p, r)| (p.to_string(), *r)).collect();
        assert_eq!(found, expected, "input: {input}");
    }

    #[test]
    fn a_valid_input_has_no_violations() {
        check(|_| {}, &[]);
    }

    #[test]
    fn required_members_at_every_level() {
        check(|v| drop_member(v, "spec"), &[("spec", Rule::Required)]);
        check(|v| v["spec"]["listeners"][0] = json!({}), &[("spec.listeners[0].portMapping", Rule::Required)]);
        check(
            |v| v["spec"]["listeners"][0]["portMapping"] = json!({"port": null}),
            &[
                ("spec.listeners[0].portMapping.port", Rule::Required),
                ("spec.listeners[0].portMapping.protocol", Rule::Required),
            ],
        );
        check(
            |v| v["spec"]["serviceDiscovery"]["dns"] = json!({}),
            &[("spec.serviceDiscovery.dns.hostname", Rule::Required)],
        );
    }

    fn drop_member(value: &mut Value, name: &str) {
        value.as_object_mut().unwrap().remove(name);
    }

    #[test]
    fn bounds_on_numbers_strings_and_lists() {
        check(
            |v| v["spec"]["listeners"][0]["portMapping"]["port"] = json!(0),
            &[("spec.listeners[0].portMapping.port", Rule::Min)],
        );
        check(|v| v["spec"]["listeners"][0]["portMapping"]["port"] = json!(65535), &[]);
        check(
            |v| v["spec"]["listeners"][0]["portMapping"]["port"] = json!(65536),
            &[("spec.listeners[0].portMapping.port", Rule::Max)],
        );
        check(|v| v["virtualNodeName"] = json!("x".repeat(255)), &[]);
        check(|v| v["virtualNodeName"] = json!("x".repeat(256)), &[("virtualNodeName", Rule::Length)]);
        check(|v| v["virtualNodeName"] = json!(""), &[("virtualNodeName", Rule::Length)]);
        check(|v| v["meshOwner"] = json!("12345678901"), &[("meshOwner", Rule::Length)]);
        let tags = |n: usize| json!((0..n).map(|i| json!({"key": format!("k{i}"), "value": ""})).collect::<Vec<_>>());
        check(|v| v["tags"] = tags(50), &[]);
        check(|v| v["tags"] = tags(51), &[("tags", Rule::Length)]);
        // Length counts characters, not bytes.
        check(|v| v["virtualNodeName"] = json!("é".repeat(255)), &[]);
    }

    #[test]
    fn health_check_bounds() {
        let health = |healthy: i64, interval: i64, timeout: i64| {
            move |v: &mut Value| {
                v["spec"]["listeners"][0]["healthCheck"] = json!({
                    "healthyThreshold": healthy, "unhealthyThreshold": 10, "intervalMillis": interval,
                    "timeoutMillis": timeout, "protocol": "http"
                })
            }
        };
        check(health(2, 5000, 2000), &[]);
        check(health(10, 300000, 60000), &[]);
        let base = "spec.listeners[0].healthCheck";
        check(health(1, 5000, 2000), &[(&format!("{base}.healthyThreshold"), Rule::Min)]);
        check(health(2, 300001, 2000), &[(&format!("{base}.intervalMillis"), Rule::Max)]);
        check(health(2, 5000, 1999), &[(&format!("{base}.timeoutMillis"), Rule::Min)]);
    }

    #[test]
    fn types_enums_and_unions() {
        check(
            |v| v["spec"]["listeners"][0]["portMapping"]["port"] = json!("9080"),
            &[("spec.listeners[0].portMapping.port", Rule::Type)],
        );
        check(
            |v| v["spec"]["listeners"][0]["portMapping"]["port"] = json!(9080.5),
            &[("spec.listeners[0].portMapping.port", Rule::Type)],
        );
        check(|v| v["spec"]["listeners"] = json!({}), &[("spec.listeners", Rule::Type)]);
        check(|v| v["spec"] = json!([]), &[("spec", Rule::Type)]);
        check(
            |v| v["spec"]["listeners"][0]["portMapping"]["protocol"] = json!("HTTP"),
            &[("spec.listeners[0].portMapping.protocol", Rule::Enum)],
        );
        check(|v| v["spec"]["serviceDiscovery"] = json!({}), &[("spec.serviceDiscovery", Rule::Union)]);
        check(
            |v| v["spec"]["serviceDiscovery"]["awsCloudMap"] = json!({"namespaceName": "n", "serviceName": "s"}),
            &[("spec.serviceDiscovery", Rule::Union)],
        );
        // A null member of a union counts as unset.
        check(|v| v["spec"]["serviceDiscovery"]["awsCloudMap"] = Value::Null, &[]);
        check(
            |v| v["spec"]["listeners"][0]["portMapping"]["port"] = json!(4294967296_i64),
            &[("spec.listeners[0].portMapping.port", Rule::Type)],
        );
    }

    #[test]
    fn an_enum_in_the_wrong_case_gets_a_hint() {
        let mut input = valid_input();
        input["spec"]["listeners"][0]["portMapping"]["protocol"] = json!("HTTP");
        let found = violations(&model(), "CreateVirtualNodeInput", &input);
        assert_eq!(found[0].hint.as_deref(), Some("did you mean \"http\"? enum values are case-sensitive"));
        assert_eq!(
            found[0].to_string(),
            "spec.listeners[0].portMapping.protocol: enum rule: expected one of http|tcp|http2|grpc, found \"HTTP\" \
             (did you mean \"http\"? enum values are case-sensitive)"
        );
    }

    #[test]
    fn patterns_are_enforced() {
        let attribute = |key: &str| {
            let key = key.to_string();
            move |v: &mut Value| {
                v["spec"]["serviceDiscovery"] = json!({"awsCloudMap": {
                    "namespaceName": "ns", "serviceName": "svc", "attributes": [{"key": key, "value": "v"}]
                }})
            }
        };
        check(attribute("stage"), &[]);
        check(attribute("has space"), &[("spec.serviceDiscovery.awsCloudMap.attributes[0].key", Rule::Pattern)]);
    }

    #[test]
    fn unknown_members_are_information_not_violations() {
        let mut input = valid_input();
        input["spec"]["futureMember"] = json!({"x": 1});
        assert!(violations(&model(), "CreateVirtualNodeInput", &input).is_empty());
        let all = validate(&model(), "CreateVirtualNodeInput", &input);
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].path.as_str(), all[0].rule), ("spec.futureMember", Rule::UnknownMember));
        assert!(!all[0].rule.is_violation());
    }

    #[test]
    fn response_timestamps_must_be_numbers() {
        let metadata = json!({
            "arn": "a", "createdAt": "2019-02-27T19:24:31Z", "lastUpdatedAt": 1.551295471546E9,
            "meshOwner": "123456789012", "resourceOwner": "123456789012", "uid": "u", "version": 1
        });
        let found = violations(&model(), "ResourceMetadata", &metadata);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].path.as_str(), found[0].rule), ("createdAt", Rule::Type));
    }

    #[test]
    fn summaries_take_members_from_data_or_its_metadata() {
        let data = json!({
            "meshName": "m", "virtualNodeName": "n", "spec": {}, "status": {"status": "ACTIVE"},
            "metadata": {"arn": "a", "createdAt": 1.5, "lastUpdatedAt": 2.5, "meshOwner": "111111111111", "resourceOwner": "222222222222", "uid": "u", "version": 1}
        });
        assert_eq!(
            summary_of(&model(), "VirtualNodeRef", &data),
            json!({"arn": "a", "createdAt": 1.5, "lastUpdatedAt": 2.5, "meshName": "m", "meshOwner": "111111111111",
                   "resourceOwner": "222222222222", "version": 1, "virtualNodeName": "n"})
        );
        assert!(violations(&model(), "VirtualNodeRef", &summary_of(&model(), "VirtualNodeRef", &data)).is_empty());
    }

    #[test]
    fn normalize_drops_nulls_and_unknown_members() {
        let sent = json!({"listeners": [{"portMapping": {"port": 1, "protocol": "tcp"}, "healthCheck": null}], "logging": null, "extra": 1, "backends": []});
        assert_eq!(
            normalize(&model(), "VirtualNodeSpec", &sent),
            json!({"listeners": [{"portMapping": {"port": 1, "protocol": "tcp"}}], "backends": []})
        );
        assert_eq!(
            comparable(&sent),
            json!({"listeners": [{"portMapping": {"port": 1, "protocol": "tcp"}}], "extra": 1})
        );
    }
}
