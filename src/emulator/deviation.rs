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
    /// A reused client token with a different request answers 200 with the first node.
    ReusedTokenDifferentRequestAccepted,
    /// An idempotent replay answers with a new uid.
    NewUidOnReplay,
    /// Port 0 is accepted (the minimum of 1 is not enforced).
    PortZeroAccepted,
    /// 51 tags are accepted (the maximum of 50 is not enforced).
    TooManyTagsAccepted,
    /// A 256-character name is accepted (the maximum of 255 is not enforced).
    LongNameAccepted,
    /// Any listener protocol is accepted (the enum is not enforced).
    EnumNotEnforced,
    /// Malformed JSON answers 500 InternalServerErrorException instead of 400.
    MalformedJsonServerError,
    /// Throttling answers 400 ThrottlingException instead of 429 TooManyRequestsException.
    ThrottleAsBadRequest,
    /// The virtual-node quota per mesh is not enforced.
    QuotaNotEnforced,
    /// With signature verification on, signatures are not actually checked.
    SignatureNotChecked,
    /// Over-strict: port 65535, the documented maximum, is refused.
    RejectsMaxPort,
    /// Over-strict: a 255-character name, the documented maximum, is refused.
    RejectsMaxName,
    /// Over-strict: 50 tags, the documented maximum, are refused.
    RejectsMaxTags,
    /// An update leaves `metadata.version` as it was.
    UpdateWithoutVersionBump,
    /// A virtual router that still has routes can be deleted.
    DeleteRouterWithRoutes,
    /// A route can be created under a virtual router that does not exist.
    RouteInMissingRouter,
    /// A gateway route's ARN leaves out its virtual gateway.
    WrongGatewayRouteArn,
    /// TagResource lets a resource hold more than 50 tags.
    TagsNotBounded,
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
        Deviation::ReusedTokenDifferentRequestAccepted,
        Deviation::NewUidOnReplay,
        Deviation::PortZeroAccepted,
        Deviation::TooManyTagsAccepted,
        Deviation::LongNameAccepted,
        Deviation::EnumNotEnforced,
        Deviation::MalformedJsonServerError,
        Deviation::ThrottleAsBadRequest,
        Deviation::QuotaNotEnforced,
        Deviation::SignatureNotChecked,
        Deviation::RejectsMaxPort,
        Deviation::RejectsMaxName,
        Deviation::RejectsMaxTags,
        Deviation::UpdateWithoutVersionBump,
        Deviation::DeleteRouterWithRoutes,
        Deviation::RouteInMissingRouter,
        Deviation::WrongGatewayRouteArn,
        Deviation::TagsNotBounded,
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
            Deviation::ReusedTokenDifferentRequestAccepted => "reused-token-different-request-accepted",
            Deviation::NewUidOnReplay => "new-uid-on-replay",
            Deviation::PortZeroAccepted => "port-zero-accepted",
            Deviation::TooManyTagsAccepted => "too-many-tags-accepted",
            Deviation::LongNameAccepted => "long-name-accepted",
            Deviation::EnumNotEnforced => "enum-not-enforced",
            Deviation::MalformedJsonServerError => "malformed-json-server-error",
            Deviation::ThrottleAsBadRequest => "throttle-as-bad-request",
            Deviation::QuotaNotEnforced => "quota-not-enforced",
            Deviation::SignatureNotChecked => "signature-not-checked",
            Deviation::RejectsMaxPort => "rejects-max-port",
            Deviation::RejectsMaxName => "rejects-max-name",
            Deviation::RejectsMaxTags => "rejects-max-tags",
            Deviation::UpdateWithoutVersionBump => "update-without-version-bump",
            Deviation::DeleteRouterWithRoutes => "delete-router-with-routes",
            Deviation::RouteInMissingRouter => "route-in-missing-router",
            Deviation::WrongGatewayRouteArn => "wrong-gateway-route-arn",
            Deviation::TagsNotBounded => "tags-not-bounded",
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
            Deviation::ReusedTokenDifferentRequestAccepted => "ConflictException",
            Deviation::NewUidOnReplay => "metadata.uid",
            Deviation::PortZeroAccepted => "portMapping.port",
            Deviation::TooManyTagsAccepted => "tags",
            Deviation::LongNameAccepted => "virtualNodeName",
            Deviation::EnumNotEnforced => "portMapping.protocol",
            Deviation::MalformedJsonServerError => "BadRequestException",
            Deviation::ThrottleAsBadRequest => "TooManyRequestsException",
            Deviation::QuotaNotEnforced => "LimitExceededException",
            Deviation::SignatureNotChecked => "403",
            Deviation::RejectsMaxPort => "portMapping.port",
            Deviation::RejectsMaxName => "virtualNodeName",
            Deviation::RejectsMaxTags => "tags",
            Deviation::UpdateWithoutVersionBump => "metadata.version",
            Deviation::DeleteRouterWithRoutes => "ResourceInUseException",
            Deviation::RouteInMissingRouter => "NotFoundException",
            Deviation::WrongGatewayRouteArn => "metadata.arn",
            Deviation::TagsNotBounded => "TooManyTagsException",
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
            Deviation::ReusedTokenDifferentRequestAccepted => {
                "a reused client token with a different request answers 200 instead of 409 ConflictException"
            }
            Deviation::NewUidOnReplay => "an idempotent replay answers with a new uid",
            Deviation::PortZeroAccepted => "port 0 is accepted (minimum 1 not enforced)",
            Deviation::TooManyTagsAccepted => "51 tags are accepted (maximum 50 not enforced)",
            Deviation::LongNameAccepted => "a 256-character virtual node name is accepted (maximum 255 not enforced)",
            Deviation::EnumNotEnforced => "any listener protocol is accepted (enum not enforced)",
            Deviation::MalformedJsonServerError => "malformed JSON answers 500 instead of 400 BadRequestException",
            Deviation::ThrottleAsBadRequest => "throttling answers 400 ThrottlingException instead of 429",
            Deviation::QuotaNotEnforced => "the virtual-node quota per mesh is not enforced",
            Deviation::SignatureNotChecked => "with --verify-sigv4, signatures are not actually checked",
            Deviation::RejectsMaxPort => "over-strict: port 65535 (the documented maximum) is refused",
            Deviation::RejectsMaxName => "over-strict: a 255-character name (the documented maximum) is refused",
            Deviation::RejectsMaxTags => "over-strict: 50 tags (the documented maximum) are refused",
            Deviation::UpdateWithoutVersionBump => "an update keeps the version instead of adding 1",
            Deviation::DeleteRouterWithRoutes => {
                "a virtual router with routes can be deleted instead of 409 ResourceInUseException"
            }
            Deviation::RouteInMissingRouter => {
                "a route is created in a virtual router that does not exist instead of 404 NotFoundException"
            }
            Deviation::WrongGatewayRouteArn => "a gateway route's ARN leaves out the virtualGateway/{gateway}/ part",
            Deviation::TagsNotBounded => {
                "TagResource takes more than 50 tags, in one request or on one resource, instead of refusing them"
            }
        }
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A deviation name that is not one of [`Deviation::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deviation `{0}`; known deviations: {known}", known = Deviation::ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownDeviation(pub String);

impl FromStr for Deviation {
    type Err = UnknownDeviation;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Deviation::ALL.iter().copied().find(|d| d.name() == text).ok_or_else(|| UnknownDeviation(text.to_string()))
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
        assert!(
            "nope".parse::<Deviation>().unwrap_err().to_string().contains("known deviations: duplicate-name-accepted")
        );
    }
}
