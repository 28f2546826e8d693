//! A sync run: decide what each selected profile needs, fetch what is stale, then
//! plan every change to the credentials file and apply it in one locked, atomic
//! write (`store::apply`).
//!
//! `--dry-run` decides the same way and plans the same edit, but has no side
//! effects: instead of fetching it only reads each sign-in's cached token
//! (`preview`), writes placeholders for the keys a fetch would bring, and stops
//! before the lock. The no-op path (every entry fresh) reads two files and
//! returns: no token read, no async runtime, no network.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::aws::RoleCredentials;
use crate::config::environment::Environment;
use crate::config::profiles::{ProfileConfig, ProfileKind};
use crate::config::selection::Target;
use crate::engine::fetch::{self, FetchSettings, Wanted};
use crate::engine::freshness::{self, Lifetimes};
use crate::engine::outcome::{FailureKind, Outcome, ProfileResult, SyncReport};
use crate::engine::preview;
use crate::progress::Progress;
use crate::store::apply::{self, Commit, UserFile};
use crate::store::credentials::{CredentialsFile, EntryState};
use crate::store::ledger::{self, Ledger, Record};
use crate::store::safe_write::FileLock;

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
    /// How long its credentials last, when that decided its margin (a fallback)
    /// or a fetch just told.
    lifetime: Option<Duration>,
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
    /// Dry run: would be fetched and written; placeholders stand in for the keys.
    Preview { region: Option<String> },
}

