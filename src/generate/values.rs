//! JSON values built from shapes: the smallest valid value, the fullest valid value, values of
//! an exact length or size, and wrong-typed values. Member paths, and setting or removing the
//! value at a path while keeping every ancestor valid.

use serde_json::{Map, Value, json};

use crate::model::{Bounds, Pattern, ServiceModel, ShapeKind, Structure};

/// One step of a member path: a structure member, or the first item of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Member(String),
    Item,
}

/// A member path from an operation's input, for example `spec.listeners[0].portMapping.port`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberPath(pub Vec<Step>);

impl MemberPath {
    pub fn child(&self, step: Step) -> MemberPath {
        let mut steps = self.0.clone();
        steps.push(step);
        MemberPath(steps)
    }

    pub fn parent(&self) -> MemberPath {
        MemberPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    pub fn last_member(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|step| match step {
            Step::Member(name) => Some(name.as_str()),
            Step::Item => None,
        })
    }

    /// `spec.listeners[0].portMapping.port`
    pub fn display(&self) -> String {
        let mut out = String::new();
        for step in &self.0 {
            match step {
                Step::Member(name) if out.is_empty() => out.push_str(name),
                Step::Member(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Step::Item => out.push_str("[0]"),
            }
        }
        out
    }

    /// `spec.listeners.portMapping.port`, the form used in tags.
    pub fn tag(&self) -> String {
        self.0
            .iter()
            .filter_map(|step| match step {
                Step::Member(name) => Some(name.as_str()),
                Step::Item => None,
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A member path with what the model says of it.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    pub path: MemberPath,
    /// The shape at the path (for a list path, the list shape).
    pub shape: String,
    /// The structure that holds the member, and whether it requires it.
    pub parent_shape: String,
    pub required: bool,
    pub location: crate::model::Location,
}

/// Every member path below `shape`, depth first in model order. List items are entered once
/// (`[0]`); a shape already on the current path is not entered again.
pub fn member_infos(model: &ServiceModel, shape: &str) -> Vec<MemberInfo> {
    let mut out = Vec::new();
    walk(model, shape, &MemberPath::default(), &mut vec![shape.to_string()], &mut out);
    out
}

fn walk(model: &ServiceModel, shape: &str, path: &MemberPath, stack: &mut Vec<String>, out: &mut Vec<MemberInfo>) {
    let Some(structure) = model.structure(shape) else { return };
    for member in &structure.members {
        let member_path = path.child(Step::Member(member.name.clone()));
        out.push(MemberInfo {
            path: member_path.clone(),
            shape: member.target.clone(),
            parent_shape: shape.to_string(),
            required: structure.required.contains(&member.name),
            location: member.location,
        });
        let (inner_shape, inner_path) = match model.shape(&member.target).map(|s| &s.kind) {
            Some(ShapeKind::List { member: item, .. }) => (item.clone(), member_path.child(Step::Item)),
            _ => (member.target.clone(), member_path),
        };
        if stack.contains(&inner_shape) {
            continue;
        }
        stack.push(inner_shape.clone());
        walk(model, &inner_shape, &inner_path, stack, out);
        stack.pop();
    }
}

/// A plausible string of exactly `length` characters for a shape: ARNs look like ARNs, file
/// paths start with `/`, others are letters. `index` makes items of a list distinct.
pub fn text_of_length(shape: &str, length: usize, index: usize) -> String {
    let prefix = match shape {
        "Arn" => format!("arn:aws:acm:us-east-1:123456789012:certificate/sample-{index}-"),
        "FilePath" => format!("/etc/sample-{index}-"),
        _ if index > 0 => format!("s{index}-"),
        _ => String::new(),
    };
    let mut text: String = prefix.chars().take(length).collect();
    while text.chars().count() < length {
        text.push('a');
    }
    text
}

fn default_length(bounds: Bounds, shape: &str) -> usize {
    let natural = match shape {
        "Arn" | "FilePath" => 48,
        _ => 8,
    };
    let min = bounds.min.unwrap_or(0.0) as usize;
    let max = bounds.max.map_or(usize::MAX, |m| m as usize);
    natural.clamp(min.max(1).min(max), max)
}

/// The smallest valid value of a shape: required members only (a union gets its first member),
/// lists at their minimum size, numbers at their minimum (or 1), enums at their first value.
pub fn minimal(model: &ServiceModel, shape: &str) -> Value {
    build(model, shape, false, 0, 0)
}

/// The fullest valid value: every member set (a union gets its first member), lists with one
/// item.
pub fn full(model: &ServiceModel, shape: &str) -> Value {
    build(model, shape, true, 0, 0)
}

/// A valid scalar or structure, `index` distinguishing list items.
fn build(model: &ServiceModel, shape: &str, every_member: bool, index: usize, depth: usize) -> Value {
    let Some(found) = model.shape(shape) else { return Value::Null };
    if depth > 24 {
        return Value::Null;
    }
    match &found.kind {
        ShapeKind::Structure(structure) => {
            let mut object = Map::new();
            for member in &structure.members {
                let wanted = if structure.union {
                    object.is_empty()
                } else if structure.exclusive.contains(&member.name) {
                    // One of an exclusive group, always: the first.
                    structure.exclusive[0] == member.name
                } else {
                    every_member || structure.required.contains(&member.name)
                };
                if wanted {
                    object.insert(member.name.clone(), build(model, &member.target, every_member, index, depth + 1));
                }
            }
            Value::Object(object)
        }
        ShapeKind::List { member, size } => {
            let count = (size.min.unwrap_or(0.0) as usize).max(usize::from(every_member));
            Value::Array((0..count).map(|i| build(model, member, every_member, i, depth + 1)).collect())
        }
        ShapeKind::Map { .. } => json!({}),
        ShapeKind::String { length, pattern, enum_values } => {
            if let Some(values) = enum_values {
                return json!(values[0]);
            }
            let text = text_of_length(shape, default_length(*length, shape), index);
            match pattern {
                Some(Pattern::Enforced(regex)) if !regex.is_match(&text) => {
                    json!("a".repeat(length.min.unwrap_or(1.0).max(1.0) as usize))
                }
                _ => json!(text),
            }
        }
        ShapeKind::Integer { range } | ShapeKind::Long { range } => json!(range.min.map_or(1, |m| m.max(1.0) as i64)),
        ShapeKind::Float { range } => json!(range.min.unwrap_or(1.0)),
        ShapeKind::Boolean => json!(true),
        ShapeKind::Timestamp => json!(0),
        ShapeKind::Blob => json!(""),
    }
}

/// Full values of `shape` (see [`full`]) that between them choose every member of every union
/// and exclusive group at every depth: the full value first, then one value per other choice,
/// that member chosen (at its fullest) where the full value chose another.
pub fn full_variants(model: &ServiceModel, shape: &str) -> Vec<Value> {
    let base = full(model, shape);
    let mut out = vec![base.clone()];
    for info in member_infos(model, shape) {
        let Some(structure) = model.structure(&info.shape) else { continue };
        for name in structure.choices().into_iter().skip(1) {
            let Some(member) = structure.member(name) else { continue };
            let path = info.path.child(Step::Member(member.name.clone()));
            out.push(with_value(model, shape, &base, &path, full(model, &member.target)));
        }
    }
    out
}

/// `count` valid, distinct items of a list's member shape.
pub fn items(model: &ServiceModel, member_shape: &str, count: usize) -> Value {
    Value::Array((0..count).map(|i| build(model, member_shape, false, i, 1)).collect())
}

/// A JSON value of a type the shape does not accept.
pub fn wrong_type(model: &ServiceModel, shape: &str) -> Option<Value> {
    Some(match &model.shape(shape)?.kind {
        ShapeKind::Structure(_) => json!("not an object"),
        ShapeKind::List { .. } => json!({"not": "a list"}),
        ShapeKind::Map { .. } => json!(["not", "a map"]),
        ShapeKind::String { .. } => json!(12345),
        ShapeKind::Integer { .. } | ShapeKind::Long { .. } | ShapeKind::Float { .. } => json!("12"),
        ShapeKind::Boolean => json!("true"),
        ShapeKind::Timestamp => json!("2019-02-27T19:24:31Z"),
        ShapeKind::Blob => json!(12345),
    })
}

/// The structure a path's parent is, when it is one.
fn structure_at<'m>(model: &'m ServiceModel, root: &str, path: &MemberPath) -> Option<&'m Structure> {
    let mut shape = root.to_string();
    for step in &path.0 {
        shape = match (step, &model.shape(&shape)?.kind) {
            (Step::Member(name), ShapeKind::Structure(structure)) => structure.member(name)?.target.clone(),
            (Step::Item, ShapeKind::List { member, .. }) => member.clone(),
            _ => return None,
        };
    }
    model.structure(&shape)
}

/// The value at `path` inside `value`, creating valid minimal ancestors on the way: a missing
/// member becomes its minimal value, an empty list gets one minimal item, and entering a union
/// member clears its siblings so the union stays valid.
pub fn ensure<'v>(model: &ServiceModel, root: &str, value: &'v mut Value, path: &MemberPath) -> &'v mut Value {
    let mut current = value;
    let mut at = MemberPath::default();
    for step in &path.0 {
        let parent_structure = structure_at(model, root, &at);
        at = at.child(step.clone());
        current = match step {
            Step::Member(name) => {
                let excluded = parent_structure.map(|s| s.excluded_by(name)).unwrap_or_default();
                let target =
                    parent_structure.and_then(|s| s.member(name)).map(|m| m.target.clone()).unwrap_or_default();
                let object = current.as_object_mut().expect("ancestors of a generated path are objects");
                object.retain(|key, _| !excluded.contains(&key.as_str()));
                object.entry(name.clone()).or_insert_with(|| minimal(model, &target))
            }
            Step::Item => {
                let items = current.as_array_mut().expect("a generated list path holds a list");
                if items.is_empty() {
                    items.push(Value::Null);
                }
                &mut items[0]
            }
        };
    }
    current
}

