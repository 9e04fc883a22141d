//! Steps that set up the mesh a scenario works in.

use cucumber::gherkin::Step;
use cucumber::given;

use crate::suite::ConformanceWorld;

#[given("a fresh mesh")]
async fn a_fresh_mesh(world: &mut ConformanceWorld, step: &Step) {
    let mesh = world.create_mesh(&step.value).await;
    world.mesh = Some(mesh);
}

#[given("a mesh that does not exist")]
async fn a_mesh_that_does_not_exist(world: &mut ConformanceWorld) {
    world.mesh = Some(world.ctx.unique_name("absent"));
}
