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
