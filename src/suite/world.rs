//! The cucumber World of one scenario, and the helpers its steps share: sending (with the
//! scenario's deadline and the run's ledger), judging (a failed check fails the step; a finding
//! informs; nothing to judge is recorded), reading back, and the after-hook's clean-up.

use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use cucumber::World;
use serde_json::{Value, json};

use super::context::{SuiteContext, current};
use super::results::{StepFailure, Unjudged};
use crate::checks::{CheckFailure, CheckId};
use crate::client::{Client, ClientError};
use crate::exchange::Exchange;
use crate::model::resources::ResourceKind;

/// A resource a `Given a fresh ...` step made: its kind, the answer to its create, and the
/// tags the create sent.
#[derive(Debug, Clone)]
pub(crate) struct Fresh {
    pub kind: ResourceKind,
    pub data: Value,
    pub tags: Value,
}

/// The scenario state. `Debug` is short and shows no secrets: cucumber prints it on failure.
#[derive(World)]
#[world(init = Self::new)]
pub struct ConformanceWorld {
    pub(crate) ctx: Arc<SuiteContext>,
    /// Meshes this scenario asked for (whatever the answer), removed by the after-hook.
    pub(crate) asked_meshes: Vec<String>,
    /// Resources in those meshes this scenario asked for (kind and identifiers), deleted by the
    /// after-hook before their mesh: one that a List cannot reach (a route whose router does not
    /// exist, on a target that accepted it) would keep the mesh alive.
    pub(crate) asked_resources: Vec<(ResourceKind, Value)>,
    /// After it, the scenario's steps send nothing more.
    pub(crate) deadline: std::time::Instant,
    /// The mesh the scenario works in.
    pub(crate) mesh: Option<String>,
    /// The resources `Given a fresh ...` made for the scenario, in order.
    pub(crate) fresh: Vec<Fresh>,
    /// The client token `${scenario-token}` stands for: one per scenario, made when first used.
    pub(crate) scenario_token: OnceLock<String>,
    /// The target's account, as the scenario's mesh reported it (or as declared).
    pub(crate) account: Option<String>,
    /// The operation of the last request sent with an input.
    pub(crate) sent_operation: String,
    /// The last input sent (the whole input, URI members included, placeholders filled).
    pub(crate) sent: Option<Value>,
    pub(crate) last: Option<Exchange>,
    /// The VirtualNodeData of the last successful create.
    pub(crate) created: Option<Value>,
    /// Every resource a successful Create, Describe, Update or Delete answered, in order.
    pub(crate) seen: Vec<Value>,
    /// The answers of the last requests sent all at once.
    pub(crate) concurrent: Vec<Exchange>,
    /// What the last burst saw.
    pub(crate) burst: Option<crate::probe::BurstReport>,
    pub(crate) step_failures: Vec<StepFailure>,
    /// Informational findings of this scenario.
    pub(crate) findings: Vec<StepFailure>,
    /// Checks this scenario's steps could not make, with why.
    pub(crate) unjudged: Vec<Unjudged>,
    /// The member and rule the scenario is about, from its `@member:` and rule tags.
    pub(crate) scenario_member: Option<String>,
    pub(crate) scenario_rule: Option<crate::generate::RuleTag>,
}

impl fmt::Debug for ConformanceWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConformanceWorld")
            .field("mesh", &self.mesh)
            .field("last_status", &self.last.as_ref().map(Exchange::status))
            .finish()
    }
}

impl ConformanceWorld {
    pub(crate) fn new() -> Self {
        ConformanceWorld {
            deadline: std::time::Instant::now() + current().scenario_deadline,
            ctx: current(),
            asked_meshes: Vec::new(),
            asked_resources: Vec::new(),
            mesh: None,
            fresh: Vec::new(),
            scenario_token: OnceLock::new(),
            account: None,
            sent_operation: "CreateVirtualNode".to_string(),
            sent: None,
            last: None,
            created: None,
            seen: Vec::new(),
            concurrent: Vec::new(),
            burst: None,
            step_failures: Vec::new(),
            findings: Vec::new(),
            unjudged: Vec::new(),
            scenario_member: None,
            scenario_rule: None,
        }
    }

