//! The embedded App Mesh emulator: the harness's default target and its reference implementation
//! of the contract.
//!
//! Requests are routed, decoded and validated from the contract model (the same [`wire`] and
//! [`validate`] code the harness uses), then handed to the [`store`]. Errors are restJson1-shaped:
//! status code, `x-amzn-ErrorType`, `{"message": ...}`. It listens on loopback only.
//! This module never imports the client.
//!
//! [`wire`]: crate::wire
//! [`validate`]: crate::validate

pub mod deviation;
mod kinds;
pub mod readings;
pub mod recorded;
pub mod server;
pub mod sigv4;
mod store;
pub mod throttle;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use deviation::Deviation;
pub use throttle::RateLimit;

use crate::model::ServiceModel;
use crate::validate::{Rule, Violation, violations};
use crate::wire::{self, DecodeError};

/// The account the emulator answers for unless told otherwise (the one in the documented example).
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// The region the emulator answers for unless told otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Request bodies above this size are refused with 400.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The access key id `--verify-sigv4` expects unless told otherwise.
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIDAPPMESHCONFORMANCE";
/// The secret key `--verify-sigv4` expects unless told otherwise. A test value, not a secret.
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "appmesh-conformance-embedded-secret";

/// Service quotas; the defaults are App Mesh's, from the model's quota table. The three the
/// harness's scenarios set have fields; any other quota of the table is set by its id in
/// `others` (`serve --quota virtual-gateways-per-mesh=5`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    pub meshes_per_account: usize,
    pub virtual_nodes_per_mesh: usize,
    pub backends_per_virtual_node: usize,
    pub others: BTreeMap<String, usize>,
}

impl Quotas {
    /// The defaults a model's quota table gives (a quota it lacks is unbounded).
    pub fn of(model: &ServiceModel) -> Quotas {
        Quotas {
            meshes_per_account: default_quota(model, "meshes-per-account"),
            virtual_nodes_per_mesh: default_quota(model, "virtual-nodes-per-mesh"),
            backends_per_virtual_node: default_quota(model, "backends-per-virtual-node"),
            others: BTreeMap::new(),
        }
    }

    /// The limit of a quota of the model's table, by id: as set, or its default.
    pub fn limit(&self, id: &str, model: &ServiceModel) -> usize {
        match id {
            "meshes-per-account" => self.meshes_per_account,
            "virtual-nodes-per-mesh" => self.virtual_nodes_per_mesh,
            "backends-per-virtual-node" => self.backends_per_virtual_node,
            other => self.others.get(other).copied().unwrap_or_else(|| default_quota(model, other)),
        }
    }

    /// Sets a quota by id; an id the model's table lacks is refused with the ids it has.
    pub fn set(&mut self, id: &str, value: usize, model: &ServiceModel) -> Result<(), UnknownQuota> {
        if model.provenance.quota(id).is_none() {
            let known = model.provenance.quotas.iter().map(|q| q.id.as_str()).collect::<Vec<_>>().join(", ");
            return Err(UnknownQuota { id: id.to_string(), known });
        }
        match id {
            "meshes-per-account" => self.meshes_per_account = value,
            "virtual-nodes-per-mesh" => self.virtual_nodes_per_mesh = value,
            "backends-per-virtual-node" => self.backends_per_virtual_node = value,
            other => {
                self.others.insert(other.to_string(), value);
            }
        }
        Ok(())
    }
}

fn default_quota(model: &ServiceModel, id: &str) -> usize {
    model.provenance.quota(id).map_or(usize::MAX, |v| usize::try_from(v).unwrap_or(usize::MAX))
}

/// A quota id that the model's quota table does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quota `{id}`; the model's quotas are: {known}")]
pub struct UnknownQuota {
    pub id: String,
    pub known: String,
}

/// The emulator's answers where App Mesh's documentation leaves the behaviour open. The
/// defaults are the likeliest reading of the evidence (see README, "The emulator's choices").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    /// A reference the documentation leaves open (a virtual service's provider, a gateway
    /// route's target) must name an existing resource: NotFoundException otherwise.
    pub open_references_must_exist: bool,
    /// What Describe answers for a resource just deleted, which the documentation leaves open.
    pub after_delete: AfterDelete,
}

