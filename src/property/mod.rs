//! Property-based generation from the contract model (proptest): [`valid`] values that satisfy
//! every constraint of a shape, spread over the whole space and its boundaries, and [`invalid`]
//! values with exactly one violation, each knowing the violation and the error the contract
//! expects for it. Nothing here is hand-kept per member: a new member or bound in the model is
//! generated the next run. [`check`] runs the properties against a target.

pub mod check;

use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Just, Union};
use serde_json::{Map, Value, json};

use crate::model::{Bounds, Pattern, ServiceModel, ShapeKind};
use crate::validate::Rule;

/// Longest list a valid value gets when the model sets no maximum.
const OPEN_LIST: usize = 3;
/// Longest string a valid value gets when the model sets no maximum.
const OPEN_STRING: usize = 24;
/// How deep structures nest before optional members are left out.
const MAX_DEPTH: usize = 12;

/// Strings of ordinary characters, with an occasional non-ASCII one (lengths count characters).
/// The characters come from a seed that does not shrink: generating a long string stays cheap,
/// and shrinking works on its length alone (fast, and a shorter string is the simpler one).
fn text(length: usize, printable_only: bool) -> BoxedStrategy<String> {
    const ORDINARY: &[char] = &[
        'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v',
        'w', 'x', 'y', 'z', 'A', 'B', 'C', 'X', 'Y', 'Z', '0', '1', '2', '7', '8', '9', '-', '_', '.', '/', ':', 'é',
        'ß', 'λ', '中',
    ];
    any::<u64>()
        .no_shrink()
        .prop_map(move |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..length)
                .map(|_| if printable_only { rng.char('!'..='~') } else { ORDINARY[rng.usize(..ORDINARY.len())] })
                .collect()
        })
        .boxed()
}

/// A length within bounds, boundaries favoured.
fn length_in(bounds: Bounds, open: usize) -> BoxedStrategy<usize> {
    let min = bounds.min.unwrap_or(0.0).max(0.0) as usize;
    let max = bounds.max.map_or(min + open, |m| m as usize).max(min);
    let middle_top = max.min(min + open);
    prop_oneof![2 => Just(min), 2 => Just(max), 6 => min..=middle_top].boxed()
}

/// A number within bounds and the type's range, boundaries favoured.
fn integer_in(bounds: Bounds, type_min: i64, type_max: i64) -> BoxedStrategy<i64> {
    let min = bounds.min.map_or(type_min, |m| m as i64).max(type_min);
    let max = bounds.max.map_or(type_max, |m| m as i64).min(type_max);
    prop_oneof![Just(min), Just(max), min..=max].boxed()
}

/// Values of `shape` that satisfy every constraint of the model.
pub fn valid(model: &Arc<ServiceModel>, shape: &str) -> BoxedStrategy<Value> {
    valid_at(model, shape, &mut Vec::new())
}

