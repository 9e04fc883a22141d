//! What a request needs to exist before it is sent: its parents, the resource it reads or
//! changes, and the resources its references must name. Scenarios make them with `Given a fresh
//! <kind>` steps, in an order that creates cleanly, each from the kind's minimal create request.

use serde_json::{Value, json};

use super::values::minimal;
use crate::model::ServiceModel;
use crate::model::provenance::{MustExist, Reference};
use crate::model::resources::{ResourceKind, strings_at};

/// The references of a kind's spec that must (or may have to) name an existing resource: a
/// request that names a fresh one is valid on every reading.
pub fn live_references<'m>(model: &'m ServiceModel, kind: &'m str) -> Vec<&'m Reference> {
    model.provenance.references_from(kind).filter(|r| r.must_exist != MustExist::No).collect()
}

/// The smallest valid request that creates a `kind`, names not yet filled in.
pub fn minimal_create(model: &ServiceModel, kind: &ResourceKind) -> Option<Value> {
    let input = model.operation(kind.create.as_deref()?)?.input.clone()?;
    Some(minimal(model, &input))
}

/// The kinds a fresh `kind` needs first: its parents, and the kinds its minimal create request
/// names through a live reference.
pub fn needs(model: &ServiceModel, kind: &ResourceKind) -> Vec<ResourceKind> {
    let mut out: Vec<ResourceKind> = kind.parents.iter().filter_map(|label| model.resource_named_by(label)).collect();
    let request = minimal_create(model, kind).unwrap_or_default();
    for reference in live_references(model, &kind.name) {
        if !strings_at(&request, &reference.member).is_empty()
            && let Some(to) = model.resource_kinds().iter().find(|k| k.name == reference.to)
        {
            out.push(to.clone());
        }
    }
    out
}

/// `kinds`, each after everything it needs, each once.
pub fn in_creating_order(model: &ServiceModel, kinds: &[ResourceKind]) -> Vec<ResourceKind> {
    fn visit(model: &ServiceModel, kind: &ResourceKind, out: &mut Vec<ResourceKind>, depth: usize) {
        if out.contains(kind) || depth > 16 {
            return;
        }
        for needed in needs(model, kind) {
            visit(model, &needed, out, depth + 1);
        }
        if !out.contains(kind) {
            out.push(kind.clone());
        }
    }
    let mut out = Vec::new();
    for kind in kinds {
        visit(model, kind, &mut out, 0);
    }
    out
}

/// Sets every string at a member path (`spec.backends[].virtualService.virtualServiceName`,
/// `[]` entering every item of a list) to `replacement`.
pub fn set_strings_at(value: &mut Value, path: &str, replacement: &str) {
    let (step, rest) = match path.split_once('.') {
        Some((step, rest)) => (step, Some(rest)),
        None => (path, None),
    };
    let (name, every) = match step.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (step, false),
    };
    let Some(inner) = value.get_mut(name) else { return };
    let targets: Vec<&mut Value> = match (every, inner) {
        (true, Value::Array(items)) => items.iter_mut().collect(),
        (true, _) => Vec::new(),
        (false, inner) => vec![inner],
    };
    for target in targets {
        match rest {
            Some(rest) => set_strings_at(target, rest, replacement),
            None if target.is_string() => *target = json!(replacement),
            None => {}
        }
    }
}

/// A reference path in the form of a member tag: `a.b[].c` → `a.b.c`.
pub fn reference_tag(member: &str) -> String {
    member.replace("[]", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind<'m>(model: &'m ServiceModel, name: &str) -> &'m ResourceKind {
        model.resource_kinds().iter().find(|k| k.name == name).unwrap()
    }

    #[test]
    fn a_route_needs_its_mesh_router_and_a_target_node_first() {
        let model = ServiceModel::embedded_ref();
        let order: Vec<String> =
            in_creating_order(model, &[kind(model, "Route").clone()]).into_iter().map(|k| k.name).collect();
        assert_eq!(order, ["Mesh", "VirtualRouter", "VirtualNode", "Route"]);
        let order: Vec<String> =
            in_creating_order(model, &[kind(model, "GatewayRoute").clone(), kind(model, "Mesh").clone()])
                .into_iter()
                .map(|k| k.name)
                .collect();
        assert_eq!(order, ["Mesh", "VirtualGateway", "VirtualService", "GatewayRoute"]);
        // A virtual service's provider is optional: a fresh one needs only its mesh.
        let names: Vec<String> = needs(model, kind(model, "VirtualService")).into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["Mesh"]);
    }

    #[test]
    fn strings_are_set_along_a_path_through_lists() {
        let mut value = json!({"spec": {"t": [{"n": "a"}, {"n": 1}, {"n": "b"}], "u": "x"}});
        set_strings_at(&mut value, "spec.t[].n", "${virtual-node}");
        set_strings_at(&mut value, "spec.missing[].n", "z");
        set_strings_at(&mut value, "spec.u", "y");
        assert_eq!(
            value,
            json!({"spec": {"t": [{"n": "${virtual-node}"}, {"n": 1}, {"n": "${virtual-node}"}], "u": "y"}})
        );
        assert_eq!(reference_tag("spec.t[].n"), "spec.t.n");
    }
}
