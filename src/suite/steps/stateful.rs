//! Steps for behaviours that need sequences of requests: signatures, quotas, replays under
//! concurrency. They build on the same request and outcome steps as the generated features.

use cucumber::gherkin::Step;
use cucumber::{Parameter, given, then, when};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::checks::{self, CheckFailure, CheckId, Severity};
use crate::client::Tamper;
use crate::suite::ConformanceWorld;

/// A deliberately wrong signature, as a feature file says it.
#[derive(Debug, Clone, Copy, Parameter)]
#[param(
    name = "signature defect",
    regex = "no signature|a wrong secret key|a signature for another service|the body changed after signing|a stale X-Amz-Date"
)]
pub struct SignatureDefect(pub Tamper);

/// A signature defect no step knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown signature defect {0:?}")]
pub struct UnknownDefect(String);

impl std::str::FromStr for SignatureDefect {
    type Err = UnknownDefect;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(SignatureDefect(match text {
            "no signature" => Tamper::Unsigned,
            "a wrong secret key" => Tamper::WrongSecret,
            "a signature for another service" => Tamper::OtherService,
            "the body changed after signing" => Tamper::BodyChangedAfterSigning,
            "a stale X-Amz-Date" => Tamper::StaleDate,
            other => return Err(UnknownDefect(other.to_string())),
        }))
    }
}

/// The error codes AWS answers an authentication failure with.
pub const AUTH_ERROR_CODES: &[&str] = &[
    "ForbiddenException",
    "AccessDeniedException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
];

#[when(expr = "I send {word} with {signature defect}:")]
async fn send_with_signature_defect(
    world: &mut ConformanceWorld,
    step: &Step,
    operation: String,
    defect: SignatureDefect,
) {
    let text = step.docstring.as_deref().expect("this step takes the input as a docstring");
    let input: Value =
        serde_json::from_str(&world.fill_placeholders(text)).expect("the input in the feature file is JSON");
    let client = world.ctx.client.clone();
    let request = match crate::wire::build_request(client.model(), &operation, &input) {
        Ok(request) => request,
        Err(error) => world.transport_failure(&step.value, error.into()),
    };
    let exchange = match client.send_tampered(Some(&operation), &request, defect.0).await {
        Ok(exchange) => exchange,
        Err(error) => world.transport_failure(&step.value, error),
    };
    world.sent_operation = operation;
    world.sent = Some(input);
    world.last = Some(exchange);
}

/// 403 with an AWS authentication error code and the JSON error shape.
#[then("the request is refused as unauthenticated")]
async fn refused_as_unauthenticated(world: &mut ConformanceWorld, step: &Step) {
    let exchange = world.last().clone();
    let code = exchange.error_code();
    let mut failures = Vec::new();
    if exchange.status() != 403 || !code.as_deref().is_some_and(|c| AUTH_ERROR_CODES.contains(&c)) {
        failures.push(CheckFailure {
            id: CheckId::AuthRefused,
            severity: Severity::Must,
            source: crate::model::provenance::source::AWS_SIGV4.into(),
            path: String::new(),
            rule: "a request without a valid SigV4 signature is refused (AWS authentication)".into(),
            expected: format!("403 with one of {}", AUTH_ERROR_CODES.join(", ")),
            actual: format!("{} {}", exchange.status(), code.unwrap_or_default()),
            hint: None,
        });
    } else {
        failures = checks::check_error_shape(&exchange, None);
    }
    world.verdict(&step.value, failures, Some(&exchange));
}

fn declared_quota(world: &ConformanceWorld) -> usize {
    world.ctx.profile.node_quota
}

