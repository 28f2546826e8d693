//! Getting credentials for the profiles a sync needs: read each sign-in's token once,
//! refresh it when it is about to lapse, ask the portal for each SSO role
//! (concurrently, bounded), then walk role chains one hop level at a time.
//!
//! Sources always come fresh from SSO, never from keys in the credentials file: the
//! SDKs would sign a chain with stale static keys there.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::auth::token_cache::TokenCache;
use crate::aws::RoleCredentials;
use crate::aws::clients::{self, ClientFactory, ClientSettings, SsoClient};
use crate::aws::portal::{self, PortalError};
use crate::aws::sts::{self, AssumeError};
use crate::config::environment::Environment;
use crate::config::profiles::{ChainedProfile, SignIn, SsoProfile};
use crate::engine::limiter::{Limiter, THROTTLE_ROUNDS, throttle_pause};
use crate::engine::outcome::{FailureKind, Outcome};
use crate::engine::tokens::{self, Refresher, TokenPlan};
use crate::progress::Progress;
use crate::secret::Secret;
use crate::store::credentials::is_storable;

/// A profile whose credentials must be fetched.
#[derive(Clone, Debug)]
pub enum Wanted {
    Sso(SsoProfile),
    Chained(ChainedProfile),
}

impl Wanted {
    pub fn name(&self) -> &str {
        match self {
            Wanted::Sso(p) => &p.name,
            Wanted::Chained(c) => &c.name,
        }
    }

    /// The SSO profile its credentials start from (itself, or a chain's root).
    pub fn root(&self) -> &SsoProfile {
        match self {
            Wanted::Sso(p) => p,
            Wanted::Chained(c) => &c.root,
        }
    }

    /// The profile's own `region`, for `--region`.
    pub fn region(&self) -> Option<&str> {
        match self {
            Wanted::Sso(p) => p.region.as_deref(),
            Wanted::Chained(c) => c.region.as_deref(),
        }
    }
}

pub struct FetchSettings<'p> {
    pub timeout: Duration,
    pub concurrency: usize,
    /// Counts the portal calls of the SSO profiles as they finish.
    pub progress: &'p Progress,
    /// No network call at all: what would need one is reported as such.
    pub no_network: bool,
}

/// Per profile name: its credentials, or the outcome that replaces them.
pub type Fetched = HashMap<String, Result<RoleCredentials, Outcome>>;

pub fn fetch(
    env: &Environment,
    settings: &FetchSettings,
    now: DateTime<Utc>,
    wanted: &[Wanted],
    warnings: &mut Vec<String>,
) -> Result<Fetched> {
    let mut roots: Vec<&SsoProfile> = Vec::new();
    let mut seen = HashSet::new();
    for w in wanted {
        if seen.insert(w.root().name.as_str()) {
            roots.push(w.root());
        }
    }

    // One token read per sign-in, whatever the number of profiles sharing it.
    let mut cache = TokenCache::new(env.sso_cache_dir()?);
    let mut plans: HashMap<SignIn, TokenPlan> = HashMap::new();
    for root in &roots {
        if plans.contains_key(&root.sign_in) {
            continue;
        }
        let plan = tokens::plan(env, &mut cache, root, now);
        plans.insert(root.sign_in.clone(), plan);
    }
    warnings.append(&mut cache.warnings);

    let mut results: Fetched = HashMap::new();
    let needs_network = plans.values().any(|p| !matches!(p, TokenPlan::Unusable(_)));
    if needs_network && !settings.no_network {
        let client_settings =
            ClientSettings::from_env(env, settings.timeout).trusting(env, ca_bundles_of(wanted));
        let clients = Arc::new(ClientFactory::new(client_settings)?);
        warnings.extend(clients.notices().iter().cloned());
        let runtime = clients::runtime()?;
        let refresher = Refresher {
            env,
            runtime: &runtime,
            clients: &clients,
            now,
        };
        let mut tokens: HashMap<SignIn, Result<Secret, Outcome>> = HashMap::new();
        for (sign_in, plan) in plans {
            let token = match plan {
                TokenPlan::Use(token) => Ok(token),
                TokenPlan::Unusable(outcome) => Err(outcome),
                TokenPlan::Refresh(cached) => {
                    refresher.refresh(&sign_in, roots_login(&roots, &sign_in), cached, warnings)
                }
            };
            tokens.insert(sign_in, token);
        }
        let fetched = runtime.block_on(fetch_roots(
            &clients,
            &roots,
            &tokens,
            RootSettings {
                concurrency: settings.concurrency,
                budget: settings.timeout * 3,
                progress: settings.progress,
            },
            warnings,
        ));
        settings.progress.finish();
        results.extend(fetched);
        let chains: Vec<&ChainedProfile> = wanted
            .iter()
            .filter_map(|w| match w {
                Wanted::Chained(c) => Some(c),
                Wanted::Sso(_) => None,
            })
            .collect();
        if !chains.is_empty() {
            let hops = runtime.block_on(walk_chains(
                &clients,
                &chains,
                &results,
                now,
                settings.concurrency,
            ));
            results.extend(hops);
        }
    } else {
        for root in &roots {
            let outcome = match plans.get(&root.sign_in) {
                Some(TokenPlan::Unusable(outcome)) => outcome.clone(),
                _ => Outcome::NeedsNetwork,
            };
            results.insert(root.name.clone(), Err(outcome));
        }
        for w in wanted {
            if let Wanted::Chained(c) = w {
                let root = match results.get(&c.root.name) {
                    Some(root) => root.clone().map_err(|o| o.via_source(&c.root.name)),
                    None => Err(Outcome::failed(
                        FailureKind::Portal,
                        "internal: the chain's source was not fetched",
                    )),
                };
                results.insert(c.name.clone(), root);
            }
        }
    }
    Ok(results)
}

