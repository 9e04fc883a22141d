//! What the SDK model does not carry, each fact with its source: the table of sources and their
//! precedence, the service quotas, and the points where sources disagree (or where AWS's
//! behaviour is unknown), with every reading and what it expects.
//!
//! It lives in the model file under the key `x-appmesh-conformance`, which SDK tools ignore. A
//! model given with `--model` that lacks it borrows the embedded one's (see
//! [`ServiceModel::with_provenance_of`](super::ServiceModel::with_provenance_of)).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The key of the model file that holds the provenance.
pub const KEY: &str = "x-appmesh-conformance";

/// Source ids the code cites; each is defined in the embedded model's table (a test checks).
pub mod source {
    /// The final AWS SDK service model: shapes, constraints, bindings, error lists.
    pub const SDK_MODEL: &str = "sdk-model";
    /// The App Mesh API Reference pages.
    pub const API_REFERENCE: &str = "api-reference";
    /// The service-quota defaults.
    pub const SERVICE_QUOTAS: &str = "service-quotas";
    /// The App Mesh User Guide.
    pub const USER_GUIDE: &str = "user-guide";
    /// The ARN formats of the Service Authorization Reference.
    pub const IAM_REFERENCE: &str = "iam-reference";
    /// The restJson1 protocol: error header, timestamps, content type.
    pub const AWS_RESTJSON1: &str = "aws-restjson1";
    /// Signature Version 4.
    pub const AWS_SIGV4: &str = "aws-sigv4";
    /// The SDKs' standard retry mode (throttling is 429 and retryable).
    pub const AWS_SDK_RETRIES: &str = "aws-sdk-retries";
    /// The 2019 CreateVirtualNode page with the documented sample request and response.
    pub const API_CREATE_VIRTUAL_NODE_2019: &str = "api-create-virtual-node-2019";
    /// Dot segments in request paths.
    pub const RFC3986: &str = "rfc3986";
    /// What the harness itself requires of any answer (it completes, it can be read).
    pub const HARNESS: &str = "harness";
    /// The reference side of a comparison: the recorded answer (`replay`) or target A (`diff`).
    pub const REFERENCE_TARGET: &str = "reference-target";

    /// Every id above but [`HARNESS`] and [`REFERENCE_TARGET`], which name no document.
    pub const CITED: &[&str] = &[
        SDK_MODEL,
        API_REFERENCE,
        SERVICE_QUOTAS,
        USER_GUIDE,
        IAM_REFERENCE,
        AWS_RESTJSON1,
        AWS_SIGV4,
        AWS_SDK_RETRIES,
        API_CREATE_VIRTUAL_NODE_2019,
        RFC3986,
    ];
}

/// One document the contract is drawn from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub title: String,
    pub url: String,
    /// `model`, `documentation` or `protocol`.
    pub kind: String,
    /// 1 wins over 2, 2 over 3: the final SDK model over current pages over older pages.
    pub precedence: u32,
}

/// A service quota at its AWS default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Quota {
    pub id: String,
    pub value: u64,
    #[serde(default)]
    pub quota_code: Option<String>,
    /// What it counts, in words.
    pub counts: String,
    /// The resource kind it counts (`VirtualNode`), when it counts resources.
    #[serde(default)]
    pub resource: Option<String>,
    /// The kind whose children it counts (`Mesh`); none for an account-wide quota.
    #[serde(default)]
    pub within: Option<String>,
    pub source: String,
}

/// Whether the resource a reference names must exist when the request is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MustExist {
    /// Documented: a missing one is NotFoundException.
    Yes,
    /// Documented: a missing one is accepted.
    No,
    /// Not documented: an emulator option chooses, the harness reports what a target does.
    Open,
}

/// A member of one resource's spec that names another resource of the same mesh: a route's
/// weighted target names a virtual node. The emulator checks it on create and update, and
/// refuses to delete what is named where the reference blocks deletes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Reference {
    /// The kind whose spec holds the name (`Route`).
    pub from: String,
    /// The member's path from the input: `spec.httpRoute.action.weightedTargets[].virtualNode`.
    pub member: String,
    /// The kind it names (`VirtualNode`).
    pub to: String,
    pub must_exist: MustExist,
    /// Deleting the named resource is ResourceInUseException while the reference stands.
    pub blocks_delete: bool,
    pub source: String,
    /// What the source says, in words.
    pub says: String,
}

/// Members of a structure of which a request may set at most one, where the documentation says
/// so and the model does not mark the structure a union: a route's spec takes one route type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Exclusive {
    /// The structure (`RouteSpec`).
    pub shape: String,
    /// Its members that exclude each other, the one a generated request chooses first.
    pub members: Vec<String>,
    pub source: String,
    /// What the source says, in words.
    pub says: String,
}

/// What a request gets: success, or an error code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expected {
    Success,
    Error(String),
}

impl Expected {
    pub fn describe(&self) -> String {
        match self {
            Expected::Success => "accepted".to_string(),
            Expected::Error(code) => format!("refused with {code}"),
        }
    }
}

