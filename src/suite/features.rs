//! Where the suite's features come from: the copies embedded in the binary at build time (see
//! `build.rs`), so that an installed binary needs no checkout, or a directory given with
//! `--features DIR`. Features are parsed once, before the run: the progress bar counts what will
//! run from them, and cucumber is handed them through [`Preparsed`].

use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use cucumber::gherkin::{Feature, GherkinEnv};
use futures::stream;

include!(concat!(env!("OUT_DIR"), "/features.rs"));

/// Which features a run uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FeatureSource {
    /// The features built into the binary.
    #[default]
    Embedded,
    /// The `.feature` files under a directory (read at run time).
    Dir(PathBuf),
}

/// A feature file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub path: String,
    pub message: String,
}

/// The features of `source`, parsed, in path order; and the files that did not parse.
pub fn load(source: &FeatureSource) -> Result<(Vec<Feature>, Vec<ParseFailure>), std::io::Error> {
    // The embedded features cannot change: parsed once per process, however many runs it makes.
    static EMBEDDED_PARSED: std::sync::OnceLock<(Vec<Feature>, Vec<ParseFailure>)> = std::sync::OnceLock::new();
    let texts: Vec<(String, String)> = match source {
        FeatureSource::Embedded => {
            let texts = || EMBEDDED.iter().map(|(path, text)| (path.to_string(), text.to_string())).collect();
            return Ok(EMBEDDED_PARSED.get_or_init(|| parse_all(texts())).clone());
        }
        FeatureSource::Dir(dir) => {
            if !dir.is_dir() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{} is not a directory", dir.display()),
                ));
            }
            let mut files = Vec::new();
            collect(dir, &mut files);
            files.sort();
            let mut texts = Vec::new();
            for file in files {
                let text = std::fs::read_to_string(&file)?;
                texts.push((shown(&file), text));
            }
            texts
        }
    };
    Ok(parse_all(texts))
}

/// Each (path, text), parsed.
fn parse_all(texts: Vec<(String, String)>) -> (Vec<Feature>, Vec<ParseFailure>) {
    let mut features = Vec::new();
    let mut failures = Vec::new();
    for (path, text) in texts {
        // Outlines become one scenario per example row, as cucumber's own parser does.
        let parsed = Feature::parse(&text, GherkinEnv::default()).map_err(|e| e.to_string()).and_then(|mut feature| {
            feature.path = Some(PathBuf::from(&path));
            feature.expand_examples().map_err(|e| e.to_string())
        });
        match parsed {
            Ok(feature) => features.push(feature),
            Err(message) => failures.push(ParseFailure { path, message }),
        }
    }
    (features, failures)
}

/// A path as locations show it: relative to the working directory where it can be, so that the
/// locations an expectations file names are the same on every machine.
fn shown(path: &Path) -> String {
    let relative = std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.as_deref().unwrap_or(path).display().to_string()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "feature") {
            out.push(path);
        }
    }
}

/// A cucumber parser that hands over features parsed beforehand.
pub struct Preparsed;

impl cucumber::Parser<Vec<Feature>> for Preparsed {
    type Cli = cucumber::cli::Empty;
    type Output =
        stream::Iter<std::iter::Map<std::vec::IntoIter<Feature>, fn(Feature) -> cucumber::parser::Result<Feature>>>;

    fn parse(self, input: Vec<Feature>, _: Self::Cli) -> Self::Output {
        stream::iter(input.into_iter().map(Ok as fn(Feature) -> cucumber::parser::Result<Feature>))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_features_are_every_feature_file_and_parse() {
        let (features, failures) = load(&FeatureSource::Embedded).unwrap();
        assert_eq!(failures, []);
        let paths: Vec<String> = features.iter().map(|f| f.path.as_ref().unwrap().display().to_string()).collect();
        assert!(paths.contains(&"features/create_virtual_node/documented_example.feature".to_string()), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("features/generated/create_mesh/")), "{paths:?}");
        // Outlines are expanded: the auth feature's five defects are five scenarios.
        let auth = features.iter().find(|f| f.path.as_ref().is_some_and(|p| p.ends_with("auth.feature"))).unwrap();
        assert!(auth.scenarios.len() >= 5, "{} scenarios", auth.scenarios.len());
        assert!(
            auth.scenarios.iter().flat_map(|s| &s.steps).all(|step| !step.value.contains('<')),
            "placeholders left"
        );
        let on_disk = load(&FeatureSource::Dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("features"))).unwrap().0;
        assert_eq!(features.len(), on_disk.len(), "the binary embeds every feature file of the checkout");
    }

    #[test]
    fn a_file_that_does_not_parse_is_named() {
        let dir = std::env::temp_dir().join(format!("acf-features-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("broken.feature"), "Scenario: a scenario outside any feature\n  Given x\n").unwrap();
        std::fs::write(dir.join("fine.feature"), "Feature: z\n  Scenario: w\n    Given a fresh mesh\n").unwrap();
        let (features, failures) = load(&FeatureSource::Dir(dir.clone())).unwrap();
        assert_eq!(features.len(), 1);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].path.ends_with("broken.feature"), "{failures:?}");
        assert!(load(&FeatureSource::Dir(dir.join("missing"))).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