    pub fn client(&self) -> &Client {
        &self.ctx.client
    }

    pub fn mesh(&self) -> &str {
        self.mesh.as_deref().expect("a Given step names the mesh first (for example `Given a fresh mesh`)")
    }

    pub fn last(&self) -> &Exchange {
        self.last.as_ref().expect("a When step sends a request first")
    }

    /// Fails the step when there are failures: records them and panics with a readable message.
    pub fn verdict(&mut self, step: &str, mut failures: Vec<CheckFailure>, exchange: Option<&Exchange>) {
        if failures.is_empty() {
            return;
        }
        // A check about the whole answer (its status, say) names the member and rule the
        // scenario is about, so that a failure says what part of the contract broke.
        if let Some(member) = &self.scenario_member {
            for failure in failures.iter_mut().filter(|f| f.path.is_empty()) {
                failure.path = member.clone();
                if let Some(rule) = &self.scenario_rule {
                    failure.rule = format!("[{rule} rule] {}", failure.rule);
                }
            }
        }
        let region = self.client().config().region.clone();
        let mut message = String::new();
        for failure in &failures {
            message.push_str(&format!("{failure}\n"));
        }
        if let Some(exchange) = exchange {
            message.push_str(&format!("exchange:\n{exchange}reproduce:\n  {}\n", exchange.curl(&region)));
        }
        self.step_failures.push(StepFailure {
            step: step.to_string(),
            failures,
            exchange: exchange.cloned(),
            error: None,
        });
        panic!("{message}");
    }

    /// Records informational findings (what a target did where the sources disagree); the step
    /// goes on and the scenario does not fail for them.
    pub fn inform(&mut self, step: &str, findings: Vec<CheckFailure>, exchange: Option<&Exchange>) {
        if findings.is_empty() {
            return;
        }
        self.findings.push(StepFailure {
            step: step.to_string(),
            failures: findings,
            exchange: exchange.cloned(),
            error: None,
        });
    }

    /// Records that the step found nothing to judge, and why: the check is skipped, not passed.
    pub fn unjudged(&mut self, step: &str, reason: impl Into<String>) {
        self.unjudged.push(Unjudged { step: step.to_string(), reason: reason.into() });
    }

    /// Fails the step on a transport or harness error.
    pub fn transport_failure(&mut self, step: &str, error: ClientError) -> ! {
        let message = error.to_string();
        self.step_failures.push(StepFailure {
            step: step.to_string(),
            failures: vec![],
            exchange: None,
            error: Some(message.clone()),
        });
        panic!("{step}: {message}");
    }

    /// Calls an operation with standard retries; a transport error fails the step.
    /// Calls an operation with standard retries. A transport error fails the step; so does a 5xx
    /// answer without the documented error shape, whichever step receives it. Every error answer
    /// is kept for the error-table scenarios.
    pub async fn call(&mut self, step: &str, operation: &str, input: &Value) -> Exchange {
        self.check_deadline(step);
        let client = self.ctx.client.clone();
        let exchange = match client.call(operation, input).await {
            Ok(exchange) => exchange,
            Err(error) => self.transport_failure(step, error),
        };
        self.observe(step, &exchange);
        exchange
    }

    /// Fails the step when the scenario has run past its deadline: it sends nothing more.
    pub fn check_deadline(&mut self, step: &str) {
        if std::time::Instant::now() >= self.deadline {
            let seconds = self.ctx.scenario_deadline.as_secs();
            self.transport_failure(
                step,
                ClientError::Stopped(format!("the scenario ran past its deadline of {seconds} s")),
            );
        }
    }

    /// A CreateMesh is about to be sent for `name`: the ledger and the after-hook know it.
    pub fn asking_for_mesh(&mut self, name: &str) {
        self.ctx.ledger.asked(name);
        if !self.asked_meshes.iter().any(|m| m == name) {
            self.asked_meshes.push(name.to_string());
        }
    }

