//! `repro`: replays a finding (a fuzz artifact, or a property's counterexample saved as JSON)
//! against a target, says whether it still misanswers, and writes it as a Gherkin regression
//! scenario under `features/regressions/`, so that every bug found stays found.

use std::path::{Path, PathBuf};

use crate::fuzzing::{EndpointCase, Finding, FindingError, endpoint_send, read_finding};
use crate::property::Invalid;
use crate::property::check::{PropertyError, PropertyTarget};
use crate::target::ConnectedTarget;
use crate::validate::{Rule, violations};

#[derive(Debug, thiserror::Error)]
pub enum ReproError {
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path}: {error}")]
    Finding { path: PathBuf, error: FindingError },
    #[error(transparent)]
    Target(#[from] PropertyError),
    #[error("cannot write {path}: {error}; check that the folder is writable, or use --dry-run")]
    Write { path: PathBuf, error: std::io::Error },
}

/// What `repro` was asked to do.
#[derive(Debug, Clone)]
pub struct ReproRequest {
    pub artifact: PathBuf,
    /// Where the regression feature goes.
    pub out: PathBuf,
    /// The scenario's title; by default from the artifact's file name.
    pub title: Option<String>,
    /// Replay only.
    pub dry_run: bool,
}

/// What the replay showed.
#[derive(Debug, Clone)]
pub struct ReproOutcome {
    /// What the contract says the answer must be: `success` or an error code.
    pub expected: &'static str,
    /// How the target still misanswers, if it does.
    pub misanswer: Option<String>,
    /// The regression feature written, unless a dry run.
    pub written: Option<PathBuf>,
    /// The replay's mesh could not be removed, and why.
    pub leftover: Option<String>,
}

/// Replays the finding of `request.artifact` against `target`, in a mesh of its own.
pub async fn replay(target: &ConnectedTarget, request: &ReproRequest) -> Result<ReproOutcome, ReproError> {
    let path = &request.artifact;
    let data = std::fs::read(path).map_err(|error| ReproError::Read { path: path.clone(), error })?;
    let finding = read_finding(&data).map_err(|error| ReproError::Finding { path: path.clone(), error })?;
    let expected = finding.expected();
    let property = PropertyTarget::set_up(target.client.clone(), target.account_id.clone()).await?;
    let misanswer = match &finding {
        Finding::Input(input) => {
            let input = property.place(input.clone(), None);
            if expected == "success" {
                property.valid_case(&input).await.err().map(|c| c.to_string())
            } else {
                let model = target.client.model();
                let first = violations(model, "CreateVirtualNodeInput", &input)
                    .first()
                    .map(|v| (v.path.clone(), v.rule))
                    .unwrap_or((String::new(), Rule::Type));
                let invalid =
                    Invalid { value: input.clone(), path: first.0, rule: first.1, error: "BadRequestException" };
                property.invalid_case(&input, &invalid).await.err().map(|c| c.to_string())
            }
        }
        Finding::RawBody(body) => {
            let case = EndpointCase::RawBody(body.clone().into_bytes());
            endpoint_send(&target.client, property.mesh(), &case).await.err().map(|(problem, exchange)| {
                format!("{problem}\n{}", exchange.map(|e| e.to_string()).unwrap_or_default())
            })
        }
    };
    let leftover = property.tear_down().await.err().map(|e| e.to_string());
    let written = if request.dry_run { None } else { Some(write_scenario(request, &finding)?) };
    Ok(ReproOutcome { expected, misanswer, written, leftover })
}

fn write_scenario(request: &ReproRequest, finding: &Finding) -> Result<PathBuf, ReproError> {
    let stem = stem(&request.artifact);
    let title = request.title.clone().unwrap_or_else(|| format!("Regression: {stem}"));
    let slug: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let path = request.out.join(format!("{slug}.feature"));
    let text = format!(
        "# Written by `appmesh-conformance repro {}`; keep it: every bug found stays found.\n@regression\nFeature: Regression from {stem}\n\n{}",
        request.artifact.display(),
        finding.scenario(&title)
    );
    std::fs::create_dir_all(&request.out)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|error| ReproError::Write { path: path.clone(), error })?;
    Ok(path)
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}
