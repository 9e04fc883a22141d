//! The emulator's state and the semantics of each operation, on already validated inputs.
//!
//! One generic store serves every resource kind the model defines ([`Kinds`]): a kind's
//! collection, parents, ARN, data and summary shapes all come from the model, and its references
//! and quotas from the model file's provenance. What is specific to one kind is only what App Mesh
//! documents for it (a virtual node's backends quota) and the deviation modes.
//!
//! Every operation runs under one lock and either completes or changes nothing: a rejected
//! request never leaves a half-created resource or a cached token behind.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::deviation::Deviation;
use super::kinds::{Kind, Kinds};
use super::readings::stored_tags;
use super::{AfterDelete, ApiError, EmulatorConfig, ErrorCode};
use crate::model::ServiceModel;
use crate::model::provenance::MustExist;
use crate::model::resources::strings_at;
use crate::validate::{normalize, summary_of};

/// A remembered client token: what the first request asked for, and what it answered.
#[derive(Debug, Clone)]
struct TokenRecord {
    /// The normalized request, compared with any replay.
    request: Value,
    /// The parents' names and the resource's own.
    path: Vec<String>,
    uid: String,
}

/// One resource: its data as Describe answers it, its tags, and the client tokens that created or
/// updated it (forgotten with it, so a create/delete loop does not grow the token map).
#[derive(Debug, Clone)]
struct Stored {
    data: Value,
    tags: Vec<Value>,
    tokens: Vec<TokenKey>,
}

/// (operation, client token): tokens are scoped to the account and operation.
type TokenKey = (String, String);

/// Where a resource is: its parents' names, its kind and its name.
type Address = (Vec<String>, String, String);

/// A collection: the resources of one kind under one parent (every mesh of the account, the
/// virtual nodes of a mesh, the routes of a router), by name.
type Collection = BTreeMap<String, Stored>;

#[derive(Debug, Default, Clone)]
pub(super) struct Store {
    /// By the parents' names (outermost first) and kind: everything under one parent is one
    /// range of keys.
    collections: BTreeMap<(Vec<String>, String), Collection>,
    /// The tokens of the resources that exist.
    tokens: HashMap<TokenKey, TokenRecord>,
    /// With `--after-delete deleted-record`: the most recent deletes' answers, by (parents, kind,
    /// name), oldest first; bounded by `AfterDelete::RECORDS_KEPT`.
    deleted: VecDeque<(Address, Value)>,
    /// Counts the requests that changed something; a snapshot whose count matches is the state.
    generation: u64,
    /// The encoded answers of reads since the last change, by request target: the same state
    /// answers a read with the same bytes, so a repeated one skips routing, decoding, validation
    /// and encoding. Emptied by every change; at most `READS_KEPT` entries.
    reads: HashMap<String, (u16, Vec<u8>)>,
}

/// Read answers kept at most between two changes.
const READS_KEPT: usize = 1_024;

/// A version-4 UUID for request ids and resource uids. They need to be unique, not secret:
/// fastrand's per-thread generator spares a system call per answer.
pub fn random_id() -> String {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid().to_string()
}

fn now_epoch_seconds() -> f64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    // Millisecond precision, as App Mesh sends it (for example 1.551295471546E9).
    (elapsed.as_millis() as f64) / 1000.0
}

fn text<'v>(input: &'v Value, member: &str) -> &'v str {
    input.get(member).and_then(Value::as_str).unwrap_or_default()
}

/// One request to one kind, with what every operation needs to hand.
pub(super) struct Call<'a> {
    pub config: &'a EmulatorConfig,
    pub model: &'a ServiceModel,
    pub kinds: &'a Kinds,
    pub kind: &'a Kind,
    pub operation: &'a str,
    pub input: &'a Value,
}