impl Default for Choices {
    fn default() -> Self {
        Choices { open_references_must_exist: true, after_delete: AfterDelete::Gone }
    }
}

/// What Describe answers after a Delete (`serve --after-delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AfterDelete {
    /// 404 NotFoundException, as for a resource that never was.
    #[default]
    Gone,
    /// The record with status DELETED, for the most recent deletes (at most
    /// [`AfterDelete::RECORDS_KEPT`]); until a new resource takes the name. Lists and the tag
    /// operations no longer see it, and Delete answers 404.
    DeletedRecord,
}

impl AfterDelete {
    /// Deleted records kept at most, so that a long create/delete loop holds a bounded amount.
    pub const RECORDS_KEPT: usize = 1_000;
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas::of(ServiceModel::embedded_ref())
    }
}

/// The credentials requests must be signed with when signatures are verified.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_key_id: DEFAULT_ACCESS_KEY_ID.to_string(),
            secret_access_key: DEFAULT_SECRET_ACCESS_KEY.to_string(),
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub region: String,
    pub account_id: String,
    pub deviations: BTreeSet<Deviation>,
    pub quotas: Quotas,
    /// A token bucket over all operations; `None` (the default) never throttles.
    pub rate_limit: Option<RateLimit>,
    /// Verify SigV4 signatures against these credentials; `None` (the default) accepts any.
    pub auth: Option<AuthConfig>,
    /// For a disputed point, the source whose reading to follow instead of the model file's
    /// choice (see [`readings`]).
    pub readings: BTreeMap<String, String>,
    pub choices: Choices,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            region: DEFAULT_REGION.to_string(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            deviations: BTreeSet::new(),
            quotas: Quotas::default(),
            rate_limit: None,
            auth: None,
            readings: BTreeMap::new(),
            choices: Choices::default(),
        }
    }
}

impl EmulatorConfig {
    pub fn has(&self, deviation: Deviation) -> bool {
        self.deviations.contains(&deviation)
    }
}

/// The error codes the emulator answers with. Their HTTP statuses come from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Conflict,
    Forbidden,
    InternalServerError,
    LimitExceeded,
    NotFound,
    ResourceInUse,
    ServiceUnavailable,
    TooManyRequests,
    TooManyTags,
    /// Not in the model: a method and path that address no operation.
    UnknownOperation,
    /// Not in the model: an AWS authentication failure (403), with its code.
    Auth(&'static str),
    /// Not in the model: throttling answered the wrong way, for a deviation mode (400).
    Throttling,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BadRequestException",
            ErrorCode::Conflict => "ConflictException",
            ErrorCode::Forbidden => "ForbiddenException",
            ErrorCode::InternalServerError => "InternalServerErrorException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::NotFound => "NotFoundException",
            ErrorCode::ResourceInUse => "ResourceInUseException",
            ErrorCode::ServiceUnavailable => "ServiceUnavailableException",
            ErrorCode::TooManyRequests => "TooManyRequestsException",
            ErrorCode::TooManyTags => "TooManyTagsException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::Auth(code) => code,
            ErrorCode::Throttling => "ThrottlingException",
        }
    }

    /// The HTTP status of codes the model does not define.
    fn fallback_status(self) -> u16 {
        match self {
            ErrorCode::UnknownOperation => 404,
            ErrorCode::Auth(_) => 403,
            ErrorCode::Throttling | ErrorCode::BadRequest | ErrorCode::LimitExceeded => 400,
            _ => 500,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
}

/// The emulator itself, apart from any HTTP server: [`Emulator::answer`] takes a request's parts
/// and gives the answer. [`router`] serves it with axum; the fuzz targets that need no server
/// call it directly, so that they link no HTTP stack.
pub struct Emulator {
    model: Arc<ServiceModel>,
    config: EmulatorConfig,
    bucket: Option<throttle::TokenBucket>,
    kinds: kinds::Kinds,
    store: Mutex<store::Store>,
    /// Whether a read's answer may be remembered until the next change: no deviation mode (some
    /// answer reads with fresh values each time) and no input member bound to a header (a read's
    /// request target then says all it asks).
    reads_cacheable: bool,
    /// Recorded answers given instead of the store's (`serve --cassette`).
    recorded: Option<recorded::Recorded>,
}

/// Everything an emulator holds, as [`Emulator::snapshot`] took it.
#[derive(Debug, Clone)]
pub struct Snapshot(store::Store);

/// One answer of the emulator, before a server frames it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The emulator as an axum router, for serving or for calling in-process.
pub fn router(model: Arc<ServiceModel>, config: EmulatorConfig) -> axum::Router {
    router_of(Arc::new(Emulator::new(model, config)))
}

/// An axum router serving `emulator`, which the caller keeps a handle on (to snapshot or
/// restore its state).
pub fn router_of(emulator: Arc<Emulator>) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(emulator)
}

