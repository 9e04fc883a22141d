//! Which reading of each disputed point the emulator follows (see
//! [`crate::model::provenance::Dispute`]): by default the one the model file names for the
//! emulator, otherwise what `--reading ID=SOURCE` chose. Following another reading is how the
//! harness is shown to fail neither: the suite passes against every reading.
//!
//! The model's validator judges the SDK model alone; this module adds or lifts what a reading
//! says beyond it, as violations of the same kind.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::provenance::source;
use crate::model::{Location, Operation, ServiceModel};
use crate::validate::{Rule, Violation};

pub const LISTENERS_PER_VIRTUAL_NODE: &str = "listeners-per-virtual-node";
pub const TAG_VALUE_REQUIRED: &str = "tag-value-required";
pub const CLIENT_TOKEN_RULE: &str = "client-token-rule";
pub const DOT_SEGMENT_NAMES: &str = "dot-segment-names";
pub const TAGS_PER_RESOURCE_COUNT: &str = "tags-per-resource-count";

/// The disputes the emulator knows how to follow either way.
pub const IMPLEMENTED: &[&str] =
    &[LISTENERS_PER_VIRTUAL_NODE, TAG_VALUE_REQUIRED, CLIENT_TOKEN_RULE, DOT_SEGMENT_NAMES, TAGS_PER_RESOURCE_COUNT];

/// A `--reading` that names no reading of the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadingError {
    #[error("--reading {given:?} is not ID=SOURCE; known: {known}")]
    NotIdEqualsSource { given: String, known: String },
    #[error("--reading: no disputed point `{id}`; known: {known}")]
    UnknownDispute { id: String, known: String },
    #[error("--reading: `{id}` has no reading from `{source_id}`; known: {known}")]
    UnknownReading { id: String, source_id: String, known: String },
}

/// `ID=SOURCE`, checked against the model's disputes.
pub fn parse(model: &ServiceModel, text: &str) -> Result<(String, String), ReadingError> {
    let known = || {
        let ids: Vec<String> = model
            .provenance
            .disputes
            .iter()
            .map(|d| {
                let sources: Vec<&str> = d.readings.iter().map(|r| r.source.as_str()).collect();
                format!("{}={}", d.id, sources.join("|"))
            })
            .collect();
        ids.join(", ")
    };
    let (id, reading) = text
        .split_once('=')
        .ok_or_else(|| ReadingError::NotIdEqualsSource { given: text.to_string(), known: known() })?;
    let dispute = model
        .provenance
        .dispute(id)
        .ok_or_else(|| ReadingError::UnknownDispute { id: id.to_string(), known: known() })?;
    if dispute.reading(reading).is_none() {
        return Err(ReadingError::UnknownReading {
            id: id.to_string(),
            source_id: reading.to_string(),
            known: known(),
        });
    }
    Ok((id.to_string(), reading.to_string()))
}

/// Whether the emulator follows `reading` on `dispute`.
pub fn follows(model: &ServiceModel, chosen: &BTreeMap<String, String>, dispute: &str, reading: &str) -> bool {
    match chosen.get(dispute) {
        Some(source) => source == reading,
        None => model.provenance.dispute(dispute).is_some_and(|d| d.emulator == reading),
    }
}

/// Adjusts the validator's findings on `input` to the readings the emulator follows.
pub fn apply(
    model: &ServiceModel,
    chosen: &BTreeMap<String, String>,
    op: &Operation,
    input: &Value,
    found: &mut Vec<Violation>,
) {
    let follows = |dispute: &str, reading: &str| follows(model, chosen, dispute, reading);
    if follows(TAG_VALUE_REQUIRED, source::API_REFERENCE) {
        found.retain(|v| !(v.rule == Rule::Required && is_tag_value(&v.path)));
    }
    let listeners = input["spec"]["listeners"].as_array().map_or(0, Vec::len);
    if matches!(op.name.as_str(), "CreateVirtualNode" | "UpdateVirtualNode")
        && listeners > 1
        && follows(LISTENERS_PER_VIRTUAL_NODE, source::API_CREATE_VIRTUAL_NODE_2019)
    {
        found.push(violation(
            "spec.listeners",
            Rule::Length,
            "at most 1 listener (the 2019 API reference page)",
            format!("{listeners} items"),
        ));
    }
    if let Some(token) = input.get("clientToken").and_then(Value::as_str)
        && follows(CLIENT_TOKEN_RULE, source::API_REFERENCE)
        && !documented_client_token(token)
    {
        found.push(violation(
            "clientToken",
            Rule::Pattern,
            "up to 36 letters, numbers, hyphens and underscores",
            format!("{:?}", token.chars().take(48).collect::<String>()),
        ));
    }
    if follows(DOT_SEGMENT_NAMES, source::RFC3986) {
        let structure = op.input.as_deref().and_then(|name| model.structure(name));
        for member in structure.into_iter().flat_map(|s| &s.members) {
            let name = input.get(&member.name).and_then(Value::as_str);
            if member.location == Location::Body && member.target == "ResourceName" && matches!(name, Some("." | ".."))
            {
                found.push(violation(
                    &member.name,
                    Rule::Pattern,
                    "a name that is not a dot segment (. and .. cannot travel in a request path)",
                    format!("{:?}", name.unwrap_or_default()),
                ));
            }
        }
    }
}

