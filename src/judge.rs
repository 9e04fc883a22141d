//! Judging traffic the harness did not write: any client's exchanges with a target, one after
//! another, as `proxy` sees them and as `replay` re-reads a cassette. Nothing here sends a request.
//!
//! Each exchange is judged against the model: the request's validity (with the readings of every
//! disputed point, so a request only one reading refuses is never held against the target), the
//! success's status, content type and shape, the error's wire shape and its place in the
//! operation's documented error table, and whether a request the model says is invalid was
//! refused. What the judge saw earlier makes the stateful checks: a create answers version 1 and
//! ACTIVE, with an ARN naming it and the sent spec echoed; a replayed client token answers the
//! first resource; a second create of a live name is a conflict; an update moves the version on; a
//! read answers the resource as last seen; a parent with live children cannot be deleted; a child
//! cannot be created under a parent seen deleted; a resource never holds more than 50 tags.
//!
//! The stateful checks assume the judge sees all traffic to the names it judges, as it does for a
//! test's own resources; where another explanation is possible (a resource deleted and made again
//! out of sight), the finding is information, not a failure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::checks::{self, CheckFailure, CheckId, Meta, Severity};
use crate::emulator::readings;
use crate::exchange::Exchange;
use crate::model::provenance::source;
use crate::model::resources::ResourceKind;
use crate::model::{Operation, ServiceModel};
use crate::validate::{Violation, violations};
use crate::wire;

/// The most tags one resource may hold (App Mesh's quota; TagResource past it is
/// TooManyTagsException).
const MAX_TAGS: usize = 50;

/// What the judge found in one exchange.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The model operation the request was, when one routes it.
    pub operation: Option<String>,
    /// The kind of resource it acts on, when it acts on one.
    pub kind: Option<String>,
    /// Failed checks (MUST, SHOULD) and information (INFO), in the order found.
    pub findings: Vec<CheckFailure>,
    /// What could not be judged, and why.
    pub unjudged: Vec<String>,
}

impl Verdict {
    /// The findings that fail the target (not INFO).
    pub fn failures(&self) -> impl Iterator<Item = &CheckFailure> {
        self.findings.iter().filter(|f| f.severity != Severity::Info)
    }

    pub fn failed(&self) -> bool {
        self.failures().next().is_some()
    }
}

/// What the judge knows of one resource it saw answered.
#[derive(Debug, Clone)]
struct Known {
    kind: String,
    /// Its data as last answered.
    data: Value,
    /// The judge saw it created (not only read).
    created: bool,
}

/// Whether a request is invalid by the model, under every reading of the disputed points.
#[derive(Debug, Clone, PartialEq)]
enum Validity {
    Valid,
    /// Invalid whichever reading is followed: the violations of the default reading.
    Invalid(Vec<Violation>),
    /// Invalid by some readings of a disputed point and valid by others.
    Disputed(Vec<Violation>),
    /// The request could not be read as the operation's input at all.
    Unreadable(String),
}

/// The judge of one stream of traffic.
#[derive(Debug)]
pub struct Judge {
    model: Arc<ServiceModel>,
    region: String,
    /// Live resources by key (`VirtualNode mesh/node`).
    live: HashMap<String, Known>,
    /// Resources seen deleted, or answered 404, and not made again since.
    gone: BTreeSet<String>,
    /// Client tokens of successful creates and updates: (operation, token) → (input without the
    /// token, the data answered).
    tokens: HashMap<(String, String), (Value, Value)>,
    /// Tags known per ARN.
    tags: HashMap<String, BTreeMap<String, String>>,
    /// The traffic was recorded before mesh sharing added `meshOwner` and `resourceOwner`.
    before_sharing: bool,
}

/// When mesh sharing added `meshOwner` and `resourceOwner` to every resource's metadata (2020;
/// the 2019 CLI examples and the 2019 CreateVirtualNode page's sample lack them): 2020-01-01 UTC,
/// epoch seconds.
pub const SHARING_ADDED_OWNERS: u64 = 1_577_836_800;

/// The members mesh sharing added.
const OWNER_MEMBERS: [&str; 2] = ["meshOwner", "resourceOwner"];

