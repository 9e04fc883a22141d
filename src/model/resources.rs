//! App Mesh's resource kinds, read from the model's HTTP bindings alone: an item is what a GET
//! on a URI ending in a label reads (`/v20190125/meshes/{meshName}/virtualNodes/{virtualNodeName}`);
//! its collection is that URI without the last label; the operations that PUT and GET the
//! collection create and list the kind, and those that PUT and DELETE the item update and delete
//! it. Every label before the last names a parent, itself a kind. Nothing here knows a resource
//! by name: a new kind in the model is a new entry.

use serde_json::Value;

use super::{Location, ServiceModel, ShapeKind};

/// One kind of resource (mesh, virtual node, route, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKind {
    /// `VirtualNode`: the name member without `Name`, capitalised.
    pub name: String,
    /// `virtual node`: the same in words, for scenario text.
    pub noun: String,
    /// The URI label (and input member) that names one: `virtualNodeName`.
    pub name_member: String,
    /// The labels of the parents, outermost first: `["meshName"]`.
    pub parents: Vec<String>,
    /// `/v20190125/meshes/{meshName}/virtualNodes`.
    pub collection_uri: String,
    /// The operations over the kind, where the model has them.
    pub create: Option<String>,
    pub describe: String,
    pub list: Option<String>,
    pub update: Option<String>,
    pub delete: Option<String>,
    /// The member of the List output that holds the items: `virtualNodes`.
    pub list_member: Option<String>,
    /// The shape of one item of that list: `VirtualNodeRef`.
    pub ref_shape: Option<String>,
}

impl ResourceKind {
    /// `virtual-node`: the placeholder a scenario writes for the name of a fresh one (`${mesh}`).
    pub fn placeholder(&self) -> String {
        format!("${{{}}}", self.noun.replace(' ', "-"))
    }

    /// `${virtual-node-arn}`: the placeholder for the ARN of a fresh one.
    pub fn arn_placeholder(&self) -> String {
        format!("${{{}-arn}}", self.noun.replace(' ', "-"))
    }

    /// Every member that identifies one: the parents' labels, then its own.
    pub fn identifiers(&self) -> Vec<String> {
        self.parents.iter().cloned().chain([self.name_member.clone()]).collect()
    }
}

/// The labels of a URI template, in order: `{meshName}` → `meshName` (a greedy `{x+}` too).
pub fn labels(uri: &str) -> Vec<String> {
    uri.split(['/', '?'])
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|label| label.trim_end_matches('+').to_string())
        .collect()
}

/// The strings at a member path of a value, as [`ServiceModel::member_paths`] writes paths
/// (`spec.backends[].virtualService.virtualServiceName`): `[]` steps into every item of a list.
pub fn strings_at<'v>(value: &'v Value, path: &str) -> Vec<&'v str> {
    let mut current = vec![value];
    for step in path.split('.') {
        let (name, every) = match step.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (step, false),
        };
        current = current
            .into_iter()
            .filter_map(|v| v.get(name))
            .flat_map(|v| {
                if every { v.as_array().map(|items| items.iter().collect()).unwrap_or_default() } else { vec![v] }
            })
            .collect();
    }
    current.into_iter().filter_map(Value::as_str).collect()
}

/// The segment of an ARN that a URI label's resource takes: `virtualRouterName` → `virtualRouter`
/// (`...:mesh/m/virtualRouter/r/route/x`).
pub fn arn_segment(label: &str) -> &str {
    label.strip_suffix("Name").unwrap_or(label)
}

/// The URI template without its query part.
fn path_of(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}

impl ServiceModel {
    /// Every resource kind the model's HTTP bindings define, parents before children; read once
    /// per model.
    pub fn resource_kinds(&self) -> &[ResourceKind] {
        self.kinds.get_or_init(|| self.read_resource_kinds())
    }

    fn read_resource_kinds(&self) -> Vec<ResourceKind> {
        let with = |method: &str, uri: &str| {
            self.operations.values().find(|op| op.http.method == method && path_of(&op.http.request_uri) == uri)
        };
        let mut kinds: Vec<ResourceKind> = self
            .operations
            .values()
            .filter(|op| op.http.method == "GET")
            .filter_map(|describe| {
                let item_uri = path_of(&describe.http.request_uri);
                let (collection_uri, last) = item_uri.rsplit_once('/')?;
                let name_member = last.strip_prefix('{')?.strip_suffix('}')?.to_string();
                let stem = name_member.strip_suffix("Name").filter(|s| !s.is_empty())?;
                let list = with("GET", collection_uri);
                let items = list.and_then(|list| {
                    let output = self.structure(list.output.as_deref()?)?;
                    output.members.iter().find_map(|m| match self.shape(&m.target).map(|s| &s.kind) {
                        Some(ShapeKind::List { member, .. }) => Some((m.name.clone(), member.clone())),
                        _ => None,
                    })
                });
                let (list_member, ref_shape) = items.unzip();
                Some(ResourceKind {
                    name: capitalised(stem),
                    noun: words(stem),
                    parents: labels(collection_uri),
                    name_member,
                    collection_uri: collection_uri.to_string(),
                    create: with("PUT", collection_uri).map(|op| op.name.clone()),
                    describe: describe.name.clone(),
                    list: list.map(|op| op.name.clone()),
                    update: with("PUT", item_uri).map(|op| op.name.clone()),
                    delete: with("DELETE", item_uri).map(|op| op.name.clone()),
                    list_member,
                    ref_shape,
                })
            })
            .collect();
        kinds.sort_by(|a, b| (a.parents.len(), &a.name).cmp(&(b.parents.len(), &b.name)));
        kinds
    }