/// `(profile, ca_bundle)` of every profile whose requests this run makes: the
/// SSO roots and each hop of a chain.
fn ca_bundles_of(wanted: &[Wanted]) -> Vec<(&str, &str)> {
    let mut bundles = Vec::new();
    for w in wanted {
        let root = w.root();
        if let Some(path) = &root.ca_bundle {
            bundles.push((root.name.as_str(), path.as_str()));
        }
        if let Wanted::Chained(chain) = w {
            for hop in &chain.hops {
                if let Some(path) = &hop.ca_bundle {
                    bundles.push((hop.profile.as_str(), path.as_str()));
                }
            }
        }
    }
    bundles
}

/// The login hint for a sign-in, named after the first profile using it.
fn roots_login(roots: &[&SsoProfile], sign_in: &SignIn) -> String {
    roots
        .iter()
        .find(|r| &r.sign_in == sign_in)
        .map(|r| sign_in.login_hint(&r.name))
        .unwrap_or_default()
}

/// A GetRoleCredentials call to make again: which root, which round, and when.
struct Retry {
    /// Index into the roots.
    root: usize,
    round: u32,
    /// When the profile's first call started: rounds stop at the budget from there.
    first: Instant,
    /// Not to start before this (the pause before the round).
    ready: Instant,
}

/// What a finished call reports back.
struct Done {
    root: usize,
    round: u32,
    first: Instant,
    /// From [`Limiter::start`].
    seq: u64,
    result: Result<RoleCredentials, PortalError>,
}

/// How [`fetch_roots`] runs.
struct RootSettings<'p> {
    /// Calls in flight at most.
    concurrency: usize,
    /// No round of a throttled profile starts later than this after its first call.
    budget: Duration,
    progress: &'p Progress,
}

