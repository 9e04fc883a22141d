//! Removing what the harness created from a target: after each scenario, after an interrupted
//! run, and on demand (`appmesh-conformance cleanup`).
//!
//! The harness's resources are recognised by name and tag. Every name a run makes starts with
//! its run id (`acf-<hex time>-<4 characters>-`), and every mesh the scenarios set up carries the
//! tag [`TAG_KEY`] with the run id as its value. `cleanup` deletes a mesh only when its name has
//! that shape and, where the target can list tags, the tag agrees; a mesh with the right name but
//! without the tag is left alone and reported.
//!
//! Every call here waits out throttling (however the target spells it), so that a busy target is
//! not left with the run's resources.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Client, ClientError, Exchange};
use crate::model::resources::ResourceKind;

/// Why something could not be created, listed or removed on a target.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("{operation}: {source}")]
    Call { operation: String, source: Box<ClientError> },
    #[error("{operation}: throttled, and the run's budget ended")]
    BudgetEnded { operation: String },
    #[error("{operation}: still throttled after {tries} tries")]
    StillThrottled { operation: String, tries: u32 },
    #[error("{operation}: HTTP {status} {body}")]
    Refused { operation: String, status: u16, body: String },
    #[error("{operation}: the answer holds no `{member}` list")]
    NotAList { operation: String, member: String },
    #[error("{operation}: more than {pages} pages")]
    TooManyPages { operation: String, pages: usize },
    #[error("cannot create the mesh {mesh}:\n{exchange}")]
    CreateRefused { mesh: String, exchange: Box<Exchange> },
    #[error("{what}: {source}")]
    About { what: String, source: Box<CleanupError> },
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<CleanupError>),
}

impl CleanupError {
    /// Whether the target cannot be worked with at all now (still throttling, the budget spent,
    /// no answer): further requests of the same clean-up would only wait for the same.
    pub fn ends_cleanup(&self) -> bool {
        matches!(
            self,
            CleanupError::BudgetEnded { .. } | CleanupError::StillThrottled { .. } | CleanupError::Call { .. }
        )
    }
}

/// The tag key on every mesh the scenarios set up; its value is the run id.
pub const TAG_KEY: &str = "appmesh-conformance:run-id";

/// A run id: `acf-<hex seconds>-<tag>`, the prefix of every name the run makes. `tag` is four
/// lower-case letters or digits (random for a run; a fixed word for a bench or a campaign).
pub fn run_id(tag: &str) -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("acf-{seconds:x}-{tag}")
}

/// Four random lower-case letters or digits, for [`run_id`].
pub fn random_tag(rng: &mut fastrand::Rng) -> String {
    (0..4).map(|_| rng.alphanumeric().to_ascii_lowercase()).collect()
}

/// Creates the mesh `{run_id}-{kind}`, tagged with the run id like every harness mesh; its name,
/// or why the target refused it.
pub async fn create_run_mesh(client: &Client, run_id: &str, kind: &str) -> Result<(String, Exchange), CleanupError> {
    let mesh = format!("{run_id}-{kind}");
    let input = json!({ "meshName": mesh, "tags": [{ "key": TAG_KEY, "value": run_id }] });
    let exchange = call_persistently(client, "CreateMesh", &input).await?;
    if exchange.status() != 200 {
        return Err(CleanupError::CreateRefused { mesh, exchange: Box::new(exchange) });
    }
    Ok((mesh, exchange))
}

/// Whether a name was made by a harness run (any run, or the given one).
pub fn is_harness_name(name: &str, run_id: Option<&str>) -> bool {
    match run_id {
        Some(run_id) => name.strip_prefix(run_id).is_some_and(|rest| rest.starts_with('-')),
        None => {
            static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
            PATTERN
                .get_or_init(|| regex::Regex::new("^acf-[0-9a-f]{6,16}-[0-9a-z]{4}-").expect("a valid pattern"))
                .is_match(name)
        }
    }
}

/// The run id a harness name starts with.
pub fn run_id_of(name: &str) -> Option<&str> {
    if !is_harness_name(name, None) {
        return None;
    }
    let end = name.match_indices('-').nth(2).map(|(i, _)| i)?;
    Some(&name[..end])
}

