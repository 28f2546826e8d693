//! A sync, from selected profiles to written entries: decide what each profile
//! needs (`plan`), fetch what is stale (`fetch`, with each sign-in's token from
//! `tokens`, paced by `limiter`; a dry run only `preview`s the tokens), apply the
//! edit through `store::apply`, and hand back one result per profile (`outcome`).
//! The engine prints nothing: commands report what it returns.

pub mod fetch;
pub mod freshness;
pub mod limiter;
pub mod outcome;
pub mod plan;
pub mod preview;
pub mod tokens;

pub use outcome::{FailureKind, Outcome, SyncReport};
pub use plan::{Mode, SyncOptions, Syncer};
