//! One module per subcommand: each reads its arguments (resolved by `options`),
//! drives the engine, the stores and the sign-in, and reports. Commands depend on
//! the layers below, never on `lib.rs`; `report` is how a sync's results are shown
//! (and the diff a dry run prints).

pub mod completions;
pub mod export;
pub mod hook;
pub mod login;
pub mod logout;
pub mod man;
pub mod populate;
pub mod prompt;
pub mod report;
pub mod status;
pub mod sync;
pub mod watch;
