//! A sync run: decide what each selected profile needs, fetch what is stale, then
//! apply every change to the credentials file in one locked, atomic write.
//!
//! `--dry-run` takes the same path and stops before the lock, so what it shows is
//! what a real run would write. The no-op path (every entry fresh) reads two files
//! and returns: no token read, no async runtime, no network.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};

use crate::aws::portal::RoleCredentials;
use crate::config::environment::{Environment, read_optional};
use crate::config::profiles::{ProfileConfig, ProfileKind};
use crate::config::selection::Target;
use crate::engine::fetch::{self, FetchSettings, Wanted};
use crate::store::credentials::{CredentialsFile, EntryState};
use crate::store::safe_write;

/// What a run does with the credentials it fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write them into the credentials file.
    Write,
    /// Show the change as a diff; write nothing, refresh no token.
    DryRun,
    /// Hand them back only (`export --no-write`).
    FetchOnly,
}

#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub force: bool,
    pub min_ttl: Duration,
    pub write_region: bool,
    pub mode: Mode,
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
    /// Fetched and handed back, not written (`--no-write`).
    Fetched(DateTime<Utc>),
    /// Dry run: the SSO token must be refreshed first, which a dry run does not do.
    WouldRefresh,
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
    /// Fetched credentials by target name (for `export` and `process`).
    pub fetched: std::collections::HashMap<String, RoleCredentials>,
}