/// Fills the mesh to the declared quota, 16 creates at a time; each must succeed.
#[given("the mesh holds as many virtual nodes as the declared quota")]
async fn fill_to_quota(world: &mut ConformanceWorld, step: &Step) {
    let quota = declared_quota(world);
    let mesh = world.mesh().to_string();
    let client = world.ctx.client.clone();
    for chunk in (0..quota).collect::<Vec<_>>().chunks(16) {
        world.check_deadline(&step.value);
        let calls = chunk.iter().map(|i| {
            let input = json!({ "meshName": mesh, "virtualNodeName": format!("fill-{i:04}"), "spec": {} });
            let input = world.ctx.tagged(input);
            let client = client.clone();
            async move { client.call("CreateVirtualNode", &input).await }
        });
        for result in join_all(calls).await {
            let exchange = match result {
                Ok(exchange) => exchange,
                Err(error) => world.transport_failure(&step.value, error),
            };
            if exchange.status() != 200 {
                let failure = CheckFailure {
                    id: CheckId::QuotaFill,
                    severity: Severity::Must,
                    source: crate::model::provenance::source::SERVICE_QUOTAS.into(),
                    path: String::new(),
                    rule: format!("a mesh takes as many virtual nodes as its declared quota ({quota})"),
                    expected: "200 for every create up to the quota".into(),
                    actual: format!("{} {}", exchange.status(), exchange.error_code().unwrap_or_default()),
                    hint: Some("is the declared --node-quota higher than the target's?".into()),
                };
                world.verdict(&step.value, vec![failure], Some(&exchange));
            }
        }
    }
}

#[when("I create one more virtual node with a client token")]
async fn one_more(world: &mut ConformanceWorld, step: &Step) {
    let input = world.ctx.tagged(json!({
        "meshName": world.mesh(),
        "virtualNodeName": "one-more",
        "spec": {},
        "clientToken": world.ctx.fresh_token(),
    }));
    let exchange = world.call(&step.value, "CreateVirtualNode", &input).await;
    world.sent_operation = "CreateVirtualNode".into();
    world.sent = Some(input);
    world.last = Some(exchange);
}

#[then("the mesh holds exactly the declared quota of virtual nodes")]
async fn holds_the_quota(world: &mut ConformanceWorld, step: &Step) {
    let quota = declared_quota(world);
    world.expect_node_count(&step.value, quota, "a refused create adds nothing; the quota is never exceeded").await;
}

#[when("I delete one virtual node of the mesh")]
async fn delete_one(world: &mut ConformanceWorld, step: &Step) {
    let input = json!({ "meshName": world.mesh(), "virtualNodeName": "fill-0000" });
    let exchange = world.call(&step.value, "DeleteVirtualNode", &input).await;
    let model = world.client().model();
    let failures = checks::check_success(model, model.operation("DeleteVirtualNode").expect("in the model"), &exchange);
    world.verdict(&step.value, failures, Some(&exchange));
}

#[when(expr = "I send the same request again with these tags:")]
async fn again_with_tags(world: &mut ConformanceWorld, step: &Step) {
    let text = step.docstring.as_deref().expect("this step takes the tags as a docstring");
    let tags: Value = serde_json::from_str(&world.fill_placeholders(text)).expect("the tags are JSON");
    let mut input = world.sent.clone().expect("an earlier step sent a request");
    input["tags"] = tags;
    resend(world, step, input).await;
}

#[when(expr = "I send the same request again with the virtual node name {string}")]
async fn again_with_name(world: &mut ConformanceWorld, step: &Step, name: String) {
    let mut input = world.sent.clone().expect("an earlier step sent a request");
    input["virtualNodeName"] = json!(name);
    resend(world, step, input).await;
}

#[when("I send the same request again in another fresh mesh")]
async fn again_in_another_mesh(world: &mut ConformanceWorld, step: &Step) {
    let other = world.create_mesh(&step.value).await;
    let mut input = world.sent.clone().expect("an earlier step sent a request");
    input["meshName"] = json!(other);
    resend(world, step, input).await;
}

async fn resend(world: &mut ConformanceWorld, step: &Step, input: Value) {
    let operation = world.sent_operation.clone();
    let exchange = world.call(&step.value, &operation, &input).await;
    world.sent = Some(input);
    world.last = Some(exchange);
}