/// A running emulator on a loopback port (see [`server`]). Dropping it leaves the server running
/// until the runtime ends; call [`RunningEmulator::shutdown`] to stop it.
pub struct RunningEmulator {
    pub addr: SocketAddr,
    server: server::Running,
}

impl RunningEmulator {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes idle connections and returns within the drain time.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Starts the emulator on `127.0.0.1:port` (0 picks a free port) with the default limits.
pub async fn start(model: Arc<ServiceModel>, config: EmulatorConfig, port: u16) -> std::io::Result<RunningEmulator> {
    start_with_limits(model, config, port, server::ServerLimits::default()).await
}

/// Starts the emulator on `127.0.0.1:port` with the given server limits.
pub async fn start_with_limits(
    model: Arc<ServiceModel>,
    config: EmulatorConfig,
    port: u16,
    limits: server::ServerLimits,
) -> std::io::Result<RunningEmulator> {
    serve_emulator(Arc::new(Emulator::new(model, config)), port, limits).await
}

/// Serves an emulator already made (one answering from a cassette) on `127.0.0.1:port`.
pub async fn serve_emulator(
    emulator: Arc<Emulator>,
    port: u16,
    limits: server::ServerLimits,
) -> std::io::Result<RunningEmulator> {
    let server = server::start(emulator, port, limits).await?;
    Ok(RunningEmulator { addr: server.addr, server })
}

async fn handle(
    State(emulator): State<Arc<Emulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let header_pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string())))
        .collect();
    let answer = match &body {
        Ok(body) => emulator.answer(&method, &uri, &header_pairs, body),
        Err(rejection) => emulator
            .refusal(ErrorCode::BadRequest, &format!("the request body could not be read: {}", rejection.body_text())),
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, answer.body).into_response();
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// What the emulator holds ([`Emulator::footprint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Resources of every kind, tags aside.
    pub resources: usize,
    /// Client tokens remembered for replays: those of the resources that exist.
    pub client_tokens: usize,
    /// Deleted resources' records Describe still answers (`--after-delete deleted-record`).
    pub deleted_records: usize,
}

impl Emulator {
    pub fn new(model: Arc<ServiceModel>, config: EmulatorConfig) -> Emulator {
        let bucket = config.rate_limit.map(throttle::TokenBucket::new);
        let kinds = kinds::Kinds::new(&model);
        let headers_bound = model
            .operations
            .values()
            .filter_map(|op| model.structure(op.input.as_deref()?))
            .any(|input| input.members.iter().any(|member| member.location == crate::model::Location::Header));
        let reads_cacheable = config.deviations.is_empty() && !headers_bound;
        Emulator {
            model,
            config,
            bucket,
            kinds,
            store: Mutex::new(store::Store::default()),
            reads_cacheable,
            recorded: None,
        }
    }

