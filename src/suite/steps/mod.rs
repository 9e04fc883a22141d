//! Step definitions, one module per domain. Each step does one thing a reader can see in the
//! feature file; the judging is done by [`crate::checks`].

pub mod errors;
pub mod lifecycle;
pub mod mesh;
pub mod outcome;
pub mod request;
pub mod response;
pub mod stateful;

use cucumber::Parameter;

/// An error code from the documented error table, for example `ConflictException`.
#[derive(Debug, Clone, PartialEq, Eq, Parameter)]
#[param(name = "error", regex = "[A-Z][A-Za-z]*Exception")]
pub struct ErrorName(pub String);

impl std::str::FromStr for ErrorName {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(ErrorName(text.to_string()))
    }
}
