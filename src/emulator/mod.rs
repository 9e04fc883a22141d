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
mod store;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use deviation::Deviation;

use crate::model::ServiceModel;
use crate::validate::violations;
use crate::wire;

/// The account the emulator answers for unless told otherwise (the one in the documented example).
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// The region the emulator answers for unless told otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Request bodies above this size are refused with 400.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub region: String,
    pub account_id: String,
    pub deviations: BTreeSet<Deviation>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            region: DEFAULT_REGION.to_string(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            deviations: BTreeSet::new(),
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
    /// Not in the model: a method and path that address no operation.
    UnknownOperation,
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
            ErrorCode::UnknownOperation => "UnknownOperationException",
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

struct App {
    model: Arc<ServiceModel>,
    config: EmulatorConfig,
    store: Mutex<store::Store>,
}

/// The emulator as an axum router, for serving or for calling in-process.
pub fn router(model: Arc<ServiceModel>, config: EmulatorConfig) -> axum::Router {
    let app = Arc::new(App { model, config, store: Mutex::new(store::Store::default()) });
    axum::Router::new().fallback(handle).layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(app)
}

/// A running emulator on a loopback port. Dropping it leaves the server running until the
/// runtime ends; call [`RunningEmulator::shutdown`] to stop it.
pub struct RunningEmulator {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEmulator {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// Starts the emulator on `127.0.0.1:port` (0 picks a free port).
pub async fn start(model: Arc<ServiceModel>, config: EmulatorConfig, port: u16) -> std::io::Result<RunningEmulator> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let service = router(model, config);
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, service).with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(error) = server.await {
            tracing::error!(%error, "the embedded emulator stopped");
        }
    });
    Ok(RunningEmulator { addr, shutdown: Some(tx), task })
}

async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let outcome = match body {
        Ok(body) => app.dispatch(&method, &uri, &headers, &body),
        Err(rejection) => Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("the request body could not be read: {}", rejection.body_text()),
        )),
    };
    match outcome {
        Ok((status, body)) => app.respond(status, body, None),
        Err(error) => {
            let status = app.model.error_status(error.code.as_str()).unwrap_or(match error.code {
                ErrorCode::UnknownOperation => 404,
                _ => 500,
            });
            let body = serde_json::to_vec(&json!({ "message": error.message })).expect("serializes");
            app.respond(status, body, Some(error.code))
        }
    }
}

impl App {
    fn respond(&self, status: u16, body: Vec<u8>, error: Option<ErrorCode>) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        let content_type = if self.config.has(Deviation::HtmlContentType) { "text/html" } else { "application/json" };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
            headers.insert("x-amzn-requestid", id);
        }
        if let Some(code) = error
            && !self.config.has(Deviation::NoErrorTypeHeader)
        {
            headers.insert("x-amzn-errortype", HeaderValue::from_static(code.as_str()));
        }
        response
    }

    fn dispatch(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let model = &self.model;
        let (op, labels) = wire::route(model, method.as_str(), uri.path()).ok_or_else(|| {
            ApiError::new(ErrorCode::UnknownOperation, format!("no operation for {method} {}", uri.path()))
        })?;
        let query = wire::parse_query(uri.query().unwrap_or_default());
        let header_pairs: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str().to_string(), v.to_string())))
            .collect();
        let input = wire::decode_input(model, op, &labels, &query, &header_pairs, body)
            .map_err(|error| ApiError::new(ErrorCode::BadRequest, error.to_string()))?;
        if let Some(input_shape) = &op.input {
            let found = violations(model, input_shape, &input);
            if !found.is_empty() {
                let shown: Vec<String> = found.iter().take(5).map(ToString::to_string).collect();
                let more = if found.len() > 5 { format!(" (and {} more)", found.len() - 5) } else { String::new() };
                return Err(ApiError::new(ErrorCode::BadRequest, format!("{}{more}", shown.join("; "))));
            }
        }
        let output = {
            let mut store = self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let config = &self.config;
            match op.name.as_str() {
                "CreateMesh" => store.create_mesh(config, model, &input),
                "DescribeMesh" => store.describe_mesh(config, &input),
                "DeleteMesh" => store.delete_mesh(config, &input),
                "ListMeshes" => store.list_meshes(&input),
                "CreateVirtualNode" => store.create_virtual_node(config, model, &input),
                "DescribeVirtualNode" => store.describe_virtual_node(config, &input),
                "DeleteVirtualNode" => store.delete_virtual_node(config, &input),
                "ListVirtualNodes" => store.list_virtual_nodes(config, &input),
                other => {
                    Err(ApiError::new(ErrorCode::UnknownOperation, format!("the emulator does not implement {other}")))
                }
            }
        }?;
        let output = self.deviate(&op.name, output);
        Ok((op.http.response_code, wire::encode_output(model, op, &output)))
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
        ] {
            assert!(model.error_status(code.as_str()).is_some(), "{}", code.as_str());
        }
        assert_eq!(model.error_status(ErrorCode::UnknownOperation.as_str()), None);
    }
}
