//! `populate`, from sign-ins to profiles in the config file: each sign-in's
//! token (cached, refreshed as a sync refreshes it), the listing of what it
//! reaches (`listing`), a name per account and role (`naming`), and the plan
//! that brings the config file in line (`store::populated`), applied through
//! `store::apply` like every other edit. `--dry-run` is the same plan without
//! the commit, and refreshes no token.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::auth::token_cache::TokenCache;
use crate::aws::clients::{self, ClientFactory, ClientSettings};
use crate::config::environment::Environment;
use crate::config::profile_file::ProfileFile;
use crate::config::profiles::SignIn;
use crate::engine::listing::{self, ListFailure, ListSettings, Listing};
use crate::engine::naming::{self, Assignment, Template};
use crate::engine::outcome::{Failure, FailureKind, Outcome};
use crate::engine::tokens::{self, Refresher, TokenPlan};
use crate::exit::Exit;
use crate::progress::Progress;
use crate::secret::Secret;
use crate::store::apply::{self, Commit, UserFile};
use crate::store::populated::{self, Change, Planned, WantedKey, WantedProfile};
use crate::timefmt::format_utc;

/// Everything a populate run is told, resolved from the command line once.
#[derive(Clone, Debug)]
pub struct PopulateOptions {
    pub template: Template,
    /// `--region`: every profile's `region`, kept in step on every run. Without
    /// it a new profile gets its sign-in's `sso_region`, and an existing one keeps
    /// its own.
    pub region: Option<String>,
    pub prune: bool,
    pub dry_run: bool,
    pub timeout: Duration,
    pub concurrency: usize,
}

/// A sign-in to populate from.
#[derive(Clone, Debug)]
pub struct Source {
    pub sign_in: SignIn,
    /// The profile a legacy sign-in was named by (for its login command).
    pub profile: String,
    /// How messages name it: `sso-session corp`.
    pub label: String,
}

impl Source {
    /// The marker's value on its profiles: the session name, or the start URL.
    fn marker(&self) -> &str {
        self.sign_in.cache_identifier()
    }
}

/// One profile at the end of a run.
#[derive(Clone, Debug)]
pub struct PopulatedProfile {
    pub name: String,
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    pub role_name: Option<String>,
    pub change: Change,
}

/// What one sign-in's listing found.
#[derive(Clone, Debug)]
pub struct SourceSummary {
    pub label: String,
    pub accounts: usize,
    pub roles: usize,
    pub calls: u64,
    pub throttled: u64,
    /// Whether every account and every account's roles were listed.
    pub complete: bool,
}

#[derive(Clone, Debug, Default)]
pub struct PopulateReport {
    /// In name order.
    pub profiles: Vec<PopulatedProfile>,
    /// The sign-ins that were listed.
    pub sources: Vec<SourceSummary>,
    /// What could not be done: a sign-in without a usable token, accounts or
    /// roles that could not be listed.
    pub failures: Vec<Failure>,
    pub warnings: Vec<String>,
    /// `--dry-run`: the config file before and after.
    pub preview: Option<(String, String)>,
    pub dry_run: bool,
}

impl PopulateReport {
    /// 3 when a sign-in needs a login, else 1 when anything could not be
    /// listed, else 0 (conflicts are warnings: those profiles are the user's).
    pub fn exit(&self) -> Exit {
        if self.failures.iter().any(|f| f.kind == FailureKind::Login) {
            Exit::LoginRequired
        } else if !self.failures.is_empty() {
            Exit::Failure
        } else {
            Exit::Ok
        }
    }
}

pub struct Populator<'a> {
    pub env: &'a Environment,
    pub options: &'a PopulateOptions,
    pub now: DateTime<Utc>,
    /// Counts accounts listed (a line on stderr when the command shows one).
    pub progress: &'a Progress,
}