    /// An emulator that answers from a cassette (see [`recorded`]).
    pub fn from_cassette(
        model: Arc<ServiceModel>,
        config: EmulatorConfig,
        cassette: &crate::cassette::Cassette,
    ) -> Emulator {
        Emulator { recorded: Some(recorded::Recorded::new(cassette)), ..Emulator::new(model, config) }
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    pub fn model(&self) -> &ServiceModel {
        &self.model
    }

    /// A copy of everything the emulator holds (meshes, nodes, tags, client tokens).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(self.lock_store().clone())
    }

    /// How much the emulator holds: a long `serve` under a create/delete loop must stay flat.
    pub fn footprint(&self) -> Footprint {
        let store = self.lock_store();
        let (resources, client_tokens, deleted_records) = store.footprint();
        Footprint { resources, client_tokens, deleted_records }
    }

    /// Puts back what [`Emulator::snapshot`] took: a fuzz target answers every input from the
    /// same state, so that a finding replays alone.
    pub fn restore(&self, snapshot: &Snapshot) {
        let mut store = self.lock_store();
        // Most inputs change nothing: then there is nothing to put back.
        if store.generation() != snapshot.0.generation() {
            *store = snapshot.0.clone();
        }
    }

    /// Answers one request.
    pub fn answer(&self, method: &Method, uri: &Uri, headers: &[(String, String)], body: &[u8]) -> Answer {
        if let Some(recorded) = &self.recorded {
            return self.recorded_answer(recorded, method, uri, body);
        }
        let outcome = self
            .authenticate(method, uri, headers, body)
            .and_then(|()| self.throttle())
            .and_then(|()| self.dispatch(method, uri, headers, body));
        match outcome {
            Ok((status, body)) => self.respond(status, body, None),
            Err(error) => self.error_answer(&error),
        }
    }

    fn recorded_answer(&self, recorded: &recorded::Recorded, method: &Method, uri: &Uri, body: &[u8]) -> Answer {
        let target = uri.path_and_query().map_or("/", |t| t.as_str());
        match recorded.answer(method.as_str(), target, body) {
            Some(reply) => {
                let headers = reply
                    .headers
                    .into_iter()
                    .filter_map(|(name, value)| Some((recorded::header_name(&name)?, value)))
                    .collect();
                Answer { status: reply.status, headers, body: reply.body }
            }
            None => {
                let message = format!(
                    "the cassette holds no answer to {method} {target} with this body ({} exchanges recorded)",
                    recorded.count()
                );
                Answer {
                    status: 501,
                    headers: vec![("content-type", "application/json".to_string())],
                    body: serde_json::json!({ "message": message }).to_string().into_bytes(),
                }
            }
        }
    }

    /// An error answer that no operation gave: a request refused before it reached one (a
    /// malformed head, a slow body, no room for the connection), in the same JSON shape.
    pub fn refusal(&self, code: ErrorCode, message: &str) -> Answer {
        self.error_answer(&ApiError::new(code, message))
    }

    fn error_answer(&self, error: &ApiError) -> Answer {
        let status = self.model.error_status(error.code.as_str()).unwrap_or(error.code.fallback_status());
        let body = serde_json::to_vec(&json!({ "message": error.message })).expect("serializes");
        self.respond(status, body, Some(error.code))
    }

    fn respond(&self, status: u16, body: Vec<u8>, error: Option<ErrorCode>) -> Answer {
        let content_type = if self.config.has(Deviation::HtmlContentType) { "text/html" } else { "application/json" };
        let mut headers = vec![("content-type", content_type.to_string()), ("x-amzn-requestid", store::random_id())];
        if let Some(code) = error
            && !self.config.has(Deviation::NoErrorTypeHeader)
        {
            headers.push(("x-amzn-errortype", code.as_str().to_string()));
        }
        Answer { status, headers, body }
    }

    /// With `--verify-sigv4`, a request must carry a valid SigV4 signature for this region.
    fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(), ApiError> {
        let Some(auth) = &self.config.auth else { return Ok(()) };
        if self.config.has(Deviation::SignatureNotChecked) {
            return Ok(());
        }
        let received = sigv4::Received {
            method: method.as_str(),
            raw_path: uri.path(),
            raw_query: uri.query().unwrap_or_default(),
            headers,
            body,
        };
        let expected = sigv4::Expected {
            access_key_id: &auth.access_key_id,
            secret_access_key: &auth.secret_access_key,
            region: &self.config.region,
            service: &self.model.metadata.signing_name,
        };
        sigv4::verify(received, &expected, std::time::SystemTime::now())
            .map_err(|refused| ApiError::new(ErrorCode::Auth(refused.code), refused.message))
    }

