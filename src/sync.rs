//! A sync run: decide what each selected profile needs, fetch what is stale, then
//! apply every change to the credentials file in one locked, atomic write.
//!
//! `--dry-run` takes the same path and stops before the lock, so what it shows is
//! what a real run would write. The no-op path (every entry fresh) reads two files
//! and returns: no token read, no async runtime, no network.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};

use crate::credentials::{CredentialsFile, EntryState, is_storable};
use crate::environment::{Environment, read_optional};
use crate::portal::{Portal, PortalError, PortalSettings, RoleCredentials};
use crate::profiles::{ProfileConfig, ProfileKind, SsoProfile};
use crate::safe_write;
use crate::selection::Target;
use crate::timefmt::format_utc;
use crate::token_cache::{TokenCache, TokenProblem};

#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub force: bool,
    pub min_ttl: Duration,
    pub write_region: bool,
    pub dry_run: bool,
    pub timeout: Duration,
    pub concurrency: usize,
}

/// Why a profile was not synced; the kind decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The token is missing, expired or revoked: exit 3.
    Login,
    Config,
    NoAccess,
    /// Long-term keys in the way, and no `--force`.
    Protected,
    Portal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Fresh(DateTime<Utc>),
    Written(DateTime<Utc>),
    WouldWrite(DateTime<Utc>),
    Failed(Failure),
}

#[derive(Clone, Debug)]
pub struct ProfileResult {
    pub target: Target,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Default)]
pub struct SyncReport {
    pub results: Vec<ProfileResult>,
    /// For `--dry-run`: the file before and after (secrets in clear; redact to show).
    pub preview: Option<(String, String)>,
    pub warnings: Vec<String>,
    pub now: DateTime<Utc>,
}

/// What the first pass decided for one target.
enum Decision {
    Done(Outcome),
    Fetch(SsoProfile),
}

fn failure(kind: FailureKind, message: impl Into<String>) -> Outcome {
    Outcome::Failed(Failure {
        kind,
        message: message.into(),
    })
}

pub struct Syncer<'a> {
    pub env: &'a Environment,
    pub config: &'a ProfileConfig,
    pub options: &'a SyncOptions,
    pub now: DateTime<Utc>,
}