impl Judge {
    pub fn new(model: Arc<ServiceModel>, region: impl Into<String>) -> Judge {
        Judge {
            model,
            region: region.into(),
            live: HashMap::new(),
            gone: BTreeSet::new(),
            tokens: HashMap::new(),
            tags: HashMap::new(),
            before_sharing: false,
        }
    }

    /// A judge of traffic recorded at `epoch_seconds`: an answer recorded before mesh sharing is
    /// not failed for lacking the owner members sharing added; that is reported as information. An
    /// answer that says it is a recording (`serve --cassette` marks them) is judged by its own date.
    pub fn recorded_at(mut self, epoch_seconds: u64) -> Judge {
        self.before_sharing = epoch_seconds < SHARING_ADDED_OWNERS;
        self
    }

    /// Judges one exchange, then remembers what it showed.
    pub fn judge(&mut self, exchange: &Exchange) -> Verdict {
        let model = self.model.clone();
        let mut verdict = Verdict::default();
        let Ok(url) = url::Url::parse(&exchange.request.url) else {
            verdict.unjudged.push(format!("the request URL {:?} does not parse", exchange.request.url));
            return verdict;
        };
        let Some((op, labels)) = wire::route(&model, &exchange.request.method, url.path()) else {
            verdict.unjudged.push(format!(
                "no operation of the model is {} {}: nothing to judge it by",
                exchange.request.method,
                url.path()
            ));
            return verdict;
        };
        verdict.operation = Some(op.name.clone());
        let kind = model.resource_of(&op.name);
        verdict.kind = kind.as_ref().map(|k| k.name.clone());
        let query = wire::parse_query(url.query().unwrap_or_default());
        let decoded = wire::decode_input(
            &model,
            op,
            &labels,
            &query,
            &exchange.request.headers,
            exchange.request.body.as_bytes(),
        );
        let input = decoded.as_ref().ok().cloned().unwrap_or(Value::Null);
        let validity = match &decoded {
            Err(error) => Validity::Unreadable(error.to_string()),
            Ok(input) => self.validity(op, input),
        };
        let status = exchange.status();
        let success = (200..300).contains(&status);
        match (&validity, success) {
            (Validity::Invalid(found), true) => verdict.findings.push(invalid_accepted(op, found, exchange)),
            (Validity::Unreadable(problem), true) => verdict.findings.push(CheckFailure::new(
                CheckId::HttpStatus,
                Severity::Must,
                source::AWS_RESTJSON1,
                "",
                &format!("a {} request whose body is not the operation's JSON input is refused", op.name),
                "400 BadRequestException",
                format!("{status} for a request that could not be read: {problem}"),
            )),
            (Validity::Disputed(found), true) => {
                let mut info = invalid_accepted(op, found, exchange);
                info.severity = Severity::Info;
                info.rule = format!("open: {} (only some readings of a disputed point refuse it)", info.rule);
                verdict.findings.push(info);
            }
            _ => {}
        }
        let recorded_at = exchange.response_header(crate::emulator::recorded::RECORDED_AT_HEADER);
        let answered_before_sharing =
            recorded_at.and_then(|t| t.parse::<u64>().ok()).is_some_and(|t| t < SHARING_ADDED_OWNERS);
        let before_sharing = self.before_sharing || answered_before_sharing;
        if success {
            let mut shaped = checks::check_success(&model, op, exchange);
            if before_sharing {
                shaped.iter_mut().for_each(owners_added_later);
            }
            // What follows reads the answer's data: it needs the documented status and a JSON
            // body, not a perfect shape (a string timestamp does not hide a missing conflict).
            let readable = !shaped.iter().any(|f| matches!(f.id, CheckId::HttpStatus | CheckId::ShapeJson));
            verdict.findings.extend(shaped);
            if readable && matches!(validity, Validity::Valid) {
                let data = exchange.json().unwrap_or_default();
                self.judge_success(op, kind.as_ref(), &input, &data, exchange, &mut verdict);
            }
        } else if status >= 400 {
            self.judge_error(op, kind.as_ref(), &input, &validity, exchange, &mut verdict);
        } else {
            verdict.unjudged.push(format!("a {status} answer is neither a success nor an error"));
        }
        verdict
    }