    /// With `--rate-limit`, a request that finds the bucket empty is refused, changing nothing.
    fn throttle(&self) -> Result<(), ApiError> {
        match &self.bucket {
            Some(bucket) if !bucket.try_take() => {
                let code = if self.config.has(Deviation::ThrottleAsBadRequest) {
                    ErrorCode::Throttling
                } else {
                    ErrorCode::TooManyRequests
                };
                Err(ApiError::new(code, "rate exceeded: slow down and retry with backoff"))
            }
            _ => Ok(()),
        }
    }

    fn dispatch(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let model = &self.model;
        let target = uri.path_and_query().map_or("", |t| t.as_str());
        let cacheable = self.reads_cacheable && method == Method::GET && body.is_empty();
        if cacheable && let Some(answer) = self.lock_store().read(target) {
            return Ok(answer);
        }
        wire::check_utf8(uri.path(), uri.query().unwrap_or_default())
            .map_err(|error| ApiError::new(ErrorCode::BadRequest, error.to_string()))?;
        let (op, labels) = wire::route(model, method.as_str(), uri.path()).ok_or_else(|| {
            ApiError::new(ErrorCode::UnknownOperation, format!("no operation for {method} {}", uri.path()))
        })?;
        let query = wire::parse_query(uri.query().unwrap_or_default());
        let input = wire::decode_input(model, op, &labels, &query, headers, body).map_err(|error| match error {
            DecodeError::MalformedJson(_) if self.config.has(Deviation::MalformedJsonServerError) => {
                ApiError::new(ErrorCode::InternalServerError, "internal error")
            }
            other => ApiError::new(ErrorCode::BadRequest, other.to_string()),
        })?;
        if let Some(input_shape) = &op.input {
            let mut found = violations(model, input_shape, &input);
            readings::apply(model, &self.config.readings, op, &input, &mut found);
            let found = self.deviate_violations(&op.name, &input, found);
            if !found.is_empty() {
                let shown: Vec<String> = found.iter().take(5).map(ToString::to_string).collect();
                let more = if found.len() > 5 { format!(" (and {} more)", found.len() - 5) } else { String::new() };
                return Err(ApiError::new(ErrorCode::BadRequest, format!("{}{more}", shown.join("; "))));
            }
        }
        let mut store = self.lock_store();
        let output = {
            let config = &self.config;
            let output = match (op.name.as_str(), self.kinds.of_operation(&op.name)) {
                ("TagResource" | "UntagResource" | "ListTagsForResource", _) => {
                    store.tags(config, model, &op.name, &input)
                }
                (operation, Some(kind)) => {
                    store.call(&store::Call { config, model, kinds: &self.kinds, kind, operation, input: &input })
                }
                (other, None) => {
                    Err(ApiError::new(ErrorCode::UnknownOperation, format!("the emulator does not implement {other}")))
                }
            };
            // A refused request changes nothing (see `store`); reads change nothing either.
            if output.is_ok() && method != Method::GET {
                store.changed();
            }
            output
        }?;
        let output = self.deviate(&op.name, output);
        let encoded = wire::encode_output(model, op, &output);
        if cacheable {
            store.remember_read(target, op.http.response_code, &encoded);
        }
        Ok((op.http.response_code, encoded))
    }

