//! Known deviations: a TOML file that lists failures a target is known to show, each with the
//! reason and a link, so that a nightly job fails only on regressions.
//!
//! ```toml
//! [[expected]]
//! check = "shape.type@metadata.createdAt"   # a check id, a check id with its member, or a bucket
//! reason = "createdAt is an ISO 8601 string, not epoch seconds"
//! link = "https://example.org/tracker/123"
//!
//! [[expected]]
//! scenario = "features/create_virtual_node/auth.feature:7"   # a location or a scenario name
//! reason = "unsigned requests are accepted"
//!
//! [[expected]]
//! operation = "CreateVirtualService"   # every failure of the scenarios about one operation
//! reason = "not implemented"
//!
//! [[expected]]
//! operation = "ListMeshes"             # with a check: that check, in that operation's scenarios
//! check = "shape.length@meshes[].meshOwner"
//! reason = "owners are 20 characters"
//! intermittent = true                  # may not show in every run: never "unexpectedly passing"
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Failure, ScenarioReport, ScenarioStatus};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// A check id (`http.status`), a check id with its member (`shape.type@metadata.createdAt`)
    /// or a bucket key (`http.status [bound]`): every failure it names is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// A scenario location (`features/x.feature:12`) or name: every failure in it is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// An operation (`CreateRoute`): alone, every failure of the scenarios about it (their
    /// `@op:` tag) is expected; with `check`, that check's failures in those scenarios only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// It may or may not show in a given run (it depends on the order in which concurrent
    /// scenarios reach the target): its absence is never "unexpectedly passing".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub intermittent: bool,
}

/// An expectations file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    #[error("cannot read the expectations file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the expectations file {} is not usable: {problem}", path.display())]
    Unusable { path: PathBuf, problem: EntryError },
}

/// What is wrong inside an expectations file.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("entry {0} names both a check and a scenario; give one of them")]
    Both(usize),
    #[error(
        "entry {0} names a scenario and an operation; a scenario is about one operation already: drop the operation"
    )]
    ScenarioAndOperation(usize),
    #[error("entry {0} names neither a check, a scenario nor an operation; give one of them")]
    Neither(usize),
    #[error("entry {0} names an empty check, scenario or operation")]
    Empty(usize),
    #[error("entry {0} has no reason; say why the deviation is expected")]
    NoReason(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    #[serde(default)]
    pub expected: Vec<Expectation>,
}

impl Expectations {
    /// Reads and checks an expectations file; the error names the file and what is wrong.
    pub fn load(path: &Path) -> Result<Expectations, ExpectationsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ExpectationsError::Read { path: path.to_path_buf(), source })?;
        Self::parse(&text).map_err(|problem| ExpectationsError::Unusable { path: path.to_path_buf(), problem })
    }

    pub fn parse(text: &str) -> Result<Expectations, EntryError> {
        let expectations: Expectations = toml::from_str(text)?;
        for (index, entry) in expectations.expected.iter().enumerate() {
            let number = index + 1;
            match (&entry.check, &entry.scenario, &entry.operation) {
                (Some(_), Some(_), _) => return Err(EntryError::Both(number)),
                (_, Some(_), Some(_)) => return Err(EntryError::ScenarioAndOperation(number)),
                (None, None, None) => return Err(EntryError::Neither(number)),
                _ => {}
            }
            let named = [&entry.check, &entry.scenario, &entry.operation];
            if named.into_iter().flatten().any(|text| text.trim().is_empty()) {
                return Err(EntryError::Empty(number));
            }
            if entry.reason.trim().is_empty() {
                return Err(EntryError::NoReason(number));
            }
        }
        Ok(expectations)
    }

    /// The entry that lists a failure, if any.
    pub fn find(&self, failure: &Failure) -> Option<&Expectation> {
        self.expected.iter().find(|entry| entry.matches(failure))
    }

    /// The entries that matched no failure: (now passing, not exercised by this run).
    pub fn unmatched(
        &self,
        failures: &[Failure],
        scenarios: &[ScenarioReport],
        filtered: bool,
    ) -> (Vec<Expectation>, Vec<Expectation>) {
        let mut passing = Vec::new();
        let mut not_exercised = Vec::new();
        for entry in &self.expected {
            if entry.intermittent || failures.iter().any(|f| entry.matches(f)) {
                continue;
            }
            let ran = |s: &&ScenarioReport| s.status != ScenarioStatus::Skipped;
            let exercised = match (&entry.scenario, &entry.operation, &entry.check) {
                (Some(name), _, _) => scenarios.iter().filter(ran).any(|s| &s.name == name || &s.location == name),
                // An operation's scenarios all ran, or none did, unless the run chose some.
                (None, Some(operation), None) => {
                    scenarios.iter().filter(ran).any(|s| super::operation_of(&s.tags) == Some(operation))
                }
                // A check may be exercised by any scenario: only an unfiltered run says it is fixed.
                _ => !filtered,
            };
            if exercised { passing.push(entry.clone()) } else { not_exercised.push(entry.clone()) }
        }
        (passing, not_exercised)
    }
}