    fn validity(&self, op: &Operation, input: &Value) -> Validity {
        let Some(shape) = &op.input else { return Validity::Valid };
        let model = &self.model;
        // The validator's findings once; each reading only adds to them or lifts some.
        let base = violations(model, shape, input);
        let under = |chosen: &BTreeMap<String, String>| {
            let mut found = base.clone();
            readings::apply(model, chosen, op, input, &mut found);
            found
        };
        let default = under(&BTreeMap::new());
        let mut others = Vec::new();
        for dispute in &model.provenance.disputes {
            for reading in &dispute.readings {
                others.push(under(&BTreeMap::from([(dispute.id.clone(), reading.source.clone())])));
            }
        }
        let disputed = |v: &Violation| others.iter().any(|found| !found.iter().any(|o| o.path == v.path));
        let (certain, open): (Vec<Violation>, Vec<Violation>) = default.into_iter().partition(|v| !disputed(v));
        let raised: Vec<Violation> =
            others.into_iter().flatten().filter(|v| !certain.iter().any(|c| c.path == v.path)).collect();
        if !certain.is_empty() {
            Validity::Invalid(certain)
        } else if !open.is_empty() || !raised.is_empty() {
            Validity::Disputed(if open.is_empty() { raised } else { open })
        } else {
            Validity::Valid
        }
    }