impl<'de> Deserialize<'de> for Expected {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(if text == "success" { Expected::Success } else { Expected::Error(text) })
    }
}

/// One reading of a disputed point: which source says what, and the outcome it expects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    pub source: String,
    pub outcome: Expected,
    pub says: String,
}

/// A request that shows which reading a target follows: `operation`'s minimal input with
/// `member` (a dotted path) set to `value`. Placeholders (`${unique-name:N}`) are filled at run
/// time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    pub operation: String,
    pub member: String,
    pub what: String,
    pub value: Value,
}

/// A generated check a dispute takes the place of: `rule` (`required`, `bound`) of `member` (a
/// dotted path without list indexes, as in `@member:` tags).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replaced {
    pub rule: String,
    pub member: String,
}

/// A point where sources disagree, or where AWS's behaviour is not known. A target that follows
/// any of the readings is not failed for it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dispute {
    pub id: String,
    pub title: String,
    pub probes: Vec<Probe>,
    pub readings: Vec<Reading>,
    /// The reading of the documentation (its source id), which `--strict-docs` enforces; none
    /// where the documentation says nothing.
    #[serde(default)]
    pub documentation: Option<String>,
    /// The reading the embedded emulator follows unless told otherwise (its source id).
    pub emulator: String,
    /// The generated checks this dispute replaces: they would fail a target for following the
    /// other reading.
    #[serde(default)]
    pub replaces: Vec<Replaced>,
}

impl Dispute {
    /// Whether this dispute replaces the generated check of `rule` on `member`.
    pub fn replaces(&self, rule: &str, member: &str) -> bool {
        self.replaces.iter().any(|r| r.rule == rule && r.member == member)
    }

    pub fn reading(&self, source: &str) -> Option<&Reading> {
        self.readings.iter().find(|r| r.source == source)
    }

    /// The readings an outcome follows.
    pub fn followed_by(&self, outcome: &Expected) -> Vec<&Reading> {
        self.readings.iter().filter(|r| &r.outcome == outcome).collect()
    }

    /// `sources disagree: sdk-model says ...; api-reference says ...`
    pub fn summary(&self) -> String {
        let readings: Vec<String> =
            self.readings.iter().map(|r| format!("{} ({}): {}", r.source, r.outcome.describe(), r.says)).collect();
        format!("sources disagree on {}: {}", self.title, readings.join("; "))
    }
}

/// Everything under [`KEY`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    #[serde(default)]
    pub about: String,
    #[serde(default)]
    pub sources: BTreeMap<String, Source>,
    #[serde(default)]
    pub quotas: Vec<Quota>,
    #[serde(default)]
    pub disputes: Vec<Dispute>,
    #[serde(default)]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub exclusive: Vec<Exclusive>,
}

impl Provenance {
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
            && self.quotas.is_empty()
            && self.disputes.is_empty()
            && self.references.is_empty()
            && self.exclusive.is_empty()
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.get(id)
    }

    /// A quota's default value.
    pub fn quota(&self, id: &str) -> Option<u64> {
        self.quotas.iter().find(|q| q.id == id).map(|q| q.value)
    }

    /// The quota on how many of a kind one parent (or the account) holds.
    pub fn quota_on(&self, resource: &str) -> Option<&Quota> {
        self.quotas.iter().find(|q| q.resource.as_deref() == Some(resource))
    }

    /// The references a kind's spec holds.
    pub fn references_from<'p>(&'p self, kind: &'p str) -> impl Iterator<Item = &'p Reference> + 'p {
        self.references.iter().filter(move |r| r.from == kind)
    }

    /// The references that name a kind and block its deletion.
    pub fn references_blocking<'p>(&'p self, kind: &'p str) -> impl Iterator<Item = &'p Reference> + 'p {
        self.references.iter().filter(move |r| r.to == kind && r.blocks_delete)
    }

    pub fn dispute(&self, id: &str) -> Option<&Dispute> {
        self.disputes.iter().find(|d| d.id == id)
    }

    /// The disputes with a probe for `operation`.
    pub fn disputes_of<'p>(&'p self, operation: &'p str) -> impl Iterator<Item = &'p Dispute> + 'p {
        self.disputes.iter().filter(move |d| d.probes.iter().any(|p| p.operation == operation))
    }

    /// Every source id the provenance refers to resolves, every dispute has two readings or more
    /// from different sources, and its documentation and emulator readings are among them.
    pub fn check(&self) -> Result<(), ProvenanceError> {
        let known = |id: &str, what: String| {
            if self.sources.contains_key(id) {
                Ok(())
            } else {
                Err(ProvenanceError::UnknownSource { what, cited: id.to_string() })
            }
        };
        for quota in &self.quotas {
            known(&quota.source, format!("quota `{}`", quota.id))?;
        }
        for reference in &self.references {
            known(&reference.source, format!("the reference at {}.{}", reference.from, reference.member))?;
        }
        for group in &self.exclusive {
            known(&group.source, format!("the exclusive members of {}", group.shape))?;
        }
        for dispute in &self.disputes {
            let id = || dispute.id.clone();
            if dispute.readings.len() < 2 {
                return Err(ProvenanceError::TooFewReadings { dispute: id() });
            }
            for (index, reading) in dispute.readings.iter().enumerate() {
                known(&reading.source, format!("dispute `{}`", dispute.id))?;
                if dispute.readings[..index].iter().any(|r| r.source == reading.source) {
                    return Err(ProvenanceError::TwoReadingsFrom { dispute: id(), cited: reading.source.clone() });
                }
            }
            for chosen in dispute.documentation.iter().chain([&dispute.emulator]) {
                if dispute.reading(chosen).is_none() {
                    return Err(ProvenanceError::NotAReading { dispute: id(), cited: chosen.clone() });
                }
            }
            if dispute.probes.is_empty() {
                return Err(ProvenanceError::NoProbe { dispute: id() });
            }
        }
        Ok(())
    }
}

