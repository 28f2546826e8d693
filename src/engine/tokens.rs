//! What each sign-in's cached token is good for, decided before any network call
//! (use it, refresh it first, or ask for a login), and the refresh itself: under
//! the token file's lock, written back where the AWS CLI reads it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::runtime::Runtime;

use crate::auth::oidc;
use crate::auth::token_cache::{self, CachedToken, TokenCache, TokenProblem};
use crate::aws::clients::ClientFactory;
use crate::config::environment::Environment;
use crate::config::profiles::{SignIn, SsoProfile};
use crate::engine::outcome::{FailureKind, Outcome};
use crate::secret::Secret;
use crate::store::safe_write;
use crate::timefmt::format_utc;

/// Tokens expiring sooner than this are refreshed first, as the SDKs do.
const REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);

/// What a sign-in's token is good for, decided before any network call.
pub enum TokenPlan {
    Use(Secret),
    Refresh(CachedToken),
    Unusable(Outcome),
}

pub fn plan(
    env: &Environment,
    cache: &mut TokenCache,
    root: &SsoProfile,
    now: DateTime<Utc>,
) -> TokenPlan {
    plan_sign_in(env, cache, &root.sign_in, &root.name, now)
}

/// [`plan`] for a sign-in itself; `profile` names it in the login hint of a
/// legacy sign-in (`aws sso login --profile NAME`).
pub fn plan_sign_in(
    env: &Environment,
    cache: &mut TokenCache,
    sign_in: &SignIn,
    profile: &str,
    now: DateTime<Utc>,
) -> TokenPlan {
    let fix = sign_in.login_hint(profile);
    let cached = match cache.token(sign_in) {
        Ok(cached) => cached,
        Err(TokenProblem::Missing) => {
            return TokenPlan::Unusable(Outcome::failed(
                FailureKind::Login,
                format!("no SSO token cached for {}; {fix}", sign_in.start_url()),
            ));
        }
        Err(TokenProblem::Unreadable { path, reason }) => {
            return TokenPlan::Unusable(Outcome::failed(
                FailureKind::Login,
                format!(
                    "cannot use token cache {} ({reason}); {fix}",
                    env.display_path(&path)
                ),
            ));
        }
    };
    let window = chrono::Duration::from_std(REFRESH_WINDOW).unwrap_or_default();
    tracing::debug!(
        sign_in = %sign_in.cache_identifier(),
        cache = %env.display_path(&cached.path),
        expires = %format_utc(cached.expires_at),
        refreshable = cached.refreshable(now),
        "using cached SSO token"
    );
    if cached.expires_at > now + window {
        TokenPlan::Use(cached.token)
    } else if cached.refreshable(now) {
        TokenPlan::Refresh(cached)
    } else if cached.expires_at > now {
        TokenPlan::Use(cached.token)
    } else {
        TokenPlan::Unusable(Outcome::failed(
            FailureKind::Login,
            format!(
                "the SSO token expired at {}; {fix}",
                format_utc(cached.expires_at)
            ),
        ))
    }
}

/// What a refresh needs from the run.
pub struct Refresher<'a> {
    pub env: &'a Environment,
    pub runtime: &'a Runtime,
    pub clients: &'a ClientFactory,
    pub now: DateTime<Utc>,
}

impl Refresher<'_> {
    /// Refreshes a token under a lock on its cache file, so concurrent runs refresh once
    /// and never lose a rotated refresh token: after the lock, re-read; another run may
    /// have refreshed already.
    pub fn refresh(
        &self,
        sign_in: &SignIn,
        fix: String,
        cached: CachedToken,
        warnings: &mut Vec<String>,
    ) -> Result<Secret, Outcome> {
        let (env, runtime, clients, now) = (self.env, self.runtime, self.clients, self.now);
        let shown = env.display_path(&cached.path);
        let login = |why: String| {
            Outcome::failed(
                FailureKind::Login,
                format!("cannot refresh the SSO token: {why}; {fix}"),
            )
        };
        let _lock = safe_write::lock(&cached.path, Duration::from_secs(60))
            .map_err(|e| login(format!("{e:#}")))?;
        // A refresh killed mid-write leaves a temp file holding tokens: clear it.
        safe_write::remove_stale_temp_files(&cached.path);
        let current = match token_cache::read_token_file(&cached.path) {
            Ok(Some(current)) => current,
            Ok(None) => return Err(login(format!("{shown} disappeared"))),
            Err(TokenProblem::Unreadable { reason, .. }) => {
                return Err(login(format!("{shown}: {reason}")));
            }
            Err(TokenProblem::Missing) => return Err(login(format!("{shown} disappeared"))),
        };
        let window = chrono::Duration::from_std(REFRESH_WINDOW).unwrap_or_default();
        if current.expires_at > now + window {
            tracing::debug!(cache = %shown, "another process refreshed the token already");
            return Ok(current.token);
        }
        let Some(material) = current
            .refresh
            .as_ref()
            .filter(|_| current.refreshable(now))
        else {
            return Err(login("the token has no current client registration".into()));
        };
        let client = clients.oidc(sign_in.region());
        let refreshed = runtime
            .block_on(oidc::refresh(
                &client,
                &material.client_id,
                &material.client_secret,
                &material.refresh_token,
                now,
            ))
            .map_err(login)?;
        tracing::info!(cache = %shown, expires = %format_utc(refreshed.expires_at), "refreshed the SSO token");
        if let Err(e) = token_cache::write_refreshed(&cached.path, &refreshed) {
            // The new token still works for this run; the next run will need a login
            // if the refresh token was rotated.
            warnings.push(format!(
                "cannot write the refreshed token back to {shown}: {e:#}"
            ));
        }
        Ok(refreshed.access_token)
    }
}
