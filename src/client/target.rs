//! Which endpoint, region and credentials a run uses. Resolution is a pure function of the flags
//! and the environment (passed in, never read here), so every rule is table-tested; only loading
//! credentials from the AWS chain does I/O.

use std::fmt;
use std::time::Duration;

/// Where the endpoint came from, first found wins in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointSource {
    Flag,
    AppmeshEndpoint,
    AwsEndpointUrlAppMesh,
    AwsEndpointUrl,
    /// `--aws`: the regional App Mesh endpoint, never chosen implicitly.
    Aws,
    /// Nothing given: the embedded emulator, started in-process on loopback.
    Embedded,
}

impl fmt::Display for EndpointSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointSource::Flag => "--endpoint",
            EndpointSource::AppmeshEndpoint => "APPMESH_ENDPOINT",
            EndpointSource::AwsEndpointUrlAppMesh => "AWS_ENDPOINT_URL_APP_MESH",
            EndpointSource::AwsEndpointUrl => "AWS_ENDPOINT_URL",
            EndpointSource::Aws => "--aws",
            EndpointSource::Embedded => "the embedded emulator",
        })
    }
}

/// The resolved endpoint: `None` means the embedded emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointChoice {
    pub url: Option<String>,
    pub source: EndpointSource,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{origin} is set to {value:?}: {problem}; give a URL such as http://127.0.0.1:4566")]
    BadEndpoint { origin: EndpointSource, value: String, problem: String },
    #[error(
        "--endpoint is empty; give a URL such as http://127.0.0.1:4566, or leave --endpoint out to test the embedded emulator"
    )]
    EmptyEndpoint,
    #[error("--aws and --endpoint both choose the target; give only one")]
    AwsAndEndpoint,
    #[error(
        "region {0:?} is not a region name (for example us-east-1); fix --region, AWS_REGION or AWS_DEFAULT_REGION"
    )]
    BadRegion(String),
    #[error(
        "no AWS credentials found for {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values work for a local emulator that does not check signatures) or AWS_PROFILE"
    )]
    NoCredentials { endpoint: String },
}

/// Resolves the endpoint: `--endpoint`, `APPMESH_ENDPOINT`, `AWS_ENDPOINT_URL_APP_MESH`,
/// `AWS_ENDPOINT_URL`, else the embedded emulator; `--aws` picks the regional AWS endpoint.
/// The endpoint flag's value that names the embedded emulator.
pub const EMBEDDED: &str = "embedded";

pub fn resolve_endpoint(
    flag: Option<&str>,
    aws: bool,
    region: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<EndpointChoice, ConfigError> {
    if aws {
        if flag.is_some() {
            return Err(ConfigError::AwsAndEndpoint);
        }
        return Ok(EndpointChoice { url: Some(aws_endpoint(region)), source: EndpointSource::Aws });
    }
    let candidates = [
        (flag.map(str::to_string), EndpointSource::Flag),
        (env("APPMESH_ENDPOINT"), EndpointSource::AppmeshEndpoint),
        (env("AWS_ENDPOINT_URL_APP_MESH"), EndpointSource::AwsEndpointUrlAppMesh),
        (env("AWS_ENDPOINT_URL"), EndpointSource::AwsEndpointUrl),
    ];
    if flag.is_some_and(|f| f.trim().is_empty()) {
        return Err(ConfigError::EmptyEndpoint);
    }
    // Asked for by name: the embedded emulator whatever the environment says.
    if flag.is_some_and(|f| f.trim() == EMBEDDED) {
        return Ok(EndpointChoice { url: None, source: EndpointSource::Embedded });
    }
    for (value, source) in candidates {
        let Some(value) = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) else { continue };
        return Ok(EndpointChoice { url: Some(normalize_url(&value, source)?), source });
    }
    Ok(EndpointChoice { url: None, source: EndpointSource::Embedded })
}

/// The regional App Mesh endpoint; China regions live under `amazonaws.com.cn`.
pub fn aws_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://appmesh.{region}.{suffix}")
}