/// Sends `inputs` all at once and keeps every answer.
async fn send_all_at_once(world: &mut ConformanceWorld, step: &Step, inputs: Vec<Value>) {
    world.check_deadline(&step.value);
    let inputs: Vec<Value> = inputs.into_iter().map(|input| world.ctx.tagged(input)).collect();
    let client = world.ctx.client.clone();
    let calls = inputs.iter().map(|input| {
        let client = client.clone();
        async move { client.call("CreateVirtualNode", input).await }
    });
    let mut answers = Vec::new();
    for result in join_all(calls).await {
        match result {
            Ok(exchange) => answers.push(exchange),
            Err(error) => world.transport_failure(&step.value, error),
        }
    }
    world.sent_operation = "CreateVirtualNode".into();
    world.sent = inputs.into_iter().next();
    world.concurrent = answers;
}

fn concurrent_input(world: &ConformanceWorld, token: &str, port: u16) -> Value {
    json!({
        "meshName": world.mesh(),
        "virtualNodeName": "concurrent-vn",
        "spec": { "listeners": [ { "portMapping": { "port": port, "protocol": "http" } } ] },
        "clientToken": token,
    })
}

#[when(expr = "I send {int} copies of one request with one client token at once")]
async fn copies_at_once(world: &mut ConformanceWorld, step: &Step, count: usize) {
    let token = world.ctx.fresh_token();
    let inputs = (0..count).map(|_| concurrent_input(world, &token, 9080)).collect();
    send_all_at_once(world, step, inputs).await;
}

#[when(expr = "I send {int} different requests with one client token at once")]
async fn variants_at_once(world: &mut ConformanceWorld, step: &Step, count: usize) {
    let token = world.ctx.fresh_token();
    let inputs = (0..count).map(|i| concurrent_input(world, &token, 9000 + i as u16)).collect();
    send_all_at_once(world, step, inputs).await;
}

#[then("every answer is the same virtual node")]
async fn every_answer_the_same(world: &mut ConformanceWorld, step: &Step) {
    let answers = world.concurrent.clone();
    let uids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| a.json().and_then(|b| b["metadata"]["uid"].as_str().map(str::to_string)).unwrap_or_default())
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|a| a.status()).collect();
    if statuses.iter().any(|s| *s != 200) || uids.len() != 1 {
        let failure = CheckFailure {
            id: CheckId::Concurrent,
            severity: Severity::Must,
            source: crate::model::provenance::source::API_REFERENCE.into(),
            path: "metadata.uid".into(),
            rule: "concurrent replays of one request with one client token all return the one node created".into(),
            expected: format!("{} answers 200 with one uid", answers.len()),
            actual: format!("statuses {statuses:?}, {} distinct uids", uids.len()),
            hint: None,
        };
        let first_bad = answers.iter().find(|a| a.status() != 200).cloned();
        world.verdict(&step.value, vec![failure], first_bad.as_ref());
    }
}

#[then(expr = "exactly one answer is a success and the others are {word}")]
async fn one_success_others(world: &mut ConformanceWorld, step: &Step, code: String) {
    let answers = world.concurrent.clone();
    let successes = answers.iter().filter(|a| a.status() == 200).count();
    let others_ok =
        answers.iter().filter(|a| a.status() != 200).all(|a| a.error_code().as_deref() == Some(code.as_str()));
    if successes != 1 || !others_ok {
        let codes: Vec<String> =
            answers.iter().map(|a| format!("{} {}", a.status(), a.error_code().unwrap_or_default())).collect();
        let failure = CheckFailure {
            id: CheckId::ConcurrentConflict,
            severity: Severity::Must,
            source: crate::model::provenance::source::API_REFERENCE.into(),
            path: String::new(),
            rule: "one client token with different requests: the first wins, the others conflict".into(),
            expected: format!("one 200 and {} {code}", answers.len() - 1),
            actual: codes.join(", "),
            hint: None,
        };
        world.verdict(&step.value, vec![failure], None);
    }
    for answer in answers.iter().filter(|a| a.status() != 200) {
        let failures = checks::check_error(world.client().model(), answer, &code);
        world.verdict(&step.value, failures, Some(answer));
    }
}