fn valid_at(model: &Arc<ServiceModel>, shape: &str, stack: &mut Vec<String>) -> BoxedStrategy<Value> {
    let Some(found) = model.shape(shape) else { return Just(Value::Null).boxed() };
    match &found.kind {
        ShapeKind::Structure(structure) => {
            stack.push(shape.to_string());
            let mut members: Vec<(String, BoxedStrategy<Value>)> = Vec::new();
            for member in &structure.members {
                // A shape already being built (a cycle), or a structure nested too deep, is left out
                // where it is optional.
                let nested = stack.contains(&member.target) || stack.len() > MAX_DEPTH;
                if nested && !structure.required.contains(&member.name) {
                    continue;
                }
                members.push((member.name.clone(), valid_at(model, &member.target, stack)));
            }
            stack.pop();
            if structure.union {
                // Exactly one member, any of them.
                let choices: Vec<BoxedStrategy<Value>> = members
                    .into_iter()
                    .map(|(name, strategy)| {
                        strategy
                            .prop_map(move |v| {
                                let mut object = Map::new();
                                object.insert(name.clone(), v);
                                Value::Object(object)
                            })
                            .boxed()
                    })
                    .collect();
                return if choices.is_empty() { Just(json!({})).boxed() } else { Union::new(choices).boxed() };
            }
            let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = members
                .into_iter()
                .map(|(name, strategy)| {
                    let required = structure.required.contains(&name);
                    let pair = strategy.prop_map(move |v| (name.clone(), v));
                    if required { pair.prop_map(Some).boxed() } else { proptest::option::of(pair).boxed() }
                })
                .collect();
            parts.prop_map(|pairs| Value::Object(pairs.into_iter().flatten().collect::<Map<_, _>>())).boxed()
        }
        ShapeKind::List { member, size } => {
            let item = valid_at(model, member, stack);
            match size.max {
                // A documented maximum is a boundary worth reaching often.
                Some(_) => length_in(*size, OPEN_LIST)
                    .prop_flat_map(move |n| proptest::collection::vec(item.clone(), n))
                    .prop_map(Value::Array)
                    .boxed(),
                // Without one there is no boundary to favour: a plain vector, which shrinks by
                // dropping items (a flat-mapped length would regenerate them instead).
                None => {
                    let min = size.min.unwrap_or(0.0).max(0.0) as usize;
                    proptest::collection::vec(item, min..=min + OPEN_LIST).prop_map(Value::Array).boxed()
                }
            }
        }
        ShapeKind::Map { key, value, size } => {
            let keys = valid_at(model, key, stack).prop_filter_map("a string key", |k| k.as_str().map(str::to_string));
            let values = valid_at(model, value, stack);
            let min = size.min.unwrap_or(0.0) as usize;
            let max = size.max.map_or(min + OPEN_LIST, |m| m as usize).min(min + OPEN_LIST);
            proptest::collection::btree_map(keys, values, min..=max)
                .prop_map(|map| Value::Object(map.into_iter().collect()))
                .boxed()
        }
        ShapeKind::String { length, pattern, enum_values } => {
            if let Some(values) = enum_values {
                return proptest::sample::select(values.clone()).prop_map(Value::String).boxed();
            }
            // The model's patterns are all printable ASCII: such text satisfies them.
            let printable_only = pattern.is_some();
            let regex = match pattern {
                Some(Pattern::Enforced(regex)) => Some(regex.clone()),
                _ => None,
            };
            length_in(*length, OPEN_STRING)
                .prop_flat_map(move |n| text(n, printable_only))
                .prop_filter("matches the shape's pattern", move |s| regex.as_ref().is_none_or(|r| r.is_match(s)))
                .prop_map(Value::String)
                .boxed()
        }
        ShapeKind::Integer { range } => {
            integer_in(*range, i32::MIN as i64, i32::MAX as i64).prop_map(Value::from).boxed()
        }
        ShapeKind::Long { range } => integer_in(*range, i64::MIN, i64::MAX).prop_map(Value::from).boxed(),
        ShapeKind::Float { range } => {
            let min = range.min.unwrap_or(-1e6);
            let max = range.max.unwrap_or(1e6);
            prop_oneof![Just(min), Just(max), min..=max].prop_map(|f| json!(f)).boxed()
        }
        ShapeKind::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        ShapeKind::Timestamp => (0u32..2_000_000_000).prop_map(Value::from).boxed(),
        ShapeKind::Blob => "[A-Za-z0-9]{0,8}".prop_map(|s| Value::String(format!("{s}=="))).boxed(),
    }
}

/// A value with exactly one violation, what the violation is, and the error the contract
/// expects for a request carrying it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub value: Value,
    /// The member path of the violation, as the validator writes it (`listeners[0].port`).
    pub path: String,
    pub rule: Rule,
    /// The error code the documented error table gives for a request with this violation.
    pub error: &'static str,
}

/// One way to break a valid value at one place.
#[derive(Debug, Clone)]
enum Fault {
    RemoveRequired,
    /// A new length, and an item to fill a list that grows (a valid one).
    Length(usize, Value),
    Below(i64),
    Above(i64),
    NotInEnum,
    PatternBroken,
    UnionEmpty,
    UnionTwo(String, Value),
    WrongType(Value),
}