fn normalize_url(value: &str, source: EndpointSource) -> Result<String, ConfigError> {
    let bad = |problem: String| ConfigError::BadEndpoint { origin: source, value: value.to_string(), problem };
    let url = reqwest::Url::parse(value).map_err(|error| {
        bad(match error {
            url::ParseError::InvalidPort => match value.rsplit_once(':').map(|(_, port)| port.trim_end_matches('/')) {
                Some(port) => format!("the port {port} is not a port number (1 to 65535)"),
                None => "the port is not a port number (1 to 65535)".to_string(),
            },
            url::ParseError::RelativeUrlWithoutBase => {
                "it has no scheme: write http:// or https:// before the host".to_string()
            }
            url::ParseError::EmptyHost => "it has no host".to_string(),
            other => format!("it is not a URL ({other})"),
        })
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!("the scheme {}: is not http: or https:", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host".to_string()));
    }
    if url.port() == Some(0) {
        return Err(bad("port 0 is not a port a server listens on".to_string()));
    }
    if url.path() != "/" {
        return Err(bad(format!(
            "it has a path ({}): App Mesh requests go to the root of the endpoint, so give only the scheme, host and port",
            url.path()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it has a query or a fragment: give only the scheme, host and port".to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it carries a user name or password: credentials come from the AWS chain, not the URL".into()));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Resolves the region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the shared profile's
/// region, else `us-east-1`.
pub fn resolve_region(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    profile_region: Option<String>,
) -> Result<String, ConfigError> {
    let region = flag
        .map(str::to_string)
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or(profile_region)
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_string());
    let valid = region.len() <= 32 && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid { Ok(region) } else { Err(ConfigError::BadRegion(region)) }
}

/// The region of the shared AWS profile, if one is configured.
pub async fn profile_region() -> Option<String> {
    use aws_config::meta::region::ProvideRegion;
    let provider = aws_config::profile::ProfileFileRegionProvider::new();
    tokio::time::timeout(Duration::from_secs(5), provider.region()).await.ok().flatten().map(|r| r.to_string())
}

/// Signing credentials. `Debug` shows the access key id masked and never the secret or token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Credentials {
    /// The access key id with all but its last four characters masked.
    pub fn masked_access_key_id(&self) -> String {
        crate::exchange::mask(&self.access_key_id)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.masked_access_key_id())
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Loads credentials from the standard AWS chain (environment, shared config and credentials
/// files, SSO, web identity, container and instance metadata), bounded by a timeout.
pub async fn load_credentials(region: &str, endpoint: &str) -> Result<Credentials, ConfigError> {
    use aws_credential_types::provider::ProvideCredentials;
    let no_credentials = || ConfigError::NoCredentials { endpoint: endpoint.to_string() };
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    // The HTTPS client that SSO, STS, container and instance-metadata credentials use: rustls
    // over ring, as for every other request (Cargo.toml says why).
    let https = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let region = aws_config::Region::new(region.to_string());
    let providers = aws_config::provider_config::ProviderConfig::default()
        .with_http_client(https)
        .with_region(Some(region.clone()));
    let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .configure(providers)
        .region(region)
        .build()
        .await;
    let loaded = tokio::time::timeout(Duration::from_secs(15), chain.provide_credentials())
        .await
        .map_err(|_| no_credentials())?
        .map_err(|_| no_credentials())?;
    Ok(Credentials {
        access_key_id: loaded.access_key_id().to_string(),
        secret_access_key: loaded.secret_access_key().to_string(),
        session_token: loaded.session_token().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
    }

    #[test]
    fn endpoint_precedence() {
        let all: &'static [(&str, &str)] = &[
            ("APPMESH_ENDPOINT", "http://127.0.0.1:1/"),
            ("AWS_ENDPOINT_URL_APP_MESH", "http://127.0.0.1:2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:3"),
        ];
        type Case =
            (Option<&'static str>, &'static [(&'static str, &'static str)], Option<&'static str>, EndpointSource);
        let table: &[Case] = &[
            (Some("http://localhost:9"), all, Some("http://localhost:9"), EndpointSource::Flag),
            (None, all, Some("http://127.0.0.1:1"), EndpointSource::AppmeshEndpoint),
            (None, &all[1..], Some("http://127.0.0.1:2"), EndpointSource::AwsEndpointUrlAppMesh),
            (None, &all[2..], Some("http://127.0.0.1:3"), EndpointSource::AwsEndpointUrl),
            (None, &[("APPMESH_ENDPOINT", "  ")], None, EndpointSource::Embedded),
            (None, &[], None, EndpointSource::Embedded),
        ];
        for (flag, env, url, source) in table {
            let choice = resolve_endpoint(*flag, false, "us-east-1", env_of(env)).unwrap();
            assert_eq!((choice.url.as_deref(), choice.source), (*url, *source), "flag {flag:?} env {env:?}");
        }
    }

    #[test]
    fn aws_is_explicit_and_regional() {
        let choice = resolve_endpoint(None, true, "eu-west-1", env_of(&[("APPMESH_ENDPOINT", "http://x")])).unwrap();
        assert_eq!(choice.url.as_deref(), Some("https://appmesh.eu-west-1.amazonaws.com"));
        assert_eq!(aws_endpoint("cn-north-1"), "https://appmesh.cn-north-1.amazonaws.com.cn");
        assert_eq!(
            resolve_endpoint(Some("http://x"), true, "us-east-1", env_of(&[])),
            Err(ConfigError::AwsAndEndpoint)
        );
    }

    #[test]
    fn bad_endpoints_name_their_source_and_what_is_wrong() {
        let cases = [
            ("localhost:4566", "the scheme localhost: is not http: or https:"),
            ("127.0.0.1:4566", "it has no scheme"),
            ("ftp://x", "the scheme ftp: is not http: or https:"),
            ("http://x/?a=1", "it has a query or a fragment"),
            ("http://127.0.0.1:99999", "the port 99999 is not a port number (1 to 65535)"),
            ("http://127.0.0.1:0", "port 0 is not a port a server listens on"),
            ("http://127.0.0.1:9080/v20190125", "it has a path (/v20190125)"),
            ("http://user:pw@127.0.0.1:9080", "user name or password"),
            ("not a url", "it has no scheme"),
        ];
        for (value, problem) in cases {
            let err = resolve_endpoint(Some(value), false, "us-east-1", env_of(&[])).unwrap_err();
            assert!(err.to_string().starts_with("--endpoint is set to"), "{err}");
            assert!(err.to_string().contains(problem), "{value}: {err}");
        }
        assert_eq!(resolve_endpoint(Some(""), false, "us-east-1", env_of(&[])), Err(ConfigError::EmptyEndpoint));
        assert_eq!(resolve_endpoint(Some(" "), false, "us-east-1", env_of(&[])), Err(ConfigError::EmptyEndpoint));
        let err = resolve_endpoint(None, false, "us-east-1", env_of(&[("AWS_ENDPOINT_URL", "oops")])).unwrap_err();
        assert!(err.to_string().starts_with("AWS_ENDPOINT_URL is set to \"oops\""), "{err}");
    }

    #[test]
    fn region_precedence_and_validation() {
        let env: &'static [(&str, &str)] = &[("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "eu-west-2")];
        assert_eq!(resolve_region(Some("ap-south-1"), env_of(env), None).unwrap(), "ap-south-1");
        assert_eq!(resolve_region(None, env_of(env), None).unwrap(), "eu-west-1");
        assert_eq!(resolve_region(None, env_of(&env[1..]), None).unwrap(), "eu-west-2");
        assert_eq!(resolve_region(None, env_of(&[]), Some("sa-east-1".into())).unwrap(), "sa-east-1");
        assert_eq!(resolve_region(None, env_of(&[]), None).unwrap(), "us-east-1");
        assert!(matches!(resolve_region(Some("US East"), env_of(&[]), None), Err(ConfigError::BadRegion(_))));
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let credentials = Credentials {
            access_key_id: "AKIAEXAMPLEKEY12".into(),
            secret_access_key: "s3cr3t-value".into(),
            session_token: Some("session-token-value".into()),
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("session-token-value") && !shown.contains("AKIAEXAMPLE"));
        assert!(shown.contains("EY12"));
    }
}
