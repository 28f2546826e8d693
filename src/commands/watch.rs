//! `ssosync watch`: stay running and rotate each entry before it expires.
//!
//! It wakes at the earliest (expiry − the margin in effect: `--min-ttl`, or a
//! quarter of the lifetime when `--min-ttl` is not shorter than it) and checks
//! the wall clock every second, so a machine that slept past that time re-checks
//! as soon as it wakes. Failures back off (30 s doubling to 10 min) and are
//! reported once, not on every retry. SIGINT/SIGTERM end it between syncs, so a
//! write is never cut short. What it says goes through `report::WatchLog`.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::aws::clients;
use crate::cli::WatchArgs;
use crate::commands::report::WatchLog;
use crate::config::environment::Environment;
use crate::config::{self, selection};
use crate::engine::{Outcome, SyncOptions, Syncer};
use crate::exit::{Exit, Fatal};
use crate::logging;
use crate::options::Style;
use crate::progress::Progress;
use crate::timefmt::format_utc;

const MIN_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(600);

pub fn run(args: &WatchArgs, env: &Environment) -> Result<Exit, Fatal> {
    logging::init(args.common.verbose, env.no_color());
    let stop = stop_signal()?;
    let options = SyncOptions::from(args);
    let say = WatchLog::new(Style::from(&args.common), env);
    let mut backoff = MIN_BACKOFF;
    // The last problem reported per profile, so each is said once.
    let mut reported: HashMap<String, String> = HashMap::new();
    say.started(args.common.min_ttl);
    loop {
        let now = Utc::now();
        // Re-read the config every round: profiles may have been added.
        let next = match config::load(env, &args.profiles)
            .map_err(Fatal::from)
            .and_then(|config| {
                let targets = selection::resolve(&args.profiles, &config, env)?;
                let syncer = Syncer {
                    env,
                    config: &config,
                    options: &options,
                    now,
                    progress: &Progress::off(),
                };
                Ok(syncer.run(&targets)?)
            }) {
            Ok(report) => {
                let mut next_wake: Option<DateTime<Utc>> = None;
                let mut failures = Vec::new();
                for w in &report.warnings {
                    if reported.insert(format!("warning:{w}"), w.clone()).is_none() {
                        say.warning(w);
                    }
                }
                for r in &report.results {
                    let name = &r.target.target;
                    match &r.outcome {
                        Outcome::Written(t) | Outcome::Fresh(t) => {
                            if matches!(r.outcome, Outcome::Written(_)) {
                                say.rotated(r, *t, now);
                            }
                            if reported.remove(name).is_some() {
                                say.recovered(r);
                            }
                            // Its expiry minus the margin in effect: never
                            // sooner than the credentials' lifetime allows.
                            let wake = r.rotate_at.unwrap_or(*t);
                            next_wake = Some(next_wake.map_or(wake, |n| n.min(wake)));
                        }
                        Outcome::Failed(f) if reported.get(name) != Some(&f.message) => {
                            reported.insert(name.clone(), f.message.clone());
                            failures.push(r.clone());
                        }
                        _ => {}
                    }
                }
                say.failed(&failures);
                let failed = report
                    .results
                    .iter()
                    .any(|r| matches!(r.outcome, Outcome::Failed(_)));
                if failed {
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    let retry = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    Some(next_wake.map_or(retry, |n| n.min(retry)))
                } else {
                    backoff = MIN_BACKOFF;
                    next_wake
                }
            }
            Err(usage @ (Fatal::Usage(_) | Fatal::NotSignedIn(_))) => return Err(usage),
            Err(Fatal::Other(e)) => {
                let message = format!("{e:#}");
                if reported.get("") != Some(&message) {
                    say.problem(&message);
                    reported.insert(String::new(), message);
                }
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                Some(now + chrono::Duration::from_std(wait).unwrap_or_default())
            }
        };
        // Never spin: at least a second between rounds, at most an hour.
        let wake = next
            .unwrap_or(now + chrono::Duration::hours(1))
            .max(Utc::now() + chrono::Duration::seconds(1));
        tracing::debug!(wake = %format_utc(wake), "sleeping");
        loop {
            match stop.recv_timeout(Duration::from_secs(1)) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    say.stopping();
                    return Ok(Exit::Ok);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if Utc::now() >= wake {
                break;
            }
        }
    }
}

/// A channel that receives once the user asks `watch` to stop: SIGINT or SIGTERM
/// on Unix, Ctrl-C or Ctrl-Break on Windows.
fn stop_signal() -> Result<mpsc::Receiver<()>, Fatal> {
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match clients::runtime() {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready_tx.send(Err(format!("{e:#}")));
                return;
            }
        };
        runtime.block_on(async move {
            match stop_requested() {
                Ok(stop) => {
                    let _ = ready_tx.send(Ok(()));
                    stop.await;
                    let _ = tx.send(());
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
        });
    });
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(rx),
        Ok(Err(e)) => Err(Fatal::Other(anyhow::anyhow!(
            "cannot listen for signals: {e}"
        ))),
        Err(_) => Err(Fatal::Other(anyhow::anyhow!("cannot listen for signals"))),
    }
}

/// Listens for SIGINT and SIGTERM (inside the runtime); the future ends at the first.
#[cfg(unix)]
fn stop_requested() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(std::future::poll_fn(move |cx| {
        if int.poll_recv(cx).is_ready() || term.poll_recv(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }))
}

/// Listens for Ctrl-C and Ctrl-Break (inside the runtime); the future ends at the first.
#[cfg(windows)]
fn stop_requested() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::windows::{ctrl_break, ctrl_c};
    let mut c = ctrl_c()?;
    let mut brk = ctrl_break()?;
    Ok(std::future::poll_fn(move |cx| {
        if c.poll_recv(cx).is_ready() || brk.poll_recv(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }))
}