    fn lock_store(&self) -> std::sync::MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies the validation deviation modes: bounds and enums not enforced, or valid boundary
    /// values refused (over-strict).
    fn deviate_violations(&self, operation: &str, input: &Value, mut found: Vec<Violation>) -> Vec<Violation> {
        let config = &self.config;
        if config.deviations.is_empty() {
            return found;
        }
        // A name bound the emulator does not enforce, it enforces nowhere: what it let in, its own
        // describe and delete must reach.
        let named = input["virtualNodeName"].as_str().is_some_and(|n| !n.is_empty());
        if config.has(Deviation::LongNameAccepted) {
            found.retain(|v| !(v.path == "virtualNodeName" && v.rule == Rule::Length && named));
        }
        // Tags not bounded: neither a resource's count nor TagResource's own list.
        if config.has(Deviation::TagsNotBounded) && operation == "TagResource" {
            found.retain(|v| !(v.path == "tags" && v.rule == Rule::Length));
        }
        if operation != "CreateVirtualNode" {
            return found;
        }
        found.retain(|v| {
            let ignored = (config.has(Deviation::PortZeroAccepted)
                && v.path.ends_with("portMapping.port")
                && v.rule == Rule::Min)
                || (config.has(Deviation::TooManyTagsAccepted) && v.path == "tags" && v.rule == Rule::Length)
                || (config.has(Deviation::LongNameAccepted)
                    && v.path == "virtualNodeName"
                    && v.rule == Rule::Length
                    && named)
                || (config.has(Deviation::EnumNotEnforced)
                    && v.path.ends_with("portMapping.protocol")
                    && v.rule == Rule::Enum);
            !ignored
        });
        let over_strict = |path: &str, expected: &str| Violation {
            path: path.to_string(),
            rule: Rule::Max,
            expected: expected.to_string(),
            found: "the documented maximum".to_string(),
            hint: None,
        };
        let listeners = input["spec"]["listeners"].as_array().cloned().unwrap_or_default();
        if config.has(Deviation::RejectsMaxPort) && listeners.iter().any(|l| l["portMapping"]["port"] == 65535) {
            found.push(over_strict("spec.listeners[0].portMapping.port", "< 65535"));
        }
        if config.has(Deviation::RejectsMaxName)
            && input["virtualNodeName"].as_str().is_some_and(|n| n.chars().count() == 255)
        {
            found.push(over_strict("virtualNodeName", "length < 255"));
        }
        if config.has(Deviation::RejectsMaxTags) && input["tags"].as_array().is_some_and(|t| t.len() == 50) {
            found.push(over_strict("tags", "fewer than 50 tags"));
        }
        found
    }

