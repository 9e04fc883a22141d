//! Steps that judge the outcome of any operation generically, from the model: success as
//! documented (shape, echo, readback), nothing created after a refusal, and the wire shape of
//! every error answer of a given code.

use cucumber::gherkin::Step;
use cucumber::then;
use serde_json::Value;

use super::ErrorName;
use crate::checks::{self, CheckFailure, SentNode, Severity};
use crate::generate::{describe_identifiers, describe_operation};
use crate::suite::ConformanceWorld;

/// The answer is the documented success: status, content type and output shape; the members sent
/// are echoed; and the Describe operation reads back the same resource.
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

    let Some(describe) = describe_operation(&operation) else { return };
    let identifiers = describe_identifiers(world.client().model(), &operation);
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
    if operation == "CreateVirtualNode" {
        world.list_agrees(&step.value, &data).await;
    }
}

/// After a refusal nothing exists under the names the request used: the Describe operation says
/// 404 (or, where a name itself is invalid, anything but success); where the request named no
/// virtual node, the scenario's mesh lists none.
#[then("nothing was created")]
async fn nothing_was_created(world: &mut ConformanceWorld, step: &Step) {
    let operation = world.sent_operation.clone();
    let sent = world.sent.clone().unwrap_or_default();
    let Some(describe) = describe_operation(&operation) else { return };
    let identifiers = describe_identifiers(world.client().model(), &operation);
    let all_named = identifiers.iter().all(|name| sent[name].is_string());
    if !all_named {
        if operation == "CreateVirtualNode" && world.mesh.is_some() {
            world.expect_node_count(&step.value, 0, "a refused request creates nothing").await;
        }
        return;
    }
    let input: serde_json::Map<String, Value> =
        identifiers.iter().map(|name| (name.clone(), sent[name].clone())).collect();
    let input = Value::Object(input);
    let model = world.client().model();
    let describe_input = model.operation(&describe).and_then(|d| d.input.clone()).unwrap_or_default();
    let names_valid = crate::validate::violations(model, &describe_input, &input).is_empty();
    if identifiers.iter().any(|name| sent[name] == "") {
        return; // an empty name is no path: nothing can be addressed, so nothing to read back
    }
    let exchange = world.call(&step.value, &describe, &input).await;
    let failures = if names_valid {
        let mut failures = checks::check_error(world.client().model(), &exchange, "NotFoundException");
        for failure in &mut failures {
            failure.id = format!("nothing-created.{}", failure.id);
            failure.rule = format!("a refused request creates nothing: {describe} is 404 ({})", failure.rule);
        }
        failures
    } else if exchange.status() == 200 {
        vec![nothing_created_failure("no resource under an invalid name", &format!("{describe} answered 200"))]
    } else {
        vec![]
    };
    world.verdict(&step.value, failures, Some(&exchange));
}

fn nothing_created_failure(expected: &str, actual: &str) -> CheckFailure {
    CheckFailure {
        id: "nothing-created".into(),
        severity: Severity::Must,
        source: crate::model::provenance::source::API_REFERENCE.into(),
        path: String::new(),
        rule: "a refused request creates nothing".into(),
        expected: expected.into(),
        actual: actual.into(),
        hint: None,
    }
}

/// Errors a client cannot provoke (5xx) or that the stateful features provoke are judged on every
/// answer that carries their code. This step judges those received so far; the client-side check
/// in every request step judges the rest.
#[then(expr = "every {error} answer so far has the documented wire shape")]
async fn every_answer_has_the_wire_shape(world: &mut ConformanceWorld, step: &Step, error: ErrorName) {
    let observed = world.ctx.observed_errors(&error.0);
    for exchange in observed {
        let failures = checks::check_error(world.client().model(), &exchange, &error.0);
        world.verdict(&step.value, failures, Some(&exchange));
    }
}