/// `base` with the value at `path` set to `value` (ancestors made valid, union siblings cleared).
pub fn with_value(model: &ServiceModel, root: &str, base: &Value, path: &MemberPath, value: Value) -> Value {
    let mut out = base.clone();
    fill_list_items(model, root, &mut out, path);
    *ensure(model, root, &mut out, path) = value;
    out
}

/// `base` with the member at `path` removed, its ancestors made valid.
pub fn without(model: &ServiceModel, root: &str, base: &Value, path: &MemberPath) -> Value {
    let mut out = base.clone();
    let Some(Step::Member(name)) = path.0.last() else { return out };
    let parent = path.parent();
    fill_list_items(model, root, &mut out, &parent);
    if let Some(object) = ensure(model, root, &mut out, &parent).as_object_mut() {
        object.remove(name);
    }
    out
}

/// Lists on the path that `ensure` would enter empty get one minimal item first, so that the
/// item is a valid value of the list's member shape rather than `null`.
fn fill_list_items(model: &ServiceModel, root: &str, value: &mut Value, path: &MemberPath) {
    let mut at = MemberPath::default();
    for step in &path.0 {
        if *step == Step::Item {
            let list_path = at.clone();
            let member_shape = list_member_shape(model, root, &list_path);
            let list = ensure(model, root, value, &list_path);
            if let (Some(items), Some(member_shape)) = (list.as_array_mut(), member_shape)
                && items.is_empty()
            {
                items.push(minimal(model, &member_shape));
            }
        }
        at = at.child(step.clone());
    }
}

