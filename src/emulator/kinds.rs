//! What the emulator's store needs to know of each resource kind, read once from the model: the
//! kind's place in the hierarchy ([`ResourceKind`]), the answer member and data shape of its
//! operations, its spec and summary shapes.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::EmulatorConfig;
use crate::model::ServiceModel;
use crate::model::resources::{ResourceKind, arn_segment};
use crate::validate::normalize;

/// One kind, as the store serves it.
#[derive(Debug, Clone)]
pub(super) struct Kind {
    pub resource: ResourceKind,
    /// The one member of a Create, Describe, Update or Delete answer: `virtualNode`.
    pub output_member: String,
    /// The shape of that member: `VirtualNodeData`.
    pub data_shape: String,
    /// The shape of the `spec` member of its create, if it has one: `VirtualNodeSpec`.
    pub spec_shape: Option<String>,
}

impl Kind {
    /// The input's spec as stored: members the model does not define dropped, `null`s dropped,
    /// and `{}` where the input has none (App Mesh invents no member).
    pub fn normalized_spec(&self, model: &ServiceModel, input: &Value) -> Value {
        let spec = input.get("spec").filter(|s| !s.is_null()).cloned().unwrap_or_else(|| json!({}));
        match &self.spec_shape {
            Some(shape) => normalize(model, shape, &spec),
            None => spec,
        }
    }

    /// The resource's data: each member of the data shape, from the identifiers in the input,
    /// the metadata, the spec and the status.
    pub fn data(&self, model: &ServiceModel, input: &Value, metadata: Value, spec: Value, status: &str) -> Value {
        let mut data = serde_json::Map::new();
        for member in model.structure(&self.data_shape).map(|s| s.members.as_slice()).unwrap_or_default() {
            let value = match member.name.as_str() {
                "metadata" => metadata.clone(),
                "spec" => spec.clone(),
                "status" => json!({ "status": status }),
                name => match input.get(name) {
                    Some(value) => value.clone(),
                    None => continue,
                },
            };
            data.insert(member.name.clone(), value);
        }
        Value::Object(data)
    }
}

/// Every kind of the model, and which serves each operation.
#[derive(Debug, Clone)]
pub(super) struct Kinds {
    kinds: Vec<Kind>,
    by_operation: HashMap<String, usize>,
}

impl Kinds {
    pub fn new(model: &ServiceModel) -> Kinds {
        let mut kinds = Vec::new();
        let mut by_operation = HashMap::new();
        for resource in model.resource_kinds().iter().cloned() {
            let Some(kind) = Kind::of(model, resource) else { continue };
            let resource = &kind.resource;
            for op in [&resource.create, &resource.list, &resource.update, &resource.delete]
                .into_iter()
                .flatten()
                .chain([&resource.describe])
            {
                by_operation.insert(op.clone(), kinds.len());
            }
            kinds.push(kind);
        }
        Kinds { kinds, by_operation }
    }

    /// The kind an operation acts on.
    pub fn of_operation(&self, operation: &str) -> Option<&Kind> {
        self.by_operation.get(operation).map(|&index| &self.kinds[index])
    }

    /// A kind by name: `VirtualNode`.
    pub fn get(&self, name: &str) -> Option<&Kind> {
        self.kinds.iter().find(|k| k.resource.name == name)
    }

    /// The kind a label names: `meshName` → mesh.
    pub fn named_by(&self, label: &str) -> Option<&Kind> {
        self.kinds.iter().find(|k| k.resource.name_member == label)
    }