    fn judge_success(
        &mut self,
        op: &Operation,
        kind: Option<&ResourceKind>,
        input: &Value,
        data: &Value,
        exchange: &Exchange,
        verdict: &mut Verdict,
    ) {
        if matches!(op.name.as_str(), "TagResource" | "UntagResource" | "ListTagsForResource") {
            self.judge_tags(op, input, data, verdict);
            return;
        }
        let Some(kind) = kind else { return };
        let key = resource_key(kind, input);
        let model = self.model.clone();
        // The body of a create, describe, update or delete is the resource's data itself (the
        // output's payload); a list's is not one resource.
        let payload = op.output.as_deref().and_then(|name| model.structure(name)).is_some_and(|s| s.payload.is_some());
        let resource = if payload { data.clone() } else { Value::Null };
        let is = |operation: &Option<String>| operation.as_deref() == Some(op.name.as_str());
        let token = input.get("clientToken").and_then(Value::as_str).map(str::to_string);
        let without_token = {
            let mut sent = input.clone();
            if let Some(object) = sent.as_object_mut() {
                object.remove("clientToken");
            }
            sent
        };
        // A replayed token, with the same request or another.
        if let Some(token) = &token
            && let Some((first_input, first_data)) = self.tokens.get(&(op.name.clone(), token.clone()))
        {
            if *first_input == without_token {
                verdict.findings.extend(checks::check_replay(first_data, &resource));
            } else {
                verdict.findings.push(CheckFailure::new(
                    CheckId::Replay(Meta::Uid),
                    Severity::Must,
                    source::API_REFERENCE,
                    "clientToken",
                    "a client token reused with a different request is refused with 409 ConflictException",
                    "409 ConflictException",
                    exchange.status().to_string(),
                ));
            }
            return;
        }
        if is(&kind.create) {
            if let Some(known) = self.live.get(&key) {
                let same_uid = known.data["metadata"]["uid"] == resource["metadata"]["uid"];
                let mut found = refusal_missed(
                    &kind.name_member,
                    &format!("a create of a {} whose name is taken is refused with 409 ConflictException", kind.noun),
                    "409 ConflictException",
                    format!("{} (the {} was created earlier in this traffic)", exchange.status(), kind.noun),
                );
                if !same_uid {
                    found.severity = Severity::Info;
                    found.rule = format!("open: {} (unless it was deleted out of the judge's sight)", found.rule);
                }
                verdict.findings.push(found);
            }
            if let Some(parent) = self.parent_gone(kind, input) {
                verdict.findings.push(refusal_missed(
                    "",
                    &format!(
                        "a {} under a parent that does not exist is refused with 404 NotFoundException",
                        kind.noun
                    ),
                    "404 NotFoundException",
                    format!("{} ({parent} was deleted earlier in this traffic)", exchange.status()),
                ));
            }
            verdict.findings.extend(self.created(kind, &resource));
            verdict.findings.extend(checks::check_echo(&model, op, input, &resource));
            self.remember_tags(&resource, input.get("tags"));
        } else if is(&kind.update) {
            if let Some(known) = self.live.get(&key) {
                let (was, now) = (&known.data["metadata"]["version"], &resource["metadata"]["version"]);
                if !matches!((was.as_i64(), now.as_i64()), (Some(was), Some(now)) if now > was) {
                    verdict.findings.push(CheckFailure::new(
                        CheckId::Metadata(Meta::Version),
                        Severity::Must,
                        source::API_REFERENCE,
                        "metadata.version",
                        &format!("each update of a {} adds 1 to its version", kind.noun),
                        format!("more than {was}"),
                        now.to_string(),
                    ));
                }
                verdict.findings.extend(kept_identity(kind, &known.data, &resource));
            }
            verdict.findings.extend(checks::check_echo(&model, op, input, &resource));
        } else if op.name == kind.describe {
            if let Some(known) = self.live.get(&key) {
                let same_life = known.data["metadata"]["createdAt"] == resource["metadata"]["createdAt"];
                for meta in [Meta::Uid, Meta::Arn, Meta::Version] {
                    let (was, now) = (&known.data["metadata"][meta.member()], &resource["metadata"][meta.member()]);
                    // A version may have moved on by an update out of the judge's sight; it never
                    // goes back, and a uid or an ARN never changes in one life.
                    let differs = match meta {
                        Meta::Version => matches!((was.as_i64(), now.as_i64()), (Some(was), Some(now)) if now < was),
                        _ => was != now,
                    };
                    if differs && same_life {
                        verdict.findings.push(CheckFailure::new(
                            CheckId::Readback(op.name.clone()),
                            Severity::Must,
                            source::API_REFERENCE,
                            &meta.path(),
                            &format!(
                                "{} answers the same {} (uid, ARN), never at an older version",
                                op.name, kind.noun
                            ),
                            was.to_string(),
                            now.to_string(),
                        ));
                    }
                }
            }
        } else if is(&kind.delete) {
            let children: Vec<String> = self.children_of(kind, input);
            if let Some(child) = children.first() {
                verdict.findings.push(refusal_missed(
                    "",
                    &format!(
                        "a {} that still holds resources cannot be deleted: 409 ResourceInUseException",
                        kind.noun
                    ),
                    "409 ResourceInUseException",
                    format!("{} ({child} is still there, and {} more)", exchange.status(), children.len() - 1),
                ));
            }
            if resource["status"]["status"] != "DELETED" {
                verdict.findings.push(CheckFailure::new(
                    CheckId::Status,
                    Severity::Must,
                    source::API_REFERENCE,
                    "status.status",
                    &format!("a delete answers the {} with status DELETED", kind.noun),
                    "DELETED",
                    resource["status"]["status"].to_string(),
                ));
            }
            // Its children go with it, as far as the judge can tell: a delete that should have
            // been refused is one failure, not one for every later request about them.
            for child in &children {
                self.live.remove(child);
            }
            self.live.remove(&key);
            self.gone.insert(key.clone());
            if let Some(arn) = resource["metadata"]["arn"].as_str() {
                self.tags.remove(arn);
            }
            self.tokens.retain(|_, (_, data)| resource_key(kind, data) != key);
            return;
        }
        if resource.is_object() && (is(&kind.create) || is(&kind.update) || op.name == kind.describe) {
            if let Some(token) = token {
                self.tokens.insert((op.name.clone(), token), (without_token, resource.clone()));
            }
            self.gone.remove(&key);
            let created = is(&kind.create) || self.live.get(&key).is_some_and(|k| k.created);
            self.live.insert(key, Known { kind: kind.name.clone(), data: resource, created });
        }
    }

