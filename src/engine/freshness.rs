//! When an entry is fresh enough to leave alone: it expires later than now plus
//! the margin, `--min-ttl`. A margin that is not shorter than the lifetime of the
//! credentials the portal grants (known from the ledger, or after a fetch) would
//! make every entry stale the moment it is written: each run would fetch again,
//! and `watch` would rotate every second. Then the margin in effect is a quarter
//! of the lifetime instead (15 minutes of a 1-hour lifetime, the default
//! `--min-ttl`), and the run says so once.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::apply::UserFile;
use crate::store::credentials::CredentialsFile;
use crate::store::ledger::Ledger;
use crate::timefmt::describe_duration;

/// The fallback margin is the lifetime divided by this.
const FALLBACK_FRACTION: u32 = 4;

/// The margin in effect for credentials that last `lifetime` (when known), and
/// whether it fell back from `min_ttl`. `Duration::MAX` is no margin but "every
/// entry is stale" (`export` and `process` decide freshness before they sync).
pub fn margin(min_ttl: Duration, lifetime: Option<Duration>) -> (Duration, bool) {
    match lifetime {
        Some(lifetime) if min_ttl != Duration::MAX && min_ttl >= lifetime => {
            (lifetime / FALLBACK_FRACTION, true)
        }
        _ => (min_ttl, false),
    }
}

/// How long credentials issued at `now` and expiring at `expiration` last, to
/// the nearest second (the file keeps whole seconds).
pub fn lifetime(now: DateTime<Utc>, expiration: DateTime<Utc>) -> Duration {
    let millis = (expiration - now).num_milliseconds().max(0);
    Duration::from_secs(u64::try_from((millis + 500) / 1000).unwrap_or_default())
}

/// The ledger's lifetimes, read only when a decision needs one (the usual
/// no-op run never does).
pub struct Lifetimes<'a> {
    file: &'a UserFile,
    ledger: Option<Ledger>,
}

impl<'a> Lifetimes<'a> {
    pub fn of(file: &'a UserFile) -> Self {
        Lifetimes { file, ledger: None }
    }

    /// The lifetime recorded for `target`, when the ledger's record still
    /// describes the entry in `doc`.
    pub fn get(
        &mut self,
        target: &str,
        doc: &CredentialsFile,
        warnings: &mut Vec<String>,
    ) -> Option<Duration> {
        let file = self.file;
        self.ledger
            .get_or_insert_with(|| Ledger::read(file, warnings))
            .record(target, doc)?
            .lifetime
    }
}

/// The entry `target` of `doc` when it is fresh: its expiry and the lifetime
/// that decided it (when the margin fell back). An entry stale by `min_ttl` is
/// fresh by the fallback margin when its recorded lifetime is not longer.
pub fn fresh_until(
    doc: &CredentialsFile,
    target: &str,
    now: DateTime<Utc>,
    min_ttl: Duration,
    lifetimes: &mut Lifetimes,
    warnings: &mut Vec<String>,
) -> Option<(DateTime<Utc>, Option<Duration>)> {
    let expiration = doc.expiration(target).filter(|&t| t > now)?;
    if expiration > crate::timefmt::add_saturating(now, min_ttl) {
        return Some((expiration, None));
    }
    let lifetime = lifetimes.get(target, doc, warnings)?;
    match margin(min_ttl, Some(lifetime)) {
        (margin, true) if expiration > crate::timefmt::add_saturating(now, margin) => {
            Some((expiration, Some(lifetime)))
        }
        _ => None,
    }
}

/// One warning per lifetime (to the minute) for the targets whose margin fell
/// back, each given with the lifetime that decided it.
pub fn fallback_warnings(min_ttl: Duration, fell_back: &[(String, Duration)]) -> Vec<String> {
    let mut by_lifetime: BTreeMap<Duration, Vec<&str>> = BTreeMap::new();
    for (target, lifetime) in fell_back {
        by_lifetime
            .entry(rounded(*lifetime))
            .or_default()
            .push(target);
    }
    by_lifetime
        .iter()
        .map(|(&lifetime, targets)| {
            let (margin, _) = margin(min_ttl, Some(lifetime));
            let lifetime = shown_lifetime(lifetime);
            format!(
                "--min-ttl {} is not shorter than the lifetime of the credentials of {} ({lifetime}), so they would be stale as soon as written; ssosync rotates them {} before they expire instead (a quarter of their lifetime); set a --min-ttl below {lifetime} to choose yourself",
                shown(min_ttl),
                targets.join(", "),
                shown(margin),
            )
        })
        .collect()
}

/// A lifetime to the nearest minute from a minute up: one measured as 59m58s, a
/// moment after it was issued, is the portal's hour.
fn rounded(d: Duration) -> Duration {
    match d.as_secs() {
        secs if secs < 60 => d,
        secs => Duration::from_secs((secs + 30) / 60 * 60),
    }
}

fn shown_lifetime(d: Duration) -> String {
    describe_duration(rounded(d))
}

/// A margin for the warning, to the second (`3m45s`) below an hour.
fn shown(d: Duration) -> String {
    let secs = d.as_secs();
    if !(60..3600).contains(&secs) || secs.is_multiple_of(60) {
        describe_duration(d)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_only_when_the_margin_is_not_shorter_than_the_lifetime() {
        let hour = Duration::from_secs(3600);
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(margin(min(15), Some(hour)), (min(15), false));
        assert_eq!(margin(min(59), Some(hour)), (min(59), false));
        assert_eq!(margin(min(60), Some(hour)), (min(15), true));
        assert_eq!(margin(min(120), Some(hour)), (min(15), true));
        assert_eq!(
            margin(min(15), Some(min(15))),
            (Duration::from_secs(225), true)
        );
        assert_eq!(
            margin(min(120), None),
            (min(120), false),
            "unknown lifetime"
        );
        assert_eq!(margin(Duration::MAX, Some(hour)), (Duration::MAX, false));
        let now = Utc::now();
        assert_eq!(
            lifetime(now, now + chrono::Duration::milliseconds(3_599_600)),
            hour
        );
        assert_eq!(
            lifetime(now, now - chrono::Duration::seconds(5)),
            Duration::ZERO
        );
        let lifetime_shown = |secs| shown_lifetime(Duration::from_secs(secs));
        assert_eq!(
            [3595, 3600, 896, 45, 7200].map(lifetime_shown),
            ["1h00m", "1h00m", "15m", "45s", "2h00m"]
        );
        let margin_shown = |secs| shown(Duration::from_secs(secs));
        assert_eq!(
            [225, 900, 45, 5400].map(margin_shown),
            ["3m45s", "15m", "45s", "1h30m"]
        );
    }
}