impl Populator<'_> {
    pub fn run(&self, sources: &[Source]) -> Result<PopulateReport> {
        let mut report = PopulateReport {
            dry_run: self.options.dry_run,
            ..Default::default()
        };
        let listings = self.list_all(sources, &mut report)?;
        self.progress.finish();
        if listings.is_empty() {
            return Ok(report);
        }
        self.write(&listings, &mut report)?;
        Ok(report)
    }

    /// Each source's listing, in order; those that could not be listed at all
    /// are failures in `report`.
    fn list_all<'s>(
        &self,
        sources: &'s [Source],
        report: &mut PopulateReport,
    ) -> Result<Vec<(&'s Source, Listing)>> {
        let mut cache = TokenCache::new(self.env.sso_cache_dir()?);
        let mut plans = Vec::new();
        for source in sources {
            let plan = tokens::plan_sign_in(
                self.env,
                &mut cache,
                &source.sign_in,
                &source.profile,
                self.now,
            );
            plans.push((source, plan));
        }
        report.warnings.append(&mut cache.warnings);
        let failed = |source: &Source, outcome: Outcome| match outcome {
            Outcome::Failed(f) => Failure {
                kind: f.kind,
                cause: None,
                message: format!("{}: {}", source.label, f.message),
            },
            _ => Failure {
                kind: FailureKind::Login,
                cause: None,
                message: format!("{}: no usable SSO token", source.label),
            },
        };
        if plans
            .iter()
            .all(|(_, p)| matches!(p, TokenPlan::Unusable(_)))
        {
            for (source, plan) in plans {
                if let TokenPlan::Unusable(outcome) = plan {
                    report.failures.push(failed(source, outcome));
                }
            }
            return Ok(Vec::new());
        }
        let runtime = clients::runtime()?;
        // AWS_CA_BUNDLE and the proxies apply as they do to a sync; a sign-in
        // has no profile of its own whose ca_bundle would.
        let clients = ClientFactory::new(
            ClientSettings::from_env(self.env, self.options.timeout)
                .trusting(self.env, std::iter::empty()),
        )?;
        report.warnings.extend(clients.notices().iter().cloned());
        let refresher = Refresher {
            env: self.env,
            runtime: &runtime,
            clients: &clients,
            now: self.now,
        };
        let settings = ListSettings {
            concurrency: self.options.concurrency,
            stall: self.options.timeout * 3,
            progress: self.progress,
        };
        let mut listings = Vec::new();
        for (source, plan) in plans {
            let hint = source.sign_in.login_hint(&source.profile);
            let token: Result<Secret, Outcome> = match plan {
                TokenPlan::Use(token) => Ok(token),
                TokenPlan::Unusable(outcome) => Err(outcome),
                // Still valid: a dry run uses it as it is rather than refresh it.
                TokenPlan::Refresh(cached)
                    if self.options.dry_run && cached.expires_at > self.now =>
                {
                    Ok(cached.token)
                }
                TokenPlan::Refresh(cached) if self.options.dry_run => Err(Outcome::failed(
                    FailureKind::Login,
                    format!(
                        "the SSO token expired at {}, and a dry run does not refresh it; run `ssosync populate` without --dry-run (it refreshes the token), or {hint}",
                        format_utc(cached.expires_at)
                    ),
                )),
                TokenPlan::Refresh(cached) => {
                    refresher.refresh(&source.sign_in, hint.clone(), cached, &mut report.warnings)
                }
            };
            let token = match token {
                Ok(token) => token,
                Err(outcome) => {
                    report.failures.push(failed(source, outcome));
                    continue;
                }
            };
            let client = clients.sso_single_attempt(source.sign_in.region());
            match runtime.block_on(listing::list(&client, &token, &settings)) {
                Ok(listing) => listings.push((source, listing)),
                Err(ListFailure::LoginRequired) => report.failures.push(Failure {
                    kind: FailureKind::Login,
                    cause: None,
                    message: format!(
                        "{}: the SSO token was rejected (expired or revoked); {hint}",
                        source.label
                    ),
                }),
            }
        }
        Ok(listings)
    }

    /// Names every (account, role), plans the config file and applies the plan.
    fn write(&self, listings: &[(&Source, Listing)], report: &mut PopulateReport) -> Result<()> {
        let mut assignments: Vec<Assignment<'_>> = Vec::new();
        // Per assignment: which listing it came from.
        let mut origin: Vec<&Source> = Vec::new();
        let sessions: Vec<String> = listings.iter().map(|(s, _)| session_field(s)).collect();
        for ((source, listing), session) in listings.iter().zip(&sessions) {
            for account in &listing.accounts {
                for role in &account.roles {
                    assignments.push(Assignment {
                        account_id: &account.info.account_id,
                        account_name: &account.info.account_name,
                        account_email: &account.info.email,
                        role_name: role,
                        session,
                    });
                    origin.push(source);
                }
            }
            report.sources.push(SourceSummary {
                label: source.label.clone(),
                accounts: listing.accounts.len(),
                roles: listing.accounts.iter().map(|a| a.roles.len()).sum(),
                calls: listing.calls,
                throttled: listing.throttled,
                complete: listing.is_complete(),
            });
            self.note_listing(source, listing, report);
        }
        let (names, mut warnings) = naming::name_all(&self.options.template, &assignments);
        report.warnings.append(&mut warnings);

        let mut wanted: Vec<WantedProfile> = Vec::with_capacity(names.len());
        let mut about: HashMap<&str, &Assignment<'_>> = HashMap::with_capacity(names.len());
        for ((name, a), source) in names.iter().zip(&assignments).zip(&origin) {
            wanted.push(self.wanted(name, a, source));
            about.insert(name, a);
        }
        wanted.sort_by(|a, b| a.name.cmp(&b.name));

        let populating: HashSet<String> = listings
            .iter()
            .map(|(s, _)| s.marker().to_string())
            .collect();
        let coverage: HashMap<&str, &Listing> =
            listings.iter().map(|(s, l)| (s.marker(), l)).collect();
        let complete = report.failures.is_empty() && listings.iter().all(|(_, l)| l.is_complete());
        if self.options.prune && !complete {
            report.warnings.push(
                "nothing was pruned: not everything could be listed in this run (see the errors); stale profiles are kept until a run lists everything".into(),
            );
        }
        let prune = self.options.prune && complete;
        let file = UserFile::at(self.env, &self.env.config_path()?)?;
        let plan = |doc: &mut ProfileFile| {
            populated::plan(
                doc,
                &wanted,
                &populating,
                |u| {
                    coverage
                        .get(u.from.as_str())
                        .is_some_and(|l| is_gone(l, u.account_id.as_deref()))
                },
                prune,
            )
        };
        // The plan on the file as it is first: when it changes nothing (a second
        // run), there is nothing to lock or write, and a read-only config is fine.
        let mut applied = apply::apply(&file, None, Commit::DryRun, plan)?;
        let changes = applied.preview.as_ref().is_some_and(|(a, b)| a != b);
        if self.options.dry_run {
            report.preview = applied.preview;
        } else if changes {
            applied = apply::apply(&file, None, Commit::Write, plan)?;
        }
        let names_of: BTreeMap<&str, &str> = listings
            .iter()
            .flat_map(|(_, l)| &l.accounts)
            .map(|a| (a.info.account_id.as_str(), a.info.account_name.as_str()))
            .collect();
        report.profiles = applied
            .planned
            .into_iter()
            .map(|p| profile_of(p, &about, &names_of))
            .collect();
        Ok(())
    }

    /// The profile one assignment gets.
    fn wanted(&self, name: &str, a: &Assignment<'_>, source: &Source) -> WantedProfile {
        let key = |key: &'static str, value: &str| WantedKey {
            key,
            value: value.to_string(),
            kept_in_step: true,
        };
        let mut keys = match &source.sign_in {
            SignIn::Session { name, .. } => vec![key("sso_session", name)],
            SignIn::Legacy { start_url, region } => {
                vec![key("sso_start_url", start_url), key("sso_region", region)]
            }
        };
        keys.push(key("sso_account_id", a.account_id));
        keys.push(key("sso_role_name", a.role_name));
        keys.push(WantedKey {
            key: "region",
            value: self
                .options
                .region
                .clone()
                .unwrap_or_else(|| source.sign_in.region().to_string()),
            kept_in_step: self.options.region.is_some(),
        });
        WantedProfile {
            name: name.to_string(),
            from: source.marker().to_string(),
            keys,
        }
    }

    /// Failures and warnings of one listing.
    fn note_listing(&self, source: &Source, listing: &Listing, report: &mut PopulateReport) {
        if let Some(why) = &listing.accounts_problem {
            report.failures.push(Failure {
                kind: FailureKind::Portal,
                cause: None,
                message: match listing.accounts.len() {
                    0 => format!("{}: {why}; nothing was populated from it", source.label),
                    n => format!(
                        "{}: {why}; only the {n} account(s) listed before that were populated",
                        source.label
                    ),
                },
            });
        }
        for account in listing.accounts.iter().filter(|a| a.problem.is_some()) {
            report.failures.push(Failure {
                kind: FailureKind::Portal,
                cause: None,
                message: format!(
                    "{}: account {} ({}): {}; its profiles were left as they are",
                    source.label,
                    account.info.account_id,
                    account.info.account_name,
                    account.problem.as_deref().unwrap_or_default()
                ),
            });
        }
        if listing.throttled > 0 {
            report.warnings.push(format!(
                "the portal throttled {} of {} requests for {}; ssosync slowed down to {} request(s) a second and asked again, so nothing was left out",
                listing.throttled,
                listing.calls,
                source.label,
                listing.lowest_rate.map_or(0, |r| r.round() as u64)
            ));
        }
    }
}