pub struct Syncer<'a> {
    pub env: &'a Environment,
    pub config: &'a ProfileConfig,
    pub options: &'a SyncOptions,
    pub now: DateTime<Utc>,
    /// Counts the profiles fetched (a line on stderr when the command shows one).
    pub progress: &'a Progress,
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

        let mut lifetimes = Lifetimes::of(&file);
        let mut jobs: Vec<Job> = targets
            .iter()
            .map(|target| {
                let (step, lifetime) =
                    self.decide(target, &doc, &mut lifetimes, &mut report.warnings);
                Job {
                    target,
                    step,
                    lifetime,
                }
            })
            .collect();
        self.fetch(&mut jobs, &mut report.warnings)?;
        // Lifetimes count from when the credentials came back, not from the start.
        let fetched_at = Utc::now().max(self.now);
        // Say once which margins fell back, whether decided now or fetched now.
        let mut fell_back: Vec<(String, Duration)> = Vec::new();
        for job in &mut jobs {
            if let Step::Write { creds, .. } = &job.step {
                job.lifetime = Some(freshness::lifetime(fetched_at, creds.expiration));
            }
            if let Some(lifetime) = job.lifetime
                && freshness::margin(self.options.min_ttl, Some(lifetime)).1
                && matches!(job.step, Step::Write { .. } | Step::Done(Outcome::Fresh(_)))
            {
                fell_back.push((job.target.target.clone(), lifetime));
            }
        }
        report.warnings.extend(freshness::fallback_warnings(
            self.options.min_ttl,
            &fell_back,
        ));

        let lifetimes_in_job_order: Vec<Option<Duration>> =
            jobs.iter().map(|job| job.lifetime).collect();
        let results = if !jobs
            .iter()
            .any(|j| matches!(j.step, Step::Write { .. } | Step::Preview { .. }))
        {
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
            if let Some(lock) = &applied.lock {
                if applied
                    .planned
                    .iter()
                    .any(|o| matches!(o, Outcome::Written(_)))
                {
                    report.warnings.extend(file.exposure_warning());
                }
                self.record(&file, lock, &jobs, &applied.planned, &mut report.warnings);
            }
            let mut planned = applied.planned.into_iter();
            finish(jobs, |job| match job.step {
                Step::Write { .. } | Step::Preview { .. } => planned.next(),
                _ => None,
            })
        };
        report.results = results
            .into_iter()
            .zip(lifetimes_in_job_order)
            .map(|(mut result, lifetime)| {
                result.rotate_at = match result.outcome {
                    Outcome::Fresh(t) | Outcome::Written(t) => {
                        let (margin, _) = freshness::margin(self.options.min_ttl, lifetime);
                        chrono::Duration::from_std(margin)
                            .ok()
                            .and_then(|m| t.checked_sub_signed(m))
                    }
                    _ => None,
                };
                result
            })
            .collect();
        Ok(report)
    }

    /// Notes in the ledger, under the file's lock, which entries this run wrote
    /// and from which profile; a ledger that cannot be written is a warning.
    fn record(
        &self,
        file: &UserFile,
        lock: &FileLock,
        jobs: &[Job],
        planned: &[Outcome],
        warnings: &mut Vec<String>,
    ) {
        let mut ledger = Ledger::read(file, warnings);
        let written = jobs.iter().filter_map(|job| match &job.step {
            Step::Write { creds, .. } => Some((job, creds)),
            _ => None,
        });
        for ((job, creds), outcome) in written.zip(planned) {
            if matches!(outcome, Outcome::Written(_)) {
                ledger.set(
                    &job.target.target,
                    Record {
                        profile: job.target.source.clone(),
                        access_key_id: creds.access_key_id.clone(),
                        lifetime: job.lifetime,
                    },
                );
            }
        }
        if let Err(e) = ledger.write(file, lock) {
            warnings.push(format!(
                "cannot record the entries ssosync wrote in {} ({e:#}); `logout --clean` will not find them under other names",
                ledger::shown(file)
            ));
        }
    }

    /// What `target` needs, and the lifetime that decided it when its margin fell
    /// back (see `freshness`).
    fn decide(
        &self,
        target: &Target,
        file: &CredentialsFile,
        lifetimes: &mut Lifetimes,
        warnings: &mut Vec<String>,
    ) -> (Step, Option<Duration>) {
        let step = self.step(target, file);
        let stale = match &step {
            Step::Fetch(_) if !self.options.force => {
                file.state(&target.target, self.now) != EntryState::LongTerm
            }
            _ => false,
        };
        if stale
            && let Some((t, lifetime)) = freshness::fresh_until(
                file,
                &target.target,
                self.now,
                self.options.min_ttl,
                lifetimes,
                warnings,
            )
        {
            return (Step::Done(Outcome::Fresh(t)), lifetime);
        }
        (step, None)
    }

    fn step(&self, target: &Target, file: &CredentialsFile) -> Step {
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
        let region = |w: &Wanted| {
            w.region()
                .map(str::to_string)
                .filter(|_| self.options.write_region)
        };
        if self.options.mode == Mode::DryRun {
            let previewed = preview::preview(self.env, self.now, &distinct, warnings)?;
            for job in jobs {
                let Step::Fetch(w) = &job.step else { continue };
                job.step = match previewed.get(w.name()) {
                    Some(Ok(())) => Step::Preview { region: region(w) },
                    Some(Err(outcome)) => Step::Done(outcome.clone()),
                    None => Step::Done(Outcome::failed(
                        FailureKind::Portal,
                        "internal: the preview skipped this profile",
                    )),
                };
            }
            return Ok(());
        }
        let settings = FetchSettings {
            timeout: self.options.timeout,
            concurrency: self.options.concurrency,
            progress: self.progress,
            no_network: self.options.mode == Mode::NoNetwork,
        };
        let fetched = fetch::fetch(self.env, &settings, self.now, &distinct, warnings)?;
        for job in jobs {
            let Step::Fetch(w) = &job.step else { continue };
            job.step = match fetched.get(w.name()) {
                Some(Ok(creds)) => Step::Write {
                    creds: creds.clone(),
                    region: region(w),
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

    /// Writes every fetched (or, dry, previewed) entry whose target is still ours
    /// to overwrite into `file`; the outcome of each [`Step::Write`] and
    /// [`Step::Preview`] job, in job order.
    fn plan(&self, jobs: &[Job], file: &mut CredentialsFile) -> Vec<Outcome> {
        let mut planned = Vec::new();
        for job in jobs {
            if !matches!(job.step, Step::Write { .. } | Step::Preview { .. }) {
                continue;
            }
            let name = &job.target.target;
            if file.state(name, self.now) == EntryState::LongTerm && !self.options.force {
                planned.push(protected(name));
                continue;
            }
            match &job.step {
                Step::Write { creds, region } => {
                    file.write_entry(name, creds, region.as_deref());
                    planned.push(Outcome::Written(creds.expiration));
                }
                Step::Preview { region } => {
                    file.write_placeholder_entry(name, region.as_deref());
                    planned.push(Outcome::WouldWrite);
                }
                _ => {}
            }
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
                Step::Preview { .. } => (
                    outcome.unwrap_or_else(|| {
                        Outcome::failed(FailureKind::Portal, "internal: no outcome")
                    }),
                    None,
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
                rotate_at: None,
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
