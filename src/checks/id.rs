//! Check ids: a closed set, defined once. Each renders to the stable text that reports and
//! expectations files use (`shape.type`, `metadata.version`, `echo.spec`, `dispute.<id>`) and
//! parses back from it, so a step filters its checks by value, and a misspelt id does not compile.
//! The few parts that come from the model (an echoed member, a read-back operation, a disputed
//! point) are carried as data.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::validate::Rule;

/// A member of a resource's metadata that a check judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Meta {
    Arn,
    Version,
    CreatedAt,
    LastUpdatedAt,
    MeshOwner,
    ResourceOwner,
    Uid,
}

impl Meta {
    pub const ALL: [Meta; 7] = [
        Meta::Arn,
        Meta::Version,
        Meta::CreatedAt,
        Meta::LastUpdatedAt,
        Meta::MeshOwner,
        Meta::ResourceOwner,
        Meta::Uid,
    ];

    /// The member's name in `metadata`.
    pub fn member(self) -> &'static str {
        match self {
            Meta::Arn => "arn",
            Meta::Version => "version",
            Meta::CreatedAt => "createdAt",
            Meta::LastUpdatedAt => "lastUpdatedAt",
            Meta::MeshOwner => "meshOwner",
            Meta::ResourceOwner => "resourceOwner",
            Meta::Uid => "uid",
        }
    }

    /// `metadata.createdAt`
    pub fn path(self) -> String {
        format!("metadata.{}", self.member())
    }
}

/// What kind of difference: each is a cause of its own in the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffKind {
    Status,
    ErrorCode,
    /// A member one side has and the other lacks.
    Member,
    /// The same member with values of different JSON types.
    Type,
    Value,
}

impl DiffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::Status => "status",
            DiffKind::ErrorCode => "error-code",
            DiffKind::Member => "member",
            DiffKind::Type => "type",
            DiffKind::Value => "value",
        }
    }

    pub const ALL: [DiffKind; 5] =
        [DiffKind::Status, DiffKind::ErrorCode, DiffKind::Member, DiffKind::Type, DiffKind::Value];

    /// In words, for a rule.
    pub fn describe(self) -> &'static str {
        match self {
            DiffKind::Status => "the same status",
            DiffKind::ErrorCode => "the same error code",
            DiffKind::Member => "the same members",
            DiffKind::Type => "the same types",
            DiffKind::Value => "the same values, once normalised",
        }
    }
}

/// What a check judges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckId {
    /// `http.status`: a success has the documented status.
    HttpStatus,
    /// `http.content-type`
    HttpContentType,
    /// `shape.json`: the body is JSON.
    ShapeJson,
    /// `shape.<rule>`: the body validates against the output shape.
    Shape(Rule),
    /// `error.status`: an error has the documented status and code.
    ErrorStatus,
    /// `error.x-amzn-ErrorType`
    ErrorHeader,
    /// `error.content-type`
    ErrorContentType,
    /// `error.message`
    ErrorMessage,
    /// `metadata.<member>`: the behaviour of a created resource's metadata.
    Metadata(Meta),
    /// `status.status`
    Status,
    /// `echo.<member>`: what was sent comes back.
    Echo(String),
    /// `readback.<operation>`: a read agrees with the create.
    Readback(String),
    /// `idempotency.<member>`: a replay answers the first resource.
    Replay(Meta),
    /// `idempotency.concurrent`: concurrent copies make one resource.
    Concurrent,
    /// `idempotency.concurrent-conflict`: concurrent variants give one success.
    ConcurrentConflict,
    /// `list.readable`
    ListReadable,
    /// `list.count`
    ListCount,
    /// `nothing-created`, or `nothing-created.<check>` for the check the read-back made.
    NothingCreated(Option<Box<CheckId>>),
    /// `nothing-changed`: a refused change left the resource as it was.
    NothingChanged,
    /// `quota.fill`
    QuotaFill,
    /// `auth.refused`
    AuthRefused,
    /// `burst.documented`: every answer of a burst is documented.
    BurstDocumented,
    /// `throttling.code`: throttling is 429 TooManyRequestsException.
    ThrottlingCode,
    /// `throttling.enforced`: a target declared to throttle does.
    ThrottlingEnforced,
    /// `harness.max-rps`: the harness held its own pace.
    HarnessMaxRps,
    /// `dispute.<id>`: a disputed point (information, or under `--strict-docs` a failure).
    Dispute(String),
    /// `readback.status` and `readback.transport`: a property's read-back.
    PropertyReadbackStatus,
    PropertyReadbackTransport,
    /// `cleanup.delete`: a property's clean-up.
    CleanupDelete,
    /// `lifecycle.gone`: a deleted resource leaves its List and Describe.
    LifecycleGone,
    /// `tags.listed`: ListTagsForResource shows what the tag operations left.
    TagsListed,
    /// `diff.<kind>`: two answers to the same request differ (`diff`, `replay`).
    Differs(DiffKind),
}

