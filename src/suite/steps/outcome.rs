//! Steps that judge the outcome of any operation generically, from the model: success as
//! documented (shape, echo, readback), nothing created after a refusal, and the answer to a
//! request on which the sources disagree.

use cucumber::gherkin::Step;
use cucumber::then;
use serde_json::{Value, json};

use crate::checks::{self, CheckFailure, CheckId, SentNode, Severity};
use crate::model::Location;
use crate::model::provenance::{Expected, source};
use crate::suite::ConformanceWorld;

/// The answer is the documented success: status, content type and output shape; the members sent
/// are echoed; and after a create or an update, the Describe operation reads back the same
/// resource.
#[then("the request succeeds as documented")]
async fn succeeds_as_documented(world: &mut ConformanceWorld, step: &Step) {
    let exchange = world.last().clone();
    let operation = world.sent_operation.clone();
    let sent = world.sent.clone().unwrap_or_default();
    let model = world.client().model();
    let op = model.operation(&operation).expect("a modelled operation was sent");
    let mut failures = checks::check_success(model, op, &exchange);
    let data = exchange.json().unwrap_or_default();
    if failures.is_empty() {
        failures = if operation == "CreateVirtualNode" {
            let node = SentNode {
                mesh_name: sent["meshName"].as_str().unwrap_or_default(),
                virtual_node_name: sent["virtualNodeName"].as_str().unwrap_or_default(),
                spec: &sent["spec"],
            };
            checks::check_created_node(model, &data, &node, &world.ctx.check_context())
        } else {
            checks::check_echo(model, op, &sent, &data)
        };
    }
    world.verdict(&step.value, failures, Some(&exchange));

    // A create or an update is read back; other operations leave nothing new to read.
    let changed =
        |k: &crate::model::resources::ResourceKind| [&k.create, &k.update].contains(&&Some(operation.clone()));
    let Some(kind) = world.client().model().resource_of(&operation).filter(changed) else { return };
    let (describe, identifiers) = (kind.describe.clone(), kind.identifiers());
    let input: serde_json::Map<String, Value> =
        identifiers.iter().map(|name| (name.clone(), sent[name].clone())).collect();
    let readback = world.call(&step.value, &describe, &Value::Object(input)).await;
    let model = world.client().model();
    let describe_op = model.operation(&describe).expect("the Describe operation is in the model");
    let mut failures = checks::check_success(model, describe_op, &readback);
    if failures.is_empty() {
        failures = checks::check_readback(&describe, &data, &readback.json().unwrap_or_default());
    }
    world.verdict(&step.value, failures, Some(&readback));
    // The list agreement of other kinds is judged by their lifecycle features (`its list
    // entry agrees`); here it stays where it has always been judged.
    if operation == "CreateVirtualNode" {
        world.list_agrees(&step.value, &kind, &data).await;
    }
}

/// Whether a value can be the last segment of a request path: a non-empty string that is not a
/// dot segment (URL parsers remove those, even percent-encoded).
fn addressable(value: &Value) -> bool {
    value.as_str().is_some_and(|name| !matches!(name, "" | "." | ".."))
}

