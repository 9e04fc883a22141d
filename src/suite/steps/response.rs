//! Steps that judge a successful CreateVirtualNode response and read the node back.

use cucumber::gherkin::Step;
use cucumber::then;
use serde_json::Value;

use crate::checks::{self, CheckId, Meta, SentNode};
use crate::suite::ConformanceWorld;

#[then("the virtual node is created")]
async fn the_virtual_node_is_created(world: &mut ConformanceWorld, step: &Step) {
    let exchange = world.last().clone();
    let model = world.client().model();
    let op = model.operation("CreateVirtualNode").expect("CreateVirtualNode is in the model");
    let failures = checks::check_success(model, op, &exchange);
    world.verdict(&step.value, failures, Some(&exchange));
}

/// An idempotent replay: a success with the node the first create made (same uid, version 1).
#[then("the same virtual node is returned")]
async fn the_same_virtual_node_is_returned(world: &mut ConformanceWorld, step: &Step) {
    let exchange = world.last().clone();
    let model = world.client().model();
    let op = model.operation("CreateVirtualNode").expect("CreateVirtualNode is in the model");
    let mut failures = checks::check_success(model, op, &exchange);
    if failures.is_empty() {
        let first = world.created.clone().expect("an earlier step created a virtual node");
        failures = checks::check_replay(&first, &exchange.json().unwrap_or_default());
    }
    world.verdict(&step.value, failures, Some(&exchange));
}

/// Set-up: the create was accepted (200). Its shape is judged by the scenarios about shape, so a
/// defect there does not hide the behaviour the scenario is about.
#[then("the request is accepted")]
async fn the_request_is_accepted(world: &mut ConformanceWorld, step: &Step) {
    let exchange = world.last().clone();
    let model = world.client().model();
    let op = model.operation(&world.sent_operation).expect("a modelled operation was sent");
    let failures =
        checks::check_success(model, op, &exchange).into_iter().filter(|f| f.id == CheckId::HttpStatus).collect();
    world.verdict(&step.value, failures, Some(&exchange));
}

/// Runs the created-node checks and keeps those with the given ids.
fn created_node_checks(world: &mut ConformanceWorld, step: &Step, ids: &[CheckId]) {
    let exchange = world.last().clone();
    let data = exchange.json().unwrap_or(Value::Null);
    let input = world.sent.clone().unwrap_or_default();
    let sent = SentNode {
        mesh_name: input["meshName"].as_str().unwrap_or_default(),
        virtual_node_name: input["virtualNodeName"].as_str().unwrap_or_default(),
        spec: &input["spec"],
    };
    let failures = checks::check_created_node(world.client().model(), &data, &sent, &world.ctx.check_context())
        .into_iter()
        .filter(|f| ids.contains(&f.id))
        .collect();
    world.verdict(&step.value, failures, Some(&exchange));
}

#[then("the ARN names the mesh and the virtual node")]
async fn arn(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Metadata(Meta::Arn)]);
}

#[then("the version is 1")]
async fn version(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Metadata(Meta::Version)]);
}

#[then("createdAt is within 5 minutes of the local clock")]
async fn created_at(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Metadata(Meta::CreatedAt)]);
}

#[then("lastUpdatedAt is not before createdAt")]
async fn last_updated_at(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Metadata(Meta::LastUpdatedAt)]);
}

#[then("meshOwner and resourceOwner are 12-digit account ids")]
async fn owners(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Metadata(Meta::MeshOwner), CheckId::Metadata(Meta::ResourceOwner)]);
}

#[then("the uid is not empty")]
async fn uid(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Metadata(Meta::Uid)]);
}

#[then("the status is ACTIVE")]
async fn status(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Status]);
}

#[then("the mesh name and virtual node name are echoed")]
async fn names_echoed(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Echo("meshName".into()), CheckId::Echo("virtualNodeName".into())]);
}

#[then("the echoed spec equals the sent spec once null members are dropped")]
async fn spec_echoed(world: &mut ConformanceWorld, step: &Step) {
    created_node_checks(world, step, &[CheckId::Echo("spec".into())]);
}

#[then(expr = "DescribeVirtualNode returns the same virtual node")]
async fn describe_returns_the_same(world: &mut ConformanceWorld, step: &Step) {
    world.read_back_created(&step.value).await;
}
