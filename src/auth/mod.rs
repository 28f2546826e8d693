//! Sign-in state: the access tokens in `~/.aws/sso/cache/`, refreshing them
//! (SSO-OIDC), ssosync's own client registrations, and signing in (`signin`).

pub mod oidc;
pub mod registration;
pub mod signin;
pub mod token_cache;