/// What the first pass decided for one target.
enum Decision {
    Done(Outcome),
    Fetch(Box<Wanted>),
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
        crate::timefmt::add_saturating(self.now, self.options.min_ttl)
    }

    pub fn run(&self, targets: &[Target]) -> Result<SyncReport> {
        let mut report = SyncReport {
            now: self.now,
            ..Default::default()
        };
        let creds_path = safe_write::resolve_target(&self.env.credentials_path()?)?;
        let shown = self.env.display_path(&creds_path);
        let file = read_credentials(&creds_path, &shown)?;
        if file.has_bom() {
            report.warnings.push(format!(
                "{shown} starts with a UTF-8 byte order mark, which the AWS Rust SDK rejects; ssosync keeps it as it is"
            ));
        }

        let decisions: Vec<Decision> = targets.iter().map(|t| self.decide(t, &file)).collect();
        let wanted: Vec<(usize, Wanted)> = decisions
            .iter()
            .enumerate()
            .filter_map(|(i, d)| match d {
                Decision::Fetch(w) => Some((i, (**w).clone())),
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
            let mut distinct: Vec<Wanted> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (_, w) in &wanted {
                if seen.insert(w.name()) {
                    distinct.push(w.clone());
                }
            }
            let settings = FetchSettings {
                timeout: self.options.timeout,
                concurrency: self.options.concurrency,
                dry_run: self.options.mode == Mode::DryRun,
            };
            let fetched = fetch::fetch(
                self.env,
                &settings,
                self.now,
                &distinct,
                &mut report.warnings,
            )?;
            let mut writes: Vec<(usize, RoleCredentials, Option<String>)> = Vec::new();
            for (i, w) in &wanted {
                match &fetched[w.name()] {
                    Ok(creds) => {
                        let region = w
                            .region()
                            .map(str::to_string)
                            .filter(|_| self.options.write_region);
                        report
                            .fetched
                            .insert(targets[*i].target.clone(), creds.clone());
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
        let wanted = match self.config.get(&target.source) {
            Some(ProfileKind::Sso(p)) => Wanted::Sso(p.clone()),
            Some(ProfileKind::Chained(c)) => Wanted::Chained(c.clone()),
            Some(ProfileKind::Misconfigured(reason)) => {
                return Decision::Done(failure(FailureKind::Config, reason.clone()));
            }
            Some(ProfileKind::TokenOnly) => {
                return Decision::Done(failure(
                    FailureKind::Config,
                    "has an sso_session but no sso_account_id and sso_role_name, so it has no role credentials to sync",
                ));
            }
            Some(ProfileKind::Other(Some(reason))) => {
                return Decision::Done(failure(FailureKind::Config, reason.clone()));
            }
            Some(ProfileKind::Other(None)) | None => {
                return Decision::Done(failure(
                    FailureKind::Config,
                    "has no SSO settings (sso_session or sso_start_url) and no role chain from one; only those can be synced",
                ));
            }
        };
        match file.state(&target.target, self.fresh_after()) {
            EntryState::LongTerm if !self.options.force => {
                Decision::Done(protected(&target.target))
            }
            EntryState::Fresh(t) if !self.options.force => Decision::Done(Outcome::Fresh(t)),
            _ => Decision::Fetch(Box::new(wanted)),
        }
    }

    /// Applies the fetched credentials: on a copy for `--dry-run`, else under the lock.
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        targets: &[Target],
        writes: &[(usize, RoleCredentials, Option<String>)],
        path: &Path,
        shown: &str,
        file: CredentialsFile,
        outcomes: &mut [Option<Outcome>],
        report: &mut SyncReport,
    ) -> Result<()> {
        if self.options.mode == Mode::FetchOnly {
            for (i, creds, _) in writes {
                outcomes[*i] = Some(Outcome::Fetched(creds.expiration));
            }
            return Ok(());
        }
        if self.options.mode == Mode::DryRun {
            let (planned, edited) = self.plan(targets, writes, file);
            report.preview = Some((edited.text().to_string(), edited.render()));
            for (i, outcome) in planned {
                outcomes[i] = Some(match outcome {
                    Outcome::Written(t) => Outcome::WouldWrite(t),
                    other => other,
                });
            }
            return Ok(());
        }
        refuse_read_only(path, shown)?;
        let _lock = safe_write::lock(path, Duration::from_secs(30))?;
        safe_write::remove_stale_temp_files(path);
        // A writer that does not take our lock may change the file at any moment:
        // re-read under the lock, and re-plan if it changed before our rename.
        // Unchanged since the first read (the usual case), it is not parsed again.
        let mut earlier = Some(file);
        for _ in 0..5 {
            let current = match earlier.take() {
                Some(file) if unchanged(path, shown, file.text())? => file,
                _ => read_credentials(path, shown)?,
            };
            let (planned, edited) = self.plan(targets, writes, current);
            if !edited.is_unchanged() {
                // Written straight from the document: no second copy of a big file.
                let staged = safe_write::stage_by(path, &mut |out| edited.write_to(out))?;
                // The text as read: the plan's edits leave it as it was.
                if !unchanged(path, shown, edited.text())? {
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

/// A file the user made read-only says "do not change me": respect it.
fn refuse_read_only(path: &Path, shown: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o222 == 0 => Err(anyhow!(
            "{shown} is read-only (mode {:o}); allow writing with `chmod u+w {shown}` to let ssosync update it",
            meta.permissions().mode() & 0o777
        )),
        _ => Ok(()),
    }
}

/// Whether the file at `path` still holds exactly `text` (a missing file holds "").
fn unchanged(path: &Path, shown: &str, text: &str) -> Result<bool> {
    match still_holds(path, text) {
        Some(same) => Ok(same),
        None => Ok(read_optional(path, shown)?.unwrap_or_default() == text),
    }
}

/// [`unchanged`] without reading a big file into memory again: the size first,
/// then the bytes a block at a time. `None` when that cannot be told this way (not
/// a regular file, an I/O error): the caller reads the file as usual, which
/// reports the problem.
fn still_holds(path: &Path, text: &str) -> Option<bool> {
    use std::io::Read;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(text.is_empty()),
        Err(_) => return None,
    };
    if !meta.is_file() {
        return None;
    }
    if meta.len() != text.len() as u64 {
        return Some(false);
    }
    let mut file = std::fs::File::open(path).ok()?;
    let mut block = vec![0; 64 * 1024];
    let mut rest = text.as_bytes();
    loop {
        let n = match file.read(&mut block) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        if n == 0 {
            return Some(rest.is_empty());
        }
        if n > rest.len() || block[..n] != rest[..n] {
            return Some(false);
        }
        rest = &rest[n..];
    }
}

/// The credentials file as a document (which keeps its text); a missing file is an
/// empty one.
fn read_credentials(path: &Path, shown: &str) -> Result<CredentialsFile> {
    match read_optional(path, shown)? {
        Some(text) => CredentialsFile::parse_owned(text).map_err(|e| {
            anyhow!("{shown} {e}; fix that line (ssosync changes nothing until the file parses)")
        }),
        None => Ok(CredentialsFile::empty()),
    }
}
