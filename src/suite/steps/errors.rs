//! Steps that judge error responses and check that a rejected request changed nothing.

use cucumber::gherkin::Step;
use cucumber::then;
use serde_json::json;

use super::ErrorName;
use crate::checks::{self, CheckId};
use crate::suite::ConformanceWorld;

#[then(expr = "the request fails with {error}")]
async fn the_request_fails_with(world: &mut ConformanceWorld, step: &Step, error: ErrorName) {
    let exchange = world.last().clone();
    let operation = world.sent_operation.clone();
    world.ctx.provoke_error(&operation, &error.0);
    let failures = checks::check_error(world.client().model(), &exchange, &error.0);
    world.verdict(&step.value, failures, Some(&exchange));
}

/// One of two errors, where the sources name different ones for the same refusal (a TagResource
/// of more than 50 tags: BadRequestException by the SDK model's list bound, TooManyTagsException by
/// the API reference): the request must be refused either way, as the one it answered.
#[then(expr = "the request fails with {error} or {error}")]
async fn the_request_fails_with_either(world: &mut ConformanceWorld, step: &Step, first: ErrorName, second: ErrorName) {
    let exchange = world.last().clone();
    let operation = world.sent_operation.clone();
    let (chosen, other) =
        if exchange.error_code().as_deref() == Some(second.0.as_str()) { (second, first) } else { (first, second) };
    world.ctx.provoke_error(&operation, &chosen.0);
    let mut failures = checks::check_error(world.client().model(), &exchange, &chosen.0);
    for failure in &mut failures {
        failure.expected = format!("{} (or {})", failure.expected, other.0);
    }
    world.verdict(&step.value, failures, Some(&exchange));
}

#[then(expr = "no virtual node named {string} exists in the mesh")]
async fn no_virtual_node_named(world: &mut ConformanceWorld, step: &Step, name: String) {
    let input = json!({ "meshName": world.mesh(), "virtualNodeName": name });
    let exchange = world.call(&step.value, "DescribeVirtualNode", &input).await;
    let mut failures = checks::check_error(world.client().model(), &exchange, "NotFoundException");
    for failure in &mut failures {
        failure.id = CheckId::NothingCreated(Some(Box::new(failure.id.clone())));
        failure.rule =
            format!("a rejected request creates nothing: DescribeVirtualNode {name} is 404 ({})", failure.rule);
    }
    world.verdict(&step.value, failures, Some(&exchange));
}

#[then(expr = "the mesh holds exactly {int} virtual node(s)")]
async fn the_mesh_holds(world: &mut ConformanceWorld, step: &Step, expected: usize) {
    let rule = "no resource is lost or duplicated: ListVirtualNodes shows exactly what was created";
    world.expect_node_count(&step.value, expected, rule).await;
}

#[then("the first virtual node is unchanged")]
async fn the_first_node_is_unchanged(world: &mut ConformanceWorld, step: &Step) {
    world.read_back_created(&step.value).await;
}