/// Calls an operation, waiting out throttling (429, 503, or an error code naming throttling):
/// up to 8 tries over about 25 seconds, less when the client's budget ends first.
pub async fn call_persistently(client: &Client, operation: &str, input: &Value) -> Result<Exchange, CleanupError> {
    const TRIES: u32 = 8;
    let mut wait = Duration::from_millis(200);
    for _ in 0..TRIES {
        let exchange = client
            .call_once(operation, input)
            .await
            .map_err(|source| CleanupError::Call { operation: operation.to_string(), source: Box::new(source) })?;
        let throttled = matches!(exchange.status(), 429 | 503)
            || exchange.error_code().is_some_and(|code| code.contains("Throttl") || code.contains("TooManyRequests"));
        if !throttled {
            return Ok(exchange);
        }
        if !client.budget().sleep(wait).await {
            return Err(CleanupError::BudgetEnded { operation: operation.to_string() });
        }
        wait = (wait * 2).min(Duration::from_secs(8));
    }
    Err(CleanupError::StillThrottled { operation: operation.to_string(), tries: TRIES })
}

/// The name of a listed mesh as text, whatever JSON type the target gave it.
fn listed_name(mesh: &Value) -> String {
    match &mesh["meshName"] {
        Value::String(name) => name.clone(),
        other => other.to_string(),
    }
}

/// Whether a name can be the last segment of a request path (so a resource under it can be
/// described and deleted): not empty and not a dot segment.
pub fn addressable(name: &str) -> bool {
    !matches!(name, "" | "." | "..")
}

/// What became of a mesh the run asked a target to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeshState {
    /// The create was sent; its answer was not a success (lost, refused): it may exist.
    Asked,
    /// The target answered the create with success.
    Created,
    /// Deleted, or looked up and not there.
    Gone,
    /// Still there, or may be, and why it could not be removed.
    Left(String),
}

/// Every mesh a run asked a target to create, from before the request is sent until it is known
/// to be gone: so that a lost answer, an interrupted scenario or a refused delete never leaves a
/// mesh unaccounted for.
#[derive(Debug, Default)]
pub struct Ledger {
    meshes: Mutex<BTreeMap<String, MeshState>>,
    /// Creates that succeeded without a name: their ARN if the answer gave one, and what is known.
    unnamed: Mutex<Vec<(Option<String>, String)>>,
}

/// The end-of-run account of what the run created.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// Meshes the run asked for.
    pub asked: usize,
    /// Meshes the target said it created.
    pub created: usize,
    /// Meshes known to be gone at the end.
    pub gone: usize,
    /// Meshes that remain, or may, each with its name and why.
    pub left: Vec<Leftover>,
    /// Created resources the target gave neither a name nor an ARN for: the run cannot name them.
    pub unnamed: Vec<String>,
}

/// A mesh the run could not remove.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Leftover {
    pub name: String,
    pub why: String,
}

