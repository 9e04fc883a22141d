//! One path from flags, environment and profile to validated settings: the target flags every
//! command shares ([`TargetArgs`], flattened into each), what `run` declares about a target
//! ([`DeclarationArgs`]), and [`Settings::resolve`], which the CLI, `cargo test --test
//! conformance`, the properties, the benches and the endpoint fuzz target all use.
//!
//! Precedence: a flag, then its environment variable, then the profile file, then the default.
//! Every value is checked here, once: a bad one is an error that names where it came from.

use std::path::PathBuf;
use std::time::Duration;

use crate::client::budget::DEFAULT_RUN_DEADLINE;
use crate::emulator::{EmulatorConfig, Quotas};
use crate::model::ServiceModel;
use crate::profile::{ProfileError, TargetProfile};
use crate::target::{DEFAULT_TIMEOUT, TargetOptions};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{origin} {value:?} is not a positive number of requests per second")]
    BadRate { origin: String, value: String },
    #[error("{origin} {value:?} is not a 12-digit AWS account id")]
    BadAccount { origin: String, value: String },
    #[error("{origin} {value:?} is not a whole number of seconds of at least 1")]
    BadSeconds { origin: String, value: String },
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// A rate of requests per second: a positive, finite number. `origin` names the flag or variable.
pub fn parse_rate(origin: &str, text: &str) -> Result<f64, SettingsError> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(SettingsError::BadRate { origin: origin.to_string(), value: text.to_string() }),
    }
}

/// A 12-digit AWS account id.
pub fn parse_account_id(origin: &str, text: &str) -> Result<String, SettingsError> {
    let trimmed = text.trim();
    if crate::model::is_account_id(trimmed) {
        Ok(trimmed.to_string())
    } else {
        Err(SettingsError::BadAccount { origin: origin.to_string(), value: text.to_string() })
    }
}

/// Whole seconds, at least 1.
pub fn parse_seconds(origin: &str, text: &str) -> Result<u64, SettingsError> {
    match text.trim().parse::<u64>() {
        Ok(seconds) if seconds >= 1 => Ok(seconds),
        _ => Err(SettingsError::BadSeconds { origin: origin.to_string(), value: text.to_string() }),
    }
}

fn rate_flag(text: &str) -> Result<f64, SettingsError> {
    parse_rate("--max-rps", text)
}

fn account_flag(text: &str) -> Result<String, SettingsError> {
    parse_account_id("--account-id", text)
}

/// How to reach a target: shared by `run`, `cleanup`, `repro` and every command that talks to one.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// The target, for example http://127.0.0.1:4566. Without it: APPMESH_ENDPOINT,
    /// AWS_ENDPOINT_URL_APP_MESH, AWS_ENDPOINT_URL, the profile's endpoint, else the embedded
    /// emulator (`embedded` names it whatever the environment says).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The real regional AWS endpoint (https://appmesh.REGION.amazonaws.com): real resources in
    /// your account. Never chosen implicitly.
    #[arg(long, conflicts_with = "endpoint")]
    pub aws: bool,
    /// AWS region. Default: AWS_REGION, AWS_DEFAULT_REGION, the shared profile's region, else
    /// us-east-1.
    #[arg(long)]
    pub region: Option<String>,
    /// Limit on each request, in seconds [default: APPMESH_TIMEOUT_SECS, else 30].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// Pace all requests, retries included, to at most R per second [default: APPMESH_MAX_RPS,
    /// else unpaced; 8 with --aws, which a real account does not throttle].
    #[arg(long, value_name = "R", value_parser = rate_flag)]
    pub max_rps: Option<f64>,
}

