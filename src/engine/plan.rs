//! A sync run: decide what each selected profile needs, fetch what is stale, then
//! plan every change to the credentials file and apply it in one locked, atomic
//! write (`store::apply`).
//!
//! `--dry-run` takes the same path and stops before the lock, so what it shows is
//! what a real run would write. The no-op path (every entry fresh) reads two files
//! and returns: no token read, no async runtime, no network.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::aws::RoleCredentials;
use crate::config::environment::Environment;
use crate::config::profiles::{ProfileConfig, ProfileKind};
use crate::config::selection::Target;
use crate::engine::fetch::{self, FetchSettings, Wanted};
use crate::engine::outcome::{FailureKind, Outcome, ProfileResult, SyncReport};
use crate::store::apply::{self, Commit, UserFile};
use crate::store::credentials::{CredentialsFile, EntryState};

/// What a run does with the credentials it fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write them into the credentials file.
    Write,
    /// Show the change as a diff; write nothing, refresh no token.
    DryRun,
    /// Hand them back only (`export --no-write`).
    FetchOnly,
    /// Decide without any network call (`--no-network`): an entry that needs
    /// one is reported as such; nothing is fetched, refreshed or written.
    NoNetwork,
}

/// Everything a run is told, resolved from the command line once (`options.rs`).
#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub force: bool,
    pub min_ttl: Duration,
    pub write_region: bool,
    pub mode: Mode,
    pub timeout: Duration,
    pub concurrency: usize,
}

/// One selected profile on its way through the run.
struct Job<'t> {
    target: &'t Target,
    step: Step,
}

/// How far a profile has got.
enum Step {
    /// Nothing more to do: fresh, misconfigured, or failed.
    Done(Outcome),
    /// Its credentials must be fetched.
    Fetch(Box<Wanted>),
    /// Fetched: to be written under the target name.
    Write {
        creds: RoleCredentials,
        region: Option<String>,
    },
}

pub struct Syncer<'a> {
    pub env: &'a Environment,
    pub config: &'a ProfileConfig,
    pub options: &'a SyncOptions,
    pub now: DateTime<Utc>,
}

