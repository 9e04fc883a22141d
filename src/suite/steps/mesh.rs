//! Steps that make the resources a scenario works in: a fresh mesh, and a fresh resource of any
//! other kind the model has (`Given a fresh virtual router`), named as the run names things or
//! with a name of a given length.

use cucumber::gherkin::Step;
use cucumber::given;

use crate::model::resources::ResourceKind;
use crate::suite::ConformanceWorld;

/// The kind a scenario calls by its noun (`virtual node`).
fn kind_called(world: &ConformanceWorld, noun: &str) -> ResourceKind {
    let kinds = world.client().model().resource_kinds();
    kinds.iter().find(|kind| kind.noun == noun).cloned().unwrap_or_else(|| {
        let known: Vec<&str> = kinds.iter().map(|k| k.noun.as_str()).collect();
        panic!("the model has no resource kind called `{noun}`; it has: {}", known.join(", "))
    })
}

#[given(regex = r"^a fresh ([a-z ]+)$")]
async fn a_fresh(world: &mut ConformanceWorld, step: &Step, noun: String) {
    let kind = kind_called(world, &noun);
    let name = world.ctx.unique_name(&noun.replace(' ', "-"));
    world.make_fresh(&step.value, &kind, name).await;
}

#[given(regex = r"^a fresh ([a-z ]+) with a name of (\d+) characters$")]
async fn a_fresh_named_with_length(world: &mut ConformanceWorld, step: &Step, noun: String, length: usize) {
    let kind = kind_called(world, &noun);
    let name = world.ctx.unique_name_of_length(length);
    world.make_fresh(&step.value, &kind, name).await;
}

#[given("a mesh that does not exist")]
async fn a_mesh_that_does_not_exist(world: &mut ConformanceWorld) {
    world.mesh = Some(world.ctx.unique_name("absent"));
}
