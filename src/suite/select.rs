//! Which scenarios a run runs: the tag expression, then the target's declared preconditions
//! (what is not declared is skipped with the reason); and where a scenario is written.

use std::path::Path;

use cucumber::gherkin::tagexpr::TagOperation;

use super::context::SuiteContext;
use super::runner::RunError;

/// Parses a cucumber tag expression, with an error that names it.
pub fn parse_tags(expression: &str) -> Result<TagOperation, RunError> {
    expression
        .parse::<TagOperation>()
        .map_err(|e| RunError::BadTags { expression: expression.to_string(), message: e.to_string() })
}

/// `features/x.feature:12`, where a scenario is written.
/// The path is relative to the working directory where it can be, so that locations (which
/// expectations files name) are the same on every machine.
pub(super) fn scenario_location(
    feature: &cucumber::gherkin::Feature,
    scenario: &cucumber::gherkin::Scenario,
) -> String {
    match &feature.path {
        Some(path) => {
            let relative =
                std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
            format!("{}:{}", relative.as_deref().unwrap_or(path).display(), scenario.position.line)
        }
        None => format!("{}:{}", feature.name, scenario.position.line),
    }
}

/// The tags of a scenario with those of its rule and feature, without the `@`.
pub(super) fn all_tags(
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
) -> Vec<String> {
    feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(scenario.tags.iter()).cloned().collect()
}

/// Whether a scenario runs: left out by the tag expression, skipped for an undeclared
/// precondition (with the reason), or run.
pub(super) enum Selection {
    Out,
    Skip(String),
    Run,
}

pub(super) fn select(
    ctx: &SuiteContext,
    tags: Option<&TagOperation>,
    feature: &cucumber::gherkin::Feature,
    rule: Option<&cucumber::gherkin::Rule>,
    scenario: &cucumber::gherkin::Scenario,
) -> Selection {
    let all: Vec<&String> =
        feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(scenario.tags.iter()).collect();
    if let Some(selection) = tags
        && !cucumber::tag::Ext::eval(selection, all.iter().copied())
    {
        return Selection::Out;
    }
    let has = |tag: &str| all.iter().any(|t| t.as_str() == tag);
    let unmet = ctx
        .profile
        .unmet(all.iter().copied())
        .or_else(|| {
            (ctx.explicit_max_rps.is_none() && has("requires:max-rps"))
                .then(|| "no --max-rps is set for this run (APPMESH_MAX_RPS for cargo test)".to_string())
        })
        .or_else(|| match (ctx.explicit_max_rps, ctx.profile.throttle_rps) {
            (Some(max), Some(throttle)) if has("requires:throttle-rps") && max <= throttle => Some(format!(
                "--max-rps {max} keeps every burst at or below the declared throttle rate {throttle}, so none can be throttled"
            )),
            _ => None,
        });
    match unmet {
        None => Selection::Run,
        Some(reason) => Selection::Skip(reason),
    }
}