fn list_member_shape(model: &ServiceModel, root: &str, list_path: &MemberPath) -> Option<String> {
    let parent = structure_at(model, root, &list_path.parent())?;
    let name = list_path.last_member()?;
    match &model.shape(&parent.member(name)?.target)?.kind {
        ShapeKind::List { member, .. } => Some(member.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::violations;

    fn model() -> ServiceModel {
        ServiceModel::embedded()
    }

    #[test]
    fn minimal_and_full_values_are_valid() {
        let model = model();
        for shape in ["CreateVirtualNodeInput", "VirtualNodeSpec", "CreateMeshInput", "TagList"] {
            for value in [minimal(&model, shape), full(&model, shape)] {
                assert_eq!(violations(&model, shape, &value), vec![], "{shape}: {value}");
            }
        }
        let full_spec = full(&model, "VirtualNodeSpec");
        assert!(full_spec["listeners"][0]["healthCheck"]["intervalMillis"].is_i64(), "{full_spec}");
    }

    #[test]
    fn paths_display_and_tag() {
        let model = model();
        let infos = member_infos(&model, "CreateVirtualNodeInput");
        let port = infos.iter().find(|i| i.path.display() == "spec.listeners[0].portMapping.port").unwrap();
        assert_eq!(port.path.tag(), "spec.listeners.portMapping.port");
        assert!(port.required);
        assert_eq!(port.shape, "PortNumber");
    }

    #[test]
    fn setting_a_deep_member_keeps_the_request_valid_around_it() {
        let model = model();
        let root = "CreateVirtualNodeInput";
        let base = minimal(&model, root);
        let infos = member_infos(&model, root);
        for info in &infos {
            let value = minimal(&model, &info.shape);
            let request = with_value(&model, root, &base, &info.path, value);
            assert_eq!(violations(&model, root, &request), vec![], "setting {}: {request}", info.path.display());
        }
        let deep = infos.iter().find(|i| i.path.display().ends_with("trust.file.certificateChain")).unwrap();
        let request = with_value(&model, root, &base, &deep.path, json!("/x"));
        assert_eq!(
            request["spec"]["backendDefaults"]["clientPolicy"]["tls"]["validation"]["trust"],
            json!({"file": {"certificateChain": "/x"}})
        );
    }

    #[test]
    fn removing_a_required_member_breaks_exactly_that_rule() {
        let model = model();
        let root = "CreateVirtualNodeInput";
        let base = minimal(&model, root);
        for info in member_infos(&model, root).iter().filter(|i| i.required) {
            let request = without(&model, root, &base, &info.path);
            let found: Vec<_> = violations(&model, root, &request).into_iter().map(|v| (v.path, v.rule)).collect();
            assert_eq!(found, vec![(info.path.display(), crate::validate::Rule::Required)], "{request}");
        }
    }

    #[test]
    fn texts_have_the_exact_length() {
        for (shape, length) in [("Arn", 3), ("Arn", 200), ("FilePath", 1), ("FilePath", 255), ("TagKey", 128), ("x", 0)]
        {
            assert_eq!(text_of_length(shape, length, 7).chars().count(), length);
        }
    }

    /// Between them the variants choose every member of every union, and each is valid.
    #[test]
    fn full_variants_choose_every_union_member_and_validate() {
        let model = ServiceModel::embedded();
        let variants = full_variants(&model, "VirtualNodeSpec");
        for variant in &variants {
            assert_eq!(crate::validate::validate(&model, "VirtualNodeSpec", variant), vec![], "{variant}");
        }
        let text: Vec<String> = variants.iter().map(Value::to_string).collect();
        for member in [
            "\"awsCloudMap\"",
            "\"dns\"",
            "\"sds\"",
            "\"acm\"",
            "\"grpc\"",
            "\"http2\"",
            "\"tcp\"",
            "\"text\"",
            "\"json\"",
        ] {
            assert!(text.iter().any(|t| t.contains(member)), "no variant sets {member}");
        }
    }
}