/// What is wrong with a model's provenance section. The section is written by hand into
/// `src/model/contract.json`: fix it there.
#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error("it is not in the expected form: {0}")]
    Form(#[from] serde_json::Error),
    #[error("{what} cites the source `{cited}`, which the sources table does not define: add it there")]
    UnknownSource { what: String, cited: String },
    #[error("dispute `{dispute}` has fewer than two readings: a disagreement needs two sources")]
    TooFewReadings { dispute: String },
    #[error("dispute `{dispute}` has two readings from `{cited}`: merge them")]
    TwoReadingsFrom { dispute: String, cited: String },
    #[error("dispute `{dispute}` names `{cited}`, which is not one of its readings")]
    NotAReading { dispute: String, cited: String },
    #[error("dispute `{dispute}` has no probe: give it a request that tells its readings apart")]
    NoProbe { dispute: String },
    #[error("dispute `{dispute}` probes `{operation}`, which the model does not define")]
    UnknownOperation { dispute: String, operation: String },
}

/// Reads [`KEY`] from a model's root object; absent is empty.
pub(super) fn parse(root: &Value) -> Result<Provenance, ProvenanceError> {
    let Some(raw) = root.get(KEY) else { return Ok(Provenance::default()) };
    let provenance: Provenance = serde_json::from_value(raw.clone())?;
    provenance.check()?;
    Ok(provenance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceModel;

    #[test]
    fn every_cited_source_is_in_the_embedded_table() {
        let model = ServiceModel::embedded();
        for id in source::CITED {
            let found = model.provenance.source(id).unwrap_or_else(|| panic!("source `{id}` is not in contract.json"));
            assert!(found.url.starts_with("https://"), "{id}");
        }
        assert!(model.provenance.source(source::HARNESS).is_none());
    }

    #[test]
    fn the_final_model_outranks_the_older_page() {
        let model = ServiceModel::embedded();
        let rank = |id: &str| model.provenance.source(id).unwrap().precedence;
        assert!(rank(source::SDK_MODEL) < rank(source::API_REFERENCE));
        assert!(rank(source::API_REFERENCE) < rank(source::API_CREATE_VIRTUAL_NODE_2019));
    }

    #[test]
    fn the_known_disagreements_are_recorded_with_their_readings() {
        let model = ServiceModel::embedded();
        let provenance = &model.provenance;
        let listeners = provenance.dispute("listeners-per-virtual-node").unwrap();
        assert_eq!(listeners.reading(source::SDK_MODEL).unwrap().outcome, Expected::Success);
        assert_eq!(
            listeners.reading(source::API_CREATE_VIRTUAL_NODE_2019).unwrap().outcome,
            Expected::Error("BadRequestException".into())
        );
        for id in ["tag-value-required", "client-token-rule", "dot-segment-names"] {
            let dispute = provenance.dispute(id).unwrap_or_else(|| panic!("{id}"));
            for probe in &dispute.probes {
                assert!(model.operation(&probe.operation).is_some(), "{id}: {}", probe.operation);
            }
        }
        assert_eq!(provenance.quota("virtual-nodes-per-mesh"), Some(200));
        assert_eq!(provenance.quota("meshes-per-account"), Some(15));
    }

    #[test]
    fn broken_provenance_is_refused_with_the_reason() {
        let parse_text = |text: &str| parse(&serde_json::from_str(text).unwrap()).unwrap_err().to_string();
        let unknown =
            r#"{"x-appmesh-conformance": {"quotas": [{"id": "q", "value": 1, "counts": "c", "source": "nowhere"}]}}"#;
        assert_eq!(
            parse_text(unknown),
            "quota `q` cites the source `nowhere`, which the sources table does not define: add it there"
        );
        let lonely = r#"{"x-appmesh-conformance": {"sources": {"a": {"title": "t", "url": "u", "kind": "k", "precedence": 1}},
            "disputes": [{"id": "d", "title": "t", "probes": [], "emulator": "a",
            "readings": [{"source": "a", "outcome": "success", "says": "s"}]}]}}"#;
        assert!(parse_text(lonely).starts_with("dispute `d` has fewer than two readings"));
        assert!(parse_text(r#"{"x-appmesh-conformance": {"typo": 1}}"#).contains("unknown field `typo`"));
    }
}
