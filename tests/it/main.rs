//! Integration tests: one binary with a module per feature (the cucumber runner is the other
//! test target).

/// The suite allocates on every request, as the binary does: the same allocator (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cassettes;
mod cleanup;
mod cli;
mod client;
mod common;
mod emulator;
mod generated;
mod golden;
mod hostile;
mod installed;
mod proxy;
mod real_clients;
mod reports;
mod repro;
mod sigv4;
mod tidy;