/// GetRoleCredentials for every root with a usable token, at most `concurrency` at
/// once, fewer while the portal throttles. A throttled profile is asked again after
/// a pause (up to [`THROTTLE_ROUNDS`] rounds, none starting later than `budget`
/// after its first call) rather than failed; while it waits it holds no slot.
async fn fetch_roots(
    clients: &Arc<ClientFactory>,
    roots: &[&SsoProfile],
    tokens: &HashMap<SignIn, Result<Secret, Outcome>>,
    settings: RootSettings<'_>,
    warnings: &mut Vec<String>,
) -> Fetched {
    let RootSettings {
        concurrency,
        budget,
        progress,
    } = settings;
    let mut results: Fetched = HashMap::new();
    // First rounds, in order: the roots with a usable token.
    let mut fresh = Vec::with_capacity(roots.len());
    for (i, root) in roots.iter().enumerate() {
        match tokens.get(&root.sign_in) {
            Some(Ok(_)) => fresh.push(i),
            Some(Err(outcome)) => {
                results.insert(root.name.clone(), Err(outcome.clone()));
            }
            // Left for the "did not finish" failure below.
            None => {}
        }
    }
    progress.add_total(fresh.len() as u64);
    let mut fresh = fresh.into_iter();
    // Throttled profiles waiting for their next round, soonest first.
    let mut waiting: Vec<Retry> = Vec::new();
    let mut sso_clients: HashMap<&str, SsoClient> = HashMap::new();
    let mut limiter = Limiter::new(concurrency);
    let mut retried: HashSet<usize> = HashSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // A call in flight holds a few kilobytes of SDK state (and its own copy
        // of the token): start the next one only when fewer than the limit are in
        // flight, so memory stays bounded however many profiles there are.
        let now = Instant::now();
        while tasks.len() < limiter.limit {
            let (root, round, first) = match waiting.first() {
                Some(r) if r.ready <= now => {
                    let r = waiting.remove(0);
                    (r.root, r.round, r.first)
                }
                _ => match fresh.next() {
                    Some(root) => (root, 1, now),
                    None => break,
                },
            };
            let Some(profile) = roots.get(root) else {
                continue;
            };
            let Some(Ok(token)) = tokens.get(&profile.sign_in) else {
                continue;
            };
            let region = profile.sign_in.region();
            let client = sso_clients
                .entry(region)
                .or_insert_with(|| clients.sso(region))
                .clone();
            let (token, account, role) = (
                token.clone(),
                profile.account_id.clone(),
                profile.role_name.clone(),
            );
            let seq = limiter.start();
            tasks.spawn(async move {
                let result = portal::role_credentials(&client, &token, &account, &role).await;
                Done {
                    root,
                    round,
                    first,
                    seq,
                    result,
                }
            });
        }
        let joined = if tasks.is_empty() {
            // Nothing in flight: wait for the next round, or stop.
            match waiting.first() {
                Some(next) => {
                    tokio::time::sleep_until(next.ready.into()).await;
                    continue;
                }
                None => break,
            }
        } else {
            match waiting.first() {
                // A slot is free and a round is due later: wake for it.
                Some(next) if tasks.len() < limiter.limit => {
                    match tokio::time::timeout_at(next.ready.into(), tasks.join_next()).await {
                        Ok(joined) => joined,
                        Err(_) => continue,
                    }
                }
                _ => tasks.join_next().await,
            }
        };
        let Some(Ok(done)) = joined else {
            continue;
        };
        let Some(profile) = roots.get(done.root) else {
            continue;
        };
        if matches!(done.result, Err(PortalError::Throttled)) {
            // The calls still in flight, and this one.
            limiter.throttled(done.seq, tasks.len() + 1);
            let ready = Instant::now() + throttle_pause(done.round + 1);
            let in_budget = done.first.checked_add(budget).is_none_or(|end| ready < end);
            if done.round < THROTTLE_ROUNDS && in_budget {
                retried.insert(done.root);
                let at = waiting.partition_point(|r| r.ready <= ready);
                waiting.insert(
                    at,
                    Retry {
                        root: done.root,
                        round: done.round + 1,
                        first: done.first,
                        ready,
                    },
                );
                continue;
            }
        } else if done.result.is_ok() {
            limiter.succeeded();
        }
        record_root(&mut results, profile, done.round, done.result);
        progress.advance(1);
    }
    if !retried.is_empty() {
        tracing::info!(
            profiles = retried.len(),
            lowest = limiter.lowest,
            "the portal throttled"
        );
        warnings.push(format!(
            "the portal throttled requests: asked again for {} profile(s), down to {} request(s) at once",
            retried.len(),
            limiter.lowest
        ));
    }
    for root in roots {
        results.entry(root.name.clone()).or_insert_with(|| {
            Err(Outcome::failed(
                FailureKind::Portal,
                "the portal call did not finish",
            ))
        });
    }
    results
}