impl Call<'_> {
    /// The parents' names, from the input.
    fn parents(&self) -> Vec<String> {
        self.kind.resource.parents.iter().map(|label| text(self.input, label).to_string()).collect()
    }

    fn name(&self) -> String {
        text(self.input, &self.kind.resource.name_member).to_string()
    }

    fn token(&self) -> Option<String> {
        self.input.get("clientToken").and_then(Value::as_str).map(str::to_string)
    }

    fn has(&self, deviation: Deviation) -> bool {
        self.config.has(deviation)
    }

    /// A deviation that applies to one kind only.
    fn has_for(&self, deviation: Deviation, kind: &str) -> bool {
        self.config.has(deviation) && self.kind.resource.name == kind
    }

    /// The answer's one member holding `data` (`{"virtualNode": ...}`).
    fn answer(&self, data: Value) -> Value {
        json!({ self.kind.output_member.as_str(): data })
    }

    fn not_found(&self, kind: &Kind, parents: &[String], name: &str) -> ApiError {
        if kind.resource.parents.is_empty() && self.has(Deviation::UnknownMeshBadRequest) {
            return ApiError::new(ErrorCode::BadRequest, format!("{} {name} is not valid", kind.resource.noun));
        }
        let within = match parents.last() {
            Some(parent) => format!(" in {} {parent}", self.kinds.parent_noun(kind)),
            None => String::new(),
        };
        ApiError::new(ErrorCode::NotFound, format!("{} {name} does not exist{within}", kind.resource.noun))
    }

    /// A `meshOwner` other than this account names a mesh not shared with it.
    fn check_owner(&self) -> Result<(), ApiError> {
        match self.input.get("meshOwner").and_then(Value::as_str) {
            Some(owner) if owner != self.config.account_id => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("mesh owner {owner} has not shared this mesh with account {}", self.config.account_id),
            )),
            _ => Ok(()),
        }
    }
}

impl Store {
    /// Answers one operation on a resource kind.
    pub(super) fn call(&mut self, call: &Call) -> Result<Value, ApiError> {
        call.check_owner()?;
        let resource = &call.kind.resource;
        let op = Some(call.operation);
        if resource.create.as_deref() == op {
            self.create(call)
        } else if resource.update.as_deref() == op {
            self.update(call)
        } else if resource.delete.as_deref() == op {
            self.delete(call)
        } else if resource.list.as_deref() == op {
            self.list(call)
        } else {
            self.describe(call)
        }
    }

    /// Every parent named by the input exists, outermost first: the first missing is NotFound.
    fn check_parents(&self, call: &Call, parents: &[String]) -> Result<(), ApiError> {
        if call.has_for(Deviation::RouteInMissingRouter, "Route") {
            return Ok(());
        }
        for (depth, label) in call.kind.resource.parents.iter().enumerate() {
            let parent = call.kinds.named_by(label).expect("every parent label names a kind (Kinds::new checks)");
            let name = &parents[depth];
            if self.get(&parent.resource.name, &parents[..depth], name).is_none() {
                return Err(call.not_found(parent, &parents[..depth], name));
            }
        }
        Ok(())
    }