impl CheckId {
    /// Whether the check is about what any answer must look like, whatever the scenario asked:
    /// the reports put it in the `shape` area.
    pub fn is_about_shape(&self) -> bool {
        matches!(
            self,
            CheckId::Shape(_)
                | CheckId::ShapeJson
                | CheckId::Metadata(_)
                | CheckId::Echo(_)
                | CheckId::Readback(_)
                | CheckId::ListReadable
                | CheckId::ListCount
                | CheckId::HttpContentType
        )
    }

    /// Whether it judges an answer's status and code.
    pub fn is_status(&self) -> bool {
        matches!(self, CheckId::HttpStatus | CheckId::ErrorStatus)
    }

    /// Whether it judges the whole answer whatever was asked (one cause however many scenarios
    /// show it).
    pub fn is_whole_answer(&self) -> bool {
        matches!(self, CheckId::HttpContentType | CheckId::ErrorContentType | CheckId::ErrorHeader)
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckId::HttpStatus => f.write_str("http.status"),
            CheckId::HttpContentType => f.write_str("http.content-type"),
            CheckId::ShapeJson => f.write_str("shape.json"),
            CheckId::Shape(rule) => write!(f, "shape.{rule}"),
            CheckId::ErrorStatus => f.write_str("error.status"),
            CheckId::ErrorHeader => f.write_str("error.x-amzn-ErrorType"),
            CheckId::ErrorContentType => f.write_str("error.content-type"),
            CheckId::ErrorMessage => f.write_str("error.message"),
            CheckId::Metadata(meta) => write!(f, "metadata.{}", meta.member()),
            CheckId::Status => f.write_str("status.status"),
            CheckId::Echo(member) => write!(f, "echo.{member}"),
            CheckId::Readback(operation) => write!(f, "readback.{operation}"),
            CheckId::Replay(meta) => write!(f, "idempotency.{}", meta.member()),
            CheckId::Concurrent => f.write_str("idempotency.concurrent"),
            CheckId::ConcurrentConflict => f.write_str("idempotency.concurrent-conflict"),
            CheckId::ListReadable => f.write_str("list.readable"),
            CheckId::ListCount => f.write_str("list.count"),
            CheckId::NothingCreated(None) => f.write_str("nothing-created"),
            CheckId::NothingCreated(Some(inner)) => write!(f, "nothing-created.{inner}"),
            CheckId::NothingChanged => f.write_str("nothing-changed"),
            CheckId::QuotaFill => f.write_str("quota.fill"),
            CheckId::AuthRefused => f.write_str("auth.refused"),
            CheckId::BurstDocumented => f.write_str("burst.documented"),
            CheckId::ThrottlingCode => f.write_str("throttling.code"),
            CheckId::ThrottlingEnforced => f.write_str("throttling.enforced"),
            CheckId::HarnessMaxRps => f.write_str("harness.max-rps"),
            CheckId::Dispute(id) => write!(f, "dispute.{id}"),
            CheckId::PropertyReadbackStatus => f.write_str("readback.status"),
            CheckId::PropertyReadbackTransport => f.write_str("readback.transport"),
            CheckId::CleanupDelete => f.write_str("cleanup.delete"),
            CheckId::LifecycleGone => f.write_str("lifecycle.gone"),
            CheckId::TagsListed => f.write_str("tags.listed"),
            CheckId::Differs(kind) => write!(f, "diff.{}", kind.as_str()),
        }
    }
}