/// Files one finished GetRoleCredentials call under its profile.
fn record_root(
    results: &mut Fetched,
    root: &SsoProfile,
    rounds: u32,
    result: Result<RoleCredentials, PortalError>,
) {
    let outcome = match result {
        Ok(creds) if storable(&creds) => Ok(creds),
        Ok(_) => Err(unstorable()),
        Err(PortalError::LoginRequired) => Err(Outcome::failed(
            FailureKind::Login,
            format!(
                "the SSO token was rejected (expired or revoked); {}",
                root.sign_in.login_hint(&root.name)
            ),
        )),
        Err(PortalError::NoAccess) => Err(Outcome::failed(
            FailureKind::NoAccess,
            format!(
                "no access to role {} in account {}; check sso_role_name and sso_account_id",
                root.role_name, root.account_id
            ),
        )),
        Err(PortalError::Throttled) => Err(Outcome::failed(
            FailureKind::Portal,
            format!(
                "the portal is throttling requests (TooManyRequestsException), still after {rounds} round(s) of retries; try again in a minute, or lower --concurrency"
            ),
        )),
        Err(PortalError::Failed(message)) => Err(Outcome::failed(FailureKind::Portal, message)),
    };
    results.insert(root.name.clone(), outcome);
}

/// AssumeRole along every chain, one depth at a time, so a hop shared by several
/// chains is assumed once and each level runs concurrently.
async fn walk_chains(
    clients: &Arc<ClientFactory>,
    chains: &[&ChainedProfile],
    roots: &Fetched,
    now: DateTime<Utc>,
    concurrency: usize,
) -> Fetched {
    let session_name = format!("ssosync-{}", now.timestamp());
    // Credentials per hop profile, seeded with the SSO roots.
    let mut known: Fetched = roots.clone();
    let depth = chains.iter().map(|c| c.hops.len()).max().unwrap_or(0);
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    for level in 0..depth {
        let mut tasks = tokio::task::JoinSet::new();
        let mut started: HashSet<String> = HashSet::new();
        for chain in chains {
            let Some(hop) = chain.hops.get(level) else {
                continue;
            };
            if known.contains_key(&hop.profile) || !started.insert(hop.profile.clone()) {
                continue;
            }
            let source = match level.checked_sub(1) {
                None => &chain.root.name,
                Some(previous) => match chain.hops.get(previous) {
                    Some(hop) => &hop.profile,
                    None => continue,
                },
            };
            let source_creds = match known.get(source) {
                Some(Ok(creds)) => creds.clone(),
                None => {
                    known.insert(
                        hop.profile.clone(),
                        Err(Outcome::failed(
                            FailureKind::Portal,
                            format!("internal: {source} was not fetched"),
                        )),
                    );
                    continue;
                }
                Some(Err(outcome)) => {
                    // Name the root once; deeper hops pass its failure on as it is.
                    let outcome = if level == 0 {
                        outcome.clone().via_source(source)
                    } else {
                        outcome.clone()
                    };
                    known.insert(hop.profile.clone(), Err(outcome));
                    continue;
                }
            };
            let region = hop
                .region
                .clone()
                .or_else(|| chain.region.clone())
                .or_else(|| chain.root.region.clone())
                .unwrap_or_else(|| chain.root.sign_in.region().to_string());
            let client = clients.sts(&region, &source_creds);
            let hop = hop.clone();
            let permits = Arc::clone(&permits);
            let session_name = session_name.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = sts::assume_role(&client, &hop, &session_name).await;
                (hop, result)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((hop, result)) = joined else { continue };
            let outcome = match result {
                Ok(creds) if storable(&creds) => Ok(creds),
                Ok(_) => Err(unstorable()),
                Err(AssumeError::Denied(detail)) => Err(Outcome::failed(
                    FailureKind::NoAccess,
                    format!(
                        "cannot assume {} (profile {}): {detail}",
                        hop.role_arn, hop.profile
                    ),
                )),
                Err(AssumeError::Failed(message)) => Err(Outcome::failed(
                    FailureKind::Portal,
                    format!(
                        "cannot assume {} (profile {}): {message}",
                        hop.role_arn, hop.profile
                    ),
                )),
            };
            known.insert(hop.profile.clone(), outcome);
        }
    }
    chains
        .iter()
        .map(|c| {
            let result = known.get(&c.name).cloned().unwrap_or_else(|| {
                Err(Outcome::failed(
                    FailureKind::Portal,
                    "the chain was not walked",
                ))
            });
            (c.name.clone(), result)
        })
        .collect()
}

fn unstorable() -> Outcome {
    Outcome::failed(
        FailureKind::Portal,
        "the service returned a credential value with whitespace or control characters; refusing to store it",
    )
}

fn storable(creds: &RoleCredentials) -> bool {
    is_storable(&creds.access_key_id)
        && is_storable(creds.secret_access_key.expose())
        && is_storable(creds.session_token.expose())
}