/// Values of `shape` with exactly one violation of the model, from a valid value broken at one
/// place: a required member removed, a length or size past a bound, a number past its range, a
/// value outside an enum or its pattern, a union with no member or two, a value of the wrong type.
pub fn invalid(model: &Arc<ServiceModel>, shape: &str) -> BoxedStrategy<Invalid> {
    let model = model.clone();
    let root = shape.to_string();
    // The place to break is the one whose key hashes lowest under a salt that never shrinks: as
    // the valid value shrinks, the same place stays chosen for as long as it exists, so a failing
    // case shrinks towards the smallest value that still has that violation. List indexes are
    // left out of the key (the first item wins a tie), so that dropping an item before the broken
    // one keeps the same kind of place broken.
    (valid(&model, shape), any::<u64>().no_shrink())
        .prop_filter_map("a value with a place to break", move |(value, salt)| {
            let mut sites = Vec::new();
            fault_sites(&model, &root, &value, "", &mut sites);
            let (path, fault) = sites.into_iter().min_by_key(|(path, fault)| site_hash(salt, path, fault))?;
            Some(apply(value, &path, fault))
        })
        .boxed()
}

/// A hash of where and how a value is broken (not of the values involved, nor of list indexes),
/// salted.
fn site_hash(salt: u64, path: &str, fault: &Fault) -> u64 {
    let mut in_index = false;
    let path: String = path
        .chars()
        .filter(|c| {
            match c {
                '[' => in_index = true,
                ']' => in_index = false,
                _ if in_index => return false,
                _ => {}
            }
            true
        })
        .collect();
    let kind = match fault {
        Fault::RemoveRequired => "required".to_string(),
        Fault::Length(n, _) => format!("length-{n}"),
        Fault::Below(_) => "below".to_string(),
        Fault::Above(_) => "above".to_string(),
        Fault::NotInEnum => "enum".to_string(),
        Fault::PatternBroken => "pattern".to_string(),
        Fault::UnionEmpty => "union-empty".to_string(),
        Fault::UnionTwo(name, _) => format!("union-two-{name}"),
        Fault::WrongType(_) => "type".to_string(),
    };
    // FNV-1a over the salt, the path and the kind.
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ salt;
    for byte in path.bytes().chain([0]).chain(kind.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Where `value` (of `shape`, at `path`) can be broken, and how.
fn fault_sites(model: &ServiceModel, shape: &str, value: &Value, path: &str, out: &mut Vec<(String, Fault)>) {
    let Some(found) = model.shape(shape) else { return };
    let wrong = crate::generate::values::wrong_type(model, shape);
    match &found.kind {
        ShapeKind::Structure(structure) => {
            let Some(object) = value.as_object() else { return };
            for member in &structure.members {
                let member_path = join(path, &member.name);
                match object.get(&member.name) {
                    Some(member_value) if !member_value.is_null() => {
                        if structure.required.contains(&member.name) {
                            out.push((member_path.clone(), Fault::RemoveRequired));
                        }
                        fault_sites(model, &member.target, member_value, &member_path, out);
                    }
                    // A second member for a union that has one.
                    _ if structure.union => {
                        let second = crate::generate::values::minimal(model, &member.target);
                        out.push((path.to_string(), Fault::UnionTwo(member.name.clone(), second)));
                    }
                    _ => {}
                }
            }
            if structure.union && object.values().any(|v| !v.is_null()) {
                out.push((path.to_string(), Fault::UnionEmpty));
            }
        }
        ShapeKind::List { member, size } => {
            let Some(items) = value.as_array() else { return };
            let filler = items.last().cloned().unwrap_or_else(|| crate::generate::values::minimal(model, member));
            if let Some(max) = size.max {
                out.push((path.to_string(), Fault::Length(max as usize + 1, filler.clone())));
            }
            if let Some(min) = size.min.filter(|m| *m >= 1.0) {
                out.push((path.to_string(), Fault::Length(min as usize - 1, filler)));
            }
            for (index, item) in items.iter().enumerate() {
                fault_sites(model, member, item, &format!("{path}[{index}]"), out);
            }
        }
        ShapeKind::String { length, pattern, enum_values } => {
            if enum_values.is_some() {
                out.push((path.to_string(), Fault::NotInEnum));
            } else {
                if let Some(max) = length.max {
                    out.push((path.to_string(), Fault::Length(max as usize + 1, Value::Null)));
                }
                // An empty string would break a pattern too.
                let shortest = if pattern.is_some() { 2.0 } else { 1.0 };
                if let Some(min) = length.min.filter(|m| *m >= shortest) {
                    out.push((path.to_string(), Fault::Length(min as usize - 1, Value::Null)));
                }
                if matches!(pattern, Some(Pattern::Enforced(_))) && !value.as_str().unwrap_or_default().is_empty() {
                    out.push((path.to_string(), Fault::PatternBroken));
                }
            }
        }
        ShapeKind::Integer { range } | ShapeKind::Long { range } => {
            let (type_min, type_max) = match found.kind {
                ShapeKind::Integer { .. } => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            if let Some(min) = range.min.map(|m| m as i64).filter(|m| *m > type_min) {
                out.push((path.to_string(), Fault::Below(min - 1)));
            }
            if let Some(max) = range.max.map(|m| m as i64).filter(|m| *m < type_max) {
                out.push((path.to_string(), Fault::Above(max + 1)));
            }
        }
        _ => {}
    }
    if let Some(wrong) = wrong {
        out.push((path.to_string(), Fault::WrongType(wrong)));
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() { member.to_string() } else { format!("{path}.{member}") }
}

/// The value at a validator path (`a.b[2].c`), mutably.
fn at_path<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    let mut current = value;
    if path.is_empty() {
        return Some(current);
    }
    for part in path.split('.') {
        let (name, indexes) = part.split_once('[').map_or((part, ""), |(n, rest)| (n, rest));
        if !name.is_empty() {
            current = current.get_mut(name)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            current = current.get_mut(index)?;
        }
    }
    Some(current)
}

fn apply(mut value: Value, path: &str, fault: Fault) -> Invalid {
    let (parent_path, member) = match path.rsplit_once('.') {
        Some((parent, member)) if !member.contains('[') => (parent.to_string(), member.to_string()),
        None if !path.contains('[') => (String::new(), path.to_string()),
        _ => (String::new(), String::new()),
    };
    let rule = match fault {
        Fault::RemoveRequired => {
            if let Some(Value::Object(parent)) = at_path(&mut value, &parent_path) {
                parent.remove(&member);
            }
            Rule::Required
        }
        Fault::Length(n, filler) => {
            if let Some(target) = at_path(&mut value, path) {
                match target {
                    Value::Array(items) => items.resize(n, filler),
                    Value::String(text) => {
                        let mut chars: Vec<char> = text.chars().collect();
                        let filler = chars.last().copied().unwrap_or('a');
                        chars.resize(n, filler);
                        *text = chars.into_iter().collect();
                    }
                    _ => {}
                }
            }
            Rule::Length
        }
        Fault::Below(n) | Fault::Above(n) => {
            let is_below = matches!(fault, Fault::Below(_));
            if let Some(target) = at_path(&mut value, path) {
                *target = json!(n);
            }
            if is_below { Rule::Min } else { Rule::Max }
        }
        Fault::NotInEnum => {
            if let Some(target) = at_path(&mut value, path) {
                // Case matters: the lower-case form of a valid value is not one.
                let text = target.as_str().unwrap_or_default();
                let wrong =
                    if text.to_lowercase() != text { text.to_lowercase() } else { format!("{text}-not-an-enum-value") };
                *target = json!(wrong);
            }
            Rule::Enum
        }
        Fault::PatternBroken => {
            if let Some(Value::String(text)) = at_path(&mut value, path) {
                // A leading space keeps the length and breaks every pattern of the model.
                let mut chars: Vec<char> = text.chars().collect();
                chars[0] = ' ';
                *text = chars.into_iter().collect();
            }
            Rule::Pattern
        }
        Fault::UnionEmpty => {
            if let Some(Value::Object(union)) = at_path(&mut value, path) {
                union.clear();
            }
            Rule::Union
        }
        Fault::UnionTwo(name, second) => {
            if let Some(Value::Object(union)) = at_path(&mut value, path) {
                union.insert(name, second);
            }
            Rule::Union
        }
        Fault::WrongType(wrong) => {
            if let Some(target) = at_path(&mut value, path) {
                *target = wrong;
            }
            Rule::Type
        }
    };
    Invalid { value, path: path.to_string(), rule, error: "BadRequestException" }
}

#[cfg(test)]
mod tests {
    use proptest::test_runner::{Config, TestRunner};

    use super::*;

    #[test]
    fn the_place_to_break_ignores_list_indexes() {
        let fault = Fault::Below(0);
        let at = |path: &str| site_hash(7, path, &fault);
        assert_eq!(at("spec.listeners[0].portMapping.port"), at("spec.listeners[12].portMapping.port"));
        assert_ne!(at("spec.listeners[0].portMapping.port"), at("spec.backends[0].virtualService"));
        assert_ne!(site_hash(7, "a", &fault), site_hash(8, "a", &fault));
    }
    use crate::validate::violations;

    fn model() -> Arc<ServiceModel> {
        Arc::new(ServiceModel::embedded())
    }

    /// The shapes and how many cases each gets (the spec most: it holds nearly every rule).
    const SHAPES: &[(&str, u32)] =
        &[("VirtualNodeSpec", 2000), ("CreateVirtualNodeInput", 500), ("TagList", 300), ("MeshSpec", 200)];

    #[test]
    fn every_valid_value_validates() {
        let model = model();
        for &(shape, cases) in SHAPES {
            let mut runner = TestRunner::new(Config { cases, ..Config::default() });
            runner
                .run(&valid(&model, shape), |value| {
                    let found = violations(&model, shape, &value);
                    prop_assert!(found.is_empty(), "{shape}: {value}\n{found:?}");
                    Ok(())
                })
                .unwrap();
        }
    }

    #[test]
    fn every_invalid_value_has_exactly_the_violation_it_claims() {
        let model = model();
        for &(shape, cases) in SHAPES {
            let mut runner = TestRunner::new(Config { cases, ..Config::default() });
            runner
                .run(&invalid(&model, shape), |invalid| {
                    let found = violations(&model, shape, &invalid.value);
                    prop_assert_eq!(
                        found.len(),
                        1,
                        "{}: {} at {}: {:?}",
                        shape,
                        invalid.rule.as_str(),
                        invalid.path,
                        found
                    );
                    prop_assert_eq!(&found[0].path, &invalid.path);
                    prop_assert_eq!(found[0].rule, invalid.rule);
                    Ok(())
                })
                .unwrap();
        }
    }

    /// The strategies reach the whole space: every rule of the validator is broken, and valid
    /// values reach the boundaries (the largest list, the longest string).
    #[test]
    fn the_strategies_reach_every_rule_and_the_boundaries() {
        let model = model();
        let mut runner = TestRunner::deterministic();
        let mut rules = std::collections::BTreeSet::new();
        for _ in 0..3000 {
            let tree = invalid(&model, "VirtualNodeSpec").new_tree(&mut runner).unwrap();
            rules.insert(proptest::strategy::ValueTree::current(&tree).rule.as_str());
        }
        for rule in ["required", "type", "min", "max", "length", "enum", "pattern", "union"] {
            assert!(rules.contains(rule), "no invalid VirtualNodeSpec breaks the {rule} rule: {rules:?}");
        }
        let mut longest_tags = 0;
        for _ in 0..400 {
            let tree = valid(&model, "TagList").new_tree(&mut runner).unwrap();
            longest_tags = longest_tags.max(proptest::strategy::ValueTree::current(&tree).as_array().unwrap().len());
        }
        assert_eq!(longest_tags, 50, "valid tag lists never reach the documented maximum");
    }
}