/// After a refusal nothing exists under the names the request used. Where the names can be
/// addressed, the Describe operation says 404 (or, for a name the model itself refuses, anything
/// but success); where they cannot (absent, not a string, empty, a dot segment), the List
/// operation of the collection shows no such resource, and a fresh mesh holds none at all.
#[then("nothing was created")]
async fn nothing_was_created(world: &mut ConformanceWorld, step: &Step) {
    let operation = world.sent_operation.clone();
    let sent = world.sent.clone().unwrap_or_default();
    let model = world.client().model();
    let Some(kind) = model.created_by(&operation) else {
        return world.unjudged(&step.value, format!("{operation} creates nothing that a Describe operation reads"));
    };
    let (describe, identifiers) = (kind.describe.clone(), kind.identifiers());
    if identifiers.iter().all(|name| addressable(&sent[name])) {
        let input = Value::Object(identifiers.iter().map(|name| (name.clone(), sent[name].clone())).collect());
        let describe_input = model.operation(&describe).and_then(|d| d.input.clone()).unwrap_or_default();
        let names_valid = crate::validate::violations(model, &describe_input, &input).is_empty();
        let exchange = world.call(&step.value, &describe, &input).await;
        let failures = if names_valid {
            let mut failures = checks::check_error(world.client().model(), &exchange, "NotFoundException");
            for failure in &mut failures {
                failure.id = CheckId::NothingCreated(Some(Box::new(failure.id.clone())));
                failure.rule = format!("a refused request creates nothing: {describe} is 404 ({})", failure.rule);
            }
            failures
        } else if exchange.status() == 200 {
            vec![nothing_created_failure("no resource under an invalid name", &format!("{describe} answered 200"))]
        } else {
            vec![]
        };
        return world.verdict(&step.value, failures, Some(&exchange));
    }
    // The new resource's own name is a body member; its parents travel in the path.
    let create_input = model.operation(&operation).and_then(|op| op.input.as_deref()).and_then(|i| model.structure(i));
    let is_body = |name: &str| create_input.and_then(|s| s.member(name)).is_some_and(|m| m.location == Location::Body);
    let own = identifiers.iter().find(|name| is_body(name)).cloned();
    let parents: Vec<&String> = identifiers.iter().filter(|name| !is_body(name)).collect();
    if !parents.iter().all(|name| addressable(&sent[*name])) {
        return world.unjudged(&step.value, "the request named no parent that can be listed");
    }
    let (Some(list), Some(member)) = (kind.list.clone(), kind.list_member.clone()) else {
        return world.unjudged(&step.value, format!("{operation} has no List operation to look in"));
    };
    let list_input = Value::Object(parents.iter().map(|name| ((*name).clone(), sent[*name].clone())).collect());
    let fresh = world.mesh.is_some()
        && parents.iter().all(|name| Some(&sent[*name]) == world.mesh.as_ref().map(|m| json!(m)).as_ref());
    let sought = own.as_ref().map(|name| &sent[name]).filter(|v| !v.is_null()).map(|v| match v {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    });
    if !fresh && sought.is_none() {
        return world.unjudged(
            &step.value,
            "the request named no resource, and the collection it would join is shared, so there is nothing to look for",
        );
    }
    let client = world.ctx.client.clone();
    let listed = match crate::cleanup::list_all(&client, &list, list_input, &member).await {
        Ok(items) => items,
        Err(problem) => {
            let failure = CheckFailure::new(
                CheckId::ListReadable,
                Severity::Must,
                source::SDK_MODEL,
                "",
                &format!("{list} answers for an existing parent"),
                format!("200 with a {member} list"),
                problem.to_string(),
            );
            return world.verdict(&step.value, vec![failure], None);
        }
    };
    let own_name = own.as_deref().unwrap_or_default();
    let names: Vec<String> = listed
        .iter()
        .map(|item| item[own_name].as_str().map_or_else(|| item[own_name].to_string(), str::to_string))
        .collect();
    let offending: Vec<&String> = names.iter().filter(|name| fresh || sought.as_ref() == Some(*name)).collect();
    if !offending.is_empty() {
        let expected = if fresh {
            format!("{list} of the scenario's fresh mesh is empty")
        } else {
            format!("no {own_name} {sought:?}", sought = sought.unwrap_or_default())
        };
        let actual = offending.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
        world.verdict(&step.value, vec![nothing_created_failure(&expected, &format!("{list} shows {actual}"))], None);
    }
}

/// After a refused change, the fresh resource the request was about is as it was made: the
/// Describe operation finds it at the same version with the same spec, and an operation on its
/// tags left them as they were.
#[then("nothing was changed")]
async fn nothing_was_changed(world: &mut ConformanceWorld, step: &Step) {
    let operation = world.sent_operation.clone();
    let client = world.ctx.client.clone();
    let model = client.model();
    let own = model.resource_of(&operation);
    let about = match &own {
        Some(kind) => world.fresh.iter().rev().find(|f| f.kind.name == kind.name),
        None => world.fresh.last(),
    };
    let Some(before) = about.cloned() else {
        return world
            .unjudged(&step.value, format!("the scenario made no resource that {operation} could have changed"));
    };
    let kind = &before.kind;
    let input = Value::Object(kind.identifiers().iter().map(|id| (id.clone(), before.data[id].clone())).collect());
    let exchange = world.call(&step.value, &kind.describe, &input).await;
    let now = exchange.json().unwrap_or_default();
    let changed = |what: &str, expected: &Value, actual: &Value| {
        CheckFailure::new(
            CheckId::NothingChanged,
            Severity::Must,
            source::API_REFERENCE,
            what,
            &format!("a refused {operation} leaves the {} as it was", kind.noun),
            expected.to_string(),
            actual.to_string(),
        )
    };
    let mut failures = Vec::new();
    if exchange.status() != 200 {
        let status = json!(format!("{} {}", exchange.status(), exchange.error_code().unwrap_or_default()));
        failures.push(changed("", &json!(format!("{} answers 200", kind.describe)), &status));
    } else {
        for path in ["metadata.version", "spec"] {
            let pointer = format!("/{}", path.replace('.', "/"));
            let (was, is) = (before.data.pointer(&pointer), now.pointer(&pointer));
            if was != is {
                failures.push(changed(path, was.unwrap_or(&Value::Null), is.unwrap_or(&Value::Null)));
            }
        }
    }
    world.verdict(&step.value, failures, Some(&exchange));
    if own.is_some() {
        return;
    }
    // An operation on tags by ARN: the tags are those the resource was made with.
    let list = model.operations.values().find(|op| op.http.method == "GET" && model.arn_member(&op.name).is_some());
    let listed = list.and_then(|op| {
        let arn_member = model.arn_member(&op.name)?;
        let output = model.structure(op.output.as_deref()?)?;
        let items = output
            .members
            .iter()
            .find(|m| matches!(model.shape(&m.target).map(|s| &s.kind), Some(crate::model::ShapeKind::List { .. })))?;
        Some((op.name.clone(), arn_member, items.name.clone()))
    });
    let Some((list, arn_member, items)) = listed else {
        return world.unjudged(&step.value, "the model has no operation that lists a resource's tags by ARN");
    };
    let input = json!({ arn_member: before.data["metadata"]["arn"] });
    let tags = world.all_pages(&step.value, &list, input, &items).await;
    let key_set =
        |tags: &[Value]| -> std::collections::BTreeSet<String> { tags.iter().map(|t| t.to_string()).collect() };
    let made_with = before.tags.as_array().cloned().unwrap_or_default();
    if key_set(&tags) != key_set(&made_with) {
        let failure = changed("tags", &json!(made_with), &json!(tags));
        world.verdict(&step.value, vec![failure], None);
    }
}

