//! The emulator's state and the semantics of each operation, on already validated inputs.
//!
//! Every operation runs under one lock and either completes or changes nothing: a rejected
//! request never leaves a half-created resource or a cached token behind.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::deviation::Deviation;
use super::readings::stored_tags;
use super::{ApiError, EmulatorConfig, ErrorCode};
use crate::model::ServiceModel;
use crate::validate::{normalize, summary_of};

/// A remembered client token: what the first request asked for, and what it created.
#[derive(Debug, Clone)]
struct TokenRecord {
    /// The normalized request, compared with any replay.
    request: Value,
    mesh_name: String,
    /// Empty for CreateMesh.
    virtual_node_name: String,
    uid: String,
}

#[derive(Debug, Clone)]
struct Mesh {
    data: Value,
    nodes: BTreeMap<String, Value>,
    /// The tags of the mesh, and of each virtual node by name.
    tags: Value,
    node_tags: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct Store {
    meshes: BTreeMap<String, Mesh>,
    /// Keyed by (operation, client token): tokens are scoped to the account and operation.
    tokens: HashMap<(&'static str, String), TokenRecord>,
    /// Counts the requests that changed something; a snapshot whose count matches is the state.
    pub(super) generation: u64,
}

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

impl Store {
    fn check_owner(config: &EmulatorConfig, input: &Value) -> Result<(), ApiError> {
        match input.get("meshOwner").and_then(Value::as_str) {
            Some(owner) if owner != config.account_id => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("mesh owner {owner} has not shared this mesh with account {}", config.account_id),
            )),
            _ => Ok(()),
        }
    }

    fn mesh_not_found(config: &EmulatorConfig, mesh_name: &str) -> ApiError {
        if config.has(Deviation::UnknownMeshBadRequest) {
            ApiError::new(ErrorCode::BadRequest, format!("mesh {mesh_name} is not valid"))
        } else {
            ApiError::new(ErrorCode::NotFound, format!("mesh {mesh_name} does not exist"))
        }
    }

    fn metadata(config: &EmulatorConfig, arn: String, now: f64) -> Value {
        json!({
            "arn": arn,
            "createdAt": now,
            "lastUpdatedAt": now,
            "meshOwner": config.account_id,
            "resourceOwner": config.account_id,
            "uid": random_id(),
            "version": 1,
        })
    }

