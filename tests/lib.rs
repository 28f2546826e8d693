//! ssosync's integration tests: one binary, so it links once.
//!
//! Every test runs the real `ssosync` executable with a temp `HOME`, an empty
//! environment and the in-repo fake portal on 127.0.0.1 (`AWS_ENDPOINT_URL_SSO`).

mod common;
mod suite;