    /// Signs and sends a request whose body is given as it is (malformed on purpose).
    pub async fn send_raw(&mut self, step: &str, operation: &str, input: &Value, body: &str) -> Exchange {
        self.check_deadline(step);
        let client = self.ctx.client.clone();
        let mut request = match crate::wire::build_request(client.model(), operation, input) {
            Ok(request) => request,
            Err(error) => self.transport_failure(step, error.into()),
        };
        request.body = body.as_bytes().to_vec();
        if !request.headers.iter().any(|(name, _)| name == "content-type") {
            request.headers.push(("content-type".to_string(), "application/json".to_string()));
        }
        let exchange = match client.send(Some(operation), &request, crate::client::RetryMode::Standard).await {
            Ok(exchange) => exchange,
            Err(error) => self.transport_failure(step, error),
        };
        self.observe(step, &exchange);
        exchange
    }

    fn observe(&mut self, step: &str, exchange: &Exchange) {
        if exchange.status() < 400 {
            return;
        }
        self.ctx.observe_error(exchange);
        if exchange.status() >= 500 {
            let model = self.client().model();
            let mut failures = crate::checks::check_error_shape(exchange, None);
            if let Some(code) = exchange.error_code()
                && model.error_status(&code).is_some()
            {
                failures.extend(crate::checks::check_error(model, exchange, &code));
            }
            self.verdict(step, failures, Some(exchange));
        }
    }

    /// Fills the placeholders of a request written in a feature file: `${mesh}`, `${account}`,
    /// `${fresh-token}`, `${unique-name:N}`, `${arn}` (the ARN of the resource the last
    /// successful Create, Describe, Update or Delete answered), the name and ARN of each fresh
    /// resource (`${virtual-node}`, `${virtual-node-arn}`) and `${scenario-token}` (one client
    /// token for the whole scenario).
    pub fn fill_placeholders(&self, text: &str) -> String {
        let mut filled = text.to_string();
        if let Some(arn) = self.seen.last().and_then(|data| data["metadata"]["arn"].as_str()) {
            filled = filled.replace("${arn}", arn);
        }
        for fresh in &self.fresh {
            if let Some(arn) = fresh.data["metadata"]["arn"].as_str() {
                filled = filled.replace(&fresh.kind.arn_placeholder(), arn);
            }
            if let Some(name) = fresh.data[&fresh.kind.name_member].as_str() {
                filled = filled.replace(&fresh.kind.placeholder(), name);
            }
        }
        if filled.contains("${scenario-token}") {
            let token = self.scenario_token.get_or_init(|| self.ctx.fresh_token());
            filled = filled.replace("${scenario-token}", token);
        }
        if let Some(mesh) = &self.mesh {
            filled = filled.replace("${mesh}", mesh);
        }
        if let Some(account) = self.account.as_ref().or(self.ctx.account_id.as_ref()) {
            filled = filled.replace("${account}", account);
        }
        while filled.contains("${fresh-token}") {
            filled = filled.replacen("${fresh-token}", &self.ctx.fresh_token(), 1);
        }
        static UNIQUE: OnceLock<regex::Regex> = OnceLock::new();
        let unique = UNIQUE.get_or_init(|| regex::Regex::new(r"\$\{unique-name:(\d+)\}").expect("a valid pattern"));
        unique
            .replace_all(&filled, |c: &regex::Captures| self.ctx.unique_name_of_length(c[1].parse().unwrap_or(24)))
            .into_owned()
    }

    /// ListVirtualNodes of the scenario's mesh, every page, shows exactly `expected` virtual nodes.
    /// A listing that fails is its own failure (`list.readable`), never a count.
    pub async fn expect_node_count(&mut self, step: &str, expected: usize, rule: &str) {
        let mesh = self.mesh().to_string();
        let failure = match list_all_nodes(self.client(), &mesh).await {
            Err(problem) => CheckFailure::new(
                CheckId::ListReadable,
                crate::checks::Severity::Must,
                crate::model::provenance::source::SDK_MODEL,
                "",
                "ListVirtualNodes answers for an existing mesh",
                "200 with a virtualNodes list",
                problem.to_string(),
            ),
            Ok(names) if names.len() == expected => return,
            Ok(names) => CheckFailure::new(
                CheckId::ListCount,
                crate::checks::Severity::Must,
                crate::model::provenance::source::API_REFERENCE,
                "virtualNodes",
                rule,
                format!("{expected} virtual node(s)"),
                format!("{} ({})", names.len(), names.join(", ")),
            ),
        };
        self.verdict(step, vec![failure], None);
    }

