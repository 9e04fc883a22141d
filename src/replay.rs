//! `replay`: a cassette's requests sent again, freshly signed, to a target, in the recorded order
//! (requests that followed one another still do, requests that raced race again: [`Races`]), and
//! each answer compared with the recorded one (the normalisers of [`crate::compare`]) and judged
//! against the model ([`crate::judge`]). A difference a race can explain is information.
//!
//! A replay makes its own names: the recorded run id becomes a fresh one (of the same length, so
//! length bounds still hold), and what the target answered differently from the recording (a uid,
//! an ARN in another account, a page token) is learned as it comes and put into later requests in
//! place of the recorded value. A request sent with a deliberately wrong signature is sent with the
//! same kind of wrong signature again. What the replay created is removed afterwards, by its run
//! id, like any run's.

use std::collections::HashMap;

use serde_json::Value;

use crate::cassette::{Cassette, Entry};
use crate::checks::CheckFailure;
use crate::cleanup::{self, SweepOptions};
use crate::client::{Client, RetryMode, Tamper};
use crate::compare::{Difference, Normalizer, differences};
use crate::exchange::Exchange;
use crate::judge::Judge;
use crate::races::Races;
use crate::report::traffic::Judged;
use crate::wire::HttpRequest;

/// Request headers a replay does not send as recorded: the client sets them (host, length) or
/// signs them afresh.
const NOT_REPLAYED: [&str; 8] = [
    "host",
    "content-length",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "user-agent",
    "accept-encoding",
];

/// Answer members whose values are the target's own, learned for later requests.
fn learned_member(key: &str) -> bool {
    matches!(key, "uid" | "arn" | "nextToken" | "meshOwner" | "resourceOwner") || key.ends_with("Arn")
}

/// Racers of one request with different bodies whose outcomes came out the other way round: what
/// the recorded winner sent and what the winner now sent differ, and answers that echo the
/// winner (a later read of the resource it made) differ the same way, by the race alone.
#[derive(Debug, Default)]
pub(crate) struct Swaps {
    /// Where each swap was (the recorded winner), and how the body of the request now answered as
    /// it was differs from its own.
    sent: Vec<(usize, Difference)>,
}

impl Swaps {
    /// The swaps among `entries` by `partners` ([`Races::partners`]); `text` normalises a
    /// recorded body as the answers are.
    pub(crate) fn of(entries: &[Entry], partners: &[usize], text: impl Fn(&str) -> String) -> Swaps {
        let body = |i: usize| serde_json::from_str::<Value>(&text(&entries[i].exchange.request.body)).ok();
        let mut sent = Vec::new();
        for (i, &k) in partners.iter().enumerate().filter(|(i, k)| i != *k) {
            if let (Some(recorded), Some(now)) = (body(k), body(i)) {
                sent.extend(crate::compare::value_differences(&recorded, &now).into_iter().map(|d| (k, d)));
            }
        }
        Swaps { sent }
    }

    /// Whether `difference`, in the answer to entry `at`, is one of those: the same member and
    /// values, in an answer from the race on that can touch what the racers made.
    pub(crate) fn explain(&self, races: &Races, at: usize, difference: &Difference) -> bool {
        self.sent.iter().any(|(swap, sent)| {
            at >= *swap
                && races.related(at, *swap)
                && difference.path.strip_suffix(sent.path.as_str()).is_some_and(|at| at.is_empty() || at.ends_with('.'))
                && difference.a == sent.a
                && difference.b == sent.b
        })
    }
}

/// One entry replayed.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub recorded: Entry,
    /// The answer now, or why none came.
    pub live: Result<Exchange, String>,
    /// How the answer differs from the recorded one.
    pub differences: Vec<Difference>,
    /// The judge's failed checks on the recorded answer and on the answer now.
    pub failed_then: Vec<CheckFailure>,
    pub findings_now: Vec<CheckFailure>,
    pub unjudged_now: Vec<String>,
    pub operation: Option<String>,
    pub kind: Option<String>,
    /// Differences in an answer whose request raced with another on the same resources in the
    /// recording: they may come of which went first, so they are information, not failures.
    pub raced_differences: Vec<Difference>,
    /// The recorded answer this one was compared with when not its own: among racers of one
    /// request whose outcomes came out the other way round, the seq of the one with this outcome.
    pub compared_with: Option<u64>,
}

