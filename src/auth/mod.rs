//! Sign-in state: the access tokens in `~/.aws/sso/cache/`, refreshing them
//! (SSO-OIDC), and ssosync's own client registrations.

pub mod oidc;
pub mod registration;
pub mod token_cache;