/// `tags[3].value`
fn is_tag_value(path: &str) -> bool {
    path.strip_prefix("tags[").and_then(|rest| rest.split_once("].")).is_some_and(|(index, member)| {
        !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) && member == "value"
    })
}

/// The form the API reference documents: 1 to 36 letters, digits, hyphens and underscores.
fn documented_client_token(token: &str) -> bool {
    (1..=36).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn violation(path: &str, rule: Rule, expected: &str, found: String) -> Violation {
    Violation { path: path.to_string(), rule, expected: expected.to_string(), found, hint: None }
}

/// A tag list as stored: a tag sent without a value (accepted when following the reading that
/// makes the value optional) is kept with an empty one, so that its TagRef stays valid.
pub fn stored_tags(tags: Value) -> Value {
    match tags {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|mut tag| {
                    if let Some(object) = tag.as_object_mut() {
                        object.entry("value").or_insert_with(|| Value::String(String::new()));
                    }
                    tag
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn findings(chosen: &[(&str, &str)], operation: &str, input: Value) -> Vec<(String, Rule)> {
        let model = ServiceModel::embedded_ref();
        let op = model.operation(operation).unwrap();
        let chosen = chosen.iter().map(|(d, r)| (d.to_string(), r.to_string())).collect();
        let mut found = crate::validate::violations(model, op.input.as_deref().unwrap(), &input);
        apply(model, &chosen, op, &input, &mut found);
        found.into_iter().map(|v| (v.path, v.rule)).collect()
    }

    fn node(spec: Value) -> Value {
        json!({"meshName": "m", "virtualNodeName": "n", "spec": spec})
    }

    #[test]
    fn every_dispute_of_the_model_is_implemented_both_ways() {
        let model = ServiceModel::embedded_ref();
        let ids: Vec<&str> = model.provenance.disputes.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, IMPLEMENTED);
    }

    #[test]
    fn listeners_follow_the_chosen_reading() {
        let two = node(json!({"listeners": [
            {"portMapping": {"port": 1, "protocol": "http"}}, {"portMapping": {"port": 2, "protocol": "http"}}
        ]}));
        assert_eq!(findings(&[], "CreateVirtualNode", two.clone()), []);
        let older = [(LISTENERS_PER_VIRTUAL_NODE, source::API_CREATE_VIRTUAL_NODE_2019)];
        assert_eq!(findings(&older, "CreateVirtualNode", two), [("spec.listeners".to_string(), Rule::Length)]);
    }

    #[test]
    fn tag_values_client_tokens_and_dot_names_follow_the_chosen_reading() {
        let mut tagged = node(json!({}));
        tagged["tags"] = json!([{"key": "k"}]);
        assert_eq!(findings(&[], "CreateVirtualNode", tagged.clone()), [("tags[0].value".to_string(), Rule::Required)]);
        assert_eq!(findings(&[(TAG_VALUE_REQUIRED, source::API_REFERENCE)], "CreateVirtualNode", tagged), []);

        let mut token = node(json!({}));
        token["clientToken"] = json!("x".repeat(37));
        assert_eq!(findings(&[], "CreateVirtualNode", token.clone()), [("clientToken".to_string(), Rule::Pattern)]);
        token["clientToken"] = json!("a b");
        assert_eq!(findings(&[], "CreateVirtualNode", token.clone()), [("clientToken".to_string(), Rule::Pattern)]);
        assert_eq!(findings(&[(CLIENT_TOKEN_RULE, source::SDK_MODEL)], "CreateVirtualNode", token.clone()), []);
        token["clientToken"] = json!("c148ccbb-3619-49da-bb3e-4561eb5370c4");
        assert_eq!(findings(&[], "CreateVirtualNode", token), []);

        let mut dot = node(json!({}));
        dot["virtualNodeName"] = json!("..");
        assert_eq!(findings(&[], "CreateVirtualNode", dot.clone()), [("virtualNodeName".to_string(), Rule::Pattern)]);
        assert_eq!(findings(&[(DOT_SEGMENT_NAMES, source::SDK_MODEL)], "CreateVirtualNode", dot), []);
        assert_eq!(findings(&[], "CreateMesh", json!({"meshName": "."})), [("meshName".to_string(), Rule::Pattern)]);
    }

    #[test]
    fn readings_are_parsed_against_the_model() {
        let model = ServiceModel::embedded_ref();
        assert_eq!(
            parse(model, "tag-value-required=api-reference").unwrap(),
            ("tag-value-required".to_string(), "api-reference".to_string())
        );
        assert!(parse(model, "nope=sdk-model").unwrap_err().to_string().contains("no disputed point `nope`"));
        let error = parse(model, "tag-value-required=rfc3986").unwrap_err().to_string();
        assert!(error.contains("has no reading from `rfc3986`"), "{error}");
        assert!(parse(model, "tag-value-required").unwrap_err().to_string().contains("not ID=SOURCE"));
    }

    #[test]
    fn a_tag_without_a_value_is_stored_with_an_empty_one() {
        assert_eq!(
            stored_tags(json!([{"key": "k"}, {"key": "a", "value": "b"}])),
            json!([
                {"key": "k", "value": ""}, {"key": "a", "value": "b"}
            ])
        );
    }
}