/// What became of one request while the replay ran.
#[derive(Debug, Clone, Default)]
struct Sent {
    operation: Option<String>,
    /// The answer, or why none came; none before it was sent.
    live: Option<Result<Exchange, String>>,
    findings: Vec<CheckFailure>,
    unjudged: Vec<String>,
}

impl Sent {
    /// The answer to `entry`'s request came: values learned for later requests, and judged (in the
    /// order answers come, as the judge follows state).
    fn answered(
        &mut self,
        entry: &Entry,
        answer: Result<Exchange, String>,
        substitutions: &mut Substitutions,
        judge: &mut Judge,
    ) {
        if let Ok(live) = &answer {
            if let (Some(a), Some(b)) = (entry.exchange.json(), live.json()) {
                substitutions.learn_from("", &a, &b);
            }
            let verdict = judge.judge(live);
            self.findings = verdict.findings;
            self.unjudged = verdict.unjudged;
        }
        self.live = Some(answer);
    }
}

impl Replayed {
    fn new(recorded: &Entry) -> Replayed {
        Replayed {
            recorded: recorded.clone(),
            live: Err(String::new()),
            differences: Vec::new(),
            failed_then: Vec::new(),
            findings_now: Vec::new(),
            unjudged_now: Vec::new(),
            operation: None,
            kind: None,
            raced_differences: Vec::new(),
            compared_with: None,
        }
    }

    /// For an entry whose recorded answer failed a check: whether it passes now.
    pub fn fixed(&self) -> Option<bool> {
        if self.failed_then.is_empty() {
            return None;
        }
        let failing_now = self.findings_now.iter().any(|f| f.severity != crate::checks::Severity::Info);
        Some(self.live.is_ok() && !failing_now)
    }
}

/// A whole replay.
#[derive(Debug, Clone)]
pub struct Replay {
    pub run_id: String,
    pub entries: Vec<Replayed>,
    /// What the replay created and could not remove.
    pub left: Vec<String>,
}

impl Replay {
    pub fn differing(&self) -> usize {
        self.entries.iter().filter(|e| !e.differences.is_empty() || e.live.is_err()).count()
    }

    /// The entries as judged traffic for the reports: the judge's findings on each answer, and
    /// its differences from the recorded answer as failed `diff.*` checks.
    pub fn judged(&self) -> Vec<Judged> {
        self.entries
            .iter()
            .filter_map(|entry| {
                let live = entry.live.as_ref().ok()?;
                let operation = entry.operation.clone().unwrap_or_else(|| "(no operation)".to_string());
                let mut findings = entry.findings_now.clone();
                findings.extend(entry.differences.iter().map(|d| d.failure(&operation)));
                findings.extend(entry.raced_differences.iter().map(|d| d.raced(&operation)));
                Some(Judged {
                    seq: entry.recorded.seq,
                    exchange: live.clone(),
                    operation: entry.operation.clone(),
                    kind: entry.kind.clone(),
                    findings,
                    unjudged: entry.unjudged_now.clone(),
                    step: "the answer conforms to the model and agrees with the recorded one".to_string(),
                })
            })
            .collect()
    }
}

/// The feature name replayed exchanges are reported under.
pub const REPLAY_FEATURE: &str = "A cassette replayed, each answer compared with the recorded one";

/// The report of a replay.
pub fn report(
    replay: &Replay,
    cassette: &Cassette,
    target: &crate::target::ConnectedTarget,
    started: std::time::SystemTime,
    took: std::time::Duration,
) -> crate::report::Report {
    let config = target.client.config();
    let description = format!("replay of a cassette ({}) against {}", cassette.header.source, target.describe());
    let info = crate::report::TargetInfo::of_traffic(
        description,
        config.endpoint.clone(),
        config.region.clone(),
        target.emulator.is_some(),
    );
    let traffic = crate::report::traffic::Traffic {
        label: "replay",
        run_id: Some(replay.run_id.clone()),
        feature: REPLAY_FEATURE,
        target: info,
        started,
        took,
        latency: target.client.latency(),
        requests: target.client.requests(),
    };
    crate::report::traffic::report(traffic, &replay.judged())
}

/// The feature name a cassette's recorded exchanges are reported under by `judge`.
pub const RECORDED_FEATURE: &str = "Recorded exchanges, judged against the model";

