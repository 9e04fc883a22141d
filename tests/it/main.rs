//! Integration tests: one binary with a module per feature (the cucumber runner is the other
//! test target).

mod cli;
mod client;
mod emulator;
mod generated;
mod real_clients;
mod sigv4;