    pub(super) fn create_mesh(
        &mut self,
        config: &EmulatorConfig,
        model: &ServiceModel,
        input: &Value,
    ) -> Result<Value, ApiError> {
        let mesh_name = text(input, "meshName").to_string();
        let request = json!({
            "meshName": mesh_name,
            "spec": normalize(model, "MeshSpec", input.get("spec").unwrap_or(&json!({}))),
            "tags": stored_tags(normalize(model, "TagList", input.get("tags").unwrap_or(&json!([])))),
        });
        let token = input.get("clientToken").and_then(Value::as_str).map(str::to_string);
        if let Some(replayed) = self.replay(config, "CreateMesh", token.as_deref(), &request)?
            && let Some(mesh) =
                self.meshes.get(&replayed.mesh_name).filter(|m| m.data["metadata"]["uid"] == replayed.uid.as_str())
        {
            return Ok(json!({ "mesh": mesh.data }));
        }
        if self.meshes.contains_key(&mesh_name) {
            return Err(ApiError::new(ErrorCode::Conflict, format!("mesh {mesh_name} already exists")));
        }
        let quota = config.quotas.meshes_per_account;
        if self.meshes.len() >= quota {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("the account already has {quota} meshes, its quota; delete a mesh first"),
            ));
        }
        let arn = format!("arn:aws:appmesh:{}:{}:mesh/{mesh_name}", config.region, config.account_id);
        // The spec as sent: App Mesh invents no member (`{}` stays `{}`, although the documented
        // default egress filter is DROP_ALL).
        let spec = request["spec"].clone();
        let data = json!({
            "meshName": mesh_name,
            "metadata": Self::metadata(config, arn, now_epoch_seconds()),
            "spec": spec,
            "status": {"status": "ACTIVE"},
        });
        let tags = request["tags"].clone();
        self.remember("CreateMesh", token, request, &mesh_name, "", &data);
        self.meshes
            .insert(mesh_name, Mesh { data: data.clone(), nodes: BTreeMap::new(), tags, node_tags: BTreeMap::new() });
        Ok(json!({ "mesh": data }))
    }

    pub(super) fn describe_mesh(&self, config: &EmulatorConfig, input: &Value) -> Result<Value, ApiError> {
        Self::check_owner(config, input)?;
        let mesh_name = text(input, "meshName");
        let mesh = self.meshes.get(mesh_name).ok_or_else(|| Self::mesh_not_found(config, mesh_name))?;
        Ok(json!({ "mesh": mesh.data }))
    }

    pub(super) fn delete_mesh(&mut self, config: &EmulatorConfig, input: &Value) -> Result<Value, ApiError> {
        let mesh_name = text(input, "meshName");
        let mesh = self.meshes.get(mesh_name).ok_or_else(|| Self::mesh_not_found(config, mesh_name))?;
        if !mesh.nodes.is_empty() {
            return Err(ApiError::new(
                ErrorCode::ResourceInUse,
                format!("mesh {mesh_name} still has {} virtual nodes; delete them first", mesh.nodes.len()),
            ));
        }
        let mut data = self.meshes.remove(mesh_name).map(|m| m.data).unwrap_or_default();
        data["status"]["status"] = json!("DELETED");
        Ok(json!({ "mesh": data }))
    }

    pub(super) fn list_meshes(&self, model: &ServiceModel, input: &Value) -> Result<Value, ApiError> {
        let page = page_after(&self.meshes, input)?;
        let refs: Vec<Value> = page.items.iter().map(|mesh| summary_of(model, "MeshRef", &mesh.data)).collect();
        let mut output = json!({ "meshes": refs });
        if let Some(token) = page.next_token {
            output["nextToken"] = json!(token);
        }
        Ok(output)
    }

    pub(super) fn create_virtual_node(
        &mut self,
        config: &EmulatorConfig,
        model: &ServiceModel,
        input: &Value,
    ) -> Result<Value, ApiError> {
        Self::check_owner(config, input)?;
        let mesh_name = text(input, "meshName").to_string();
        let node_name = text(input, "virtualNodeName").to_string();
        let spec = normalize(model, "VirtualNodeSpec", &input["spec"]);
        let request = json!({
            "meshName": mesh_name,
            "meshOwner": input.get("meshOwner").cloned().unwrap_or(Value::Null),
            "virtualNodeName": node_name,
            "spec": spec,
            "tags": stored_tags(normalize(model, "TagList", input.get("tags").unwrap_or(&json!([])))),
        });
        let token = input.get("clientToken").and_then(Value::as_str).map(str::to_string);
        let replayed = self.replay(config, "CreateVirtualNode", token.as_deref(), &request)?;
        let mesh = self.meshes.get_mut(&mesh_name).ok_or_else(|| Self::mesh_not_found(config, &mesh_name))?;
        if let Some(replayed) = replayed
            && let Some(node) =
                mesh.nodes.get(&replayed.virtual_node_name).filter(|n| n["metadata"]["uid"] == replayed.uid.as_str())
        {
            let mut node = node.clone();
            if config.has(Deviation::NewUidOnReplay) {
                node["metadata"]["uid"] = json!(random_id());
            }
            return Ok(json!({ "virtualNode": node }));
        }
        if let Some(existing) = mesh.nodes.get(&node_name) {
            if config.has(Deviation::DuplicateNameAccepted) {
                return Ok(json!({ "virtualNode": existing }));
            }
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("virtual node {node_name} already exists in mesh {mesh_name}"),
            ));
        }
        let quota = config.quotas.virtual_nodes_per_mesh;
        if mesh.nodes.len() >= quota && !config.has(Deviation::QuotaNotEnforced) {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("mesh {mesh_name} already has {quota} virtual nodes, its quota; delete one first"),
            ));
        }
        let backends = spec["backends"].as_array().map_or(0, Vec::len);
        let backend_quota = config.quotas.backends_per_virtual_node;
        if backends > backend_quota {
            return Err(ApiError::new(
                ErrorCode::LimitExceeded,
                format!("{backends} backends exceed the quota of {backend_quota} backends per virtual node"),
            ));
        }
        let arn =
            format!("arn:aws:appmesh:{}:{}:mesh/{mesh_name}/virtualNode/{node_name}", config.region, config.account_id);
        let data = json!({
            "meshName": mesh_name,
            "metadata": Self::metadata(config, arn, now_epoch_seconds()),
            "spec": spec,
            "status": {"status": "ACTIVE"},
            "virtualNodeName": node_name,
        });
        mesh.nodes.insert(node_name.clone(), data.clone());
        mesh.node_tags.insert(node_name.clone(), request["tags"].clone());
        self.remember("CreateVirtualNode", token, request, &mesh_name, &node_name, &data);
        Ok(json!({ "virtualNode": data }))
    }

    pub(super) fn describe_virtual_node(&self, config: &EmulatorConfig, input: &Value) -> Result<Value, ApiError> {
        Self::check_owner(config, input)?;
        let (mesh_name, node_name) = (text(input, "meshName"), text(input, "virtualNodeName"));
        let mesh = self.meshes.get(mesh_name).ok_or_else(|| Self::mesh_not_found(config, mesh_name))?;
        let node = mesh.nodes.get(node_name).ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, format!("virtual node {node_name} does not exist in mesh {mesh_name}"))
        })?;
        let mut node = node.clone();
        if config.has(Deviation::ReadbackDiffers) {
            node["metadata"]["uid"] = json!(random_id());
        }
        Ok(json!({ "virtualNode": node }))
    }

    pub(super) fn delete_virtual_node(&mut self, config: &EmulatorConfig, input: &Value) -> Result<Value, ApiError> {
        Self::check_owner(config, input)?;
        let (mesh_name, node_name) = (text(input, "meshName"), text(input, "virtualNodeName"));
        let mesh = self.meshes.get_mut(mesh_name).ok_or_else(|| Self::mesh_not_found(config, mesh_name))?;
        let mut node = mesh.nodes.remove(node_name).ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, format!("virtual node {node_name} does not exist in mesh {mesh_name}"))
        })?;
        mesh.node_tags.remove(node_name);
        node["status"]["status"] = json!("DELETED");
        Ok(json!({ "virtualNode": node }))
    }

    pub(super) fn list_virtual_nodes(
        &self,
        config: &EmulatorConfig,
        model: &ServiceModel,
        input: &Value,
    ) -> Result<Value, ApiError> {
        Self::check_owner(config, input)?;
        let mesh_name = text(input, "meshName");
        let mesh = self.meshes.get(mesh_name).ok_or_else(|| Self::mesh_not_found(config, mesh_name))?;
        let page = page_after(&mesh.nodes, input)?;
        let refs: Vec<Value> = page.items.iter().map(|node| summary_of(model, "VirtualNodeRef", node)).collect();
        let mut output = json!({ "virtualNodes": refs });
        if let Some(token) = page.next_token {
            output["nextToken"] = json!(token);
        }
        Ok(output)
    }

    /// The tags of a mesh or virtual node of this account and region, by ARN (one page: a
    /// resource holds at most 50 tags, the largest page).
    pub(super) fn list_tags_for_resource(&self, config: &EmulatorConfig, input: &Value) -> Result<Value, ApiError> {
        let arn = text(input, "resourceArn");
        let prefix = format!("arn:aws:appmesh:{}:{}:mesh/", config.region, config.account_id);
        let not_found = || ApiError::new(ErrorCode::NotFound, format!("no resource has the ARN {arn}"));
        let path = arn.strip_prefix(&prefix).ok_or_else(not_found)?;
        let tags = match path.split_once("/virtualNode/") {
            None => self.meshes.get(path).map(|mesh| &mesh.tags),
            Some((mesh, node)) => self.meshes.get(mesh).and_then(|mesh| mesh.node_tags.get(node)),
        }
        .ok_or_else(not_found)?;
        Ok(json!({ "tags": tags }))
    }

    /// For a replayed token: `Ok(Some(record))` when the request is the same, a 409 when it differs,
    /// `Ok(None)` when the token is new or absent.
    fn replay(
        &self,
        config: &EmulatorConfig,
        operation: &'static str,
        token: Option<&str>,
        request: &Value,
    ) -> Result<Option<TokenRecord>, ApiError> {
        let Some(token) = token else { return Ok(None) };
        match self.tokens.get(&(operation, token.to_string())) {
            None => Ok(None),
            Some(record) if &record.request == request => Ok(Some(record.clone())),
            Some(record) if config.has(Deviation::ReusedTokenDifferentRequestAccepted) => Ok(Some(record.clone())),
            Some(_) => Err(ApiError::new(
                ErrorCode::Conflict,
                format!("client token {token} was already used with a different request; use a new client token"),
            )),
        }
    }

    fn remember(
        &mut self,
        operation: &'static str,
        token: Option<String>,
        request: Value,
        mesh_name: &str,
        node_name: &str,
        data: &Value,
    ) {
        if let Some(token) = token {
            let uid = data["metadata"]["uid"].as_str().unwrap_or_default().to_string();
            let record = TokenRecord {
                request,
                mesh_name: mesh_name.to_string(),
                virtual_node_name: node_name.to_string(),
                uid,
            };
            self.tokens.insert((operation, token), record);
        }
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
}