/// What is declared about a target (see [`crate::profile`]): `run` takes these as flags; every
/// other path reads them from the environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DeclarationArgs {
    /// A TOML target profile declaring what the harness cannot know (see targets/*.toml)
    /// [default: APPMESH_PROFILE].
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// The target's virtual-node quota per mesh [default: APPMESH_NODE_QUOTA, the profile's,
    /// else 200, App Mesh's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub node_quota: Option<u64>,
    /// The request rate the target throttles above [default: APPMESH_THROTTLE_RPS, the
    /// profile's, else unknown: the scenarios that need it are skipped with the reason].
    #[arg(long, value_name = "RPS", value_parser = |t: &str| parse_rate("--throttle-rps", t))]
    pub throttle_rps: Option<f64>,
    /// Whether the target refuses unsigned and wrongly signed requests [default:
    /// APPMESH_AUTH_ENFORCED, the profile's, else true].
    #[arg(long, value_name = "BOOL")]
    pub auth_enforced: Option<bool>,
    /// The target's 12-digit account id; owners and ARNs are then checked against it [default:
    /// APPMESH_ACCOUNT_ID, the profile's, else unknown].
    #[arg(long, value_name = "ID", value_parser = account_flag)]
    pub account_id: Option<String>,
}

/// Validated settings for one session against one target.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How to connect.
    pub target: TargetOptions,
    /// What is declared about the target.
    pub profile: TargetProfile,
    /// `--max-rps` as given: it binds the throttling probe's bursts too (an automatic pace below
    /// a declared throttle rate does not).
    pub explicit_max_rps: Option<f64>,
}

impl Settings {
    /// Flags first, then the environment (`env`), then the profile file, then the defaults.
    pub fn resolve(
        model: &ServiceModel,
        target: &TargetArgs,
        declared: &DeclarationArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let env = |key: &str| env(key).filter(|value| !value.trim().is_empty());
        let profile_path = declared.profile.clone().or_else(|| env("APPMESH_PROFILE").map(PathBuf::from));
        let mut profile = match &profile_path {
            Some(path) => TargetProfile::load(path)?,
            None => TargetProfile::default(),
        };
        profile = profile.with_env(env)?;
        if let Some(quota) = declared.node_quota {
            profile.node_quota = usize::try_from(quota).unwrap_or(usize::MAX);
        }
        profile.throttle_rps = declared.throttle_rps.or(profile.throttle_rps);
        profile.auth_enforced = declared.auth_enforced.unwrap_or(profile.auth_enforced);
        profile.account_id = declared.account_id.clone().or(profile.account_id);
        profile.validate()?;

        let max_rps = match (target.max_rps, env("APPMESH_MAX_RPS")) {
            (Some(rate), _) => Some(rate),
            (None, Some(text)) => Some(parse_rate("APPMESH_MAX_RPS", &text)?),
            (None, None) => None,
        };
        let timeout = match (target.timeout, env("APPMESH_TIMEOUT_SECS")) {
            (Some(seconds), _) => Duration::from_secs(seconds),
            (None, Some(text)) => Duration::from_secs(parse_seconds("APPMESH_TIMEOUT_SECS", &text)?),
            (None, None) => DEFAULT_TIMEOUT,
        };
        // The profile's endpoint comes after the environment's.
        let env_endpoint =
            ["APPMESH_ENDPOINT", "AWS_ENDPOINT_URL_APP_MESH", "AWS_ENDPOINT_URL"].iter().any(|key| env(key).is_some());
        let endpoint = match &target.endpoint {
            Some(endpoint) => Some(endpoint.clone()),
            None if target.aws || env_endpoint => None,
            None => profile.endpoint.clone(),
        };
        let options = TargetOptions {
            endpoint,
            aws: target.aws,
            region: target.region.clone(),
            account_id: profile.account_id.clone(),
            timeout: Some(timeout),
            max_rps,
            throttle_rps: profile.throttle_rps,
            run_deadline: Some(DEFAULT_RUN_DEADLINE),
            patience: crate::client::budget::PERSISTENT_TIME,
            emulator: EmulatorConfig {
                quotas: Quotas { virtual_nodes_per_mesh: profile.node_quota, ..Quotas::of(model) },
                ..EmulatorConfig::default()
            },
        };
        Ok(Settings { target: options, profile, explicit_max_rps: max_rps })
    }