/// The recorded exchanges of `cassette`, judged in order as they were recorded, sending nothing.
pub fn judged_recorded(cassette: &Cassette) -> Vec<Judged> {
    let model = std::sync::Arc::new(crate::model::ServiceModel::embedded());
    let mut judge = Judge::new(model, cassette.header.region.clone()).recorded_at(cassette.header.recorded_at);
    cassette
        .entries
        .iter()
        .map(|entry| {
            let verdict = judge.judge(&entry.exchange);
            Judged {
                seq: entry.seq,
                exchange: entry.exchange.clone(),
                operation: verdict.operation,
                kind: verdict.kind,
                findings: verdict.findings,
                unjudged: verdict.unjudged,
                step: "the recorded exchange conforms to the model".to_string(),
            }
        })
        .collect()
}

/// The report of a cassette's recorded exchanges, judged.
pub fn judge_recorded(cassette: &Cassette, path: &std::path::Path) -> crate::report::Report {
    let url = cassette.entries.first().map(|e| e.exchange.request.url.clone()).unwrap_or_default();
    let endpoint = url::Url::parse(&url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let description = format!("the recorded exchanges of {} ({})", path.display(), cassette.header.source);
    let judged = judged_recorded(cassette);
    let traffic = crate::report::traffic::Traffic {
        label: "judge",
        run_id: None,
        feature: RECORDED_FEATURE,
        target: crate::report::TargetInfo::of_traffic(description, endpoint, cassette.header.region.clone(), false),
        started: std::time::UNIX_EPOCH + std::time::Duration::from_secs(cassette.header.recorded_at),
        took: std::time::Duration::ZERO,
        latency: Default::default(),
        requests: judged.len() as u64,
    };
    crate::report::traffic::report(traffic, &judged)
}

/// The values a replay puts in place of recorded ones: the run id wherever it appears (names carry
/// it), and learned values (a uid, an ARN, an account, a page token) where a whole path segment,
/// query value or JSON string is one.
#[derive(Debug, Default)]
struct Substitutions {
    run: Option<(String, String)>,
    values: HashMap<String, String>,
}

impl Substitutions {
    fn learn(&mut self, recorded: &str, live: &str) {
        if recorded == live || recorded.len() < 4 {
            return;
        }
        self.values.insert(recorded.to_string(), live.to_string());
        // An ARN in another account: the account alone travels too (meshOwner).
        let (a, b): (Vec<&str>, Vec<&str>) = (recorded.split(':').collect(), live.split(':').collect());
        if a.len() > 5 && b.len() > 5 && a[0] == "arn" && a[4] != b[4] && a[4].len() == 12 {
            self.values.insert(a[4].to_string(), b[4].to_string());
        }
    }

    /// Learns from the recorded and the live answer, member by member.
    fn learn_from(&mut self, key: &str, recorded: &Value, live: &Value) {
        match (recorded, live) {
            (Value::String(a), Value::String(b)) if learned_member(key) => {
                let a = self.with_run(a);
                self.learn(&a, b);
            }
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in a {
                    if let Some(w) = b.get(k) {
                        self.learn_from(k, v, w);
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                for (v, w) in a.iter().zip(b) {
                    self.learn_from(key, v, w);
                }
            }
            _ => {}
        }
    }

    fn with_run(&self, text: &str) -> String {
        match &self.run {
            Some((from, to)) if text.contains(from.as_str()) => text.replace(from.as_str(), to),
            _ => text.to_string(),
        }
    }

    fn value(&self, text: &str) -> Option<&String> {
        self.values.get(text)
    }

    /// A path and query with the run id replaced, and each segment or query value that is a
    /// learned value replaced (percent-encoded again).
    fn path_and_query(&self, text: &str) -> String {
        let text = self.with_run(text);
        let swap = |piece: &str| {
            let decoded = percent_encoding::percent_decode_str(piece).decode_utf8_lossy();
            match self.value(&decoded) {
                Some(live) => {
                    percent_encoding::utf8_percent_encode(live, percent_encoding::NON_ALPHANUMERIC).to_string()
                }
                None => piece.to_string(),
            }
        };
        let (path, query) = text.split_once('?').map_or((text.as_str(), None), |(p, q)| (p, Some(q)));
        let path = path.split('/').map(swap).collect::<Vec<_>>().join("/");
        match query {
            None => path,
            Some(query) => {
                let pairs: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((name, value)) => format!("{name}={}", swap(value)),
                        None => pair.to_string(),
                    })
                    .collect();
                format!("{path}?{}", pairs.join("&"))
            }
        }
    }

    /// A body with the run id replaced, and each JSON string that is a learned value replaced; the
    /// bytes stay as they were where nothing is replaced.
    fn body(&self, text: &str) -> String {
        let text = self.with_run(text);
        if self.values.is_empty() {
            return text;
        }
        let Ok(mut value) = serde_json::from_str::<Value>(&text) else { return text };
        if self.swap_strings(&mut value) { value.to_string() } else { text }
    }

    fn swap_strings(&self, value: &mut Value) -> bool {
        match value {
            Value::String(text) => match self.value(text) {
                Some(live) => {
                    *text = live.clone();
                    true
                }
                None => false,
            },
            Value::Array(items) => {
                let mut changed = false;
                for item in items {
                    changed |= self.swap_strings(item);
                }
                changed
            }
            Value::Object(object) => {
                let mut changed = false;
                for item in object.values_mut() {
                    changed |= self.swap_strings(item);
                }
                changed
            }
            _ => false,
        }
    }
}

