//! A sync, from selected profiles to written entries: decide what each profile
//! needs (`plan`), fetch what is stale (`fetch`, with each sign-in's token from
//! `tokens`, paced by `limiter`; a dry run only `preview`s the tokens), apply the
//! edit through `store::apply`, and hand back one result per profile (`outcome`).
//! And `populate`: list what each sign-in reaches (`listing`), name a profile per
//! account and role (`naming`), and bring the config file in line (`populate`).
//! The engine prints nothing: commands report what it returns.

pub mod fetch;
pub mod freshness;
pub mod limiter;
pub mod listing;
pub mod naming;
pub mod outcome;
pub mod plan;
pub mod populate;
pub mod preview;
pub mod tokens;

pub use outcome::{FailureKind, Outcome, SyncReport};
pub use plan::{Mode, SyncOptions, Syncer};