    /// A fresh resource's metadata: version 1, ACTIVE, an ARN naming it, lastUpdatedAt not before
    /// createdAt.
    fn created(&self, kind: &ResourceKind, resource: &Value) -> Vec<CheckFailure> {
        let mut found: Vec<CheckFailure> = checks::check_arn_names(kind, resource, &self.region).into_iter().collect();
        let metadata = &resource["metadata"];
        let failure = |id, path: &str, rule: String, expected: &str, actual: &Value| {
            CheckFailure::new(id, Severity::Must, source::API_REFERENCE, path, &rule, expected, actual.to_string())
        };
        if metadata["version"] != 1 {
            let rule = format!("a new {} is at version 1", kind.noun);
            found.push(failure(CheckId::Metadata(Meta::Version), "metadata.version", rule, "1", &metadata["version"]));
        }
        if resource["status"]["status"] != "ACTIVE" {
            let rule = format!("a new {} is ACTIVE", kind.noun);
            found.push(failure(CheckId::Status, "status.status", rule, "\"ACTIVE\"", &resource["status"]["status"]));
        }
        let (created, updated) = (metadata["createdAt"].as_f64(), metadata["lastUpdatedAt"].as_f64());
        if let (Some(created), Some(updated)) = (created, updated)
            && updated < created
        {
            let rule = format!("a {} is last updated no earlier than it was created", kind.noun);
            let expected = format!("at least {created}");
            found.push(failure(
                CheckId::Metadata(Meta::LastUpdatedAt),
                "metadata.lastUpdatedAt",
                rule,
                &expected,
                &metadata["lastUpdatedAt"],
            ));
        }
        found
    }