fn nothing_created_failure(expected: &str, actual: &str) -> CheckFailure {
    CheckFailure::new(
        CheckId::NothingCreated(None),
        Severity::Must,
        source::API_REFERENCE,
        "",
        "a refused request creates nothing",
        expected,
        actual,
    )
}

/// The answer to a request on which the sources disagree (or AWS's behaviour is unknown): it
/// must follow one of the readings the model file records, and which one it followed is reported
/// as information. A well-formed answer either way never fails, unless `--strict-docs` asks for
/// the documentation's reading.
#[then(expr = "the answer follows one of the readings of {string}")]
async fn follows_a_reading(world: &mut ConformanceWorld, step: &Step, dispute_id: String) {
    let exchange = world.last().clone();
    let operation = world.sent_operation.clone();
    let model = world.client().model();
    let dispute = model
        .provenance
        .dispute(&dispute_id)
        .unwrap_or_else(|| panic!("the model records no disputed point `{dispute_id}`"))
        .clone();
    let outcome = match (exchange.status(), exchange.error_code()) {
        (200..=299, _) => Expected::Success,
        (_, Some(code)) => Expected::Error(code),
        (status, None) => Expected::Error(format!("HTTP {status} without an error code")),
    };
    let member = world.scenario_member.clone().unwrap_or_default();
    let followed = dispute.followed_by(&outcome);
    let readings: Vec<String> =
        dispute.readings.iter().map(|r| format!("{} ({})", r.outcome.describe(), r.source)).collect();
    if followed.is_empty() {
        let failure = CheckFailure::new(
            CheckId::Dispute(dispute_id.clone()),
            Severity::Must,
            &dispute.readings[0].source,
            &member,
            &format!("the answer follows one of the readings: {}", dispute.summary()),
            readings.join(" or "),
            outcome.describe(),
        );
        return world.verdict(&step.value, vec![failure], Some(&exchange));
    }
    let sources: Vec<&str> = followed.iter().map(|r| r.source.as_str()).collect();
    let documented = dispute.documentation.as_deref().and_then(|doc| dispute.reading(doc));
    if world.ctx.strict_docs
        && let Some(documented) = documented
        && !sources.contains(&documented.source.as_str())
    {
        let failure = CheckFailure::new(
            CheckId::Dispute(dispute_id.clone()),
            Severity::Must,
            &documented.source,
            &member,
            &format!("--strict-docs: the documentation's reading of {}: {}", dispute.title, documented.says),
            documented.outcome.describe(),
            format!("{} (the reading of {})", outcome.describe(), sources.join(", ")),
        );
        return world.verdict(&step.value, vec![failure], Some(&exchange));
    }
    let finding = CheckFailure::new(
        CheckId::Dispute(dispute_id.clone()),
        Severity::Info,
        sources[0],
        &member,
        &dispute.summary(),
        format!("any of: {}", readings.join(", ")),
        format!("{}: the reading of {}", outcome.describe(), sources.join(", ")),
    );
    world.inform(&step.value, vec![finding], Some(&exchange));
    // Whichever reading it follows, the answer itself is well formed.
    let model = world.client().model();
    let op = model.operation(&operation).expect("a modelled operation was sent");
    let wire = match &outcome {
        Expected::Success => checks::check_success(model, op, &exchange),
        Expected::Error(code) => checks::check_error(model, &exchange, code),
    };
    world.verdict(&step.value, wire, Some(&exchange));
}
