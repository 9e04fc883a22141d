//! Deliberate deviations from the contract, for proving that the conformance suite catches them.
//!
//! Each deviation is small and realistic: the kind of slip an emulator author makes. The faithful
//! emulator has none switched on. `subject` names what a failing check must mention for the
//! deviation to count as caught.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Deviation {
    /// A create with an existing name answers 200 with the existing node instead of 409.
    DuplicateNameAccepted,
    /// `metadata.version` is 0 on create.
    VersionZero,
    /// `createdAt` and `lastUpdatedAt` are ISO 8601 strings instead of epoch seconds.
    TimestampsAsStrings,
    /// The ARN leaves out the `mesh/{mesh}/` part.
    WrongArnForm,
    /// `status.status` is `active` instead of `ACTIVE`.
    LowercaseStatus,
    /// The echoed spec leaves out `serviceDiscovery`.
    SpecMemberDropped,
    /// Errors come without the `x-amzn-ErrorType` header.
    NoErrorTypeHeader,
    /// An unknown mesh answers 400 BadRequestException instead of 404 NotFoundException.
    UnknownMeshBadRequest,
    /// Every response says `Content-Type: text/html`.
    HtmlContentType,
    /// `metadata.uid` is missing from the response.
    MissingUid,
    /// `lastUpdatedAt` is a minute before `createdAt`.
    LastUpdatedBeforeCreated,
    /// DescribeVirtualNode answers with a different uid than the create did.
    ReadbackDiffers,
}

impl Deviation {
    pub const ALL: &'static [Deviation] = &[
        Deviation::DuplicateNameAccepted,
        Deviation::VersionZero,
        Deviation::TimestampsAsStrings,
        Deviation::WrongArnForm,
        Deviation::LowercaseStatus,
        Deviation::SpecMemberDropped,
        Deviation::NoErrorTypeHeader,
        Deviation::UnknownMeshBadRequest,
        Deviation::HtmlContentType,
        Deviation::MissingUid,
        Deviation::LastUpdatedBeforeCreated,
        Deviation::ReadbackDiffers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Deviation::DuplicateNameAccepted => "duplicate-name-accepted",
            Deviation::VersionZero => "version-zero",
            Deviation::TimestampsAsStrings => "timestamps-as-strings",
            Deviation::WrongArnForm => "wrong-arn-form",
            Deviation::LowercaseStatus => "lowercase-status",
            Deviation::SpecMemberDropped => "spec-member-dropped",
            Deviation::NoErrorTypeHeader => "no-error-type-header",
            Deviation::UnknownMeshBadRequest => "unknown-mesh-bad-request",
            Deviation::HtmlContentType => "html-content-type",
            Deviation::MissingUid => "missing-uid",
            Deviation::LastUpdatedBeforeCreated => "last-updated-before-created",
            Deviation::ReadbackDiffers => "readback-differs",
        }
    }

    /// What a failing check must name for this deviation to count as caught.
    pub fn subject(self) -> &'static str {
        match self {
            Deviation::DuplicateNameAccepted => "ConflictException",
            Deviation::VersionZero => "metadata.version",
            Deviation::TimestampsAsStrings => "metadata.createdAt",
            Deviation::WrongArnForm => "metadata.arn",
            Deviation::LowercaseStatus => "status.status",
            Deviation::SpecMemberDropped => "spec.serviceDiscovery",
            Deviation::NoErrorTypeHeader => "x-amzn-ErrorType",
            Deviation::UnknownMeshBadRequest => "NotFoundException",
            Deviation::HtmlContentType => "content-type",
            Deviation::MissingUid => "metadata.uid",
            Deviation::LastUpdatedBeforeCreated => "metadata.lastUpdatedAt",
            Deviation::ReadbackDiffers => "DescribeVirtualNode",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Deviation::DuplicateNameAccepted => {
                "a create with an existing name answers 200 instead of 409 ConflictException"
            }
            Deviation::VersionZero => "metadata.version is 0 on create instead of 1",
            Deviation::TimestampsAsStrings => "createdAt and lastUpdatedAt are ISO 8601 strings, not epoch seconds",
            Deviation::WrongArnForm => "the ARN leaves out the mesh/{mesh}/ part",
            Deviation::LowercaseStatus => "status.status is \"active\" instead of \"ACTIVE\"",
            Deviation::SpecMemberDropped => "the echoed spec leaves out serviceDiscovery",
            Deviation::NoErrorTypeHeader => "errors come without the x-amzn-ErrorType header",
            Deviation::UnknownMeshBadRequest => "an unknown mesh answers 400 BadRequestException instead of 404",
            Deviation::HtmlContentType => "every response says Content-Type: text/html",
            Deviation::MissingUid => "metadata.uid is missing from responses",
            Deviation::LastUpdatedBeforeCreated => "lastUpdatedAt is a minute before createdAt",
            Deviation::ReadbackDiffers => "DescribeVirtualNode answers with another uid than the create",
        }
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Deviation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Deviation::ALL.iter().copied().find(|d| d.name() == text).ok_or_else(|| {
            let names: Vec<&str> = Deviation::ALL.iter().map(|d| d.name()).collect();
            format!("unknown deviation `{text}`; known deviations: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = Deviation::ALL.iter().map(|d| d.name()).collect();
        for deviation in Deviation::ALL {
            assert_eq!(deviation.name().parse::<Deviation>().unwrap(), *deviation);
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Deviation::ALL.len());
        assert!("nope".parse::<Deviation>().unwrap_err().contains("known deviations: duplicate-name-accepted"));
    }
}
