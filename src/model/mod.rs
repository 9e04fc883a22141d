//! The contract model: a typed shape graph loaded from a service model in the AWS SDK JSON format.
//!
//! The crate ships its own model (`contract.json`, written for this project) and accepts any full
//! AWS SDK service model for App Mesh through [`ServiceModel::from_json`]. This module does no I/O
//! and knows nothing of HTTP clients or servers: it only parses and describes.

mod loader;
pub mod provenance;
pub mod resources;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

pub use loader::ModelError;
pub use provenance::Provenance;

/// The model this crate ships: App Mesh (API 2019-01-25) as last published in the AWS SDK models,
/// all 38 operations and every shape, with the provenance of what the SDK model does not carry
/// (sources, quotas, disagreements) under [`provenance::KEY`].
pub const EMBEDDED_MODEL_JSON: &str = include_str!("contract.json");

/// Where a request member travels on the wire (restJson1 HTTP bindings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    Query,
    Header,
}

/// One member of a structure shape.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// The name of the shape this member targets.
    pub target: String,
    pub location: Location,
    /// The wire name: the URI label, query key or header name; the member name for the body.
    pub location_name: String,
    pub idempotency_token: bool,
}

/// The HTTP status and fault attribution of an error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorTrait {
    pub http_status: u16,
    pub sender_fault: bool,
    pub throttling: bool,
}

/// A string constraint pattern. Patterns come from Java-flavoured models; one the `regex` crate
/// cannot compile is kept (so nothing is lost) but not enforced.
#[derive(Debug, Clone)]
pub enum Pattern {
    Enforced(regex::Regex),
    Unsupported(String),
}

impl Pattern {
    pub fn source(&self) -> &str {
        match self {
            Pattern::Enforced(regex) => regex.as_str(),
            Pattern::Unsupported(source) => source,
        }
    }
}

/// Inclusive bounds on a length, a size or a value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Bounds {
    pub fn is_empty(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }
}

impl std::fmt::Display for Bounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) if min == max => write!(f, "exactly {min}"),
            (Some(min), Some(max)) => write!(f, "{min}..={max}"),
            (Some(min), None) => write!(f, ">= {min}"),
            (None, Some(max)) => write!(f, "<= {max}"),
            (None, None) => write!(f, "any"),
        }
    }
}

/// What kind of value a shape describes, with its constraints.
#[derive(Debug, Clone)]
pub enum ShapeKind {
    Structure(Structure),
    List {
        member: String,
        size: Bounds,
    },
    Map {
        key: String,
        value: String,
        size: Bounds,
    },
    String {
        length: Bounds,
        pattern: Option<Pattern>,
        enum_values: Option<Vec<String>>,
    },
    Integer {
        range: Bounds,
    },
    Long {
        range: Bounds,
    },
    Float {
        range: Bounds,
    },
    Boolean,
    /// restJson1 sends timestamps in bodies as epoch seconds (a JSON number).
    Timestamp,
    Blob,
}

/// A structure, a union (exactly one member set) or an error.
#[derive(Debug, Clone)]
pub struct Structure {
    /// Members in model order.
    pub members: Vec<Member>,
    pub required: BTreeSet<String>,
    pub union: bool,
    /// Members of which at most one may be set (the provenance's `exclusive` table): empty for
    /// most structures.
    pub exclusive: Vec<String>,
    /// The member that is the whole HTTP body, when the output binds one.
    pub payload: Option<String>,
    pub error: Option<ErrorTrait>,
}

impl Structure {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The members of which one is chosen: every member of a union, or the exclusive group.
    pub fn choices(&self) -> Vec<&str> {
        match self.union {
            true => self.members.iter().map(|m| m.name.as_str()).collect(),
            false => self.exclusive.iter().map(String::as_str).collect(),
        }
    }

    /// The members that exclude `name`: the other members of a union, or of the exclusive group
    /// `name` is in.
    pub fn excluded_by(&self, name: &str) -> Vec<&str> {
        if self.union {
            return self.members.iter().map(|m| m.name.as_str()).filter(|m| *m != name).collect();
        }
        if !self.exclusive.iter().any(|m| m == name) {
            return Vec::new();
        }
        self.exclusive.iter().map(String::as_str).filter(|m| *m != name).collect()
    }
}

#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
}

/// An operation's HTTP binding.
#[derive(Debug, Clone)]
pub struct HttpBinding {
    pub method: String,
    /// The URI template, for example `/v20190125/meshes/{meshName}/virtualNodes`.
    pub request_uri: String,
    pub response_code: u16,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub http: HttpBinding,
    pub input: Option<String>,
    pub output: Option<String>,
    pub errors: Vec<String>,
    pub idempotent: bool,
}