/// The burst plan for the profile: 4 times the declared throttle rate for about 2 seconds, or a
/// gentle 50 per second when no rate is declared; never more creates than fit under the quota.
fn burst_plan(world: &ConformanceWorld) -> crate::probe::BurstPlan {
    let profile = &world.ctx.profile;
    let room = profile.node_quota.saturating_sub(1).max(1);
    let (rate, count) = match profile.throttle_rps {
        Some(declared) => (declared * 4.0, ((declared * 8.0).ceil() as usize).clamp(20, 200)),
        None => (50.0, 50),
    };
    crate::probe::BurstPlan { rate, count: count.min(room), max_duration: std::time::Duration::from_secs(10) }
}

#[when("I send a burst of creates faster than the target is expected to throttle")]
async fn send_a_burst(world: &mut ConformanceWorld) {
    let plan = burst_plan(world);
    let client = world.ctx.client.clone();
    let mesh = world.mesh().to_string();
    // An explicit --max-rps binds the burst too; an automatic pace below the throttle rate does not.
    let paced = world.ctx.explicit_max_rps.is_some();
    let ctx = world.ctx.clone();
    let report = crate::probe::burst(plan, move |i| {
        let client = client.clone();
        let input = json!({ "meshName": mesh, "virtualNodeName": format!("burst-{i:04}"), "spec": {} });
        let input = ctx.tagged(input);
        async move {
            if paced {
                client.call_raw("CreateVirtualNode", &input).await
            } else {
                client.call_raw_unpaced("CreateVirtualNode", &input).await
            }
        }
    })
    .await;
    println!(
        "throttling probe: {} creates at {:.0}/s planned, {:.0}/s scheduled, peak {}/s sent; answers {:?}; latency ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}",
        report.sent,
        plan.rate,
        report.achieved_rps,
        report.peak_sends_per_second,
        report.statuses,
        report.latency_ms.p50,
        report.latency_ms.p90,
        report.latency_ms.p99,
        report.latency_ms.max
    );
    for exchanges in report.samples.values() {
        for exchange in exchanges {
            world.ctx.observe_error(exchange);
        }
    }
    world.burst = Some(report);
}

fn burst_report(world: &ConformanceWorld) -> crate::probe::BurstReport {
    world.burst.clone().expect("an earlier step sent a burst")
}

fn throttling_failure(id: CheckId, rule: &str, expected: String, actual: String) -> CheckFailure {
    CheckFailure {
        id,
        severity: Severity::Must,
        source: crate::model::provenance::source::AWS_SDK_RETRIES.into(),
        path: String::new(),
        rule: rule.into(),
        expected,
        actual,
        hint: None,
    }
}

#[then("every answer is a documented success or error")]
async fn every_answer_documented(world: &mut ConformanceWorld, step: &Step) {
    let report = burst_report(world);
    let model = world.client().model();
    let op = model.operation("CreateVirtualNode").expect("in the model");
    let undocumented: Vec<String> = report
        .statuses
        .keys()
        .filter(|kind| {
            let mut parts = kind.splitn(2, ' ');
            let (status, code) = (parts.next().unwrap_or_default(), parts.next());
            match code {
                None => status != "200",
                Some(code) => {
                    !op.errors.iter().any(|e| e == code)
                        || model.error_status(code).map(|s| s.to_string()).as_deref() != Some(status)
                }
            }
        })
        .cloned()
        .collect();
    let mut failures = Vec::new();
    if !undocumented.is_empty() {
        failures.push(throttling_failure(
            CheckId::BurstDocumented,
            "under load every answer is a success or an error of the documented table, with its status",
            "200 or a documented error".into(),
            undocumented.join(", "),
        ));
    }
    world.verdict(&step.value, failures, None);
}

#[then("every throttled answer is 429 TooManyRequestsException with a JSON message")]
async fn throttled_answers_are_429(world: &mut ConformanceWorld, step: &Step) {
    let report = burst_report(world);
    let wrong: Vec<String> = report
        .statuses
        .keys()
        .filter(|kind| {
            let throttling_like = kind.contains("Throttl")
                || kind.contains("TooManyRequests")
                || kind.starts_with("429")
                || kind.starts_with("503");
            throttling_like && kind.as_str() != "429 TooManyRequestsException"
        })
        .cloned()
        .collect();
    if !wrong.is_empty() {
        let failure = throttling_failure(
            CheckId::ThrottlingCode,
            "throttling is answered 429 TooManyRequestsException (the documented error table)",
            "429 TooManyRequestsException".into(),
            wrong.join(", "),
        );
        return world.verdict(&step.value, vec![failure], None);
    }
    let throttled = report.samples.get("429 TooManyRequestsException").cloned().unwrap_or_default();
    if throttled.is_empty() {
        return world.unjudged(&step.value, "no answer of the burst was throttled, so there was none to judge");
    }
    for exchange in &throttled {
        if let Some(operation) = &exchange.operation {
            world.ctx.sight_error(operation, "TooManyRequestsException");
        }
        let failures = checks::check_error(world.client().model(), exchange, "TooManyRequestsException");
        world.verdict(&step.value, failures, Some(exchange));
    }
}