/// The request of a recorded entry, as it goes out again.
fn request_of(entry: &Entry, substitutions: &Substitutions) -> HttpRequest {
    let recorded = &entry.exchange.request;
    let path_and_query = match url::Url::parse(&recorded.url) {
        Ok(url) => url[url::Position::BeforePath..].to_string(),
        Err(_) => recorded.url.clone(),
    };
    HttpRequest {
        method: recorded.method.clone(),
        path_and_query: substitutions.path_and_query(&path_and_query),
        headers: recorded
            .headers
            .iter()
            .filter(|(name, _)| !NOT_REPLAYED.contains(&name.to_ascii_lowercase().as_str()))
            .map(|(name, value)| (name.clone(), substitutions.with_run(value)))
            .collect(),
        body: substitutions.body(&recorded.body).into_bytes(),
    }
}

/// At most this many requests of a replay are in flight at once, whatever the recording had.
pub const MAX_IN_FLIGHT: usize = 256;

/// Replays `cassette` against the target of `client` under the fresh `run_id`, then removes what
/// the replay made. Requests go out as they went in the recording ([`Races`]): each after every
/// request answered before it was sent, and those that overlapped together.
pub async fn replay(client: &Client, cassette: &Cassette, run_id: &str) -> Replay {
    use futures::StreamExt as _;
    let model = std::sync::Arc::new(client.model().clone());
    let run = cassette.header.run_id.clone().map(|recorded| (recorded, run_id.to_string()));
    let mut substitutions = Substitutions { run, ..Substitutions::default() };
    let entries = &cassette.entries;
    let races = Races::of(entries);
    let mut judge_now = Judge::new(model.clone(), client.config().region.clone());
    let mut sent: Vec<Sent> = vec![Sent::default(); entries.len()];
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut flying: Vec<usize> = Vec::new();
    for &i in races.sending_order() {
        while flying.len() >= MAX_IN_FLIGHT || flying.iter().any(|&j| races.must_wait(i, j)) {
            let next: Option<(usize, Result<Exchange, String>)> = in_flight.next().await;
            let Some((j, answer)) = next else { break };
            flying.retain(|&k| k != j);
            sent[j].answered(&entries[j], answer, &mut substitutions, &mut judge_now);
        }
        let entry = &entries[i];
        let request = request_of(entry, &substitutions);
        let path = request.path_and_query.split('?').next().unwrap_or_default();
        let operation = crate::wire::route(client.model(), &request.method, path).map(|(op, _)| op.name.clone());
        sent[i].operation = operation.clone();
        let tamper = entry.tamper.as_deref().and_then(Tamper::from_name);
        in_flight.push(async move {
            let answer = match tamper {
                Some(tamper) => client.send_tampered(operation.as_deref(), &request, tamper).await,
                None => client.send(operation.as_deref(), &request, RetryMode::Standard).await,
            };
            (i, answer.map_err(|error| error.to_string()))
        });
        flying.push(i);
    }
    while let Some((j, answer)) = in_flight.next().await {
        sent[j].answered(&entries[j], answer, &mut substitutions, &mut judge_now);
    }

    // Each answer compared with its recorded one (or, among racers that swapped outcomes, with
    // the recorded answer of its outcome), both sides normalised in the recorded order.
    let recorded_outcome = |k: usize| (entries[k].exchange.status(), entries[k].exchange.error_code());
    let live_outcome = |i: usize| sent[i].live.as_ref()?.as_ref().ok().map(|e| (e.status(), e.error_code()));
    let partners = races.partners(recorded_outcome, live_outcome);
    let stands_for = crate::races::inverse(&partners);
    let recorded_runs = cassette.header.run_id.clone().into_iter();
    let (mut then, mut now) = (Normalizer::new(recorded_runs), Normalizer::new([run_id.to_string()]));
    let swaps = Swaps::of(entries, &partners, |body| then.text(body));
    let mut judge_then = Judge::new(model, cassette.header.region.clone()).recorded_at(cassette.header.recorded_at);
    let mut replayed: Vec<Option<Replayed>> = vec![None; entries.len()];
    for (k, entry) in entries.iter().enumerate() {
        let verdict_then = judge_then.judge(&entry.exchange);
        let recorded_answer = then.answer(&entry.exchange);
        let i = stands_for[k];
        let differences = match sent[i].live.as_ref() {
            Some(Ok(live)) => differences(&recorded_answer, &now.answer(live)),
            _ => Vec::new(),
        };
        let (raced_differences, differences) =
            differences.into_iter().partition(|d| races.raced(i) || swaps.explain(&races, k, d));
        let own = replayed[k].get_or_insert_with(|| Replayed::new(entry));
        own.failed_then = verdict_then.failures().cloned().collect();
        own.kind = verdict_then.kind.clone();
        own.operation = verdict_then.operation.clone();
        let other = replayed[i].get_or_insert_with(|| Replayed::new(&entries[i]));
        other.differences = differences;
        other.raced_differences = raced_differences;
        other.compared_with = (i != k).then_some(entry.seq);
    }
    let mut entries: Vec<Replayed> = replayed.into_iter().map(|r| r.expect("every entry replayed")).collect();
    for (entry, sent) in entries.iter_mut().zip(sent) {
        entry.operation = entry.operation.take().or(sent.operation);
        entry.findings_now = sent.findings;
        entry.unjudged_now = sent.unjudged;
        entry.live = sent.live.unwrap_or_else(|| Err("not sent".to_string()));
    }
    // What the replay made: under its own run id, every mesh named by it; otherwise (a cassette
    // of another client's traffic, with names of its own) what the replay saw created and not
    // deleted, deepest first.
    let recorded_answers = entries
        .iter()
        .filter_map(|e| e.live.as_ref().ok())
        .any(|live| live.response_header(crate::emulator::recorded::RECORDED_AT_HEADER).is_some());
    let left = match &cassette.header.run_id {
        // A target that answers from a cassette holds nothing.
        _ if recorded_answers => Vec::new(),
        Some(_) => sweep(client, run_id).await,
        None => remove_created(client, &judge_now).await,
    };
    Replay { run_id: run_id.to_string(), entries, left }
}