impl Account {
    /// `resources: 12 meshes asked for, 11 created, 12 gone, 0 left`.
    pub fn line(&self) -> String {
        format!(
            "resources: {} mesh(es) asked for, {} created, {} gone, {} left{}",
            self.asked,
            self.created,
            self.gone,
            self.left.len() + self.unnamed.len(),
            if self.unnamed.is_empty() { String::new() } else { format!(" ({} without a name)", self.unnamed.len()) }
        )
    }
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, MeshState>> {
        self.meshes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Before a CreateMesh of `name` is sent.
    pub fn asked(&self, name: &str) {
        self.lock().entry(name.to_string()).or_insert(MeshState::Asked);
    }

    /// The target answered the create with success.
    pub fn created(&self, name: &str) {
        self.lock().insert(name.to_string(), MeshState::Created);
    }

    /// A successful create that named nothing: identified by its ARN when the answer has one
    /// (then it is accounted for like any other), else only by `what` was sent.
    pub fn created_unnamed(&self, arn: Option<&str>, what: String) {
        self.unnamed.lock().unwrap_or_else(|p| p.into_inner()).push((arn.map(str::to_string), what));
    }

    pub fn gone(&self, name: &str) {
        self.lock().insert(name.to_string(), MeshState::Gone);
    }

    pub fn left(&self, name: &str, why: String) {
        self.lock().insert(name.to_string(), MeshState::Left(why));
    }

    /// What is known of one mesh, if the ledger has it.
    pub fn state(&self, name: &str) -> Option<MeshState> {
        self.lock().get(name).cloned()
    }

    /// Meshes not known to be gone.
    pub fn outstanding(&self) -> Vec<(String, MeshState)> {
        self.lock().iter().filter(|(_, s)| **s != MeshState::Gone).map(|(n, s)| (n.clone(), s.clone())).collect()
    }

    /// The account as it stands.
    pub fn account(&self, created: usize) -> Account {
        let meshes = self.lock();
        let unnamed = self.unnamed.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let identified = unnamed.iter().filter_map(|(arn, _)| arn.as_ref()).map(|arn| Leftover {
            name: format!("(no name) {arn}"),
            why: "created without a name: no request can address it".to_string(),
        });
        Account {
            asked: meshes.len(),
            created,
            gone: meshes.values().filter(|s| **s == MeshState::Gone).count(),
            left: meshes
                .iter()
                .filter_map(|(name, state)| {
                    let why = match state {
                        MeshState::Gone => return None,
                        MeshState::Left(why) => why.clone(),
                        MeshState::Created => "not deleted".to_string(),
                        MeshState::Asked => "its create was not answered with success; it may exist".to_string(),
                    };
                    Some(Leftover { name: name.clone(), why })
                })
                .chain(identified)
                .collect(),
            unnamed: unnamed.into_iter().filter(|(arn, _)| arn.is_none()).map(|(_, what)| what).collect(),
        }
    }

    /// Removes one mesh of the ledger from the target, or says why it cannot: deletes it with
    /// everything in it when its name can be addressed (a 404 is gone); otherwise looks for it in
    /// ListMeshes.
    ///
    /// `emptied`: the caller deleted every resource it asked for in the mesh, so the mesh should
    /// be empty. Then DeleteMesh goes first, alone; only when the target refuses it (the mesh is
    /// in use after all) are the mesh's resources listed and deleted kind by kind.
    pub async fn remove(&self, client: &Client, name: &str, emptied: bool) {
        let problem = if addressable(name) {
            let alone =
                emptied && delete_persistently(client, "DeleteMesh", &json!({ "meshName": name })).await.is_ok();
            if alone {
                return self.gone(name);
            }
            match delete_mesh_fully(client, name).await {
                Ok(()) => return self.gone(name),
                Err(problem) => problem.to_string(),
            }
        } else {
            format!("no request path can carry the name {name:?}")
        };
        // A delete that failed may have had nothing to delete (a target that answers a missing
        // mesh with something else than 404): ListMeshes tells.
        match list_all(client, "ListMeshes", json!({}), "meshes").await {
            Ok(meshes) if !meshes.iter().any(|m| listed_name(m) == name) => self.gone(name),
            Ok(_) => self.left(name, format!("it exists: {problem}")),
            Err(listing) => self.left(name, format!("{problem}; and whether it exists is unknown: {listing}")),
        }
    }

    /// Removes every outstanding mesh, for at most `within` (on a client with a budget of its
    /// own, so that a run stopped by its budget still cleans up), and accounts for the run.
    pub async fn settle(&self, client: &Client, within: Duration, created: usize) -> Account {
        let client = client.with_fresh_budget(within);
        let outstanding = self.outstanding();
        let work = async {
            for (name, _) in &outstanding {
                self.remove(&client, name, false).await;
            }
        };
        let _ = tokio::time::timeout(within, work).await;
        self.account(created)
    }
}

/// A delete: 200 or 404 is done.
pub async fn delete_persistently(client: &Client, operation: &str, input: &Value) -> Result<(), CleanupError> {
    let exchange = call_persistently(client, operation, input).await?;
    match exchange.status() {
        200 | 404 => Ok(()),
        status => Err(refused(operation, &exchange, status)),
    }
}

fn refused(operation: &str, exchange: &Exchange, status: u16) -> CleanupError {
    CleanupError::Refused { operation: operation.to_string(), status, body: exchange.response.body.clone() }
}

/// Every item of a paginated list operation (bounded to 100 pages); a 404 is an empty list.
pub async fn list_all(
    client: &Client,
    operation: &str,
    input: Value,
    member: &str,
) -> Result<Vec<Value>, CleanupError> {
    const PAGES: usize = 100;
    let mut items = Vec::new();
    let mut next_token: Option<String> = None;
    for _ in 0..PAGES {
        let mut input = input.clone();
        if let Some(token) = &next_token {
            input["nextToken"] = json!(token);
        }
        let exchange = call_persistently(client, operation, &input).await?;
        if exchange.status() == 404 {
            return Ok(items);
        }
        let body = exchange
            .json()
            .filter(|_| exchange.status() == 200)
            .ok_or_else(|| refused(operation, &exchange, exchange.status()))?;
        let page = body[member]
            .as_array()
            .ok_or_else(|| CleanupError::NotAList { operation: operation.to_string(), member: member.to_string() })?;
        items.extend(page.iter().cloned());
        match body["nextToken"].as_str() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(items),
        }
    }
    Err(CleanupError::TooManyPages { operation: operation.to_string(), pages: PAGES })
}

