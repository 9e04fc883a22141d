//! Properties of CreateVirtualNode against the resolved target (APPMESH_ENDPOINT and the other
//! endpoint variables, else the embedded emulator), with requests generated from the contract
//! model:
//!
//! - every valid request is accepted, echoed as sent (nulls dropped) and read back as created;
//! - every request with exactly one violation is refused with 400 BadRequestException and
//!   creates nothing.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default), `PROPTEST_RNG_SEED` fixes the seed
//! (CI fixes it, so CI is deterministic). A failure is shrunk to a minimal request and printed
//! with the response, a curl reproduction and a ready-to-paste Gherkin scenario. A deliberately
//! broken target is shown to be caught, with a minimal counterexample.

/// The suite allocates on every request, as the binary does: the same allocator (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use appmesh_conformance::emulator::{Deviation, EmulatorConfig};
use appmesh_conformance::model::ServiceModel;
use appmesh_conformance::property::check::{Counterexample, PropertyTarget};
use appmesh_conformance::property::{self, Invalid};
use appmesh_conformance::settings::Settings;
use appmesh_conformance::target::{self, ConnectedTarget, TargetOptions};
use appmesh_conformance::validate::Rule;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::Value;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// The target from the environment (the one settings path every command uses), or the embedded
/// emulator with the given deviations.
async fn connect(deviations: &[Deviation]) -> ConnectedTarget {
    let model = Arc::new(ServiceModel::embedded());
    let settings = Settings::from_env(&model).unwrap_or_else(|e| panic!("{e}"));
    let options = TargetOptions {
        emulator: EmulatorConfig { deviations: deviations.iter().copied().collect(), ..settings.target.emulator },
        ..settings.target
    };
    target::connect(model, options).await.expect("the target answers")
}

/// A test runner with the environment's settings (cases, seed) and failure files kept out of
/// the source tree.
fn runner(cases: Option<u32>) -> TestRunner {
    // Enough shrinking steps to reach a minimal request (each is one or two calls to the target).
    let mut config = Config { failure_persistence: None, max_shrink_iters: 100_000, ..Config::default() };
    if let Some(cases) = cases {
        config.cases = cases;
    }
    TestRunner::new(config)
}

/// Whether a virtual node of this name can be read back and deleted: `.` and `..` are dot
/// segments, which URL parsers remove from a request path, so a node with such a name could be
/// created but never reached again (the wire layer refuses to build such paths).
fn addressable(input: &Value) -> bool {
    !matches!(input["virtualNodeName"].as_str(), Some(".") | Some(".."))
}

/// Valid CreateVirtualNode inputs, any name, spec and tags the model allows (bar the two names
/// no URL can carry).
fn valid_inputs() -> BoxedStrategy<Value> {
    property::valid(&Arc::new(ServiceModel::embedded()), "CreateVirtualNodeInput")
        .prop_filter("a name a request path can carry", addressable)
        .boxed()
}

/// Inputs with one violation that a request can carry: a URI label or query value of the wrong
/// JSON type is text on the wire like any other, and a whole input of the wrong type is no
/// request at all, so those are left out.
fn invalid_inputs() -> BoxedStrategy<Invalid> {
    property::invalid(&Arc::new(ServiceModel::embedded()), "CreateVirtualNodeInput")
        .prop_filter("a violation the wire can carry", |invalid| {
            !(invalid.rule == Rule::Type && ["", "meshName", "meshOwner"].contains(&invalid.path.as_str()))
                && addressable(&invalid.value)
        })
        .boxed()
}

/// Runs the valid property; the minimal counterexample, if any.
fn check_valid(
    runtime: &tokio::runtime::Runtime,
    target: &PropertyTarget,
    cases: Option<u32>,
) -> Option<(Value, String)> {
    let result = runner(cases).run(&valid_inputs(), |input| {
        let input = target.place(input, None);
        runtime.block_on(target.valid_case(&input)).map_err(|c: Counterexample| TestCaseError::fail(c.to_string()))
    });
    match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, input)) => Some((target.place(input, None), reason.to_string())),
        Err(TestError::Abort(reason)) => panic!("the valid property aborted: {reason}"),
    }
}