/// Service-level facts: versions and signing name.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub api_version: String,
    pub protocol: String,
    pub service_id: String,
    pub signing_name: String,
    pub endpoint_prefix: String,
}

/// The loaded shape graph. Every shape reference in it resolves.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    pub metadata: Metadata,
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
    /// Sources, quotas and disagreements: what the SDK model does not carry.
    pub provenance: Provenance,
    /// The resource kinds, read from the operations and shapes once, on first use (see
    /// [`ServiceModel::resource_kinds`]): every step and clean-up asks for them.
    pub(crate) kinds: OnceLock<Vec<resources::ResourceKind>>,
}

impl ServiceModel {
    /// The model shipped inside the crate.
    pub fn embedded() -> ServiceModel {
        Self::embedded_ref().clone()
    }

    /// The model shipped inside the crate, parsed once per process.
    pub fn embedded_ref() -> &'static ServiceModel {
        static EMBEDDED: OnceLock<ServiceModel> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            ServiceModel::from_json(EMBEDDED_MODEL_JSON)
                .expect("the embedded contract model is valid (checked by the model tests)")
        })
    }

    /// Loads a model a user gives (`--model`): an SDK model without provenance borrows the
    /// embedded one's sources, quotas and disagreements; the harness's operations must be there.
    pub fn from_user_json(text: &str) -> Result<ServiceModel, ModelError> {
        let model = ServiceModel::from_json(text)?.with_provenance_of(Self::embedded_ref());
        model.check_required_operations()?;
        Ok(model)
    }

    /// This model, with `other`'s provenance where it has none of its own.
    pub fn with_provenance_of(mut self, other: &ServiceModel) -> ServiceModel {
        if self.provenance.is_empty() {
            self.provenance = other.provenance.clone();
            let operations = &self.operations;
            self.provenance.disputes.retain(|d| d.probes.iter().all(|p| operations.contains_key(&p.operation)));
        }
        self
    }

    /// Loads a model in the AWS SDK service model JSON format.
    pub fn from_json(text: &str) -> Result<ServiceModel, ModelError> {
        loader::load(text)
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    pub fn structure(&self, name: &str) -> Option<&Structure> {
        match &self.shapes.get(name)?.kind {
            ShapeKind::Structure(structure) => Some(structure),
            _ => None,
        }
    }

    /// The HTTP status the model assigns to an error code, for example 409 for `ConflictException`.
    pub fn error_status(&self, code: &str) -> Option<u16> {
        self.structure(code)?.error.as_ref().map(|e| e.http_status)
    }

    /// The operations the harness cannot work without, checked when a user supplies `--model`.
    pub fn check_required_operations(&self) -> Result<(), ModelError> {
        for name in REQUIRED_OPERATIONS {
            if !self.operations.contains_key(*name) {
                return Err(ModelError::MissingOperation((*name).to_string()));
            }
        }
        Ok(())
    }

    /// Every member path below a shape, lists written `name[]`, in depth-first model order.
    /// Recursion stops at a shape already on the current path.
    pub fn member_paths(&self, shape: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        self.collect_paths(shape, "", &mut stack, &mut out);
        out
    }

    fn collect_paths(&self, shape: &str, prefix: &str, stack: &mut Vec<String>, out: &mut Vec<String>) {
        if stack.iter().any(|s| s == shape) {
            return;
        }
        let Some(found) = self.shapes.get(shape) else { return };
        stack.push(shape.to_string());
        match &found.kind {
            ShapeKind::Structure(structure) => {
                for member in &structure.members {
                    let path = join_path(prefix, &member.name);
                    out.push(path.clone());
                    self.collect_paths(&member.target, &path, stack, out);
                }
            }
            ShapeKind::List { member, .. } => {
                self.collect_paths(member, &format!("{prefix}[]"), stack, out);
            }
            _ => {}
        }
        stack.pop();
    }
}

/// The operations the harness uses to set up, exercise, read back and clean up.
pub const REQUIRED_OPERATIONS: &[&str] = &[
    "CreateMesh",
    "DescribeMesh",
    "DeleteMesh",
    "CreateVirtualNode",
    "DescribeVirtualNode",
    "DeleteVirtualNode",
    "ListVirtualNodes",
];