/// The names of every virtual node in a mesh, following pagination.
pub async fn list_all_nodes(client: &Client, mesh: &str) -> Result<Vec<String>, CleanupError> {
    let nodes = list_all(client, "ListVirtualNodes", json!({ "meshName": mesh }), "virtualNodes").await?;
    Ok(nodes.iter().filter_map(|n| n["virtualNodeName"].as_str().map(str::to_string)).collect())
}

/// Deletes everything in a mesh, kind by kind in an order the in-use rules allow (see
/// [`ServiceModel::deletion_order`](crate::model::ServiceModel::deletion_order)), then the mesh.
/// A mesh already gone is done.
pub async fn delete_mesh_fully(client: &Client, mesh: &str) -> Result<(), CleanupError> {
    let mut problems = Vec::new();
    let model = client.model();
    // Each kind is listed once: a parent's list, taken to reach its children, serves again when
    // the parent's own turn comes (deleting a kind removes none of another kind).
    let mut listed = BTreeMap::new();
    for kind in model.deletion_order().iter().filter(|k| !k.parents.is_empty()) {
        let Some(delete) = &kind.delete else { continue };
        match instances(client, kind, mesh, &mut listed).await {
            Ok(found) => {
                for resource in found {
                    let input: Value =
                        Value::Object(kind.identifiers().iter().map(|id| (id.clone(), resource[id].clone())).collect());
                    if let Err(problem) = delete_persistently(client, delete, &input).await {
                        let name = resource[&kind.name_member].as_str().unwrap_or_default();
                        let ends = problem.ends_cleanup();
                        problems.push(CleanupError::About {
                            what: format!("{} {name}", kind.noun),
                            source: Box::new(problem),
                        });
                        if ends {
                            return Err(CleanupError::Several(problems));
                        }
                    }
                }
            }
            Err(problem) if problem.ends_cleanup() => {
                problems.push(problem);
                return Err(CleanupError::Several(problems));
            }
            Err(problem) => problems.push(problem),
        }
    }
    if let Err(problem) = delete_persistently(client, "DeleteMesh", &json!({ "meshName": mesh })).await {
        problems.push(problem);
    }
    if problems.is_empty() { Ok(()) } else { Err(CleanupError::Several(problems)) }
}

/// Every resource of a kind in a mesh, as its List entries (which carry every identifier):
/// the kind's parents are listed level by level from the mesh down. `listed` keeps each kind's
/// entries, by kind name, for the calls that follow.
async fn instances(
    client: &Client,
    kind: &ResourceKind,
    mesh: &str,
    listed: &mut BTreeMap<String, Vec<Value>>,
) -> Result<Vec<Value>, CleanupError> {
    let model = client.model();
    let mut parents = Vec::new();
    for label in kind.parents.iter().skip(1) {
        let Some(parent) = model.resource_named_by(label) else { return Ok(Vec::new()) };
        parents.push(parent);
    }
    // Level by level, each from what `listed` holds or else listed under the level above.
    let mut under: Vec<Value> = vec![json!({ "meshName": mesh })];
    for level in parents.iter().chain([kind]) {
        under = match listed.get(&level.name) {
            Some(entries) => entries.clone(),
            None => {
                let entries = list_under(client, level, &under).await?;
                listed.insert(level.name.clone(), entries.clone());
                entries
            }
        };
    }
    Ok(under)
}

/// The List entries of a kind under each of the given parents.
async fn list_under(client: &Client, kind: &ResourceKind, parents: &[Value]) -> Result<Vec<Value>, CleanupError> {
    let (Some(list), Some(member)) = (&kind.list, &kind.list_member) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    for parent in parents {
        let input: Value = Value::Object(kind.parents.iter().map(|p| (p.clone(), parent[p].clone())).collect());
        found.extend(list_all(client, list, input, member).await?);
    }
    Ok(found)
}

/// What a sweep found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Meshes deleted (or, with `dry_run`, that would be).
    pub deleted: Vec<String>,
    /// Meshes named like the harness's but without its tag: left alone.
    pub untagged: Vec<String>,
    /// Meshes that could not be removed, with the reason.
    pub problems: Vec<String>,
    /// Whether the target could list tags; when it cannot, names alone decide.
    pub tags_checked: bool,
}

/// What [`sweep`] removes.
#[derive(Debug, Default, Clone)]
pub struct SweepOptions<'a> {
    /// Only this run's resources; `None`: every harness run's.
    pub run_id: Option<&'a str>,
    /// Meshes known to be the run's own (created and confirmed by this process), removed whatever
    /// their names.
    pub known: Vec<String>,
    /// Say what would be deleted, delete nothing.
    pub dry_run: bool,
}

