//! The AWS services ssosync calls, each through its SDK crate: the SSO portal
//! (role credentials, sign-out), STS (one AssumeRole hop), and the client factory
//! that builds them all alike.

pub mod clients;
pub mod credentials;
pub mod endpoints;
pub mod network;
pub mod portal;
pub mod sts;

pub use credentials::RoleCredentials;