/// Whether a managed profile of the listing's sign-in for `account` is known to
/// be no longer reached: its account was listed whole and its role is not among
/// those wanted, or the account list is whole and the account is not in it.
fn is_gone(listing: &Listing, account: Option<&str>) -> bool {
    let Some(account) = account else {
        return listing.is_complete();
    };
    match listing
        .accounts
        .binary_search_by(|a| a.info.account_id.as_str().cmp(account))
    {
        Ok(i) => listing.accounts.get(i).is_some_and(|a| a.problem.is_none()),
        Err(_) => listing.accounts_problem.is_none(),
    }
}

/// `{session}`: the sso-session's name; for a legacy sign-in, the first label of
/// its start URL's host (`corp` for `https://corp.awsapps.com/start`).
fn session_field(source: &Source) -> String {
    match &source.sign_in {
        SignIn::Session { name, .. } => name.clone(),
        SignIn::Legacy { start_url, .. } => {
            let host = start_url
                .split_once("://")
                .map_or(start_url.as_str(), |(_, rest)| rest);
            host.split(['.', '/', ':'])
                .next()
                .unwrap_or(host)
                .to_string()
        }
    }
}

fn profile_of(
    planned: Planned,
    about: &HashMap<&str, &Assignment<'_>>,
    names_of: &BTreeMap<&str, &str>,
) -> PopulatedProfile {
    if let Some(a) = about.get(planned.name.as_str()) {
        return PopulatedProfile {
            account_id: Some(a.account_id.to_string()),
            account_name: Some(a.account_name.to_string()),
            role_name: Some(a.role_name.to_string()),
            name: planned.name,
            change: planned.change,
        };
    }
    let (account_id, role_name) = planned
        .unwanted
        .map(|u| (u.account_id, u.role_name))
        .unwrap_or_default();
    PopulatedProfile {
        account_name: account_id
            .as_deref()
            .and_then(|id| names_of.get(id))
            .map(|n| n.to_string()),
        account_id,
        role_name,
        name: planned.name,
        change: planned.change,
    }
}