/// Deletes the harness's meshes (and their virtual nodes) from a target.
pub async fn sweep(client: &Client, options: SweepOptions<'_>) -> Result<Sweep, CleanupError> {
    let meshes = list_all(client, "ListMeshes", json!({}), "meshes").await?;
    let mut sweep =
        Sweep { tags_checked: client.model().operation("ListTagsForResource").is_some(), ..Sweep::default() };
    let mut chosen: Vec<String> = options.known.clone();
    for mesh in &meshes {
        let Some(name) = mesh["meshName"].as_str() else { continue };
        if chosen.iter().any(|c| c == name) {
            continue;
        }
        let arn = mesh["arn"].as_str().unwrap_or_default();
        if !is_harness_name(name, options.run_id) {
            // A name too short to carry the run id: the run's tag still tells.
            if let Some(run_id) = options.run_id
                && sweep.tags_checked
                && !arn.is_empty()
                && tagged_with(client, arn, run_id).await == Some(true)
            {
                chosen.push(name.to_string());
            }
            continue;
        }
        // With a run id given, its names are enough: a mesh whose tagged create was lost, or a
        // target that keeps no tags, must not escape.
        if options.run_id.is_none() && sweep.tags_checked && !arn.is_empty() {
            match tagged_by_harness(client, arn, name).await {
                Some(true) => {}
                Some(false) => {
                    sweep.untagged.push(name.to_string());
                    continue;
                }
                // The target cannot list tags: the name decides.
                None => sweep.tags_checked = false,
            }
        }
        chosen.push(name.to_string());
    }
    for name in chosen {
        if options.dry_run {
            sweep.deleted.push(name);
            continue;
        }
        match delete_mesh_fully(client, &name).await {
            Ok(()) => sweep.deleted.push(name),
            Err(problem) => sweep.problems.push(format!("{name}: {problem}")),
        }
    }
    Ok(sweep)
}

/// Whether the mesh carries the harness's tag for the run its name gives; `None` when the target
/// does not answer ListTagsForResource.
async fn tagged_by_harness(client: &Client, arn: &str, name: &str) -> Option<bool> {
    match run_id_of(name) {
        Some(run_id) => tagged_with(client, arn, run_id).await,
        None => Some(false),
    }
}

/// Whether the resource carries the harness's tag with the value `run_id`; `None` when the
/// target does not answer ListTagsForResource.
async fn tagged_with(client: &Client, arn: &str, run_id: &str) -> Option<bool> {
    let exchange = call_persistently(client, "ListTagsForResource", &json!({ "resourceArn": arn })).await.ok()?;
    let body = exchange.json().filter(|_| exchange.status() == 200)?;
    let tags = body["tags"].as_array()?;
    Some(tags.iter().any(|t| t["key"] == TAG_KEY && t["value"] == run_id))
}

/// The run's tag, added to a create's input that sets no tags of its own (a request that does
/// is about its tags, and is sent as written).
pub fn with_run_tag(mut input: Value, run_id: &str) -> Value {
    if let Some(object) = input.as_object_mut()
        && !object.contains_key("tags")
    {
        object.insert("tags".to_string(), json!([{ "key": TAG_KEY, "value": run_id }]));
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_names_are_recognised_and_others_are_not() {
        assert!(is_harness_name("acf-6743a1b2-x9k2-mesh-3", None));
        assert!(is_harness_name("acf-6743a1b2-x9k2-n-12xxxx", Some("acf-6743a1b2-x9k2")));
        assert!(!is_harness_name("acf-6743a1b2-x9k2-mesh-3", Some("acf-6743a1b2-zzzz")));
        for other in ["prod-mesh", "acf-mesh", "acf-6743a1b2-x9k2", "xacf-6743a1b2-x9k2-mesh", "acf-XYZ-x9k2-m"] {
            assert!(!is_harness_name(other, None), "{other} is not a harness name");
        }
        assert_eq!(run_id_of("acf-6743a1b2-x9k2-mesh-3"), Some("acf-6743a1b2-x9k2"));
        assert_eq!(run_id_of("prod"), None);
        let made = run_id(&random_tag(&mut fastrand::Rng::with_seed(1)));
        assert!(is_harness_name(&format!("{made}-mesh"), None), "{made}");
        assert_eq!(run_id_of(&format!("{made}-mesh")), Some(made.as_str()));
    }
}