    /// Applies the response-side deviation modes to a successful output.
    fn deviate(&self, operation: &str, mut output: Value) -> Value {
        let config = &self.config;
        if config.deviations.is_empty() || !matches!(operation, "CreateVirtualNode" | "DescribeVirtualNode") {
            return output;
        }
        let node = &mut output["virtualNode"];
        if config.has(Deviation::VersionZero) {
            node["metadata"]["version"] = json!(0);
        }
        if config.has(Deviation::LastUpdatedBeforeCreated) {
            let created = node["metadata"]["createdAt"].as_f64().unwrap_or_default();
            node["metadata"]["lastUpdatedAt"] = json!(created - 60.0);
        }
        if config.has(Deviation::TimestampsAsStrings) {
            node["metadata"]["createdAt"] = json!("2026-11-24T00:00:00Z");
            node["metadata"]["lastUpdatedAt"] = json!("2026-11-24T00:00:00Z");
        }
        if config.has(Deviation::WrongArnForm) {
            let arn = format!(
                "arn:aws:appmesh:{}:{}:virtualNode/{}",
                config.region,
                config.account_id,
                node["virtualNodeName"].as_str().unwrap_or_default()
            );
            node["metadata"]["arn"] = json!(arn);
        }
        if config.has(Deviation::LowercaseStatus) {
            node["status"]["status"] = json!("active");
        }
        if config.has(Deviation::SpecMemberDropped)
            && let Some(spec) = node["spec"].as_object_mut()
        {
            spec.remove("serviceDiscovery");
        }
        if config.has(Deviation::MissingUid)
            && let Some(metadata) = node["metadata"].as_object_mut()
        {
            metadata.remove("uid");
        }
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All 38 operations are served: each is one kind's create, describe, update, delete or list,
    /// or one of the three tag operations.
    #[test]
    fn every_operation_of_the_model_is_served() {
        let model = ServiceModel::embedded();
        let kinds = kinds::Kinds::new(&model);
        let tags = ["TagResource", "UntagResource", "ListTagsForResource"];
        let unserved: Vec<&String> = model
            .operations
            .keys()
            .filter(|op| kinds.of_operation(op).is_none() && !tags.contains(&op.as_str()))
            .collect();
        assert!(unserved.is_empty(), "not served: {unserved:?}");
        assert_eq!(model.operations.len(), 38);
    }

    /// One request to `emulator`, unsigned: its status and its body as JSON (null when none).
    fn send(emulator: &Emulator, method: Method, uri: &str, body: &str) -> (u16, Value) {
        let answer = emulator.answer(&method, &uri.parse().unwrap(), &[], body.as_bytes());
        (answer.status, serde_json::from_slice(&answer.body).unwrap_or_default())
    }

    /// Deleting a resource forgets the client tokens of its create and updates: a create/delete
    /// loop with tokens holds nothing once its resources are gone.
    #[test]
    fn tokens_go_with_their_resource() {
        let emulator = Emulator::new(Arc::new(ServiceModel::embedded()), EmulatorConfig::default());
        let send = |method: Method, uri: &str, body: Value| {
            let (status, answer) = send(&emulator, method.clone(), uri, &body.to_string());
            assert_eq!(status, 200, "{method} {uri}: {answer}");
        };
        for round in 0..3 {
            let mesh = format!("m{round}");
            send(Method::PUT, "/v20190125/meshes", json!({"meshName": mesh, "clientToken": format!("a{round}")}));
            let nodes = format!("/v20190125/meshes/{mesh}/virtualNodes");
            send(Method::PUT, &nodes, json!({"virtualNodeName": "vn", "spec": {}, "clientToken": format!("b{round}")}));
            let node = format!("{nodes}/vn");
            send(Method::PUT, &node, json!({"spec": {"backends": []}, "clientToken": format!("c{round}")}));
            assert_eq!(emulator.footprint(), Footprint { resources: 2, client_tokens: 3, deleted_records: 0 });
            send(Method::DELETE, &node, json!({}));
            assert_eq!(emulator.footprint(), Footprint { resources: 1, client_tokens: 1, deleted_records: 0 });
            send(Method::DELETE, &format!("/v20190125/meshes/{mesh}"), json!({}));
            assert_eq!(emulator.footprint(), Footprint { resources: 0, client_tokens: 0, deleted_records: 0 });
        }
    }

    /// With the deleted-record choice, Describe answers the DELETED record until the name is
    /// taken again; Lists and Delete no longer see it; at most `RECORDS_KEPT` are kept.
    #[test]
    fn describe_after_delete_answers_the_record_when_chosen() {
        let config = EmulatorConfig {
            choices: Choices { after_delete: AfterDelete::DeletedRecord, ..Choices::default() },
            ..EmulatorConfig::default()
        };
        let emulator = Emulator::new(Arc::new(ServiceModel::embedded()), config);
        let send = |method: Method, uri: &str, body: &str| send(&emulator, method, uri, body);
        send(Method::PUT, "/v20190125/meshes", r#"{"meshName":"m"}"#);
        send(Method::PUT, "/v20190125/meshes/m/virtualRouters", r#"{"virtualRouterName":"r","spec":{}}"#);
        let (status, deleted) = send(Method::DELETE, "/v20190125/meshes/m/virtualRouters/r", "");
        assert_eq!(status, 200);
        let (status, described) = send(Method::GET, "/v20190125/meshes/m/virtualRouters/r", "");
        assert_eq!((status, &described), (200, &deleted));
        assert_eq!(described["status"]["status"], "DELETED");
        assert_eq!(send(Method::GET, "/v20190125/meshes/m/virtualRouters", "").1["virtualRouters"], json!([]));
        assert_eq!(send(Method::DELETE, "/v20190125/meshes/m/virtualRouters/r", "").0, 404);
        send(Method::PUT, "/v20190125/meshes/m/virtualRouters", r#"{"virtualRouterName":"r","spec":{}}"#);
        let (_, again) = send(Method::GET, "/v20190125/meshes/m/virtualRouters/r", "");
        assert_eq!(again["status"]["status"], "ACTIVE");
        assert_eq!(emulator.footprint().deleted_records, 0);
        for i in 0..AfterDelete::RECORDS_KEPT + 5 {
            let body = format!(r#"{{"virtualNodeName":"n{i}","spec":{{}}}}"#);
            send(Method::PUT, "/v20190125/meshes/m/virtualNodes", &body);
            send(Method::DELETE, &format!("/v20190125/meshes/m/virtualNodes/n{i}"), "");
        }
        assert_eq!(emulator.footprint().deleted_records, AfterDelete::RECORDS_KEPT);
        assert_eq!(send(Method::GET, "/v20190125/meshes/m/virtualNodes/n0", "").0, 404);
    }

    /// A remembered read is never stale: a change, or a restored snapshot, answers afresh.
    #[test]
    fn reads_are_remembered_only_until_a_change() {
        let emulator = Emulator::new(Arc::new(ServiceModel::embedded()), EmulatorConfig::default());
        let send = |method: Method, uri: &str, body: &str| send(&emulator, method, uri, body).1;
        let node = "/v20190125/meshes/m/virtualNodes/vn";
        send(Method::PUT, "/v20190125/meshes", r#"{"meshName":"m"}"#);
        send(Method::PUT, "/v20190125/meshes/m/virtualNodes", r#"{"virtualNodeName":"vn","spec":{}}"#);
        let before = emulator.snapshot();
        assert_eq!(send(Method::GET, node, "")["metadata"]["version"], 1);
        assert_eq!(send(Method::GET, node, "")["metadata"]["version"], 1);
        send(Method::PUT, node, r#"{"spec":{"backends":[]}}"#);
        assert_eq!(send(Method::GET, node, "")["metadata"]["version"], 2);
        emulator.restore(&before);
        assert_eq!(send(Method::GET, node, "")["metadata"]["version"], 1);
        send(Method::DELETE, node, "");
        assert_eq!(send(Method::GET, node, "")["message"].as_str().map(|m| m.contains("does not exist")), Some(true));
        // Deviation modes may answer each read differently: nothing is remembered.
        let config = EmulatorConfig { deviations: [Deviation::ReadbackDiffers].into(), ..EmulatorConfig::default() };
        assert!(!Emulator::new(Arc::new(ServiceModel::embedded()), config).reads_cacheable);
    }

    #[test]
    fn quotas_are_set_by_id_and_default_to_the_model() {
        let model = ServiceModel::embedded();
        let mut quotas = Quotas::of(&model);
        assert_eq!(quotas.limit("virtual-gateways-per-mesh", &model), 3);
        quotas.set("virtual-gateways-per-mesh", 5, &model).unwrap();
        quotas.set("meshes-per-account", 2, &model).unwrap();
        assert_eq!((quotas.limit("virtual-gateways-per-mesh", &model), quotas.meshes_per_account), (5, 2));
        let unknown = quotas.set("gateways", 1, &model).unwrap_err().to_string();
        assert!(
            unknown.starts_with("unknown quota `gateways`; the model's quotas are: meshes-per-account"),
            "{unknown}"
        );
    }

    #[test]
    fn every_modelled_error_code_has_its_status_in_the_model() {
        let model = ServiceModel::embedded();
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::Conflict,
            ErrorCode::Forbidden,
            ErrorCode::InternalServerError,
            ErrorCode::LimitExceeded,
            ErrorCode::NotFound,
            ErrorCode::ResourceInUse,
            ErrorCode::ServiceUnavailable,
            ErrorCode::TooManyRequests,
            ErrorCode::TooManyTags,
        ] {
            assert!(model.error_status(code.as_str()).is_some(), "{}", code.as_str());
        }
        assert_eq!(model.error_status(ErrorCode::UnknownOperation.as_str()), None);
    }
}
