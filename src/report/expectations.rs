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
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
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
    #[error("entry {0} names neither a check nor a scenario; give one of them")]
    Neither(usize),
    #[error("entry {0} names an empty check or scenario")]
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
            match (&entry.check, &entry.scenario) {
                (Some(_), Some(_)) => return Err(EntryError::Both(number)),
                (None, None) => return Err(EntryError::Neither(number)),
                (Some(text), None) | (None, Some(text)) if text.trim().is_empty() => {
                    return Err(EntryError::Empty(number));
                }
                _ => {}
            }
            if entry.reason.trim().is_empty() {
                return Err(EntryError::NoReason(number));
            }
        }
        Ok(expectations)
    }

    /// The entry that lists a failure of the given scenario, if any.
    pub fn find(&self, failure: &Failure, scenario: &str, location: &str) -> Option<&Expectation> {
        self.expected.iter().find(|entry| entry.matches(failure, scenario, location))
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
            if failures.iter().any(|f| entry.matches(f, &f.scenario, &f.location)) {
                continue;
            }
            let exercised = match &entry.scenario {
                Some(name) => scenarios
                    .iter()
                    .any(|s| (&s.name == name || &s.location == name) && s.status != ScenarioStatus::Skipped),
                // A check may be exercised by any scenario: only an unfiltered run says it is fixed.
                None => !filtered,
            };
            if exercised { passing.push(entry.clone()) } else { not_exercised.push(entry.clone()) }
        }
        (passing, not_exercised)
    }
}

impl Expectation {
    fn matches(&self, failure: &Failure, scenario: &str, location: &str) -> bool {
        if let Some(check) = &self.check {
            let base = failure.check_id.split('@').next().unwrap_or_default();
            return check == &failure.check_id || check == base || check == &failure.bucket;
        }
        if let Some(wanted) = &self.scenario {
            return wanted == scenario || wanted == location;
        }
        false
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
        assert_eq!(expectations.find(&created_at, "A", "features/a.feature:3").unwrap().reason, "string timestamps");
        let other_member = failure("shape.type@metadata.lastUpdatedAt", "shape.type@metadata.lastUpdatedAt");
        assert!(expectations.find(&other_member, "A", "features/a.feature:3").is_none());
        let bound = failure("http.status@spec.x", "http.status [bound]");
        assert_eq!(
            expectations.find(&bound, "A", "features/a.feature:3").unwrap().link.as_deref(),
            Some("https://example.org/1")
        );
        assert!(expectations.find(&other_member, "B", "features/b.feature:9").is_some());
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