    /// DescribeVirtualNode of the node the scenario created first: a valid VirtualNodeData equal to
    /// what the create answered.
    pub async fn read_back_created(&mut self, step: &str) {
        let created = self.created.clone().expect("an earlier step created a virtual node");
        let input = json!({ "meshName": created["meshName"], "virtualNodeName": created["virtualNodeName"] });
        let exchange = self.call(step, "DescribeVirtualNode", &input).await;
        let model = self.client().model();
        let op = model.operation("DescribeVirtualNode").expect("DescribeVirtualNode is a required operation");
        let mut failures = crate::checks::check_success(model, op, &exchange);
        if failures.is_empty() {
            failures =
                crate::checks::check_readback("DescribeVirtualNode", &created, &exchange.json().unwrap_or_default());
        }
        self.verdict(step, failures, Some(&exchange));
        let kind = self.client().model().created_by("CreateVirtualNode").expect("the model creates virtual nodes");
        self.list_agrees(step, &kind, &created).await;
    }

    /// Every entry of the kind's List operation under the parents `resource` names (every page,
    /// at most 100). A List that fails fails the step.
    pub async fn list_entries(&mut self, step: &str, kind: &ResourceKind, resource: &Value) -> Vec<Value> {
        let (Some(list), Some(member)) = (kind.list.clone(), kind.list_member.clone()) else { return Vec::new() };
        let input =
            Value::Object(kind.parents.iter().map(|parent| (parent.clone(), resource[parent].clone())).collect());
        self.all_pages(step, &list, input, &member).await
    }