    /// Every kind in an order that deletes cleanly: a kind before its parents, and before the
    /// kinds its references name where those block a delete (gateway routes before virtual
    /// services, routes before virtual nodes); the mesh last.
    pub fn deletion_order(&self) -> Vec<ResourceKind> {
        let precedes = |a: &ResourceKind, b: &ResourceKind| {
            a.parents.contains(&b.name_member)
                || self.provenance.references.iter().any(|r| r.blocks_delete && r.from == a.name && r.to == b.name)
        };
        let mut left = self.resource_kinds().to_vec();
        let mut order = Vec::new();
        while !left.is_empty() {
            // A cycle cannot be ordered; then the rest go in the model's order.
            let next =
                left.iter().position(|k| !left.iter().any(|other| other != k && precedes(other, k))).unwrap_or(0);
            order.push(left.remove(next));
        }
        order
    }

    /// The kind an operation acts on: the one it creates, reads, lists, updates or deletes.
    pub fn resource_of(&self, operation: &str) -> Option<ResourceKind> {
        self.resource_kinds()
            .iter()
            .find(|kind| {
                [&kind.create, &kind.list, &kind.update, &kind.delete]
                    .into_iter()
                    .flatten()
                    .chain([&kind.describe])
                    .any(|op| op == operation)
            })
            .cloned()
    }

    /// The kind an operation creates: `CreateVirtualNode` → virtual node.
    pub fn created_by(&self, operation: &str) -> Option<ResourceKind> {
        self.resource_kinds().iter().find(|kind| kind.create.as_deref() == Some(operation)).cloned()
    }

    /// The kind a URI label names: `meshName` → mesh.
    pub fn resource_named_by(&self, label: &str) -> Option<ResourceKind> {
        self.resource_kinds().iter().find(|kind| kind.name_member == label).cloned()
    }

    /// The parents an operation's request needs to exist: the kinds its URI labels name, other
    /// than the resource it is about.
    pub fn parents_of(&self, operation: &str) -> Vec<ResourceKind> {
        let Some(op) = self.operation(operation) else { return Vec::new() };
        let own = self.resource_of(operation).map(|kind| kind.name_member);
        labels(&op.http.request_uri)
            .iter()
            .filter(|label| Some(*label) != own.as_ref())
            .filter_map(|label| self.resource_named_by(label))
            .collect()
    }

    /// The input member that names a resource by its ARN (`resourceArn` of TagResource): a
    /// required query member of the model's ARN shape.
    pub fn arn_member(&self, operation: &str) -> Option<String> {
        let input = self.structure(self.operation(operation)?.input.as_deref()?)?;
        input
            .members
            .iter()
            .find(|m| m.location == Location::Query && m.target == "Arn" && input.required.contains(&m.name))
            .map(|m| m.name.clone())
    }

    /// The input member that carries a page token (`nextToken`): a query member the output has
    /// too, where the next page's token comes back.
    pub fn page_token(&self, operation: &str) -> Option<String> {
        let op = self.operation(operation)?;
        let input = self.structure(op.input.as_deref()?)?;
        let output = self.structure(op.output.as_deref()?)?;
        input
            .members
            .iter()
            .find(|m| m.location == Location::Query && output.member(&m.name).is_some())
            .map(|m| m.name.clone())
    }

    /// The input member that names the account owning the parent (`meshOwner`): a query member
    /// whose shape is the model's account id.
    pub fn owner_member(&self, operation: &str) -> Option<String> {
        let input = self.structure(self.operation(operation)?.input.as_deref()?)?;
        input.members.iter().find(|m| m.location == Location::Query && m.target == "AccountId").map(|m| m.name.clone())
    }
}