/// Whether a text is an AWS account id as App Mesh writes one (`meshOwner`, `resourceOwner`,
/// the account in an ARN): exactly 12 decimal digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Joins a member name onto a path: `spec` + `listeners` gives `spec.listeners`.
pub fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("123456789012"));
        for bad in ["12345678901", "1234567890123", "12345678901a", "", "１２３４５６７８９０１２"] {
            assert!(!is_account_id(bad), "{bad}");
        }
    }

    #[test]
    fn embedded_model_loads_with_every_required_operation() {
        let model = ServiceModel::embedded();
        model.check_required_operations().unwrap();
        let op = model.operation("CreateVirtualNode").unwrap();
        assert_eq!(op.http.method, "PUT");
        assert_eq!(op.http.request_uri, "/v20190125/meshes/{meshName}/virtualNodes");
        assert_eq!(op.input.as_deref(), Some("CreateVirtualNodeInput"));
        assert!(op.idempotent);
    }

    /// The documented error table, status by status.
    #[test]
    fn error_table_matches_the_documentation() {
        let model = ServiceModel::embedded();
        let table = [
            ("BadRequestException", 400),
            ("ConflictException", 409),
            ("ForbiddenException", 403),
            ("InternalServerErrorException", 500),
            ("LimitExceededException", 400),
            ("NotFoundException", 404),
            ("ServiceUnavailableException", 503),
            ("TooManyRequestsException", 429),
        ];
        let op = model.operation("CreateVirtualNode").unwrap();
        assert_eq!(op.errors.len(), table.len());
        assert_eq!(model.error_status("ResourceInUseException"), Some(409));
        assert_eq!(model.error_status("TooManyTagsException"), Some(400));
        for (code, status) in table {
            assert_eq!(model.error_status(code), Some(status), "{code}");
            assert!(op.errors.iter().any(|e| e == code), "{code} is declared by CreateVirtualNode");
        }
        let throttling = model.structure("TooManyRequestsException").unwrap().error.clone().unwrap();
        assert!(throttling.throttling && throttling.sender_fault);
        let internal = model.structure("InternalServerErrorException").unwrap().error.clone().unwrap();
        assert!(!internal.sender_fault && !internal.throttling);
    }

    fn constraint(model: &ServiceModel, shape: &str) -> ShapeKind {
        model.shape(shape).unwrap_or_else(|| panic!("shape {shape}")).kind.clone()
    }

    #[test]
    fn documented_constraints_are_in_the_model() {
        let model = ServiceModel::embedded();
        let bounds = |min: f64, max: f64| Bounds { min: Some(min), max: Some(max) };
        let cases: &[(&str, Bounds)] = &[
            ("ResourceName", bounds(1.0, 255.0)),
            ("AccountId", bounds(12.0, 12.0)),
            ("TagKey", bounds(1.0, 128.0)),
            ("TagValue", bounds(0.0, 256.0)),
            ("PortNumber", bounds(1.0, 65535.0)),
            ("HealthCheckThreshold", bounds(2.0, 10.0)),
            ("HealthCheckIntervalMillis", bounds(5000.0, 300000.0)),
            ("HealthCheckTimeoutMillis", bounds(2000.0, 60000.0)),
            ("TagList", bounds(0.0, 50.0)),
        ];
        for (shape, expected) in cases {
            let found = match constraint(&model, shape) {
                ShapeKind::String { length, .. } => length,
                ShapeKind::Integer { range } | ShapeKind::Long { range } => range,
                ShapeKind::List { size, .. } => size,
                other => panic!("{shape} has unexpected kind {other:?}"),
            };
            assert_eq!(&found, expected, "{shape}");
        }
        let enum_of = |shape: &str| match constraint(&model, shape) {
            ShapeKind::String { enum_values: Some(values), .. } => values,
            other => panic!("{shape} is not an enum: {other:?}"),
        };
        assert_eq!(enum_of("PortProtocol"), ["http", "tcp", "http2", "grpc"]);
        assert_eq!(enum_of("ListenerTlsMode"), ["STRICT", "PERMISSIVE", "DISABLED"]);
        assert_eq!(enum_of("VirtualNodeStatusCode"), ["ACTIVE", "INACTIVE", "DELETED"]);
        for union in [
            "ServiceDiscovery",
            "Backend",
            "TlsValidationContextTrust",
            "ListenerTlsCertificate",
            "ListenerTimeout",
            "AccessLog",
        ] {
            assert!(model.structure(union).unwrap().union, "{union} is a union");
        }
    }

    /// Member paths of a JSON skeleton: objects give `a.b`, arrays give `a[]`; keys starting with
    /// `__` hold URI and query members, which sit at the top level of the input.
    fn skeleton_paths(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(object) => {
                for (key, child) in object {
                    if key == "__comment" {
                        continue;
                    }
                    if key.starts_with("__") {
                        skeleton_paths(prefix, child, out);
                        continue;
                    }
                    let path = join_path(prefix, key);
                    out.push(path.clone());
                    skeleton_paths(&path, child, out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    skeleton_paths(&format!("{prefix}[]"), item, out);
                }
            }
            _ => {}
        }
    }

    /// Every member of the 2019 CreateVirtualNode page's request syntax is in the model, and the
    /// final model adds exactly the members App Mesh gained since (SDS, subject alternative names,
    /// connection pools, outlier detection, access-log formats, IP preference, DNS response type).
    #[test]
    fn the_final_model_extends_the_documented_request_syntax() {
        let skeleton: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/create-virtual-node-request-syntax.json")).unwrap();
        let mut documented = Vec::new();
        skeleton_paths("", &skeleton, &mut documented);
        let documented: BTreeSet<String> = documented.into_iter().collect();
        let modelled: BTreeSet<String> =
            ServiceModel::embedded().member_paths("CreateVirtualNodeInput").into_iter().collect();
        let missing: Vec<_> = documented.difference(&modelled).collect();
        assert!(missing.is_empty(), "members of the documented request syntax missing from the model: {missing:?}");
        assert!(documented.len() > 80, "the skeleton was read ({} paths)", documented.len());
        // The roots of what the final model adds: added members whose parent the page documents.
        let parent =
            |path: &str| path.rsplit_once('.').map_or(String::new(), |(p, _)| p.trim_end_matches("[]").to_string());
        let added: Vec<&str> = modelled
            .difference(&documented)
            .filter(|path| {
                let parent = parent(path);
                parent.is_empty() || documented.contains(&parent) || documented.contains(&format!("{parent}[]"))
            })
            .map(String::as_str)
            .collect();
        assert_eq!(
            added,
            [
                "spec.backendDefaults.clientPolicy.tls.certificate",
                "spec.backendDefaults.clientPolicy.tls.validation.subjectAlternativeNames",
                "spec.backendDefaults.clientPolicy.tls.validation.trust.sds",
                "spec.backends[].virtualService.clientPolicy.tls.certificate",
                "spec.backends[].virtualService.clientPolicy.tls.validation.subjectAlternativeNames",
                "spec.backends[].virtualService.clientPolicy.tls.validation.trust.sds",
                "spec.listeners[].connectionPool",
                "spec.listeners[].outlierDetection",
                "spec.listeners[].tls.certificate.sds",
                "spec.listeners[].tls.validation",
                "spec.logging.accessLog.file.format",
                "spec.serviceDiscovery.awsCloudMap.ipPreference",
                "spec.serviceDiscovery.dns.ipPreference",
                "spec.serviceDiscovery.dns.responseType",
            ]
        );
    }

    /// The whole API: 38 operations, each with its HTTP binding, input and error list.
    #[test]
    fn the_embedded_model_is_the_whole_api() {
        let model = ServiceModel::embedded();
        assert_eq!(model.operations.len(), 38);
        for resource in
            ["Mesh", "VirtualNode", "VirtualRouter", "Route", "VirtualService", "VirtualGateway", "GatewayRoute"]
        {
            for verb in ["Create", "Describe", "Update", "Delete", "List"] {
                let name = match (verb, resource) {
                    ("List", "Mesh") => "ListMeshes".to_string(),
                    ("List", _) => format!("List{resource}s"),
                    _ => format!("{verb}{resource}"),
                };
                let op = model.operation(&name).unwrap_or_else(|| panic!("{name}"));
                assert!(op.input.is_some() && !op.errors.is_empty(), "{name}");
            }
        }
        for name in ["TagResource", "UntagResource", "ListTagsForResource"] {
            assert!(model.operation(name).is_some(), "{name}");
        }
        assert!(model.shapes.len() > 300, "{} shapes", model.shapes.len());
    }

    #[test]
    fn member_paths_walk_lists_and_structures() {
        let model = ServiceModel::embedded();
        let paths = model.member_paths("CreateVirtualNodeInput");
        assert!(paths.contains(&"spec.listeners[].portMapping.port".to_string()));
        assert!(paths.contains(&"tags[].key".to_string()));
        assert!(paths.contains(&"meshOwner".to_string()));
    }
}