    fn judge_error(
        &mut self,
        op: &Operation,
        kind: Option<&ResourceKind>,
        input: &Value,
        validity: &Validity,
        exchange: &Exchange,
        verdict: &mut Verdict,
    ) {
        let code = exchange.error_code();
        let status = exchange.status();
        let documented = code.as_deref().is_some_and(|c| op.errors.iter().any(|e| e == c));
        if !documented && status == 403 {
            let rule = "auth errors come from AWS's front door, outside the model's error table";
            let shown = code.clone().unwrap_or_default();
            let mut info =
                CheckFailure::new(CheckId::ErrorStatus, Severity::Info, source::AWS_RESTJSON1, "", rule, "-", shown);
            info.rule = format!("open: {}", info.rule);
            verdict.findings.push(info);
            verdict.findings.extend(checks::check_error_shape(exchange, None));
            return;
        }
        match &code {
            Some(code) if documented => verdict.findings.extend(checks::check_error(&self.model, exchange, code)),
            _ => {
                verdict.findings.push(CheckFailure::new(
                    CheckId::ErrorStatus,
                    Severity::Must,
                    source::SDK_MODEL,
                    "",
                    &format!("{} answers only the errors of its documented error table", op.name),
                    op.errors
                        .iter()
                        .map(|c| format!("{} {c}", self.model.error_status(c).unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    match &code {
                        Some(code) => format!("{status} {code}"),
                        None => format!("{status} without an error code"),
                    },
                ));
                verdict.findings.extend(checks::check_error_shape(exchange, None));
            }
        }
        let bad_request = code.as_deref() == Some("BadRequestException");
        let paged = self.model.page_token(&op.name).is_some_and(|t| !input[&t].is_null());
        if bad_request && *validity == Validity::Valid && !paged {
            verdict.findings.push(CheckFailure::new(
                CheckId::HttpStatus,
                Severity::Must,
                source::SDK_MODEL,
                "",
                &format!("a {} request the model accepts is not refused as malformed", op.name),
                "success, or the documented error of the resources' state (404 NotFoundException, 409 ConflictException, ...)",
                format!("{status} BadRequestException: {}", exchange.json().map(|b| b["message"].to_string()).unwrap_or_default()),
            ));
        }
        if let Some(kind) = kind
            && code.as_deref() == Some("NotFoundException")
            && op.name == kind.describe
        {
            let key = resource_key(kind, input);
            self.live.remove(&key);
            self.gone.insert(key);
        }
    }

    fn judge_tags(&mut self, op: &Operation, input: &Value, data: &Value, verdict: &mut Verdict) {
        let Some(arn) = self.model.arn_member(&op.name).and_then(|m| input[&m].as_str().map(str::to_string)) else {
            return;
        };
        match op.name.as_str() {
            "TagResource" => {
                let tags = self.tags.entry(arn).or_default();
                for tag in input["tags"].as_array().into_iter().flatten() {
                    let key = tag["key"].as_str().unwrap_or_default().to_string();
                    tags.insert(key, tag["value"].as_str().unwrap_or_default().to_string());
                }
                if tags.len() > MAX_TAGS {
                    verdict.findings.push(refusal_missed(
                        "tags",
                        &format!("a resource holds at most {MAX_TAGS} tags; TagResource past them is refused"),
                        "400 TooManyTagsException",
                        format!("200 (the resource now holds {} tags)", tags.len()),
                    ));
                }
            }
            "UntagResource" => {
                if let Some(tags) = self.tags.get_mut(&arn) {
                    for key in input["tagKeys"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                        tags.remove(key);
                    }
                }
            }
            _ if input.get("nextToken").is_none_or(Value::is_null) && data["nextToken"].is_null() => {
                let listed = data["tags"].as_array().into_iter().flatten();
                let tags = listed.map(|t| {
                    (t["key"].as_str().unwrap_or_default().into(), t["value"].as_str().unwrap_or_default().into())
                });
                self.tags.insert(arn, tags.collect());
            }
            _ => {}
        }
    }

    fn remember_tags(&mut self, resource: &Value, sent: Option<&Value>) {
        let Some(arn) = resource["metadata"]["arn"].as_str() else { return };
        let tags = sent.and_then(Value::as_array).into_iter().flatten();
        let tags = tags
            .map(|t| (t["key"].as_str().unwrap_or_default().into(), t["value"].as_str().unwrap_or_default().into()));
        self.tags.insert(arn.to_string(), tags.collect());
    }

    /// The resources the judge saw created and not deleted, as (kind, data), deepest first: the
    /// order they can be deleted in.
    pub fn created_and_live(&self) -> Vec<(String, Value)> {
        let mut found: Vec<(String, Value)> =
            self.live.values().filter(|k| k.created).map(|k| (k.kind.clone(), k.data.clone())).collect();
        let depth =
            |kind: &str| self.model.resource_kinds().iter().find(|k| k.name == kind).map_or(0, |k| k.parents.len());
        found.sort_by_key(|(kind, _)| std::cmp::Reverse(depth(kind)));
        found
    }

    /// A parent of a would-be `kind` resource that the judge saw deleted.
    fn parent_gone(&self, kind: &ResourceKind, input: &Value) -> Option<String> {
        (1..=kind.parents.len()).find_map(|depth| {
            let parent_kind = self.model.resource_named_by(&kind.parents[depth - 1])?;
            let key = resource_key(&parent_kind, input);
            self.gone.contains(&key).then(|| format!("{} {}", parent_kind.noun, input[&parent_kind.name_member]))
        })
    }

    /// The live resources under the one `input` names.
    fn children_of(&self, kind: &ResourceKind, input: &Value) -> Vec<String> {
        let prefix = format!("{}/", path_of(kind, input));
        let mut children: Vec<String> = self
            .live
            .iter()
            .filter(|(key, known)| {
                known.kind != kind.name && key.split_once(' ').is_some_and(|(_, p)| p.starts_with(&prefix))
            })
            .map(|(key, _)| key.clone())
            .collect();
        children.sort();
        children
    }
}

/// `mesh/node` from the identifiers of `kind` in `value` (an input or a resource's data).
fn path_of(kind: &ResourceKind, value: &Value) -> String {
    kind.identifiers().iter().map(|id| value[id].as_str().unwrap_or_default()).collect::<Vec<_>>().join("/")
}

/// `VirtualNode mesh/node`.
fn resource_key(kind: &ResourceKind, value: &Value) -> String {
    format!("{} {}", kind.name, path_of(kind, value))
}

/// A success where App Mesh documents a refusal (a conflict, a missing parent, a resource in use,
/// too many tags): `http.status`, MUST, by the API reference.
fn refusal_missed(path: &str, rule: &str, expected: &str, actual: String) -> CheckFailure {
    CheckFailure::new(CheckId::HttpStatus, Severity::Must, source::API_REFERENCE, path, rule, expected, actual)
}

/// A missing owner member in an answer recorded before mesh sharing added them: information.
fn owners_added_later(finding: &mut CheckFailure) {
    let owner = OWNER_MEMBERS.iter().any(|m| finding.path.ends_with(m));
    if finding.id == CheckId::Shape(crate::validate::Rule::Required) && owner {
        finding.severity = Severity::Info;
        finding.source = source::API_CREATE_VIRTUAL_NODE_2019.to_string();
        finding.rule = format!(
            "open: {} (the answer was recorded before mesh sharing added the owner members in 2020)",
            finding.rule
        );
    }
}

/// A request the model refuses was answered with success.
fn invalid_accepted(op: &Operation, found: &[Violation], exchange: &Exchange) -> CheckFailure {
    let first = &found[0];
    let more = if found.len() > 1 { format!(" (and {} more)", found.len() - 1) } else { String::new() };
    let mut failure = CheckFailure::new(
        CheckId::HttpStatus,
        Severity::Must,
        source::SDK_MODEL,
        &first.path,
        &format!(
            "a {} request that breaks the model ({} rule) is refused with 400 BadRequestException",
            op.name, first.rule
        ),
        format!("400 BadRequestException, because {}: expected {}", first.path, first.expected),
        format!("{} for {}{more}", exchange.status(), first.found),
    );
    failure.hint = first.hint.clone();
    failure
}

/// An update keeps createdAt, uid and ARN, and does not move lastUpdatedAt back.
fn kept_identity(kind: &ResourceKind, before: &Value, after: &Value) -> Vec<CheckFailure> {
    let mut found = Vec::new();
    let rule = format!("a {} keeps its createdAt, uid and ARN for its whole life", kind.noun);
    for meta in [Meta::CreatedAt, Meta::Uid, Meta::Arn] {
        let (was, now) = (&before["metadata"][meta.member()], &after["metadata"][meta.member()]);
        if was != now {
            let failure = CheckFailure::new(
                CheckId::Metadata(meta),
                Severity::Must,
                source::API_REFERENCE,
                &meta.path(),
                &rule,
                was.to_string(),
                now.to_string(),
            );
            found.push(failure);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange(method: &str, path: &str, body: Value, status: u16, answer: Value) -> Exchange {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if status >= 400 {
            headers.push(("x-amzn-errortype".to_string(), answer["__type"].as_str().unwrap_or_default().to_string()));
        }
        let mut exchange = Exchange::fixture(method, path, status, &answer.to_string());
        exchange.request.body = if body.is_null() { String::new() } else { body.to_string() };
        exchange.response.headers = headers;
        exchange
    }

    fn mesh(name: &str, version: i64, status: &str) -> Value {
        json!({
            "meshName": name,
            "metadata": { "arn": format!("arn:aws:appmesh:us-east-1:111122223333:mesh/{name}"), "createdAt": 1.0,
                "lastUpdatedAt": 1.0, "meshOwner": "111122223333", "resourceOwner": "111122223333",
                "uid": "u-1", "version": version },
            "spec": {}, "status": { "status": status } })
    }

    fn ids(verdict: &Verdict) -> Vec<String> {
        verdict.failures().map(|f| format!("{} {}", f.id, f.expected)).collect()
    }

    fn judge() -> Judge {
        Judge::new(Arc::new(ServiceModel::embedded()), "us-east-1")
    }

    #[test]
    fn a_faithful_lifecycle_passes_and_a_slipped_one_fails() {
        let mut judge = judge();
        let create = exchange(
            "PUT",
            "/v20190125/meshes",
            json!({"meshName": "m", "clientToken": "t"}),
            200,
            mesh("m", 1, "ACTIVE"),
        );
        assert_eq!(ids(&judge.judge(&create)), Vec::<String>::new());
        // The same token and request: the first mesh again, fine.
        assert_eq!(ids(&judge.judge(&create)), Vec::<String>::new());
        // Another create of the live name, answered 200 with the same mesh: a conflict missed.
        let again = exchange("PUT", "/v20190125/meshes", json!({"meshName": "m"}), 200, mesh("m", 1, "ACTIVE"));
        assert_eq!(ids(&judge.judge(&again)), vec!["http.status 409 ConflictException"]);
        // An update that leaves the version.
        let update = exchange("PUT", "/v20190125/meshes/m", json!({"spec": {}}), 200, mesh("m", 1, "ACTIVE"));
        assert_eq!(ids(&judge.judge(&update)), vec!["metadata.version more than 1"]);
        let delete = exchange("DELETE", "/v20190125/meshes/m", Value::Null, 200, mesh("m", 1, "DELETED"));
        assert_eq!(ids(&judge.judge(&delete)), Vec::<String>::new());
        // A node under the deleted mesh, accepted.
        let node = json!({"meshName": "m", "virtualNodeName": "n", "spec": {},
            "metadata": {"arn": "arn:aws:appmesh:us-east-1:111122223333:mesh/m/virtualNode/n", "createdAt": 1.0,
                "lastUpdatedAt": 1.0, "meshOwner": "111122223333", "resourceOwner": "111122223333", "uid": "u", "version": 1},
            "status": {"status": "ACTIVE"}});
        let verdict = judge.judge(&exchange(
            "PUT",
            "/v20190125/meshes/m/virtualNodes",
            json!({"virtualNodeName": "n", "spec": {}}),
            200,
            node,
        ));
        assert_eq!(ids(&verdict), vec!["http.status 404 NotFoundException"]);
        assert_eq!(verdict.operation.as_deref(), Some("CreateVirtualNode"));
    }

    #[test]
    fn a_read_may_show_a_later_version_but_never_an_older_one_or_another_uid() {
        let mut judge = judge();
        let create = exchange("PUT", "/v20190125/meshes", json!({"meshName": "m"}), 200, mesh("m", 2, "ACTIVE"));
        judge.judge(&create);
        // Updated out of the judge's sight: a later version is no finding.
        let later = exchange("GET", "/v20190125/meshes/m", Value::Null, 200, mesh("m", 3, "ACTIVE"));
        assert_eq!(ids(&judge.judge(&later)), Vec::<String>::new());
        let older = exchange("GET", "/v20190125/meshes/m", Value::Null, 200, mesh("m", 1, "ACTIVE"));
        assert_eq!(ids(&judge.judge(&older)), vec!["readback.DescribeMesh 3"]);
        let mut other = mesh("m", 3, "ACTIVE");
        other["metadata"]["uid"] = json!("u-2");
        let verdict = judge.judge(&exchange("GET", "/v20190125/meshes/m", Value::Null, 200, other));
        assert_eq!(ids(&verdict), vec!["readback.DescribeMesh \"u-1\""]);
    }

    #[test]
    fn an_invalid_request_must_be_refused_and_an_undocumented_error_is_named() {
        let mut judge = judge();
        let long = "x".repeat(256);
        let accepted = exchange("PUT", "/v20190125/meshes", json!({ "meshName": long }), 200, mesh(&long, 1, "ACTIVE"));
        let verdict = judge.judge(&accepted);
        assert!(
            ids(&verdict).iter().any(|f| f.starts_with("http.status 400 BadRequestException, because meshName")),
            "{verdict:?}"
        );
        let refused = exchange(
            "PUT",
            "/v20190125/meshes",
            json!({ "meshName": long }),
            400,
            json!({"__type": "BadRequestException", "message": "too long"}),
        );
        assert_eq!(ids(&judge.judge(&refused)), Vec::<String>::new());
        let throttled = exchange(
            "GET",
            "/v20190125/meshes",
            Value::Null,
            400,
            json!({"__type": "ThrottlingException", "message": "slow down"}),
        );
        let found = ids(&judge.judge(&throttled));
        assert!(found[0].starts_with("error.status") && found[0].contains("429 TooManyRequestsException"), "{found:?}");
        // A valid request refused as malformed.
        let refused_valid = exchange(
            "PUT",
            "/v20190125/meshes",
            json!({ "meshName": "ok" }),
            400,
            json!({"__type": "BadRequestException", "message": "no"}),
        );
        assert!(ids(&judge.judge(&refused_valid))[0].contains("NotFoundException"));
    }

    #[test]
    fn what_matches_no_operation_is_unjudged_not_passed() {
        let verdict = judge().judge(&exchange("GET", "/nowhere", Value::Null, 404, json!({})));
        assert!(verdict.findings.is_empty());
        assert!(verdict.unjudged[0].contains("no operation of the model is GET /nowhere"));
    }
}
