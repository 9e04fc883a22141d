//! What the harness cannot know about a target and must be told: its virtual-node quota, the rate
//! it throttles above, whether it checks signatures, its account. Declared by flags, environment
//! variables or a TOML profile (`targets/*.toml`). A scenario whose precondition is not declared
//! is skipped with the reason printed, never passed in silence and never failed.

use std::path::Path;

use serde::Deserialize;

/// The virtual-node quota per mesh App Mesh has by default.
pub const DEFAULT_NODE_QUOTA: usize = 200;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetProfile {
    /// What the profile is for, shown in logs.
    #[serde(default)]
    pub description: Option<String>,
    /// The endpoint, unless a flag or environment variable gives one.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Virtual nodes per mesh before LimitExceededException.
    #[serde(default = "default_node_quota")]
    pub node_quota: usize,
    /// The request rate the target is expected to throttle above; `None`: unknown.
    #[serde(default)]
    pub throttle_rps: Option<f64>,
    /// Whether the target refuses requests without a valid signature.
    #[serde(default = "yes")]
    pub auth_enforced: bool,
    /// The target's 12-digit account id, when known.
    #[serde(default)]
    pub account_id: Option<String>,
}

fn default_node_quota() -> usize {
    DEFAULT_NODE_QUOTA
}

fn yes() -> bool {
    true
}

impl Default for TargetProfile {
    fn default() -> Self {
        TargetProfile {
            description: None,
            endpoint: None,
            node_quota: DEFAULT_NODE_QUOTA,
            throttle_rps: None,
            auth_enforced: true,
            account_id: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the target profile {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("the target profile {path} is not valid: {message}")]
    Invalid { path: String, message: String },
    #[error("{0}; fix the value, or leave it out to use the default")]
    BadValue(String),
}

impl TargetProfile {
    /// Loads a TOML profile and checks its values.
    pub fn load(path: &Path) -> Result<TargetProfile, ProfileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ProfileError::Read { path: shown.clone(), error })?;
        let profile: TargetProfile =
            toml::from_str(&text).map_err(|e| ProfileError::Invalid { path: shown.clone(), message: e.to_string() })?;
        profile.validate().map_err(|error| ProfileError::Invalid { path: shown, message: error.to_string() })?;
        Ok(profile)
    }

    /// The values a profile may not hold, named.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let bad = |message: String| Err(ProfileError::BadValue(message));
        if self.node_quota == 0 {
            return bad("node_quota must be at least 1".into());
        }
        if let Some(rps) = self.throttle_rps
            && !(rps.is_finite() && rps > 0.0)
        {
            return bad(format!("throttle_rps {rps} must be a positive number of requests per second"));
        }
        if let Some(account) = &self.account_id
            && !crate::model::is_account_id(account)
        {
            return bad(format!("account_id {account:?} is not a 12-digit AWS account id"));
        }
        Ok(())
    }

    /// Applies `APPMESH_NODE_QUOTA`, `APPMESH_THROTTLE_RPS`, `APPMESH_AUTH_ENFORCED` and
    /// `APPMESH_ACCOUNT_ID` (the `cargo test` way of declaring), naming a value that does not parse.
    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String>) -> Result<TargetProfile, ProfileError> {
        let bad = |message: String| ProfileError::BadValue(message);
        if let Some(quota) = env("APPMESH_NODE_QUOTA") {
            self.node_quota =
                quota.trim().parse().map_err(|_| bad(format!("APPMESH_NODE_QUOTA={quota:?} is not a number")))?;
        }
        if let Some(rps) = env("APPMESH_THROTTLE_RPS") {
            self.throttle_rps =
                Some(rps.trim().parse().map_err(|_| bad(format!("APPMESH_THROTTLE_RPS={rps:?} is not a number")))?);
        }
        if let Some(enforced) = env("APPMESH_AUTH_ENFORCED") {
            self.auth_enforced = match enforced.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => return Err(bad(format!("APPMESH_AUTH_ENFORCED={other:?} is not true or false"))),
            };
        }
        if let Some(account) = env("APPMESH_ACCOUNT_ID").filter(|a| !a.is_empty()) {
            self.account_id = Some(account);
        }
        self.validate()?;
        Ok(self)
    }

    /// Why a scenario with these tags cannot run against this target, if it cannot. Preconditions
    /// are tags `@requires:auth-enforced` and `@requires:throttle-rps`.
    pub fn unmet<'t>(&self, mut tags: impl Iterator<Item = &'t String>) -> Option<String> {
        tags.find_map(|tag| match tag.as_str() {
            "requires:auth-enforced" if !self.auth_enforced => {
                Some("the target profile says it does not enforce signatures (auth_enforced = false)".to_string())
            }
            "requires:throttle-rps" if self.throttle_rps.is_none() => Some(
                "no throttling rate is declared for the target: pass --throttle-rps R or set throttle_rps in its profile"
                    .to_string(),
            ),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets");
        for name in ["embedded.toml", "moto.toml", "aws.toml"] {
            let profile = TargetProfile::load(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
            assert!(profile.description.is_some(), "{name}");
        }
    }

    #[test]
    fn bad_profiles_are_named() {
        let parse = |text: &str| {
            toml::from_str::<TargetProfile>(text)
                .map_err(|e| e.to_string())
                .and_then(|p| p.validate().map(|()| p).map_err(|e| e.to_string()))
        };
        assert!(parse("node_quota = 0").unwrap_err().contains("node_quota"));
        assert!(parse("throttle_rps = -1.0").unwrap_err().contains("throttle_rps"));
        assert!(parse("account_id = \"12\"").unwrap_err().contains("account_id"));
        assert!(parse("nodes = 3").unwrap_err().contains("unknown field"));
        assert_eq!(parse("").unwrap(), TargetProfile::default());
    }

    #[test]
    fn environment_overrides_and_errors() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
        };
        let profile = TargetProfile::default()
            .with_env(env(&[
                ("APPMESH_NODE_QUOTA", "20"),
                ("APPMESH_AUTH_ENFORCED", "false"),
                ("APPMESH_THROTTLE_RPS", "5"),
            ]))
            .unwrap();
        assert_eq!((profile.node_quota, profile.auth_enforced, profile.throttle_rps), (20, false, Some(5.0)));
        assert!(
            TargetProfile::default()
                .with_env(env(&[("APPMESH_NODE_QUOTA", "x")]))
                .unwrap_err()
                .to_string()
                .contains("APPMESH_NODE_QUOTA")
        );
    }

    #[test]
    fn undeclared_preconditions_give_a_reason() {
        let tags = |list: &[&str]| list.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        let profile = TargetProfile::default();
        assert_eq!(profile.unmet(tags(&["auth", "requires:auth-enforced"]).iter()), None);
        assert!(profile.unmet(tags(&["requires:throttle-rps"]).iter()).unwrap().contains("--throttle-rps"));
        let no_auth = TargetProfile { auth_enforced: false, ..TargetProfile::default() };
        assert!(no_auth.unmet(tags(&["requires:auth-enforced"]).iter()).is_some());
    }
}