impl Syncer<'_> {
    fn fresh_after(&self) -> DateTime<Utc> {
        crate::timefmt::add_saturating(self.now, self.options.min_ttl)
    }

    pub fn run(&self, targets: &[Target]) -> Result<SyncReport> {
        let mut report = SyncReport {
            now: self.now,
            ..Default::default()
        };
        let file = UserFile::at(self.env, &self.env.credentials_path()?)?;
        let doc: CredentialsFile = file.read()?;
        if doc.has_bom() {
            report.warnings.push(format!(
                "{} starts with a UTF-8 byte order mark, which the AWS Rust SDK rejects; ssosync keeps it as it is",
                file.shown
            ));
        }

        let mut jobs: Vec<Job> = targets
            .iter()
            .map(|target| Job {
                target,
                step: self.decide(target, &doc),
            })
            .collect();
        self.fetch(&mut jobs, &mut report.warnings)?;

        let results = if !jobs.iter().any(|j| matches!(j.step, Step::Write { .. })) {
            finish(jobs, |_| None)
        } else if self.options.mode == Mode::FetchOnly {
            finish(jobs, |job| match &job.step {
                Step::Write { creds, .. } => Some(Outcome::Fetched(creds.expiration)),
                _ => None,
            })
        } else {
            let commit = match self.options.mode {
                Mode::DryRun => Commit::DryRun,
                _ => Commit::Write,
            };
            let applied = apply::apply(&file, Some(doc), commit, |doc| self.plan(&jobs, doc))?;
            report.preview = applied.preview;
            let dry = commit == Commit::DryRun;
            if !dry
                && applied
                    .planned
                    .iter()
                    .any(|o| matches!(o, Outcome::Written(_)))
            {
                report.warnings.extend(file.exposure_warning());
            }
            let mut planned = applied.planned.into_iter();
            finish(jobs, |job| match job.step {
                Step::Write { .. } => planned.next().map(|o| match o {
                    Outcome::Written(t) if dry => Outcome::WouldWrite(t),
                    other => other,
                }),
                _ => None,
            })
        };
        report.results = results;
        Ok(report)
    }

    fn decide(&self, target: &Target, file: &CredentialsFile) -> Step {
        let failed = |message: String| Step::Done(Outcome::failed(FailureKind::Config, message));
        let wanted = match self.config.get(&target.source) {
            Some(ProfileKind::Sso(p)) => Wanted::Sso(p.clone()),
            Some(ProfileKind::Chained(c)) => Wanted::Chained(c.clone()),
            Some(ProfileKind::Misconfigured(reason)) => return failed(reason.clone()),
            Some(ProfileKind::TokenOnly) => {
                return failed(
                    "has an sso_session but no sso_account_id and sso_role_name, so it has no role credentials to sync".into(),
                );
            }
            Some(ProfileKind::Other(Some(reason))) => return failed(reason.clone()),
            Some(ProfileKind::Other(None)) | None => {
                return failed(
                    "has no SSO settings (sso_session or sso_start_url) and no role chain from one; only those can be synced".into(),
                );
            }
        };
        match file.state(&target.target, self.fresh_after()) {
            EntryState::LongTerm if !self.options.force => Step::Done(protected(&target.target)),
            EntryState::Fresh(t) if !self.options.force => Step::Done(Outcome::Fresh(t)),
            _ => Step::Fetch(Box::new(wanted)),
        }
    }

    /// Fetches every profile in a [`Step::Fetch`] once (several targets may share
    /// a source) and moves each job on to a write or a failure.
    fn fetch(&self, jobs: &mut [Job], warnings: &mut Vec<String>) -> Result<()> {
        let mut distinct: Vec<Wanted> = Vec::new();
        let mut seen = HashSet::new();
        for job in jobs.iter() {
            if let Step::Fetch(w) = &job.step
                && seen.insert(w.name())
            {
                distinct.push((**w).clone());
            }
        }
        if distinct.is_empty() {
            return Ok(());
        }
        let settings = FetchSettings {
            timeout: self.options.timeout,
            concurrency: self.options.concurrency,
            dry_run: self.options.mode == Mode::DryRun,
            no_network: self.options.mode == Mode::NoNetwork,
        };
        let fetched = fetch::fetch(self.env, &settings, self.now, &distinct, warnings)?;
        for job in jobs {
            let Step::Fetch(w) = &job.step else { continue };
            job.step = match fetched.get(w.name()) {
                Some(Ok(creds)) => Step::Write {
                    creds: creds.clone(),
                    region: w
                        .region()
                        .map(str::to_string)
                        .filter(|_| self.options.write_region),
                },
                Some(Err(outcome)) => Step::Done(outcome.clone()),
                None => Step::Done(Outcome::failed(
                    FailureKind::Portal,
                    "internal: the fetch skipped this profile",
                )),
            };
        }
        Ok(())
    }

    /// Writes every fetched entry whose target is still ours to overwrite into
    /// `file`; the outcome of each [`Step::Write`] job, in job order.
    fn plan(&self, jobs: &[Job], file: &mut CredentialsFile) -> Vec<Outcome> {
        let mut planned = Vec::new();
        for job in jobs {
            let Step::Write { creds, region } = &job.step else {
                continue;
            };
            let name = &job.target.target;
            if file.state(name, self.now) == EntryState::LongTerm && !self.options.force {
                planned.push(protected(name));
                continue;
            }
            file.write_entry(name, creds, region.as_deref());
            planned.push(Outcome::Written(creds.expiration));
        }
        planned
    }
}

/// Each job's result: `write_outcome` for the jobs it has one for, else the
/// outcome the job already has.
fn finish(
    jobs: Vec<Job>,
    mut write_outcome: impl FnMut(&Job) -> Option<Outcome>,
) -> Vec<ProfileResult> {
    jobs.into_iter()
        .map(|job| {
            let outcome = write_outcome(&job);
            let (outcome, fetched) = match job.step {
                Step::Done(done) => (done, None),
                Step::Write { creds, .. } => (
                    outcome.unwrap_or_else(|| {
                        Outcome::failed(FailureKind::Portal, "internal: no outcome")
                    }),
                    Some(creds),
                ),
                Step::Fetch(_) => (
                    Outcome::failed(FailureKind::Portal, "internal: not fetched"),
                    None,
                ),
            };
            ProfileResult {
                target: job.target.clone(),
                outcome,
                fetched,
            }
        })
        .collect()
}

fn protected(name: &str) -> Outcome {
    Outcome::failed(
        FailureKind::Protected,
        format!(
            "[{name}] holds long-term keys (an access key without a session token); not overwriting them without --force"
        ),
    )
}