impl Expectation {
    fn matches(&self, failure: &Failure) -> bool {
        if let Some(operation) = &self.operation
            && failure.operation.as_ref() != Some(operation)
        {
            return false;
        }
        if let Some(check) = &self.check {
            let base = failure.check_id.split('@').next().unwrap_or_default();
            return check == &failure.check_id || check == base || check == &failure.bucket;
        }
        if let Some(wanted) = &self.scenario {
            return wanted == &failure.scenario || wanted == &failure.location;
        }
        // An operation alone: every failure of its scenarios.
        self.operation.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(check_id: &str, bucket: &str) -> Failure {
        Failure {
            check_id: check_id.to_string(),
            bucket: bucket.to_string(),
            ..Failure::located(crate::report::Area::Shape, "A scenario", "features/a.feature:3", "Then x")
        }
    }

    fn in_scenario(failure: Failure, scenario: &str, location: &str) -> Failure {
        Failure { scenario: scenario.to_string(), location: location.to_string(), ..failure }
    }

    #[test]
    fn entries_match_by_check_member_bucket_or_scenario() {
        let expectations = Expectations::parse(
            r#"
            [[expected]]
            check = "shape.type@metadata.createdAt"
            reason = "string timestamps"
            [[expected]]
            check = "http.status [bound]"
            reason = "no bounds"
            link = "https://example.org/1"
            [[expected]]
            scenario = "features/b.feature:9"
            reason = "auth"
            "#,
        )
        .unwrap();
        let created_at = failure("shape.type@metadata.createdAt", "shape.type@metadata.createdAt");
        assert_eq!(expectations.find(&created_at).unwrap().reason, "string timestamps");
        let other_member = failure("shape.type@metadata.lastUpdatedAt", "shape.type@metadata.lastUpdatedAt");
        assert!(expectations.find(&other_member).is_none());
        let bound = failure("http.status@spec.x", "http.status [bound]");
        assert_eq!(expectations.find(&bound).unwrap().link.as_deref(), Some("https://example.org/1"));
        assert!(expectations.find(&in_scenario(other_member, "B", "features/b.feature:9")).is_some());
    }

    #[test]
    fn entries_match_by_operation_alone_or_with_a_check() {
        let expectations = Expectations::parse(
            r#"
            [[expected]]
            operation = "CreateVirtualService"
            reason = "not implemented"
            [[expected]]
            operation = "ListMeshes"
            check = "shape.length@meshes[].meshOwner"
            reason = "20-character owners"
            "#,
        )
        .unwrap();
        let about =
            |operation: &str, check: &str| Failure { operation: Some(operation.to_string()), ..failure(check, check) };
        assert_eq!(expectations.find(&about("CreateVirtualService", "http.status")).unwrap().reason, "not implemented");
        assert!(expectations.find(&about("CreateVirtualRouter", "http.status")).is_none());
        assert!(expectations.find(&failure("http.status", "http.status")).is_none(), "a failure of no operation");
        let owner = "shape.length@meshes[].meshOwner";
        assert_eq!(expectations.find(&about("ListMeshes", owner)).unwrap().reason, "20-character owners");
        assert!(expectations.find(&about("DescribeMesh", owner)).is_none());
        assert!(expectations.find(&about("ListMeshes", "shape.type@meshes[].createdAt")).is_none());
        let both = "[[expected]]\nscenario = \"s\"\noperation = \"X\"\nreason = \"r\"\n";
        assert!(Expectations::parse(both).unwrap_err().to_string().contains("drop the operation"));
        let empty = "[[expected]]\noperation = \" \"\nreason = \"r\"\n";
        assert!(Expectations::parse(empty).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn unmatched_entries_are_passing_or_not_exercised() {
        let expectations = Expectations::parse(
            "[[expected]]\ncheck = \"echo.spec\"\nreason = \"r\"\n[[expected]]\nscenario = \"S\"\nreason = \"r\"\n",
        )
        .unwrap();
        let ran = ScenarioReport {
            name: "S".to_string(),
            feature: "F".to_string(),
            location: "features/s.feature:1".to_string(),
            area: crate::report::Area::Shape,
            tags: vec![],
            status: ScenarioStatus::Passed,
            skip_reason: None,
            unjudged: vec![],
        };
        let (passing, not_exercised) = expectations.unmatched(&[], std::slice::from_ref(&ran), false);
        assert_eq!((passing.len(), not_exercised.len()), (2, 0));
        // A filtered run cannot say a check is fixed; a scenario that did not run is not exercised.
        let (passing, not_exercised) = expectations.unmatched(&[], &[], true);
        assert_eq!((passing.len(), not_exercised.len()), (0, 2));
        // An intermittent entry that did not show is neither.
        let sometimes = "[[expected]]\ncheck = \"echo.spec\"\nreason = \"r\"\nintermittent = true\n";
        let (passing, not_exercised) = Expectations::parse(sometimes).unwrap().unmatched(&[], &[ran], false);
        assert_eq!((passing.len(), not_exercised.len()), (0, 0));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let both = "[[expected]]\ncheck = \"a\"\nscenario = \"b\"\nreason = \"r\"\n";
        assert!(Expectations::parse(both).unwrap_err().to_string().contains("both"));
        let neither = "[[expected]]\nreason = \"r\"\n";
        assert!(Expectations::parse(neither).unwrap_err().to_string().contains("neither"));
        let no_reason = "[[expected]]\ncheck = \"a\"\nreason = \" \"\n";
        assert!(Expectations::parse(no_reason).unwrap_err().to_string().contains("no reason"));
        let unknown = "[[expected]]\ncheck = \"a\"\nreason = \"r\"\nurl = \"x\"\n";
        assert!(Expectations::parse(unknown).unwrap_err().to_string().contains("url"));
    }
}