    /// From the process environment alone: `cargo test`, the properties, the benches, fuzzing.
    pub fn from_env(model: &ServiceModel) -> Result<Settings, SettingsError> {
        Settings::resolve(model, &TargetArgs::default(), &DeclarationArgs::default(), &|key| std::env::var(key).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(target: TargetArgs, declared: DeclarationArgs, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::resolve(ServiceModel::embedded_ref(), &target, &declared, &move |key| {
            env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_defaults() {
        let settings = resolve(TargetArgs::default(), DeclarationArgs::default(), &[]).unwrap();
        assert_eq!(settings.target.max_rps, None);
        assert_eq!(settings.target.timeout, Some(DEFAULT_TIMEOUT));
        assert_eq!(settings.profile.node_quota, 200);
        let env = [("APPMESH_MAX_RPS", "20"), ("APPMESH_NODE_QUOTA", "30"), ("APPMESH_TIMEOUT_SECS", "7")];
        let settings = resolve(TargetArgs::default(), DeclarationArgs::default(), &env).unwrap();
        assert_eq!((settings.target.max_rps, settings.explicit_max_rps), (Some(20.0), Some(20.0)));
        assert_eq!(settings.target.timeout, Some(Duration::from_secs(7)));
        assert_eq!(settings.profile.node_quota, 30);
        assert_eq!(settings.target.emulator.quotas.virtual_nodes_per_mesh, 30);
        let flags = TargetArgs { max_rps: Some(5.0), timeout: Some(3), ..TargetArgs::default() };
        let declared = DeclarationArgs { node_quota: Some(40), ..DeclarationArgs::default() };
        let settings = resolve(flags, declared, &env).unwrap();
        assert_eq!(settings.target.max_rps, Some(5.0));
        assert_eq!(settings.target.timeout, Some(Duration::from_secs(3)));
        assert_eq!(settings.profile.node_quota, 40);
    }

    #[test]
    fn every_bad_value_names_where_it_came_from() {
        for (env, expected) in [
            (("APPMESH_MAX_RPS", "inf"), "APPMESH_MAX_RPS \"inf\" is not a positive number of requests per second"),
            (("APPMESH_MAX_RPS", "-1"), "APPMESH_MAX_RPS \"-1\" is not a positive number"),
            (("APPMESH_TIMEOUT_SECS", "0"), "APPMESH_TIMEOUT_SECS \"0\" is not a whole number of seconds"),
            (("APPMESH_ACCOUNT_ID", "12345"), "account_id \"12345\" is not a 12-digit AWS account id"),
            (("APPMESH_NODE_QUOTA", "many"), "APPMESH_NODE_QUOTA=\"many\" is not a number"),
        ] {
            let error = resolve(TargetArgs::default(), DeclarationArgs::default(), &[env]).unwrap_err().to_string();
            assert!(error.contains(expected), "{env:?}: {error}");
        }
        assert_eq!(
            parse_rate("--max-rps", "0").unwrap_err().to_string(),
            "--max-rps \"0\" is not a positive number of requests per second"
        );
        assert!(parse_account_id("--account-id", "1234567890123").is_err());
        assert_eq!(parse_account_id("--account-id", "123456789012").unwrap(), "123456789012");
    }

    #[test]
    fn the_profile_endpoint_comes_after_the_environment() {
        let dir = std::env::temp_dir().join(format!("acf-settings-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.toml");
        std::fs::write(&path, "endpoint = \"http://127.0.0.1:5000\"\n").unwrap();
        let declared = DeclarationArgs { profile: Some(path.clone()), ..DeclarationArgs::default() };
        let settings = resolve(TargetArgs::default(), declared.clone(), &[]).unwrap();
        assert_eq!(settings.target.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        let settings = resolve(TargetArgs::default(), declared.clone(), &[("APPMESH_ENDPOINT", "http://x:1")]).unwrap();
        assert_eq!(settings.target.endpoint, None, "the environment's endpoint is resolved later, and wins");
        let flags = TargetArgs { endpoint: Some("http://y:2".into()), ..TargetArgs::default() };
        assert_eq!(resolve(flags, declared, &[]).unwrap().target.endpoint.as_deref(), Some("http://y:2"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