    /// The items of `member` on every page of a paginated operation (at most 100 pages), each
    /// page judged as a documented success.
    pub async fn all_pages(&mut self, step: &str, operation: &str, input: Value, member: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..100 {
            let mut input = input.clone();
            if let Some(token) = &next_token {
                input["nextToken"] = json!(token);
            }
            let exchange = self.call(step, operation, &input).await;
            let model = self.client().model();
            let op = model.operation(operation).expect("a modelled operation");
            let failures = crate::checks::check_success(model, op, &exchange);
            self.verdict(step, failures, Some(&exchange));
            let page = exchange.json().unwrap_or_default();
            items.extend(page[member].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
        items
    }

    /// The kind's List operation, every page, has one entry for `resource`, agreeing with it.
    pub async fn list_agrees(&mut self, step: &str, kind: &ResourceKind, resource: &Value) {
        let entries = self.list_entries(step, kind, resource).await;
        let failures = crate::checks::check_listed(self.client().model(), kind, resource, &entries);
        self.verdict(step, failures, None);
    }

    /// Creates a mesh for this scenario and remembers it for clean-up. Set-up asks only for a
    /// success status: the shape of MeshData is not what the CreateVirtualNode scenarios judge,
    /// and demanding it here would hide every CreateVirtualNode check behind a mesh defect.
    pub async fn create_mesh(&mut self, step: &str) -> String {
        let name = self.ctx.unique_name("mesh");
        self.create_mesh_named(step, name).await
    }

    /// Creates a mesh with the given name for this scenario; see [`Self::create_mesh`].
    pub async fn create_mesh_named(&mut self, step: &str, name: String) -> String {
        // In the ledger before it is sent, so a lost answer or an interrupted run still removes it.
        self.asking_for_mesh(&name);
        let input = self.ctx.tagged(json!({ "meshName": name }));
        let exchange = self.call(step, "CreateMesh", &input).await;
        self.ctx.mesh_answered(Some(&name), &exchange);
        if let (Some(kind), Some(data)) = (self.client().model().created_by("CreateMesh"), exchange.json()) {
            self.fresh.push(Fresh { kind, data, tags: input["tags"].clone() });
        }
        if let Some(owner) = exchange.json().and_then(|b| b["metadata"]["meshOwner"].as_str().map(str::to_string)) {
            self.account.get_or_insert(owner);
        }
        let model = self.client().model();
        let op = model.operation("CreateMesh").expect("CreateMesh is a required operation");
        let failures = crate::checks::check_success(model, op, &exchange)
            .into_iter()
            .filter(|f| f.id == CheckId::HttpStatus)
            .collect();
        self.verdict(step, failures, Some(&exchange));
        name
    }

    /// Makes a fresh resource of `kind` named `name` for this scenario, from the kind's minimal
    /// create request: its parents and the resources its references name are the fresh ones made
    /// before it. Like a mesh's, its set-up asks only for a success status.
    pub async fn make_fresh(&mut self, step: &str, kind: &ResourceKind, name: String) {
        if kind.parents.is_empty() && kind.create.as_deref() == Some("CreateMesh") {
            let mesh = self.create_mesh_named(step, name).await;
            self.mesh.get_or_insert(mesh);
            return;
        }
        let model = self.client().model();
        let create =
            kind.create.clone().unwrap_or_else(|| panic!("the model has no operation that creates a {}", kind.noun));
        let mut input = crate::generate::fresh::minimal_create(model, kind).unwrap_or_default();
        let made = |name: &str| self.fresh.iter().rev().find(|f| f.kind.name == name);
        let needed = |noun: &str| {
            format!("a fresh {} needs a fresh {noun} first: add `Given a fresh {noun}` before it", kind.noun)
        };
        for parent in &kind.parents {
            let parent_kind = model.resource_named_by(parent).expect("a parent label names a kind");
            let found = made(&parent_kind.name).unwrap_or_else(|| panic!("{}", needed(&parent_kind.noun)));
            input[parent] = found.data[parent].clone();
        }
        input[&kind.name_member] = json!(name);
        for reference in crate::generate::fresh::live_references(model, &kind.name) {
            if crate::model::resources::strings_at(&input, &reference.member).is_empty() {
                continue;
            }
            let to = model.resource_kinds().iter().find(|k| k.name == reference.to).expect("a reference names a kind");
            let found = made(&to.name).unwrap_or_else(|| panic!("{}", needed(&to.noun)));
            let target = found.data[&to.name_member].as_str().unwrap_or_default().to_string();
            crate::generate::fresh::set_strings_at(&mut input, &reference.member, &target);
        }
        let input = self.ctx.tagged(input);
        let identifiers = Value::Object(kind.identifiers().iter().map(|id| (id.clone(), input[id].clone())).collect());
        self.asked_resources.push((kind.clone(), identifiers));
        let exchange = self.call(step, &create, &input).await;
        let model = self.client().model();
        let op = model.operation(&create).expect("the create operation is in the model");
        let failures = crate::checks::check_success(model, op, &exchange)
            .into_iter()
            .filter(|f| f.id == CheckId::HttpStatus)
            .collect();
        self.verdict(step, failures, Some(&exchange));
        let data = exchange.json().unwrap_or_default();
        self.fresh.push(Fresh { kind: kind.clone(), data, tags: input["tags"].clone() });
    }

    /// Removes every mesh the scenario asked for, whatever its create answered (a lost answer
    /// may have created it), with its virtual nodes. Problems are printed, counted, kept in the
    /// ledger for the end of the run, and do not hide the scenario's own result.
    pub(crate) async fn clean_up(&mut self) {
        let client = self.ctx.client.clone();
        let order = client.model().deletion_order();
        let mut asked = std::mem::take(&mut self.asked_resources);
        asked.sort_by_key(|(kind, _)| order.iter().position(|k| k.name == kind.name));
        // Whether every resource the scenario asked for is known gone: then its meshes should
        // be empty, and each goes with one DeleteMesh unless the target says it is in use.
        let mut emptied = true;
        for (kind, input) in asked {
            // A failure here is not reported: the mesh's own clean-up below says what is left.
            emptied &= match &kind.delete {
                Some(delete) => crate::cleanup::delete_persistently(&client, delete, &input).await.is_ok(),
                None => false,
            };
        }
        for mesh in std::mem::take(&mut self.asked_meshes) {
            self.ctx.ledger.remove(&client, &mesh, emptied).await;
            if let Some(crate::cleanup::MeshState::Left(why)) = self.ctx.ledger.state(&mesh) {
                self.ctx.cleanup_problems.fetch_add(1, Ordering::Relaxed);
                eprintln!("warning: clean-up of mesh {mesh:?} left something behind: {why}");
            }
        }
    }
}

pub use crate::cleanup::list_all_nodes;