impl Syncer<'_> {
    fn fresh_after(&self) -> DateTime<Utc> {
        self.now + chrono::Duration::from_std(self.options.min_ttl).unwrap_or(chrono::Duration::MAX)
    }

    pub fn run(&self, targets: &[Target]) -> Result<SyncReport> {
        let mut report = SyncReport {
            now: self.now,
            ..Default::default()
        };
        let creds_path = safe_write::resolve_target(&self.env.credentials_path()?)?;
        let shown = self.env.display_path(&creds_path);
        let (original, file) = read_credentials(&creds_path, &shown)?;
        if file.has_bom() {
            report.warnings.push(format!(
                "{shown} starts with a UTF-8 byte order mark, which the AWS Rust SDK rejects; ssosync keeps it as it is"
            ));
        }

        let decisions: Vec<Decision> = targets.iter().map(|t| self.decide(t, &file)).collect();
        let wanted: Vec<(usize, SsoProfile)> = decisions
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match d {
                Decision::Fetch(p) => Some((i, p.clone())),
                Decision::Done(_) => None,
            })
            .collect();
        let mut outcomes: Vec<Option<Outcome>> = decisions
            .into_iter()
            .map(|d| match d {
                Decision::Done(o) => Some(o),
                Decision::Fetch(_) => None,
            })
            .collect();

        if !wanted.is_empty() {
            let fetched = self.fetch(&wanted, &mut report.warnings)?;
            let mut writes: Vec<(usize, RoleCredentials, Option<String>)> = Vec::new();
            for (i, profile) in &wanted {
                match &fetched[&profile.name] {
                    Ok(creds) => {
                        let region = profile.region.clone().filter(|_| self.options.write_region);
                        writes.push((*i, creds.clone(), region));
                    }
                    Err(outcome) => outcomes[*i] = Some(outcome.clone()),
                }
            }
            if !writes.is_empty() {
                self.write(
                    targets,
                    &writes,
                    &creds_path,
                    &shown,
                    original,
                    file,
                    &mut outcomes,
                    &mut report,
                )?;
            }
        }

        report.results = targets
            .iter()
            .zip(outcomes)
            .map(|(t, o)| ProfileResult {
                target: t.clone(),
                outcome: o.unwrap_or_else(|| failure(FailureKind::Portal, "internal: no outcome")),
            })
            .collect();
        Ok(report)
    }

    fn decide(&self, target: &Target, file: &CredentialsFile) -> Decision {
        let profile = match self.config.get(&target.source) {
            Some(ProfileKind::Sso(p)) => p.clone(),
            Some(ProfileKind::Misconfigured(reason)) => {
                return Decision::Done(failure(FailureKind::Config, reason.clone()));
            }
            Some(ProfileKind::TokenOnly) => {
                return Decision::Done(failure(
                    FailureKind::Config,
                    "has an sso_session but no sso_account_id and sso_role_name, so it has no role credentials to sync",
                ));
            }
            Some(ProfileKind::Other) | None => {
                return Decision::Done(failure(
                    FailureKind::Config,
                    "has no SSO settings (sso_session or sso_start_url); only SSO profiles can be synced",
                ));
            }
        };
        match file.state(&target.target, self.fresh_after()) {
            EntryState::LongTerm if !self.options.force => {
                Decision::Done(protected(&target.target))
            }
            EntryState::Fresh(t) if !self.options.force => Decision::Done(Outcome::Fresh(t)),
            _ => Decision::Fetch(profile),
        }
    }

    /// Gets credentials for each distinct source profile, reading each token once
    /// and calling the portal concurrently (bounded).
    fn fetch(
        &self,
        wanted: &[(usize, SsoProfile)],
        warnings: &mut Vec<String>,
    ) -> Result<HashMap<String, Result<RoleCredentials, Outcome>>> {
        let mut results: HashMap<String, Result<RoleCredentials, Outcome>> = HashMap::new();
        let mut cache = TokenCache::new(self.env.sso_cache_dir()?);
        let mut calls = Vec::new();
        for (_, profile) in wanted {
            if results.contains_key(&profile.name)
                || calls
                    .iter()
                    .any(|(p, _): &(SsoProfile, _)| p.name == profile.name)
            {
                continue;
            }
            match cache.token(&profile.sign_in, self.now) {
                Ok(token) => {
                    tracing::debug!(
                        profile = %profile.name,
                        cache = %self.env.display_path(&token.path),
                        expires = %format_utc(token.expires_at),
                        "using cached SSO token"
                    );
                    calls.push((profile.clone(), token.token));
                }
                Err(problem) => {
                    let fix = profile.sign_in.login_command(&profile.name);
                    let message = match problem {
                        TokenProblem::Missing => format!(
                            "no SSO token cached for {}; run `{fix}`",
                            profile.sign_in.start_url()
                        ),
                        TokenProblem::Expired(at) => {
                            format!("the SSO token expired at {}; run `{fix}`", format_utc(at))
                        }
                        TokenProblem::Unreadable { path, reason } => format!(
                            "cannot use token cache {} ({reason}); run `{fix}`",
                            self.env.display_path(&path)
                        ),
                    };
                    results.insert(
                        profile.name.clone(),
                        Err(failure(FailureKind::Login, message)),
                    );
                }
            }
        }
        warnings.append(&mut cache.warnings);
        if calls.is_empty() {
            return Ok(results);
        }

        let settings = PortalSettings {
            endpoint: self.env.sso_endpoint(),
            timeout: self.options.timeout,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let concurrency = self.options.concurrency.max(1);
        let fetched = runtime.block_on(async move {
            let mut regions: Vec<&str> = calls.iter().map(|(p, _)| p.sign_in.region()).collect();
            regions.sort_unstable();
            regions.dedup();
            let portal = Arc::new(Portal::new(regions, &settings));
            let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let mut tasks = tokio::task::JoinSet::new();
            for (profile, token) in calls {
                let portal = Arc::clone(&portal);
                let permits = Arc::clone(&permits);
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let result = portal
                        .role_credentials(
                            profile.sign_in.region(),
                            &token,
                            &profile.account_id,
                            &profile.role_name,
                        )
                        .await;
                    (profile, result)
                });
            }
            let mut out = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                out.push(joined);
            }
            out
        });
        for joined in fetched {
            let (profile, result) =
                joined.map_err(|e| anyhow!("a portal call did not finish: {e}"))?;
            let outcome = match result {
                Ok(creds) if storable(&creds) => Ok(creds),
                Ok(_) => Err(failure(
                    FailureKind::Portal,
                    "the portal returned a credential value with whitespace or control characters; refusing to store it",
                )),
                Err(PortalError::LoginRequired) => Err(failure(
                    FailureKind::Login,
                    format!(
                        "the SSO token was rejected (expired or revoked); run `{}`",
                        profile.sign_in.login_command(&profile.name)
                    ),
                )),
                Err(PortalError::NoAccess) => Err(failure(
                    FailureKind::NoAccess,
                    format!(
                        "no access to role {} in account {}; check sso_role_name and sso_account_id",
                        profile.role_name, profile.account_id
                    ),
                )),
                Err(PortalError::Failed(message)) => Err(failure(FailureKind::Portal, message)),
            };
            results.insert(profile.name.clone(), outcome);
        }
        Ok(results)
    }

    /// Applies the fetched credentials: on a copy for `--dry-run`, else under the lock.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        targets: &[Target],
        writes: &[(usize, RoleCredentials, Option<String>)],
        path: &Path,
        shown: &str,
        original: String,
        file: CredentialsFile,
        outcomes: &mut [Option<Outcome>],
        report: &mut SyncReport,
    ) -> Result<()> {
        if self.options.dry_run {
            let (planned, edited) = self.plan(targets, writes, file);
            report.preview = Some((original, edited.render()));
            for (i, outcome) in planned {
                outcomes[i] = Some(match outcome {
                    Outcome::Written(t) => Outcome::WouldWrite(t),
                    other => other,
                });
            }
            return Ok(());
        }
        let _lock = safe_write::lock(path, Duration::from_secs(30))?;
        safe_write::remove_stale_temp_files(path);
        // A writer that does not take our lock may change the file at any moment:
        // re-read under the lock, and re-plan if it changed before our rename.
        for _ in 0..5 {
            let (before, current) = read_credentials(path, shown)?;
            let (planned, edited) = self.plan(targets, writes, current);
            let after = edited.render();
            if after != before {
                let staged = safe_write::stage(path, &after)?;
                if read_optional(path, shown)?.unwrap_or_default() != before {
                    staged.discard();
                    continue;
                }
                staged.commit()?;
            }
            for (i, outcome) in planned {
                outcomes[i] = Some(outcome);
            }
            return Ok(());
        }
        Err(anyhow!(
            "{shown} kept changing while ssosync was writing it; try again"
        ))
    }

    /// Edits `file` with every write whose target is still ours to overwrite.
    fn plan(
        &self,
        targets: &[Target],
        writes: &[(usize, RoleCredentials, Option<String>)],
        mut file: CredentialsFile,
    ) -> (Vec<(usize, Outcome)>, CredentialsFile) {
        let mut planned = Vec::new();
        for (i, creds, region) in writes {
            let name = &targets[*i].target;
            if file.state(name, self.now) == EntryState::LongTerm && !self.options.force {
                planned.push((*i, protected(name)));
                continue;
            }
            file.write_entry(name, creds, region.as_deref());
            planned.push((*i, Outcome::Written(creds.expiration)));
        }
        (planned, file)
    }
}

fn protected(name: &str) -> Outcome {
    failure(
        FailureKind::Protected,
        format!(
            "[{name}] holds long-term keys (an access key without a session token); not overwriting them without --force"
        ),
    )
}

fn storable(creds: &RoleCredentials) -> bool {
    is_storable(&creds.access_key_id)
        && is_storable(creds.secret_access_key.expose())
        && is_storable(creds.session_token.expose())
}

/// The credentials file's text and document; a missing file is an empty one.
fn read_credentials(path: &Path, shown: &str) -> Result<(String, CredentialsFile)> {
    match read_optional(path, shown)? {
        Some(text) => {
            let file = CredentialsFile::parse(&text).map_err(|e| {
                anyhow!(
                    "{shown} {e}; fix that line (ssosync changes nothing until the file parses)"
                )
            })?;
            Ok((text, file))
        }
        None => Ok((String::new(), CredentialsFile::empty())),
    }
}
