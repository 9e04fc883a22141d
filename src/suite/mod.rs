//! The cucumber suite: the World, the step definitions (grouped by domain under [`steps`]) and the
//! runner shared by `appmesh-conformance run`, `cargo test --test conformance` and the mutation
//! self-test. Any number of runs can go on in one process (each installs its own context).
//!
//! Every scenario creates its own mesh, named after the run id, and the after-hook deletes what
//! the scenario created (virtual nodes, then meshes) whether the scenario passed or failed.
//! A failing step panics with the failed checks and the recorded exchange, and its failures are
//! kept in the run's result for the summary.

mod context;
pub mod features;
mod progress;
mod results;
mod runner;
mod select;
pub mod steps;
mod world;

pub use context::{DEFAULT_SCENARIO_DEADLINE, SuiteContext};
pub use features::FeatureSource;
pub use progress::Progress;
pub use results::{Outcome, RunSummary, ScenarioResult, StepFailure, Unjudged};
pub use runner::{
    EMBEDDED_TARGET_CONCURRENCY, ERROR_TABLE_FEATURE, EXTERNAL_TARGET_CONCURRENCY, RunError, RunOptions, run,
    summary_so_far,
};
pub use select::parse_tags;
pub use world::ConformanceWorld;

pub use crate::cleanup::list_all_nodes;
