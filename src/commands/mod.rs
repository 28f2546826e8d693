//! One module per subcommand: each reads its arguments, drives the engine and the
//! stores, and reports.

pub mod export;
pub mod hook;
pub mod login;
pub mod report;
pub mod status;
pub mod watch;
