//! Connecting to the target a run tests: resolve the endpoint, region and credentials, start the
//! embedded emulator when no endpoint is given, and check that the target answers at all.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::client::target::{self, ConfigError, EndpointSource, resolve_endpoint, resolve_region};
use crate::client::{Client, ClientConfig, ClientError, Credentials, RetryPolicy, TransportKind};
use crate::emulator::{self, AuthConfig, EmulatorConfig, Quotas, RunningEmulator};
use crate::model::ServiceModel;

/// What the user asked for, from flags (the binary) or the environment (`cargo test`).
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    pub endpoint: Option<String>,
    pub aws: bool,
    pub region: Option<String>,
    /// The target's account id, when the user declares it; the embedded emulator's is known.
    pub account_id: Option<String>,
    /// The limit on one request, whole response included.
    pub timeout: Option<Duration>,
    /// Deviation modes for the embedded emulator (used by the self-tests).
    pub emulator: EmulatorConfig,
    /// Pace all the harness's requests to at most this many per second (`--max-rps`).
    pub max_rps: Option<f64>,
    /// The rate the target is declared to throttle above: without `max_rps`, ordinary traffic is
    /// paced below it so that only the throttling probe's bursts exceed it.
    pub throttle_rps: Option<f64>,
    /// The whole run's deadline (`--deadline`); `None`: none.
    pub run_deadline: Option<Duration>,
    /// How long the run tolerates nothing but throttling and failures (`--patience`).
    pub patience: Duration,
}

/// Ordinary traffic against a target declared to throttle above R is paced at this share of R.
pub const PACE_BELOW_THROTTLE: f64 = 0.9;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The pace against real AWS when `--max-rps` is not given.
pub const DEFAULT_AWS_MAX_RPS: f64 = 8.0;

/// The mesh quota of the embedded emulator when the harness starts it: far above what any run of
/// concurrent scenarios needs.
pub const EMBEDDED_MESH_QUOTA: usize = 100_000;

/// The credentials the embedded emulator expects, which it verifies on every request.
pub fn embedded_credentials() -> Credentials {
    Credentials {
        access_key_id: emulator::DEFAULT_ACCESS_KEY_ID.to_string(),
        secret_access_key: emulator::DEFAULT_SECRET_ACCESS_KEY.to_string(),
        session_token: None,
    }
}

/// A target ready to test.
pub struct ConnectedTarget {
    pub client: Arc<Client>,
    pub source: EndpointSource,
    pub account_id: Option<String>,
    /// The running embedded emulator, when that is the target.
    pub emulator: Option<RunningEmulator>,
}

impl ConnectedTarget {
    /// One line for logs and reports: where the run points.
    pub fn describe(&self) -> String {
        match self.source {
            EndpointSource::Embedded => format!("the embedded emulator at {}", self.client.config().endpoint),
            source => format!("{} (from {source})", self.client.config().endpoint),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the embedded emulator could not listen on 127.0.0.1: {0}")]
    Emulator(std::io::Error),
    #[error(
        "cannot reach {endpoint} ({source_name}): {detail}; start the target, or point the harness elsewhere with --endpoint or APPMESH_ENDPOINT"
    )]
    Unreachable { endpoint: String, source_name: EndpointSource, detail: String },
    #[error(
        "{endpoint} ({source_name}) answered, but not as an App Mesh endpoint can: {detail}; check that it is the App Mesh endpoint you meant"
    )]
    Misanswered { endpoint: String, source_name: EndpointSource, detail: String },
    #[error("{0}")]
    Client(#[from] ClientError),
}

pub async fn connect(model: Arc<ServiceModel>, options: TargetOptions) -> Result<ConnectedTarget, ConnectError> {
    let env = |key: &str| std::env::var(key).ok();
    let profile_region =
        if options.region.is_none() && env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
            target::profile_region().await
        } else {
            None
        };
    let region = resolve_region(options.region.as_deref(), env, profile_region)?;
    let choice = resolve_endpoint(options.endpoint.as_deref(), options.aws, &region, env)?;
    let timeout = options.timeout.unwrap_or(DEFAULT_TIMEOUT);
    // Real AWS gets a pace it would not throttle unless told otherwise (the App Mesh Kubernetes
    // controller's default for mutating calls).
    let max_rps = options
        .max_rps
        .or(options.throttle_rps.map(|rate| rate * PACE_BELOW_THROTTLE))
        .or((choice.source == EndpointSource::Aws).then_some(DEFAULT_AWS_MAX_RPS));

    let (endpoint, credentials, account_id, running) = match choice.url {
        None => {
            // The embedded target checks every signature the harness makes.
            // Every concurrent scenario owns a mesh, so the suite's own target allows many.
            let quotas = Quotas { meshes_per_account: EMBEDDED_MESH_QUOTA, ..options.emulator.quotas.clone() };
            let config = EmulatorConfig {
                region: region.clone(),
                auth: Some(AuthConfig::default()),
                quotas,
                ..options.emulator.clone()
            };
            let account = config.account_id.clone();
            let running = emulator::start(model.clone(), config, 0).await.map_err(ConnectError::Emulator)?;
            (running.endpoint(), embedded_credentials(), Some(account), Some(running))
        }
        Some(url) => {
            let credentials = target::load_credentials(&region, &url).await?;
            (url, credentials, options.account_id.clone(), None)
        }
    };
    let client = Client::new(
        model,
        ClientConfig {
            endpoint,
            region,
            credentials,
            timeout,
            retry: RetryPolicy::default(),
            max_rps,
            run_deadline: options.run_deadline,
            patience: options.patience,
        },
    )?;
    let connected = ConnectedTarget { client: Arc::new(client), source: choice.source, account_id, emulator: running };
    preflight(&connected).await?;
    Ok(connected)
}

/// Any HTTP answer to a DescribeMesh of a name nobody uses proves the target is there.
async fn preflight(target: &ConnectedTarget) -> Result<(), ConnectError> {
    let probe = json!({ "meshName": format!("appmesh-conformance-preflight-{}", uuid::Uuid::new_v4().simple()) });
    match target.client.call_raw("DescribeMesh", &probe).await {
        Ok(_) => Ok(()),
        Err(ClientError::Transport { kind, message, .. }) => {
            let endpoint = target.client.config().endpoint.clone();
            let detail = format!("{kind}: {message}");
            Err(match kind {
                // It answered: a connection was made and bytes came back.
                TransportKind::BodyTooLarge => {
                    ConnectError::Misanswered { endpoint, source_name: target.source, detail }
                }
                _ => ConnectError::Unreachable { endpoint, source_name: target.source, detail },
            })
        }
        Err(other) => Err(other.into()),
    }
}
