//! One module per subcommand: each reads its arguments (resolved by `options`),
//! drives the engine, the stores and the sign-in, and reports. Commands depend on
//! the layers below, never on `lib.rs`; `report` is how a sync's results are shown.

pub mod export;
pub mod hook;
pub mod login;
pub mod logout;
pub mod prompt;
pub mod report;
pub mod status;
pub mod sync;
pub mod watch;