    /// The collections under a resource (its path: the parents' names and its own), at any depth.
    fn under<'s>(
        &'s self,
        path: &'s [String],
    ) -> impl Iterator<Item = (&'s (Vec<String>, String), &'s Collection)> + 's {
        self.collections
            .range((path.to_vec(), String::new())..)
            .take_while(move |((owner, _), _)| owner.starts_with(path))
    }

    fn get(&self, kind: &str, parents: &[String], name: &str) -> Option<&Stored> {
        self.collections.get(&(parents.to_vec(), kind.to_string()))?.get(name)
    }

    fn collection(&self, kind: &str, parents: &[String]) -> Option<&Collection> {
        self.collections.get(&(parents.to_vec(), kind.to_string()))
    }

    /// The resource the input names, after its parents.
    fn existing(&self, call: &Call) -> Result<(Vec<String>, String), ApiError> {
        let (parents, name) = (call.parents(), call.name());
        self.check_parents(call, &parents)?;
        if self.get(&call.kind.resource.name, &parents, &name).is_none() {
            return Err(call.not_found(call.kind, &parents, &name));
        }
        Ok((parents, name))
    }

    fn create(&mut self, call: &Call) -> Result<Value, ApiError> {
        let (parents, name) = (call.parents(), call.name());
        let kind_name = call.kind.resource.name.clone();
        let spec = call.kind.normalized_spec(call.model, call.input);
        let mut request = self.request_of(call, &spec);
        request["tags"] = stored_tags(normalize(call.model, "TagList", call.input.get("tags").unwrap_or(&json!([]))));
        let token = call.token();
        let replayed = self.replay(call, token.as_deref(), &request)?;
        self.check_parents(call, &parents)?;
        if let Some(record) = replayed
            && let Some(found) =
                self.by_path(&kind_name, &record.path).filter(|s| s.data["metadata"]["uid"] == *record.uid)
        {
            let mut data = found.data.clone();
            if call.has_for(Deviation::NewUidOnReplay, "VirtualNode") {
                data["metadata"]["uid"] = json!(random_id());
            }
            return Ok(call.answer(data));
        }
        if let Some(existing) = self.get(&kind_name, &parents, &name) {
            if call.has_for(Deviation::DuplicateNameAccepted, "VirtualNode") {
                return Ok(call.answer(existing.data.clone()));
            }
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("{} {name} already exists", call.kind.resource.noun),
            ));
        }
        self.check_quota(call, &parents)?;
        self.check_spec(call, &parents, &spec)?;
        let now = now_epoch_seconds();
        let arn = call.kinds.arn(call.config, call.kind, &parents, &name, call.has(Deviation::WrongGatewayRouteArn));
        let metadata = json!({
            "arn": arn,
            "createdAt": now,
            "lastUpdatedAt": now,
            "meshOwner": call.config.account_id,
            "resourceOwner": call.config.account_id,
            "uid": random_id(),
            "version": 1,
        });
        let data = call.kind.data(call.model, call.input, metadata, spec, "ACTIVE");
        let tags = request["tags"].as_array().cloned().unwrap_or_default();
        let mut path = parents.clone();
        path.push(name.clone());
        let tokens = self.remember(call, token, request, path, &data).into_iter().collect();
        let key = (parents.clone(), kind_name.clone(), name.clone());
        self.deleted.retain(|(k, _)| *k != key);
        let stored = Stored { data: data.clone(), tags, tokens };
        self.collections.entry((parents, kind_name)).or_default().insert(name, stored);
        Ok(call.answer(data))
    }

    fn update(&mut self, call: &Call) -> Result<Value, ApiError> {
        let spec = call.kind.normalized_spec(call.model, call.input);
        let request = self.request_of(call, &spec);
        let token = call.token();
        let replayed = self.replay(call, token.as_deref(), &request)?;
        let (parents, name) = self.existing(call)?;
        let kind_name = call.kind.resource.name.clone();
        if let Some(record) = replayed
            && let Some(found) =
                self.by_path(&kind_name, &record.path).filter(|s| s.data["metadata"]["uid"] == *record.uid)
        {
            return Ok(call.answer(found.data.clone()));
        }
        self.check_spec(call, &parents, &spec)?;
        let bump = !call.has(Deviation::UpdateWithoutVersionBump);
        let stored = self.get_mut(&kind_name, &parents, &name);
        let metadata = &mut stored.data["metadata"];
        if bump {
            metadata["version"] = json!(metadata["version"].as_i64().unwrap_or(1) + 1);
        }
        metadata["lastUpdatedAt"] = json!(later_than(metadata["lastUpdatedAt"].as_f64()));
        stored.data["spec"] = spec;
        let data = stored.data.clone();
        let mut path = parents.clone();
        path.push(name.clone());
        if let Some(key) = self.remember(call, token, request, path, &data) {
            self.get_mut(&kind_name, &parents, &name).tokens.push(key);
        }
        Ok(call.answer(data))
    }

    fn delete(&mut self, call: &Call) -> Result<Value, ApiError> {
        let (parents, name) = self.existing(call)?;
        let kind_name = call.kind.resource.name.clone();
        let mut path = parents.clone();
        path.push(name.clone());
        // Children first: a mesh with resources, a router with routes, a gateway with gateway routes.
        for child in call.kinds.children_of(call.kind) {
            if call.has(Deviation::DeleteRouterWithRoutes) && kind_name == "VirtualRouter" {
                continue;
            }
            if let Some(collection) = self.collection(&child.resource.name, &path).filter(|c| !c.is_empty()) {
                return Err(ApiError::new(
                    ErrorCode::ResourceInUse,
                    format!(
                        "{} {name} still has {} {}(s); delete them first",
                        call.kind.resource.noun,
                        collection.len(),
                        child.resource.noun
                    ),
                ));
            }
        }
        if let Some(user) = self.referrer_of(call, &parents, &name) {
            return Err(ApiError::new(
                ErrorCode::ResourceInUse,
                format!("{} {name} cannot be deleted: {user} refers to it", call.kind.resource.noun),
            ));
        }
        let collection = self.collections.get_mut(&(parents.clone(), kind_name.clone())).expect("it exists");
        let removed = collection.remove(&name).expect("it exists");
        // What would be the children's collections go with it (empty by now, unless a deviation
        // let them be), and every token of what goes.
        let children: Vec<_> = self.under(&path).map(|(key, _)| key.clone()).collect();
        let mut gone = removed.tokens;
        for key in children {
            let collection = self.collections.remove(&key).unwrap_or_default();
            gone.extend(collection.into_values().flat_map(|child| child.tokens));
        }
        for key in gone {
            self.tokens.remove(&key);
        }
        let mut data = removed.data;
        let metadata = &mut data["metadata"];
        // App Mesh's examples: a child's delete answer has the next version, a mesh's keeps its own.
        if !call.kind.resource.parents.is_empty() {
            metadata["version"] = json!(metadata["version"].as_i64().unwrap_or(1) + 1);
        }
        metadata["lastUpdatedAt"] = json!(later_than(metadata["lastUpdatedAt"].as_f64()));
        data["status"]["status"] = json!("DELETED");
        if call.config.choices.after_delete == AfterDelete::DeletedRecord {
            if self.deleted.len() >= AfterDelete::RECORDS_KEPT {
                self.deleted.pop_front();
            }
            self.deleted.push_back(((parents, kind_name, name), data.clone()));
        }
        Ok(call.answer(data))
    }

    fn describe(&self, call: &Call) -> Result<Value, ApiError> {
        if call.config.choices.after_delete == AfterDelete::DeletedRecord {
            let key = (call.parents(), call.kind.resource.name.clone(), call.name());
            if let Some((_, data)) = self.deleted.iter().rev().find(|(k, _)| *k == key) {
                return Ok(call.answer(data.clone()));
            }
        }
        let (parents, name) = self.existing(call)?;
        let mut data = self.get(&call.kind.resource.name, &parents, &name).expect("it exists").data.clone();
        if call.has_for(Deviation::ReadbackDiffers, "VirtualNode") {
            data["metadata"]["uid"] = json!(random_id());
        }
        Ok(call.answer(data))
    }

    fn list(&self, call: &Call) -> Result<Value, ApiError> {
        let parents = call.parents();
        self.check_parents(call, &parents)?;
        let empty = Collection::new();
        let collection = self.collection(&call.kind.resource.name, &parents).unwrap_or(&empty);
        let page = page_after(collection, call.input)?;
        let ref_shape = call.kind.resource.ref_shape.as_deref().unwrap_or_default();
        let refs: Vec<Value> =
            page.items.iter().map(|stored| summary_of(call.model, ref_shape, &stored.data)).collect();
        let member = call.kind.resource.list_member.as_deref().unwrap_or_default();
        let mut output = json!({ member: refs });
        if let Some(token) = page.next_token {
            output["nextToken"] = json!(token);
        }
        Ok(output)
    }

    /// What a replay of the request must match: the resource's identifiers, the owner and the
    /// normalized spec (tags are added by creates).
    fn request_of(&self, call: &Call, spec: &Value) -> Value {
        let mut request =
            json!({ "spec": spec, "meshOwner": call.input.get("meshOwner").cloned().unwrap_or(Value::Null) });
        for member in call.kind.resource.identifiers() {
            request[member.as_str()] = json!(text(call.input, &member));
        }
        request
    }

    fn by_path(&self, kind: &str, path: &[String]) -> Option<&Stored> {
        let (name, parents) = path.split_last()?;
        self.get(kind, parents, name)
    }

    fn get_mut(&mut self, kind: &str, parents: &[String], name: &str) -> &mut Stored {
        self.collections
            .get_mut(&(parents.to_vec(), kind.to_string()))
            .and_then(|c| c.get_mut(name))
            .expect("the caller checked that it exists")
    }

    /// The quota on the kind within its parent (or the account).
    fn check_quota(&self, call: &Call, parents: &[String]) -> Result<(), ApiError> {
        let Some(quota) = call.model.provenance.quota_on(&call.kind.resource.name) else { return Ok(()) };
        if call.has_for(Deviation::QuotaNotEnforced, "VirtualNode") {
            return Ok(());
        }
        let limit = call.config.quotas.limit(&quota.id, call.model);
        let held = self.collection(&call.kind.resource.name, parents).map_or(0, BTreeMap::len);
        if held >= limit {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("{} {limit} {}, the quota {}; delete one first", quota_holder(parents), quota.counts, quota.id),
            ));
        }
        Ok(())
    }

    /// What a create or update's spec must satisfy beyond its shape: the backends quota, and
    /// that the resources it names exist where App Mesh requires it.
    fn check_spec(&self, call: &Call, parents: &[String], spec: &Value) -> Result<(), ApiError> {
        if call.kind.resource.name == "VirtualNode" {
            let backends = spec["backends"].as_array().map_or(0, Vec::len);
            let quota = call.config.quotas.limit("backends-per-virtual-node", call.model);
            if backends > quota {
                return Err(ApiError::new(
                    ErrorCode::LimitExceeded,
                    format!("{backends} backends exceed the quota of {quota} backends per virtual node"),
                ));
            }
        }
        let mesh = &parents[..1.min(parents.len())];
        let input = json!({ "spec": spec });
        for reference in call.model.provenance.references_from(&call.kind.resource.name) {
            let checked = match reference.must_exist {
                MustExist::Yes => true,
                MustExist::No => false,
                MustExist::Open => call.config.choices.open_references_must_exist,
            };
            if !checked {
                continue;
            }
            let Some(target) = call.kinds.get(&reference.to) else { continue };
            for named in strings_at(&input, &reference.member) {
                if self.get(&reference.to, mesh, named).is_none() {
                    return Err(ApiError::new(
                        ErrorCode::NotFound,
                        format!(
                            "{} names {} {named}, which does not exist in the mesh",
                            reference.member, target.resource.noun
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A resource of the mesh whose spec names this one where that blocks its deletion.
    fn referrer_of(&self, call: &Call, parents: &[String], name: &str) -> Option<String> {
        let mesh = [parents.first().map_or(name, String::as_str).to_string()];
        for reference in call.model.provenance.references_blocking(&call.kind.resource.name) {
            if call.has(Deviation::DeleteRouterWithRoutes) && call.kind.resource.name == "VirtualRouter" {
                continue;
            }
            let referrers = self
                .under(&mesh)
                .filter(|((_, kind), _)| kind == &reference.from)
                .flat_map(|(_, collection)| collection.iter());
            for (referrer, stored) in referrers {
                // The data holds the spec under `spec`, where the reference's path starts.
                if strings_at(&stored.data, &reference.member).contains(&name) {
                    let noun =
                        call.kinds.get(&reference.from).map_or(reference.from.as_str(), |k| k.resource.noun.as_str());
                    return Some(format!("{noun} {referrer} ({})", reference.member));
                }
            }
        }
        None
    }

    /// For a replayed token: `Ok(Some(record))` when the request is the same, a 409 when it differs,
    /// `Ok(None)` when the token is new or absent.
    fn replay(&self, call: &Call, token: Option<&str>, request: &Value) -> Result<Option<TokenRecord>, ApiError> {
        let Some(token) = token else { return Ok(None) };
        match self.tokens.get(&(call.operation.to_string(), token.to_string())) {
            None => Ok(None),
            Some(record) if &record.request == request => Ok(Some(record.clone())),
            Some(record) if call.has(Deviation::ReusedTokenDifferentRequestAccepted) => Ok(Some(record.clone())),
            Some(_) => Err(ApiError::new(
                ErrorCode::Conflict,
                format!("client token {token} was already used with a different request; use a new client token"),
            )),
        }
    }

    /// Keeps the token of a request that changed a resource; its key, for the resource to hold.
    fn remember(
        &mut self,
        call: &Call,
        token: Option<String>,
        request: Value,
        path: Vec<String>,
        data: &Value,
    ) -> Option<TokenKey> {
        let key = (call.operation.to_string(), token?);
        let uid = data["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        self.tokens.insert(key.clone(), TokenRecord { request, path, uid });
        Some(key)
    }

    /// A request changed something: the count moves and remembered reads are stale.
    pub(super) fn changed(&mut self) {
        self.generation += 1;
        self.reads.clear();
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// The answer a read of `target` had, if nothing changed since.
    pub(super) fn read(&self, target: &str) -> Option<(u16, Vec<u8>)> {
        self.reads.get(target).cloned()
    }

    /// Keeps a read's answer until the next change.
    pub(super) fn remember_read(&mut self, target: &str, status: u16, body: &[u8]) {
        if self.reads.len() < READS_KEPT {
            self.reads.insert(target.to_string(), (status, body.to_vec()));
        }
    }

    /// How many resources, remembered client tokens and deleted records the store holds.
    pub(super) fn footprint(&self) -> (usize, usize, usize) {
        (self.collections.values().map(BTreeMap::len).sum(), self.tokens.len(), self.deleted.len())
    }

    /// The resource an ARN names, for the tag operations.
    fn by_arn(&mut self, arn: &str) -> Option<&mut Stored> {
        self.collections.values_mut().flat_map(|c| c.values_mut()).find(|s| s.data["metadata"]["arn"] == arn)
    }

    /// TagResource, UntagResource and ListTagsForResource.
    pub(super) fn tags(
        &mut self,
        config: &EmulatorConfig,
        model: &ServiceModel,
        operation: &str,
        input: &Value,
    ) -> Result<Value, ApiError> {
        let arn = text(input, "resourceArn");
        let not_found = || ApiError::new(ErrorCode::NotFound, format!("no resource has the ARN {arn}"));
        let stored = self.by_arn(arn).ok_or_else(not_found)?;
        match operation {
            "TagResource" => {
                let added = stored_tags(normalize(model, "TagList", input.get("tags").unwrap_or(&json!([]))));
                let mut tags = stored.tags.clone();
                for tag in added.as_array().into_iter().flatten() {
                    match tags.iter_mut().find(|t| t["key"] == tag["key"]) {
                        Some(existing) => *existing = tag.clone(),
                        None => tags.push(tag.clone()),
                    }
                }
                let quota = config.quotas.limit("tags-per-resource", model);
                // On the SDK model's reading only the request counts, and the model bounds that.
                let counts_resource = super::readings::follows(
                    model,
                    &config.readings,
                    super::readings::TAGS_PER_RESOURCE_COUNT,
                    crate::model::provenance::source::API_REFERENCE,
                );
                if counts_resource && tags.len() > quota && !config.has(Deviation::TagsNotBounded) {
                    return Err(ApiError::new(
                        ErrorCode::TooManyTags,
                        format!(
                            "the resource would have {} tags, above the quota of {quota}; none was added",
                            tags.len()
                        ),
                    ));
                }
                stored.tags = tags;
                Ok(json!({}))
            }
            "UntagResource" => {
                let keys: Vec<&Value> = input["tagKeys"].as_array().into_iter().flatten().collect();
                stored.tags.retain(|tag| !keys.contains(&&tag["key"]));
                Ok(json!({}))
            }
            _ => {
                let tags: Collection = stored
                    .tags
                    .iter()
                    .enumerate()
                    .map(|(index, tag)| {
                        (format!("{index:08}"), Stored { data: tag.clone(), tags: Vec::new(), tokens: Vec::new() })
                    })
                    .collect();
                let page = page_after(&tags, input)?;
                let mut output = json!({ "tags": page.items.iter().map(|s| s.data.clone()).collect::<Vec<_>>() });
                if let Some(token) = page.next_token {
                    output["nextToken"] = json!(token);
                }
                Ok(output)
            }
        }
    }
}

/// A timestamp after `previous`, at millisecond precision: two changes in one millisecond still
/// move `lastUpdatedAt` forward.
fn later_than(previous: Option<f64>) -> f64 {
    let now = now_epoch_seconds();
    match previous {
        Some(previous) if now <= previous => previous + 0.001,
        _ => now,
    }
}

/// Who holds a collection, for a quota's message.
fn quota_holder(parents: &[String]) -> String {
    match parents.last() {
        Some(parent) => format!("{parent} already holds"),
        None => "the account already holds".to_string(),
    }
}

/// One page of a name-ordered collection.
struct Page<'a, T> {
    items: Vec<&'a T>,
    next_token: Option<String>,
}

/// The page after the input's `nextToken`, of at most its `limit` (default 100) items.
fn page_after<'a, T>(items: &'a BTreeMap<String, T>, input: &Value) -> Result<Page<'a, T>, ApiError> {
    let limit = input.get("limit").and_then(Value::as_u64).unwrap_or(100).max(1) as usize;
    let after = match input.get("nextToken").and_then(Value::as_str) {
        None => None,
        Some(token) => Some(decode_next_token(token).ok_or_else(|| {
            ApiError::new(ErrorCode::BadRequest, "nextToken is not a token this service issued".to_string())
        })?),
    };
    let remaining: Vec<(&String, &T)> = match &after {
        Some(after) => {
            items.range::<String, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)).collect()
        }
        None => items.iter().collect(),
    };
    let next_token = (remaining.len() > limit).then(|| encode_next_token(remaining[limit - 1].0));
    Ok(Page { items: remaining.into_iter().take(limit).map(|(_, item)| item).collect(), next_token })
}

/// Page tokens are opaque to clients: `v1.` and the hex of the last name returned.
fn encode_next_token(last_name: &str) -> String {
    let hex: String = last_name.bytes().map(|b| format!("{b:02x}")).collect();
    format!("v1.{hex}")
}

fn decode_next_token(token: &str) -> Option<String> {
    let hex = token.strip_prefix("v1.")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tokens_round_trip_and_reject_forgeries() {
        for name in ["a", "node-é", ""] {
            assert_eq!(decode_next_token(&encode_next_token(name)).as_deref(), Some(name));
        }
        for forged in ["x", "v1.zz", "v1.abc", "v2.61"] {
            assert_eq!(decode_next_token(forged), None, "{forged}");
        }
    }

    #[test]
    fn a_later_timestamp_always_moves_forward() {
        let now = now_epoch_seconds();
        assert!(later_than(Some(now + 10.0)) > now + 10.0);
        assert!(later_than(None) >= now);
    }
}