#[then("the mesh holds as many virtual nodes as the burst had successes")]
async fn no_side_effect(world: &mut ConformanceWorld, step: &Step) {
    let successes = burst_report(world).count_status(200);
    world
        .expect_node_count(&step.value, successes, "a throttled create has no side effect: nodes created = 200 answers")
        .await;
}

/// The harness's own pace, measured from the send times of the burst's requests.
#[then("the harness sent no faster than its --max-rps")]
async fn harness_within_max_rps(world: &mut ConformanceWorld, step: &Step) {
    let report = burst_report(world);
    let Some(max_rps) = world.ctx.explicit_max_rps else {
        return world.unjudged(&step.value, "no --max-rps was set, so there is no pace to hold the harness to");
    };
    // Slots are reserved exactly 1/R apart; a departure may wake a millisecond late, which can
    // bring one more into a measured second. More than that is a pacing failure.
    let allowed = max_rps.ceil() as usize + 1;
    if report.peak_sends_per_second > allowed {
        let failure = throttling_failure(
            CheckId::HarnessMaxRps,
            "the harness paces all its traffic to --max-rps (one request of timer jitter allowed)",
            format!("at most {allowed} requests in any second"),
            format!("{} requests in one second", report.peak_sends_per_second),
        );
        world.verdict(&step.value, vec![failure], None);
    }
}

#[then("at least one answer was throttled")]
async fn at_least_one_throttled(world: &mut ConformanceWorld, step: &Step) {
    let report = burst_report(world);
    if report.count_status(429) == 0 {
        let declared = world.ctx.profile.throttle_rps.unwrap_or_default();
        let failure = throttling_failure(
            CheckId::ThrottlingEnforced,
            "a target declared to throttle above R requests/s throttles a burst at 4R",
            format!("at least one 429 TooManyRequestsException at {:.0}/s (declared {declared}/s)", declared * 4.0),
            format!("{:?}", report.statuses),
        );
        world.verdict(&step.value, vec![failure], None);
    }
}

/// Waits as a throttled client should: `Retry-After` when the target sent one, else long enough
/// for a token bucket at the declared rate to refill 20 requests (at least 1 s, at most 10 s).
#[when("I back off")]
async fn back_off(world: &mut ConformanceWorld) {
    let report = burst_report(world);
    let retry_after = report.samples.get("429 TooManyRequestsException").and_then(|samples| {
        samples.iter().find_map(|e| e.response_header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()))
    });
    let wait = match retry_after {
        Some(seconds) => std::time::Duration::from_secs(seconds.min(10)),
        None => {
            let rate = world.ctx.profile.throttle_rps.unwrap_or(1.0);
            std::time::Duration::from_secs_f64((20.0 / rate).clamp(1.0, 10.0))
        }
    };
    tokio::time::sleep(wait).await;
}

#[then("a create succeeds again")]
async fn a_create_succeeds_again(world: &mut ConformanceWorld, step: &Step) {
    let input = world.ctx.tagged(json!({ "meshName": world.mesh(), "virtualNodeName": "after-backoff", "spec": {} }));
    let exchange = match world.ctx.client.call_raw("CreateVirtualNode", &input).await {
        Ok(exchange) => exchange,
        Err(error) => world.transport_failure(&step.value, error),
    };
    let model = world.client().model();
    let failures = checks::check_success(model, model.operation("CreateVirtualNode").expect("in the model"), &exchange);
    world.verdict(&step.value, failures, Some(&exchange));
}
