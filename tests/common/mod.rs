//! The test harness shared by every suite: one module per job, re-exported
//! here so tests import `crate::common::{Home, sdk_profiles, ...}` flatly.

// The harness serves many tests; no single test uses all of it.
#![allow(dead_code)]

mod home;
mod oracle;
mod reliability;
mod scripted_portal;
mod tls;

pub use home::*;
pub use oracle::*;
pub use reliability::*;
pub use scripted_portal::*;
pub use tls::*;

/// Says that a test skipped part of its work, where `cargo test` shows it: the
/// test harness captures `eprintln!` of passing tests, not writes to stderr. On
/// CI (`CI` set) nothing may be skipped: `.ci/run` installs what tests need.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {why} on CI; .ci/run should install it"
    );
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {why}");
}