/// Deletes what `judge` saw created and not deleted; what could not be deleted.
async fn remove_created(client: &Client, judge: &Judge) -> Vec<String> {
    let cleaner = client.with_fresh_budget(SWEEP_BUDGET);
    let mut left = Vec::new();
    for (kind_name, data) in judge.created_and_live() {
        let Some(kind) = client.model().resource_kinds().iter().find(|k| k.name == kind_name).cloned() else {
            continue;
        };
        let Some(delete) = &kind.delete else { continue };
        let input: serde_json::Map<String, Value> =
            kind.identifiers().into_iter().map(|id| (id.clone(), data[&id].clone())).collect();
        let what = format!(
            "{} {}",
            kind.noun,
            kind.identifiers().iter().map(|id| data[id].as_str().unwrap_or_default()).collect::<Vec<_>>().join("/")
        );
        match cleanup::call_persistently(&cleaner, delete, &Value::Object(input)).await {
            Ok(exchange) if exchange.status() < 300 || exchange.status() == 404 => {}
            Ok(exchange) => left.push(format!("{what}: {delete} answered {}", exchange.status())),
            Err(error) => left.push(format!("{what}: {error}")),
        }
    }
    left
}

/// How long the clean-up after a replay may take.
pub const SWEEP_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// Removes every mesh named by `run_id` (with what it holds); what could not be removed.
pub async fn sweep(client: &Client, run_id: &str) -> Vec<String> {
    let cleaner = client.with_fresh_budget(SWEEP_BUDGET);
    let options = SweepOptions { run_id: Some(run_id), known: Vec::new(), dry_run: false };
    match cleanup::sweep(&cleaner, options).await {
        Ok(sweep) => sweep.problems.iter().map(ToString::to_string).collect(),
        Err(error) => vec![format!("the meshes of {run_id} could not be listed: {error}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swapped_race_explains_the_winners_echo_and_nothing_else() {
        let entry = |method: &str, mesh: &str, port: u16| {
            let path = format!("/v20190125/meshes/acf-6743a1b2-aaaa-{mesh}/virtualNodes");
            let mut exchange = Exchange::fixture(method, &path, 200, "{}");
            exchange.request.body = format!(r#"{{"virtualNodeName":"acf-6743a1b2-aaaa-n","spec":{{"port":{port}}}}}"#);
            Entry { seq: 1, exchange, tamper: None, timing: None }
        };
        // A read before the race, the two racers, a read of the same mesh after, one of another.
        let entries = [entry("GET", "m", 0), entry("PUT", "m", 9000), entry("PUT", "m", 9003), entry("GET", "m", 0)];
        let entries = [&entries[..], &[entry("GET", "other", 0)]].concat();
        let races = Races::of(&entries);
        let normalizer = Normalizer::new(["acf-6743a1b2-aaaa".to_string()]);
        let difference = |path: &str, a: &str, b: &str| Difference {
            kind: crate::compare::DiffKind::Value,
            path: path.into(),
            a: a.into(),
            b: b.into(),
        };
        let swaps = Swaps::of(&entries, &[0, 2, 1, 3, 4], |body| normalizer.text(body));
        let port = difference("spec.port", "9000", "9003");
        assert!(swaps.explain(&races, 3, &port));
        assert!(swaps.explain(&races, 1, &port), "the racer itself");
        assert!(swaps.explain(&races, 3, &difference("virtualNode.spec.port", "9003", "9000")));
        assert!(!swaps.explain(&races, 0, &port), "before the race");
        assert!(!swaps.explain(&races, 4, &port), "another mesh");
        assert!(!swaps.explain(&races, 3, &difference("spec.port", "9000", "9001")), "another value");
        assert!(!swaps.explain(&races, 3, &difference("spec.weight", "9000", "9003")), "another member");
        // Racers that kept their outcomes explain nothing.
        let kept = Swaps::of(&entries, &[0, 1, 2, 3, 4], |body| body.to_string());
        assert!(!kept.explain(&races, 3, &port));
    }

    #[test]
    fn learned_values_replace_recorded_ones_plain_and_encoded() {
        let mut substitutions =
            Substitutions { run: Some(("acf-6743a1b2-aaaa".into(), "acf-6743a1b9-bbbb".into())), ..Default::default() };
        substitutions.learn_from(
            "",
            &serde_json::json!({"metadata": {"arn": "arn:aws:appmesh:us-east-1:111122223333:mesh/acf-6743a1b2-aaaa-m"}}),
            &serde_json::json!({"metadata": {"arn": "arn:aws:appmesh:us-east-1:123456789012:mesh/acf-6743a1b9-bbbb-m"}}),
        );
        let query =
            "/v20190125/tags?resourceArn=arn%3Aaws%3Aappmesh%3Aus-east-1%3A111122223333%3Amesh%2Facf-6743a1b2-aaaa-m";
        assert_eq!(
            substitutions.path_and_query(query),
            "/v20190125/tags?resourceArn=arn%3Aaws%3Aappmesh%3Aus%2Deast%2D1%3A123456789012%3Amesh%2Facf%2D6743a1b9%2Dbbbb%2Dm"
        );
        assert_eq!(
            substitutions.path_and_query("/v20190125/meshes/acf-6743a1b2-aaaa-m?meshOwner=111122223333"),
            "/v20190125/meshes/acf-6743a1b9-bbbb-m?meshOwner=123456789012"
        );
        assert_eq!(substitutions.body("{\"meshOwner\":\"111122223333\"}"), "{\"meshOwner\":\"123456789012\"}");
        // What is not learned stays byte for byte.
        assert_eq!(substitutions.body("{ \"a\": 1 }"), "{ \"a\": 1 }");
        // Short values are not learned: they would replace too much.
        substitutions.learn("abc", "xyz");
        assert_eq!(substitutions.body("\"abc\""), "\"abc\"");
    }
}
