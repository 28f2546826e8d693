//! A sync: decide what each selected profile needs, fetch what is stale, plan the
//! credentials-file edit and apply it.

pub mod fetch;
pub mod sync;