/// A text that is no check id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a check id (for example shape.type, metadata.version, echo.spec, dispute.tag-value-required)")]
pub struct UnknownCheckId(pub String);

impl FromStr for CheckId {
    type Err = UnknownCheckId;

    fn from_str(text: &str) -> Result<CheckId, UnknownCheckId> {
        let unknown = || UnknownCheckId(text.to_string());
        let fixed = [
            CheckId::HttpStatus,
            CheckId::HttpContentType,
            CheckId::ShapeJson,
            CheckId::ErrorStatus,
            CheckId::ErrorHeader,
            CheckId::ErrorContentType,
            CheckId::ErrorMessage,
            CheckId::Status,
            CheckId::Concurrent,
            CheckId::ConcurrentConflict,
            CheckId::ListReadable,
            CheckId::ListCount,
            CheckId::NothingCreated(None),
            CheckId::NothingChanged,
            CheckId::QuotaFill,
            CheckId::AuthRefused,
            CheckId::BurstDocumented,
            CheckId::ThrottlingCode,
            CheckId::ThrottlingEnforced,
            CheckId::HarnessMaxRps,
            CheckId::PropertyReadbackStatus,
            CheckId::PropertyReadbackTransport,
            CheckId::CleanupDelete,
            CheckId::LifecycleGone,
            CheckId::TagsListed,
        ];
        if let Some(found) = fixed.into_iter().find(|id| id.to_string() == text) {
            return Ok(found);
        }
        let meta = |member: &str| Meta::ALL.into_iter().find(|m| m.member() == member);
        let (head, tail) = text.split_once('.').ok_or_else(unknown)?;
        match head {
            "shape" => Rule::ALL.iter().find(|r| r.as_str() == tail).map(|r| CheckId::Shape(*r)).ok_or_else(unknown),
            "metadata" => meta(tail).map(CheckId::Metadata).ok_or_else(unknown),
            "idempotency" => meta(tail).map(CheckId::Replay).ok_or_else(unknown),
            "echo" if !tail.is_empty() => Ok(CheckId::Echo(tail.to_string())),
            "readback" if !tail.is_empty() => Ok(CheckId::Readback(tail.to_string())),
            "dispute" if !tail.is_empty() => Ok(CheckId::Dispute(tail.to_string())),
            "nothing-created" => Ok(CheckId::NothingCreated(Some(Box::new(tail.parse()?)))),
            "diff" => DiffKind::ALL.into_iter().find(|k| k.as_str() == tail).map(CheckId::Differs).ok_or_else(unknown),
            _ => Err(unknown()),
        }
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_renders_and_parses_back() {
        let mut all = vec![
            CheckId::HttpStatus,
            CheckId::Shape(Rule::Type),
            CheckId::Echo("spec".into()),
            CheckId::Readback("DescribeVirtualNode".into()),
            CheckId::Dispute("tag-value-required".into()),
            CheckId::NothingCreated(Some(Box::new(CheckId::ErrorStatus))),
        ];
        all.extend(DiffKind::ALL.iter().map(|k| CheckId::Differs(*k)));
        all.extend(Meta::ALL.iter().map(|m| CheckId::Metadata(*m)));
        all.extend(Meta::ALL.iter().map(|m| CheckId::Replay(*m)));
        for id in all {
            assert_eq!(id.to_string().parse::<CheckId>().as_ref(), Ok(&id), "{id}");
        }
        assert_eq!(CheckId::Metadata(Meta::CreatedAt).to_string(), "metadata.createdAt");
        assert_eq!(CheckId::ErrorHeader.to_string(), "error.x-amzn-ErrorType");
        assert!("metadata.versoin".parse::<CheckId>().unwrap_err().to_string().contains("is not a check id"));
        assert!("shape.nope".parse::<CheckId>().is_err());
        assert_eq!(serde_json::to_string(&CheckId::Shape(Rule::Required)).unwrap(), "\"shape.required\"");
    }
}