fn check_invalid(
    runtime: &tokio::runtime::Runtime,
    target: &PropertyTarget,
    cases: Option<u32>,
) -> Option<(Invalid, String)> {
    let result = runner(cases).run(&invalid_inputs(), |invalid| {
        let input = target.place(invalid.value.clone(), Some(&invalid.path));
        runtime
            .block_on(target.invalid_case(&input, &invalid))
            .map_err(|c: Counterexample| TestCaseError::fail(c.to_string()))
    });
    match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, invalid)) => Some((invalid, reason.to_string())),
        Err(TestError::Abort(reason)) => panic!("the invalid property aborted: {reason}"),
    }
}

/// Runs `check` in a mesh of its own on the target (the environment's, or the embedded emulator
/// with `deviations`) and removes the mesh afterwards; what `check` found. A mesh that cannot be
/// removed fails the test, with what was found.
fn in_property_mesh<T: std::fmt::Debug>(
    runtime: &tokio::runtime::Runtime,
    deviations: &[Deviation],
    check: impl FnOnce(&PropertyTarget) -> Option<T>,
) -> Option<T> {
    let connected = runtime.block_on(connect(deviations));
    let target =
        runtime.block_on(PropertyTarget::set_up(connected.client.clone(), connected.account_id.clone())).unwrap();
    let found = check(&target);
    if let Err(problem) = runtime.block_on(target.tear_down()) {
        panic!("the property's mesh was not removed: {problem}\nthe property found: {found:?}");
    }
    found
}

#[test]
fn every_valid_request_is_accepted_echoed_and_read_back() {
    let runtime = runtime();
    if let Some((_, reason)) = in_property_mesh(&runtime, &[], |target| check_valid(&runtime, target, None)) {
        panic!("{reason}");
    }
}

#[test]
fn every_request_with_one_violation_is_refused_and_creates_nothing() {
    let runtime = runtime();
    if let Some((_, reason)) = in_property_mesh(&runtime, &[], |target| check_invalid(&runtime, target, None)) {
        panic!("{reason}");
    }
}

/// The number of JSON values in a value: the size a shrunk counterexample is judged by.
fn size(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(size).sum::<usize>(),
        Value::Array(items) => 1 + items.iter().map(size).sum::<usize>(),
        _ => 1,
    }
}

/// Broken targets are caught, and the counterexample is shrunk to the smallest request showing
/// the defect.
#[test]
fn a_broken_target_is_caught_with_a_minimal_counterexample() {
    let runtime = runtime();

    // Every answer's timestamps are strings: the smallest valid request shows it.
    let failure =
        in_property_mesh(&runtime, &[Deviation::TimestampsAsStrings], |target| check_valid(&runtime, target, Some(64)));
    let (input, reason) = failure.expect("string timestamps pass the valid property");
    assert_eq!(input["spec"], serde_json::json!({}), "not minimal: {input}");
    assert!(input.get("tags").is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)), "not minimal: {input}");
    assert_eq!(input["virtualNodeName"].as_str().map(|n| n.chars().count()), Some(1), "not minimal: {input}");
    for part in [
        "minimal failing request",
        "metadata.createdAt",
        "curl -sS -X PUT --aws-sigv4",
        "Scenario:",
        "Then the request succeeds as documented",
    ] {
        assert!(reason.contains(part), "the counterexample does not show {part:?}:\n{reason}");
    }

    // Port 0 is accepted: the counterexample is one listener with port 0 and nothing else.
    let failure = in_property_mesh(&runtime, &[Deviation::PortZeroAccepted], |target| {
        check_invalid(&runtime, target, Some(2000))
    });
    let (invalid, reason) = failure.expect("port 0 accepted passes the invalid property");
    assert!(invalid.path.ends_with("portMapping.port"), "{}: {reason}", invalid.path);
    let spec = &invalid.value["spec"];
    assert!(size(spec) <= 6, "not minimal ({} values): {spec}\n{reason}", size(spec));
    assert!(reason.contains("Then the request fails with BadRequestException"), "{reason}");
}
