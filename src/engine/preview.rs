//! What a dry run can tell without the network: for each profile to fetch,
//! whether its sign-in's cached token would be used as it is (the entry would be
//! written), refreshed first, or is unusable (a login is needed). Only the token
//! cache is read: no GetRoleCredentials, no refresh, no AssumeRole, so a dry run
//! issues no credentials and changes no file.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::auth::token_cache::TokenCache;
use crate::config::environment::Environment;
use crate::config::profiles::SignIn;
use crate::engine::fetch::Wanted;
use crate::engine::outcome::Outcome;
use crate::engine::tokens::{self, TokenPlan};

/// Per profile name: `Ok` when its entry would be written, else the outcome that
/// says why not (a login, or a refresh first).
pub type Previewed = HashMap<String, Result<(), Outcome>>;

pub fn preview(
    env: &Environment,
    now: DateTime<Utc>,
    wanted: &[Wanted],
    warnings: &mut Vec<String>,
) -> anyhow::Result<Previewed> {
    let mut cache = TokenCache::new(env.sso_cache_dir()?);
    // One token read per sign-in, as in a real run.
    let mut by_sign_in: HashMap<SignIn, Result<(), Outcome>> = HashMap::new();
    let mut previewed = Previewed::new();
    for w in wanted {
        let root = w.root();
        let state = by_sign_in
            .entry(root.sign_in.clone())
            .or_insert_with(|| match tokens::plan(env, &mut cache, root, now) {
                TokenPlan::Use(_) => Ok(()),
                TokenPlan::Refresh(_) => Err(Outcome::WouldRefresh),
                TokenPlan::Unusable(outcome) => Err(outcome),
            })
            .clone();
        let state = match (w, state) {
            // A chain names the SSO profile it starts at, as a real run does.
            (Wanted::Chained(_), Err(outcome)) => Err(outcome.via_source(&root.name)),
            (_, state) => state,
        };
        previewed.insert(w.name().to_string(), state);
    }
    warnings.append(&mut cache.warnings);
    Ok(previewed)
}