    /// The kinds whose parent this kind is (a mesh's virtual nodes, routers, ...).
    pub fn children_of<'k>(&'k self, kind: &'k Kind) -> impl Iterator<Item = &'k Kind> + 'k {
        let identifiers = kind.resource.identifiers();
        self.kinds.iter().filter(move |child| child.resource.parents == identifiers)
    }

    /// The noun of a kind's innermost parent (`virtual router` for a route).
    pub fn parent_noun(&self, kind: &Kind) -> &str {
        kind.resource.parents.last().and_then(|label| self.named_by(label)).map_or("", |p| p.resource.noun.as_str())
    }

    /// `arn:aws:appmesh:us-east-1:123456789012:mesh/m/virtualRouter/r/route/x`: each parent's
    /// segment and name, then the resource's. `skip_gateway` drops a gateway route's virtual
    /// gateway, for the deviation mode.
    pub fn arn(
        &self,
        config: &EmulatorConfig,
        kind: &Kind,
        parents: &[String],
        name: &str,
        skip_gateway: bool,
    ) -> String {
        let mut path: Vec<String> = Vec::new();
        for (label, parent) in kind.resource.parents.iter().zip(parents) {
            let Some(parent_kind) = self.named_by(label) else { continue };
            if skip_gateway && kind.resource.name == "GatewayRoute" && parent_kind.resource.name == "VirtualGateway" {
                continue;
            }
            path.push(format!("{}/{parent}", arn_segment(label)));
        }
        path.push(format!("{}/{name}", arn_segment(&kind.resource.name_member)));
        format!("arn:{}:appmesh:{}:{}:{}", partition(&config.region), config.region, config.account_id, path.join("/"))
    }
}

impl Kind {
    fn of(model: &ServiceModel, resource: ResourceKind) -> Option<Kind> {
        let describe = model.operation(&resource.describe)?;
        let output = model.structure(describe.output.as_deref()?)?;
        let payload = output.members.first()?;
        let spec_shape = resource
            .create
            .as_deref()
            .and_then(|create| model.structure(model.operation(create)?.input.as_deref()?))
            .and_then(|input| input.member("spec"))
            .map(|m| m.target.clone());
        Some(Kind { output_member: payload.name.clone(), data_shape: payload.target.clone(), spec_shape, resource })
    }
}

/// The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_served_with_its_shapes_and_arn() {
        let model = ServiceModel::embedded_ref();
        let kinds = Kinds::new(model);
        let route = kinds.of_operation("UpdateRoute").unwrap();
        assert_eq!(
            (
                route.output_member.as_str(),
                route.data_shape.as_str(),
                route.spec_shape.as_deref(),
                route.resource.ref_shape.as_deref()
            ),
            ("route", "RouteData", Some("RouteSpec"), Some("RouteRef"))
        );
        let config = EmulatorConfig::default();
        let names = ["m".to_string(), "r".to_string()];
        assert_eq!(
            kinds.arn(&config, route, &names, "x", false),
            "arn:aws:appmesh:us-east-1:123456789012:mesh/m/virtualRouter/r/route/x"
        );
        let gateway_route = kinds.get("GatewayRoute").unwrap();
        assert_eq!(
            kinds.arn(&config, gateway_route, &["m".into(), "g".into()], "x", true),
            "arn:aws:appmesh:us-east-1:123456789012:mesh/m/gatewayRoute/x"
        );
        let mesh = kinds.of_operation("ListMeshes").unwrap();
        let children: Vec<&str> = kinds.children_of(mesh).map(|k| k.resource.name.as_str()).collect();
        assert_eq!(children, ["VirtualGateway", "VirtualNode", "VirtualRouter", "VirtualService"]);
        assert_eq!(kinds.parent_noun(route), "virtual router");
        // Every operation on a resource is served: 7 kinds of 5 operations.
        assert_eq!(kinds.by_operation.len(), 35);
        assert_eq!(partition("cn-north-1"), "aws-cn");
    }

    #[test]
    fn data_follows_the_data_shape() {
        let model = ServiceModel::embedded_ref();
        let kinds = Kinds::new(model);
        let node = kinds.get("VirtualNode").unwrap();
        let input = json!({"meshName": "m", "virtualNodeName": "n", "clientToken": "t", "spec": {"unknown": 1}});
        let data = node.data(model, &input, json!({"version": 1}), node.normalized_spec(model, &input), "ACTIVE");
        assert_eq!(
            data,
            json!({"meshName": "m", "metadata": {"version": 1}, "spec": {}, "status": {"status": "ACTIVE"}, "virtualNodeName": "n"})
        );
    }
}
