//! What a sync run ends with, per profile and as a whole, and the one place a
//! run's results become an exit code. Commands print these; the engine makes them.

use chrono::{DateTime, Utc};

use crate::aws::RoleCredentials;
use crate::config::selection::Target;
use crate::exit::Exit;

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
    /// For a chain that fails because its SSO source did: the source's message.
    /// Profiles failing with the same cause (one expired token) are one problem.
    pub cause: Option<String>,
}

impl Failure {
    /// What went wrong, without the chain that passed it on.
    pub fn cause(&self) -> &str {
        self.cause.as_deref().unwrap_or(&self.message)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Fresh(DateTime<Utc>),
    Written(DateTime<Utc>),
    /// Dry run: the entry would be written (its keys and expiration come only
    /// from a real run's fetch).
    WouldWrite,
    /// Fetched and handed back, not written (`--no-write`).
    Fetched(DateTime<Utc>),
    /// Dry run: the SSO token must be refreshed first, which a dry run does not do.
    WouldRefresh,
    /// `--no-network`: the entry needs a network call (a fetch, or a token
    /// refresh first).
    NeedsNetwork,
    Failed(Failure),
}

impl Outcome {
    pub fn failed(kind: FailureKind, message: impl Into<String>) -> Outcome {
        Outcome::Failed(Failure {
            kind,
            message: message.into(),
            cause: None,
        })
    }

    /// A chain's outcome that comes from its SSO root `source`: a failure names it.
    pub fn via_source(self, source: &str) -> Outcome {
        match self {
            Outcome::Failed(f) => Outcome::Failed(Failure {
                kind: f.kind,
                message: format!("source profile {source}: {}", f.message),
                cause: Some(f.cause().to_string()),
            }),
            other => other,
        }
    }
}

/// One selected profile at the end of a run.
#[derive(Clone, Debug)]
pub struct ProfileResult {
    pub target: Target,
    pub outcome: Outcome,
    /// The credentials fetched for it in this run, if any (for `export` and
    /// `process`; present even when they could not be written).
    pub fetched: Option<RoleCredentials>,
    /// For a fresh or written entry: when it stops being fresh (its expiry minus
    /// the margin in effect), the time `watch` rotates it.
    pub rotate_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Default)]
pub struct SyncReport {
    pub results: Vec<ProfileResult>,
    /// For `--dry-run`: the file before and after (secrets in clear; redact to show).
    pub preview: Option<(String, String)>,
    pub warnings: Vec<String>,
    pub now: DateTime<Utc>,
}

/// The preview holds the credentials file with its secrets in clear: `Debug`
/// says only whether there is one.
impl std::fmt::Debug for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncReport")
            .field("results", &self.results)
            .field("preview", &self.preview.as_ref().map(|_| "<redacted>"))
            .field("warnings", &self.warnings)
            .field("now", &self.now)
            .finish()
    }
}

impl SyncReport {
    /// The run's exit code: 3 when a profile needs a login, else 1 when any
    /// profile failed, else 4 when one needs the network (`--no-network`), else 0.
    pub fn exit(&self) -> Exit {
        let failed = |kind: Option<FailureKind>| {
            self.results.iter().any(|r| match &r.outcome {
                Outcome::Failed(f) => kind.is_none_or(|k| k == f.kind),
                _ => false,
            })
        };
        if failed(Some(FailureKind::Login)) {
            Exit::LoginRequired
        } else if failed(None) {
            Exit::Failure
        } else if self
            .results
            .iter()
            .any(|r| r.outcome == Outcome::NeedsNetwork)
        {
            Exit::NeedsNetwork
        } else {
            Exit::Ok
        }
    }
}
