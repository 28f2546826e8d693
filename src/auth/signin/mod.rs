//! Signing in to IAM Identity Center without the AWS CLI, as `aws sso login` does.
//!
//! ssosync registers as an SSO-OIDC client (cached, see `auth::registration`),
//! gets a token with the authorization-code flow (PKCE, a loopback redirect to
//! 127.0.0.1) or the device-code flow (`flow`), and writes it where the CLI
//! caches it. The whole sign-in runs under the session's token-cache lock (the
//! one a refresh takes), so several ssosync processes asking at once open one
//! browser tab: the others wait, see the new token and use it.
//!
//! `pkce` makes the authorization request, `loopback` reads the browser's
//! redirect, `browser` opens the sign-in page.

mod browser;
mod flow;
mod loopback;
mod options;
mod pkce;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};

use crate::auth::registration::{self, ClientSpec, Flow};
use crate::auth::token_cache;
use crate::aws::clients::{self, ClientFactory, ClientSettings};
use crate::config::environment::Environment;
use crate::config::profiles::SignIn;
use crate::config::sign_in::SignInTarget;
use crate::store::safe_write;

use flow::{Failure, Login};
pub use options::{SignInError, SignInOptions};

/// Bound on each OIDC/portal request (the sign-in itself has `timeout`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A token another process got while we waited is used if it lasts this long
/// (the AWS CLI treats a token as expired 15 minutes before `expiresAt`).
const FRESH_ENOUGH: Duration = Duration::from_secs(15 * 60);

/// Signs in under the session's lock and writes the token; returns its expiry.
pub fn sign_in(
    target: &SignInTarget,
    options: &SignInOptions,
    env: &Environment,
    token_path: &Path,
) -> Result<DateTime<Utc>, SignInError> {
    // What the cache held when we started: if it changes while we wait for the
    // lock, another process signed in (or refreshed) and we use its token.
    let before = std::fs::read(token_path).ok();
    let _lock = match safe_write::lock(token_path, Duration::ZERO) {
        Ok(lock) => lock,
        Err(_) => {
            eprintln!(
                "ssosync: another ssosync is signing in to {}; waiting for it",
                target.label
            );
            safe_write::lock(token_path, options.timeout + Duration::from_secs(60))?
        }
    };
    // A login or refresh killed mid-write leaves a temp file holding tokens.
    safe_write::remove_stale_temp_files(token_path);
    let now = Utc::now();
    if std::fs::read(token_path).ok() != before
        && let Ok(Some(token)) = token_cache::read_token_file(token_path)
        && token.expires_at > crate::timefmt::add_saturating(now, FRESH_ENOUGH)
    {
        if !options.quiet {
            eprintln!(
                "ssosync: another ssosync signed in to {} meanwhile; using its token",
                target.label
            );
        }
        return Ok(token.expires_at);
    }

    let clients = ClientFactory::new(
        ClientSettings::from_env(env, REQUEST_TIMEOUT).trusting(env, target.ca_bundle_paths()),
    )?;
    if !options.quiet {
        for notice in clients.notices() {
            eprintln!("ssosync: note: {notice}");
        }
    }
    let runtime = clients::runtime()?;
    let login = Login {
        target,
        options,
        env,
        runtime: &runtime,
        client: clients.oidc(target.sign_in.region()),
    };
    let flow = match (&target.sign_in, options.use_device_code) {
        (SignIn::Session { .. }, false) => Flow::AuthorizationCode,
        _ => Flow::DeviceCode,
    };
    let session = match &target.sign_in {
        SignIn::Session { name, .. } => Some(name.as_str()),
        SignIn::Legacy { .. } => None,
    };
    let spec = ClientSpec {
        session,
        start_url: target.sign_in.start_url(),
        region: target.sign_in.region(),
        scopes: &target.scopes,
        flow,
    };
    let registration_path = spec.cache_path(&env.sso_cache_dir()?);
    // Good for the whole sign-in, and a while after.
    let good_until =
        crate::timefmt::add_saturating(now, options.timeout + Duration::from_secs(15 * 60));
    let (mut registration, mut reused) =
        match registration::read_cached(&registration_path, good_until) {
            Some(cached) => (cached, true),
            None => (login.register(&spec, &registration_path)?, false),
        };
    let token = loop {
        let result = match flow {
            Flow::AuthorizationCode => login.authorization_code(&registration),
            Flow::DeviceCode => login.device_code(&registration),
        };
        match result {
            Err(Failure::InvalidClient) if reused => {
                tracing::info!("the cached client registration was refused; registering again");
                registration::remove_cached(&registration_path);
                registration = login.register(&spec, &registration_path)?;
                reused = false;
            }
            Err(Failure::InvalidClient) => {
                return Err(SignInError::Other(anyhow!(
                    "SSO-OIDC refused the client registration it just made"
                )));
            }
            Err(Failure::Login(e)) => return Err(e),
            Ok(token) => break token,
        }
    };
    token_cache::write_login(
        token_path,
        target.sign_in.start_url(),
        target.sign_in.region(),
        &token,
        &registration,
    )
    .with_context(|| format!("cannot write the token to {}", env.display_path(token_path)))?;
    tracing::info!(cache = %env.display_path(token_path), "wrote the SSO token");
    Ok(token.expires_at)
}
