//! Steps that build and send CreateVirtualNode requests.
//!
//! A request body in a feature file may say `${fresh-token}` where a client token goes: each use
//! becomes a new UUID, so that runs never share tokens on a long-lived target.

use cucumber::gherkin::Step;
use cucumber::when;
use serde_json::{Value, json};

use crate::suite::ConformanceWorld;

const FRESH_TOKEN: &str = "${fresh-token}";

/// The step's docstring as a JSON object, with placeholders filled in.
fn request_body(step: &Step) -> Value {
    let text = step.docstring.as_deref().expect("this step takes the request body as a docstring");
    let mut filled = text.to_string();
    while filled.contains(FRESH_TOKEN) {
        filled = filled.replacen(FRESH_TOKEN, &uuid::Uuid::new_v4().to_string(), 1);
    }
    let body: Value = serde_json::from_str(&filled)
        .unwrap_or_else(|e| panic!("the request body in the feature file is not JSON: {e}\n{filled}"));
    assert!(body.is_object(), "the request body in the feature file must be a JSON object");
    body
}

async fn send_create(world: &mut ConformanceWorld, step: &Step, mut input: Value) {
    input["meshName"] = json!(world.mesh());
    let exchange = world.call(&step.value, "CreateVirtualNode", &input).await;
    if exchange.status() == 200 && world.created.is_none() {
        world.created = exchange.json();
    }
    world.sent = Some(input);
    world.last = Some(exchange);
}

fn sent(world: &ConformanceWorld) -> Value {
    world.sent.clone().expect("an earlier step sends a CreateVirtualNode request")
}

#[when("I create a virtual node with this request body:")]
async fn create_with_body(world: &mut ConformanceWorld, step: &Step) {
    send_create(world, step, request_body(step)).await;
}

#[when("I send the same request again")]
async fn send_again(world: &mut ConformanceWorld, step: &Step) {
    let input = sent(world);
    send_create(world, step, input).await;
}

#[when("I send the same request again with a new client token")]
async fn send_again_new_token(world: &mut ConformanceWorld, step: &Step) {
    let mut input = sent(world);
    input["clientToken"] = json!(uuid::Uuid::new_v4().to_string());
    send_create(world, step, input).await;
}

#[when("I send the same request again with this spec:")]
async fn send_again_with_spec(world: &mut ConformanceWorld, step: &Step) {
    let mut input = sent(world);
    input["spec"] = request_body(step);
    send_create(world, step, input).await;
}

#[when("I send the same request again without a client token")]
async fn send_again_without_token(world: &mut ConformanceWorld, step: &Step) {
    let mut input = sent(world);
    if let Some(object) = input.as_object_mut() {
        object.remove("clientToken");
    }
    send_create(world, step, input).await;
}
