//! ssosync's integration tests: one binary, so it links once.
//!
//! Every test runs the real `ssosync` executable with a temp `HOME`, an empty
//! environment and the in-repo fake portal on 127.0.0.1 (`AWS_ENDPOINT_URL_SSO`).

// Test code: a panic is how a check fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod suite;
