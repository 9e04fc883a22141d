//! appmesh-conformance: a contract and conformance test harness for the AWS App Mesh
//! CreateVirtualNode API, with an embedded emulator of that API as its default target.
//!
//! Layers point one way (see `ARCHITECTURE.md`): [`model`] and [`validate`] know nothing of HTTP;
//! [`wire`] maps the model to HTTP messages without doing I/O; [`client`] sends signed requests;
//! [`emulator`] serves the contract; [`checks`] judge responses; [`suite`] runs the Gherkin
//! features on top of all of them.

pub mod cassette;
pub mod checks;
pub mod cleanup;
pub mod client;
pub mod compare;
#[cfg(feature = "suite")]
pub mod diff;
pub mod emulator;
pub mod exchange;
pub mod fuzzing;
pub mod generate;
pub mod judge;
pub mod model;
pub mod probe;
pub mod profile;
pub mod property;
#[cfg(feature = "suite")]
pub mod proxy;
pub mod races;
#[cfg(feature = "suite")]
pub mod replay;
#[cfg(feature = "suite")]
pub mod report;
pub mod repro;
#[cfg(feature = "suite")]
pub mod session;
pub mod settings;
#[cfg(feature = "suite")]
pub mod suite;
pub mod target;
pub mod validate;
pub mod wire;
