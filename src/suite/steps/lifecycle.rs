//! Steps for the lifecycle of any resource kind, judged from the model: what the last answer's
//! resource says (version, status, ARN), how it moved on from the answer before it, whether its
//! List shows it, whether it is gone after a delete, and its tags.
//!
//! The resource is the one the last request named: its kind is the kind of the operation sent,
//! its identifiers are those of the input sent.

use cucumber::gherkin::Step;
use cucumber::{then, when};
use serde_json::{Value, json};

use crate::checks::{CheckFailure, CheckId, Meta, Severity};
use crate::exchange::Exchange;
use crate::model::provenance::source;
use crate::model::resources::ResourceKind;
use crate::suite::ConformanceWorld;

/// The kind of the last operation sent and the resource of its answer (the answer's payload).
fn answered(world: &ConformanceWorld) -> (ResourceKind, Value) {
    let operation = &world.sent_operation;
    let kind = world.client().model().resource_of(operation).unwrap_or_else(|| {
        panic!("{operation} acts on no resource kind: a lifecycle step follows a resource operation")
    });
    (kind, world.last().json().unwrap_or_default())
}

fn failure(
    id: CheckId,
    path: &str,
    rule: &str,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> CheckFailure {
    CheckFailure::new(id, Severity::Must, source::API_REFERENCE, path, rule, expected, actual)
}

/// What a target did on a point the documentation leaves open: reported at INFO, never a failure.
fn open_point(world: &mut ConformanceWorld, step: &Step, mut found: CheckFailure, exchange: Option<&Exchange>) {
    found.severity = Severity::Info;
    found.rule = format!("open: {}", found.rule);
    world.inform(&step.value, vec![found], exchange);
}

fn shown(value: &Value) -> String {
    if value.is_null() { "absent".to_string() } else { value.to_string() }
}

#[then(expr = "its version is {int}")]
async fn its_version_is(world: &mut ConformanceWorld, step: &Step, expected: i64) {
    let (kind, data) = answered(world);
    let actual = &data["metadata"]["version"];
    let failures = if actual.as_i64() == Some(expected) {
        vec![]
    } else {
        let rule = format!("a {} starts at version 1 and each update adds 1", kind.noun);
        vec![failure(CheckId::Metadata(Meta::Version), "metadata.version", &rule, expected.to_string(), shown(actual))]
    };
    let exchange = world.last().clone();
    world.verdict(&step.value, failures, Some(&exchange));
}

#[then(expr = "its status is {word}")]
async fn its_status_is(world: &mut ConformanceWorld, step: &Step, expected: String) {
    let (kind, data) = answered(world);
    let actual = &data["status"]["status"];
    let failures = if actual.as_str() == Some(expected.as_str()) {
        vec![]
    } else {
        let rule = format!("a live {0} is ACTIVE; a deleted {0} is answered DELETED", kind.noun);
        vec![failure(CheckId::Status, "status.status", &rule, expected, shown(actual))]
    };
    let exchange = world.last().clone();
    world.verdict(&step.value, failures, Some(&exchange));
}

/// The ARN ends with each parent's segment and name, then the resource's own
/// (`mesh/m/virtualGateway/g/gatewayRoute/x`), in the target's region.
#[then("its ARN names it and its parents")]
async fn its_arn_names_it(world: &mut ConformanceWorld, step: &Step) {
    let (kind, data) = answered(world);
    let region = world.client().config().region.clone();
    let failures = crate::checks::check_arn_names(&kind, &data, &region).into_iter().collect();
    let exchange = world.last().clone();
    world.verdict(&step.value, failures, Some(&exchange));
}

/// Against the answer before it about the same resource: `createdAt`, `uid` and `arn` kept,
/// `lastUpdatedAt` not earlier.
#[then("it kept its identity and lastUpdatedAt did not go back")]
async fn it_kept_its_identity(world: &mut ConformanceWorld, step: &Step) {
    let (kind, data) = answered(world);
    let same = |other: &Value| kind.identifiers().iter().all(|id| other[id] == data[id]);
    let earlier = world.seen.iter().rev().skip(1).find(|other| same(other)).cloned();
    let Some(before) = earlier else {
        return world.unjudged(&step.value, format!("no earlier answer about this {} to compare with", kind.noun));
    };
    let rule = format!("a {} keeps its createdAt, uid and ARN for its whole life", kind.noun);
    let mut failures = Vec::new();
    for meta in [Meta::CreatedAt, Meta::Uid, Meta::Arn] {
        let (was, now) = (&before["metadata"][meta.member()], &data["metadata"][meta.member()]);
        if was != now {
            failures.push(failure(CheckId::Metadata(meta), &meta.path(), &rule, shown(was), shown(now)));
        }
    }
    let (was, now) = (&before["metadata"]["lastUpdatedAt"], &data["metadata"]["lastUpdatedAt"]);
    if !matches!((was.as_f64(), now.as_f64()), (Some(was), Some(now)) if now >= was) {
        let rule = "lastUpdatedAt moves to the time of each change";
        failures.push(failure(
            CheckId::Metadata(Meta::LastUpdatedAt),
            "metadata.lastUpdatedAt",
            rule,
            format!("not before {}", shown(was)),
            shown(now),
        ));
    }
    let exchange = world.last().clone();
    world.verdict(&step.value, failures, Some(&exchange));
}

/// The kind's List operation under the same parents has exactly one entry for the resource of the
/// last answer, agreeing with it.
#[then("its list entry agrees with it")]
async fn its_list_entry_agrees(world: &mut ConformanceWorld, step: &Step) {
    let (kind, data) = answered(world);
    world.list_agrees(&step.value, &kind, &data).await;
}

/// After a delete: Describe answers 404. Two things the documentation leaves open are reported
/// as information, never a failure: a Describe that answers the record with status DELETED
/// (Terraform and the controller check for it), and a List that still shows the resource right
/// after its delete.
#[then("it is gone")]
async fn it_is_gone(world: &mut ConformanceWorld, step: &Step) {
    let (kind, _) = answered(world);
    let sent = world.sent.clone().unwrap_or_default();
    let entries = world.list_entries(&step.value, &kind, &sent).await;
    let name = &sent[&kind.name_member];
    let listed = entries.iter().filter(|entry| &entry[&kind.name_member] == name).count();
    if listed > 0 {
        let rule = format!("whether a deleted {} leaves its List at once", kind.noun);
        let path = kind.list_member.clone().unwrap_or_default();
        let found = failure(
            CheckId::LifecycleGone,
            &path,
            &rule,
            "no entry (the emulator's choice)",
            format!("{listed} entries named {name}"),
        );
        open_point(world, step, found, None);
    }
    let input = Value::Object(kind.identifiers().iter().map(|id| (id.clone(), sent[id].clone())).collect());
    let exchange = world.call(&step.value, &kind.describe, &input).await;
    let status = exchange.json().map(|body| body["status"]["status"].clone()).unwrap_or_default();
    match exchange.status() {
        404 => {
            let failures = crate::checks::check_error(world.client().model(), &exchange, "NotFoundException");
            world.verdict(&step.value, failures, Some(&exchange));
        }
        200 if status == "DELETED" => {
            let rule = format!("after a delete, {} answers 404 or the record with status DELETED", kind.describe);
            let expected = "404 NotFoundException (the emulator's choice)";
            let found = failure(CheckId::LifecycleGone, "status.status", &rule, expected, "200 with status DELETED");
            open_point(world, step, found, Some(&exchange));
        }
        other => {
            let rule =
                format!("after a delete, {} answers 404 NotFoundException (or the DELETED record)", kind.describe);
            let found = failure(
                CheckId::LifecycleGone,
                "",
                &rule,
                "404, or 200 with status DELETED",
                format!("{other} {}", shown(&status)),
            );
            world.verdict(&step.value, vec![found], Some(&exchange));
        }
    }
}

/// TagResource on the resource of the last answer with `count` keys it does not have yet.
#[when(expr = "I tag it with {int} new tag(s)")]
async fn tag_it(world: &mut ConformanceWorld, step: &Step, count: usize) {
    let data = world.seen.last().cloned().expect("an earlier step answered a resource");
    let tags: Vec<Value> =
        (0..count).map(|_| json!({ "key": format!("k-{}", world.ctx.fresh_token()), "value": "v" })).collect();
    let input = json!({ "resourceArn": data["metadata"]["arn"], "tags": tags });
    super::request::send(world, step, "TagResource", input).await;
}

/// After TagResource took a resource past 50 tags in all: TooManyTagsException with the documented
/// shape. Whether TagResource counts the tags a resource already has is left open by the
/// documentation (no request alone can carry more than 50), so an acceptance is reported as
/// information, never a failure.
#[then("tags past 50 on the resource are TooManyTagsException, where the target counts them")]
async fn tags_past_fifty(world: &mut ConformanceWorld, step: &Step) {
    let exchange = world.last().clone();
    if exchange.status() == 200 {
        let rule = "whether TagResource counts the tags a resource already has toward its 50";
        let expected = "400 TooManyTagsException (the emulator's choice)";
        let found = failure(CheckId::TagsListed, "tags", rule, expected, "200: the tags were added");
        return open_point(world, step, found, Some(&exchange));
    }
    world.ctx.provoke_error("TagResource", "TooManyTagsException");
    let failures = crate::checks::check_error(world.client().model(), &exchange, "TooManyTagsException");
    world.verdict(&step.value, failures, Some(&exchange));
}

/// ListTagsForResource of the resource of the last answer holds exactly these keys (a table
/// of `key` and `value`), every page read.
#[then("its tags are:")]
async fn its_tags_are(world: &mut ConformanceWorld, step: &Step) {
    let data = world.seen.last().cloned().expect("an earlier step answered a resource");
    let arn = data["metadata"]["arn"].clone();
    let table = step.table.as_ref().expect("this step takes a table of key and value");
    let expected: Vec<(String, String)> =
        table.rows.iter().skip(1).map(|row| (row[0].clone(), row.get(1).cloned().unwrap_or_default())).collect();
    let tags = world.all_pages(&step.value, "ListTagsForResource", json!({ "resourceArn": arn }), "tags").await;
    let run_tag = crate::cleanup::TAG_KEY;
    let mut actual: Vec<(String, String)> = tags
        .iter()
        .map(|t| {
            (t["key"].as_str().unwrap_or_default().to_string(), t["value"].as_str().unwrap_or_default().to_string())
        })
        .filter(|(key, _)| key != run_tag)
        .collect();
    let mut expected = expected;
    actual.sort();
    expected.sort();
    if actual != expected {
        let show =
            |tags: &[(String, String)]| tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
        let found = failure(
            CheckId::TagsListed,
            "tags",
            "TagResource adds or replaces the keys it names, UntagResource removes them, the rest stay",
            show(&expected),
            show(&actual),
        );
        world.verdict(&step.value, vec![found], None);
    }
}