/// `virtualNode` → `VirtualNode`.
fn capitalised(stem: &str) -> String {
    let mut chars = stem.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// `virtualNode` → `virtual node`.
fn words(stem: &str) -> String {
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seven_kinds_of_app_mesh_come_from_the_bindings() {
        let model = ServiceModel::embedded_ref();
        let kinds = model.resource_kinds();
        let names: Vec<&str> = kinds.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(
            names,
            ["Mesh", "VirtualGateway", "VirtualNode", "VirtualRouter", "VirtualService", "GatewayRoute", "Route"]
        );
        for kind in kinds {
            for op in [&kind.create, &kind.list, &kind.update, &kind.delete] {
                assert!(op.is_some(), "{}: every kind has all five operations", kind.name);
            }
        }
        let route = kinds.iter().find(|k| k.name == "Route").unwrap();
        assert_eq!(route.parents, ["meshName", "virtualRouterName"]);
        assert_eq!(route.noun, "route");
        assert_eq!(route.create.as_deref(), Some("CreateRoute"));
        assert_eq!(route.list_member.as_deref(), Some("routes"));
        assert_eq!(route.ref_shape.as_deref(), Some("RouteRef"));
        let mesh = &kinds[0];
        assert_eq!(
            (mesh.create.as_deref(), mesh.list.as_deref(), mesh.list_member.as_deref()),
            (Some("CreateMesh"), Some("ListMeshes"), Some("meshes"))
        );
        assert_eq!(mesh.placeholder(), "${mesh}");
    }

    #[test]
    fn references_and_quotas_name_kinds_and_members_the_model_has() {
        let model = ServiceModel::embedded_ref();
        let kinds = model.resource_kinds();
        let kind = |name: &str| kinds.iter().find(|k| k.name == name).unwrap_or_else(|| panic!("no kind {name}"));
        assert!(!model.provenance.references.is_empty());
        for reference in &model.provenance.references {
            let from = kind(&reference.from);
            kind(&reference.to);
            for op in [&from.create, &from.update].into_iter().flatten() {
                let input = model.operation(op).and_then(|o| o.input.clone()).unwrap();
                assert!(
                    model.member_paths(&input).contains(&reference.member),
                    "{op} has no member {}",
                    reference.member
                );
            }
        }
        for quota in model.provenance.quotas.iter().filter(|q| q.resource.is_some()) {
            let counted = kind(quota.resource.as_deref().unwrap());
            let within = quota.within.as_deref().map(|w| kind(w).identifiers()).unwrap_or_default();
            assert_eq!(counted.parents, within, "quota {}", quota.id);
        }
    }

    #[test]
    fn deletes_go_children_and_referrers_first() {
        let order: Vec<String> = ServiceModel::embedded_ref().deletion_order().into_iter().map(|k| k.name).collect();
        let at = |name: &str| order.iter().position(|k| k == name).unwrap();
        for (first, then) in [
            ("GatewayRoute", "VirtualGateway"),
            ("GatewayRoute", "VirtualService"),
            ("Route", "VirtualRouter"),
            ("Route", "VirtualNode"),
            ("VirtualService", "VirtualNode"),
            ("VirtualService", "VirtualRouter"),
        ] {
            assert!(at(first) < at(then), "{first} before {then}: {order:?}");
        }
        assert_eq!(order.last().map(String::as_str), Some("Mesh"));
    }

    #[test]
    fn strings_are_found_along_a_path_through_lists() {
        let value = serde_json::json!({"spec": {"backends": [
            {"virtualService": {"virtualServiceName": "a"}}, {"other": 1}, {"virtualService": {"virtualServiceName": "b"}}
        ]}});
        assert_eq!(strings_at(&value, "spec.backends[].virtualService.virtualServiceName"), ["a", "b"]);
        assert!(strings_at(&value, "spec.listeners[].port").is_empty());
    }

    #[test]
    fn an_operation_knows_its_kind_its_parents_and_its_owner_member() {
        let model = ServiceModel::embedded_ref();
        let node = model.resource_of("CreateVirtualNode").unwrap();
        assert_eq!(node.noun, "virtual node");
        assert_eq!(node.identifiers(), ["meshName", "virtualNodeName"]);
        let parents: Vec<String> = model.parents_of("CreateVirtualNode").into_iter().map(|k| k.name).collect();
        assert_eq!(parents, ["Mesh"]);
        let parents: Vec<String> = model.parents_of("DeleteGatewayRoute").into_iter().map(|k| k.name).collect();
        assert_eq!(parents, ["Mesh", "VirtualGateway"]);
        assert!(model.parents_of("CreateMesh").is_empty());
        assert!(model.parents_of("DescribeMesh").is_empty());
        assert_eq!(model.owner_member("CreateVirtualNode").as_deref(), Some("meshOwner"));
        assert_eq!(model.owner_member("CreateMesh"), None);
        assert_eq!(model.arn_member("TagResource").as_deref(), Some("resourceArn"));
        assert_eq!(model.arn_member("DescribeMesh"), None);
        assert_eq!(model.page_token("ListTagsForResource").as_deref(), Some("nextToken"));
        assert_eq!(model.page_token("ListMeshes").as_deref(), Some("nextToken"));
        assert_eq!(model.page_token("DescribeMesh"), None);
        assert_eq!(model.resource_of("TagResource"), None);
        assert_eq!(model.created_by("CreateGatewayRoute").unwrap().list_member.as_deref(), Some("gatewayRoutes"));
        assert_eq!(model.created_by("DescribeMesh"), None);
        assert_eq!(
            labels("/v20190125/meshes/{meshName}/virtualRouter/{virtualRouterName}/routes"),
            ["meshName", "virtualRouterName"]
        );
    }
}
