//! Steps that build and send requests.
//!
//! A request in a feature file may hold placeholders, filled when it is sent: `${mesh}` (the
//! scenario's mesh), `${account}` (the target's account), `${fresh-token}` (a new client token each
//! time), `${unique-name:N}` (a name of N characters unique to the run), so that runs never
//! share names or tokens on a long-lived target, and `${arn}` (the ARN of the resource last
//! answered).

use cucumber::gherkin::Step;
use cucumber::when;
use serde_json::{Value, json};

use crate::suite::ConformanceWorld;

/// The step's docstring as a JSON object, with placeholders filled in.
fn docstring_json(world: &ConformanceWorld, step: &Step) -> Value {
    let text = step.docstring.as_deref().expect("this step takes a JSON docstring");
    let filled = world.fill_placeholders(text);
    let body: Value = serde_json::from_str(&filled)
        .unwrap_or_else(|e| panic!("the JSON in the feature file does not parse: {e}\n{filled}"));
    assert!(body.is_object(), "the JSON in the feature file must be an object");
    body
}

/// Sends `input` as `operation` and remembers it. A create carries the run's tag unless it sets
/// tags of its own; a mesh it asks for is in the run's ledger before the request is sent, and is
/// removed after the scenario whatever the answer.
pub(super) async fn send(world: &mut ConformanceWorld, step: &Step, operation: &str, input: Value) {
    let input = if operation.starts_with("Create") { world.ctx.tagged(input) } else { input };
    let asked_mesh = (operation == "CreateMesh").then(|| match &input["meshName"] {
        Value::String(name) => Some(name.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    });
    if let Some(Some(name)) = &asked_mesh {
        world.asking_for_mesh(name);
    }
    if let Some(kind) = world.client().model().created_by(operation).filter(|kind| !kind.parents.is_empty()) {
        let identifiers: Value =
            Value::Object(kind.identifiers().iter().map(|id| (id.clone(), input[id].clone())).collect());
        if identifiers.as_object().is_some_and(|ids| ids.values().all(Value::is_string)) {
            world.asked_resources.push((kind, identifiers));
        }
    }
    let exchange = world.call(&step.value, operation, &input).await;
    if let Some(asked) = &asked_mesh {
        world.ctx.mesh_answered(asked.as_deref(), &exchange);
    }
    if exchange.status() == 200 && world.created.is_none() {
        world.created = exchange.json();
    }
    let model = world.client().model();
    let answers_a_resource = model.resource_of(operation).is_some_and(|kind| kind.list.as_deref() != Some(operation));
    if exchange.status() == 200 && answers_a_resource {
        world.seen.extend(exchange.json());
    }
    world.sent_operation = operation.to_string();
    world.sent = Some(input);
    world.last = Some(exchange);
}

fn sent(world: &ConformanceWorld) -> Value {
    world.sent.clone().expect("an earlier step sends a request")
}

#[when("I create a virtual node with this request body:")]
async fn create_with_body(world: &mut ConformanceWorld, step: &Step) {
    let mut input = docstring_json(world, step);
    input["meshName"] = json!(world.mesh());
    send(world, step, "CreateVirtualNode", input).await;
}

#[when(expr = "I send {word} with this input:")]
async fn send_input(world: &mut ConformanceWorld, step: &Step, operation: String) {
    let input = docstring_json(world, step);
    send(world, step, &operation, input).await;
}

/// The URI of these names the scenario's fresh resources; the body is sent exactly as written.
#[when(expr = "I send {word} with this body:")]
async fn send_body(world: &mut ConformanceWorld, step: &Step, operation: String) {
    let body = world.fill_placeholders(step.docstring.as_deref().expect("this step takes the body as a docstring"));
    send_raw(world, step, &operation, &body).await;
}

#[when(expr = "I send {word} with an empty body")]
async fn send_empty_body(world: &mut ConformanceWorld, step: &Step, operation: String) {
    send_raw(world, step, &operation, "").await;
}

/// Sends `body` as it is; the URI names the scenario's fresh resources (and its mesh), and an
/// operation that names a resource by ARN names the last fresh one.
async fn send_raw(world: &mut ConformanceWorld, step: &Step, operation: &str, body: &str) {
    let model = world.client().model();
    let mut input = serde_json::Map::new();
    if let Some(mesh) = &world.mesh {
        input.insert("meshName".to_string(), json!(mesh));
    }
    for fresh in &world.fresh {
        input.insert(fresh.kind.name_member.clone(), fresh.data[&fresh.kind.name_member].clone());
    }
    if let (Some(member), Some(last)) = (model.arn_member(operation), world.fresh.last()) {
        input.insert(member, last.data["metadata"]["arn"].clone());
    }
    let input = Value::Object(input);
    let exchange = world.send_raw(&step.value, operation, &input, body).await;
    world.sent_operation = operation.to_string();
    world.sent = Some(input);
    world.last = Some(exchange);
}

#[when("I send the same request again")]
async fn send_again(world: &mut ConformanceWorld, step: &Step) {
    let (operation, input) = (world.sent_operation.clone(), sent(world));
    send(world, step, &operation, input).await;
}

#[when("I send the same request again with a new client token")]
async fn send_again_new_token(world: &mut ConformanceWorld, step: &Step) {
    let (operation, mut input) = (world.sent_operation.clone(), sent(world));
    input["clientToken"] = json!(world.ctx.fresh_token());
    send(world, step, &operation, input).await;
}

#[when("I send the same request again with this spec:")]
async fn send_again_with_spec(world: &mut ConformanceWorld, step: &Step) {
    let (operation, mut input) = (world.sent_operation.clone(), sent(world));
    input["spec"] = docstring_json(world, step);
    send(world, step, &operation, input).await;
}

#[when("I send the same request again without a client token")]
async fn send_again_without_token(world: &mut ConformanceWorld, step: &Step) {
    let (operation, mut input) = (world.sent_operation.clone(), sent(world));
    if let Some(object) = input.as_object_mut() {
        object.remove("clientToken");
    }
    send(world, step, &operation, input).await;
}
