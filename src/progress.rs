//! The progress line on stderr for long runs (a sync fetching many profiles,
//! populate listing many accounts): done / total, the rate and the time left,
//! redrawn in place and cleared at the end.
//!
//! It shows only on a terminal, only when the caller allows it (no `-q`,
//! `--json` or `-v`), only for more than [`FEW`] items, and only once the run
//! has taken [`DELAY`], so a quick run never flickers. Until then it costs a
//! counter: no thread, no drawing.

use std::cell::Cell;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// A run of this many items or fewer shows no line.
pub const FEW: u64 = 10;

/// How long a run goes before its line appears.
pub const DELAY: Duration = Duration::from_millis(500);

/// How often the line is redrawn (the time left moves even while nothing finishes).
const TICK: Duration = Duration::from_millis(200);

/// A run's progress: a line on stderr, or nothing at all.
pub struct Progress {
    /// `None`: this run shows nothing, whatever happens.
    bar: Option<ProgressBar>,
    created: Instant,
    shown: Cell<bool>,
}

impl Progress {
    /// A progress that never shows.
    pub fn off() -> Self {
        Progress {
            bar: None,
            created: Instant::now(),
            shown: Cell::new(false),
        }
    }

    /// A line on stderr counting `noun` (e.g. `accounts`), when `allowed` and
    /// stderr is a terminal; otherwise [`Progress::off`].
    pub fn on_stderr(allowed: bool, noun: &'static str) -> Self {
        if !allowed || !std::io::stderr().is_terminal() {
            return Progress::off();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        let template = format!("{{pos}}/{{len}} {noun} · {{rate}} · {{left}} left");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.with_key("rate", rate).with_key("left", left));
        }
        Progress {
            bar: Some(bar),
            created: Instant::now(),
            shown: Cell::new(false),
        }
    }

    /// `n` more items to do.
    pub fn add_total(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(n);
            self.reveal(bar);
        }
    }

    /// `n` more items done.
    pub fn advance(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
            self.reveal(bar);
        }
    }

    /// Clears the line (it is cleared when dropped, too).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.finish_and_clear();
        }
    }

    /// Shows the line once the run is long enough to deserve one.
    fn reveal(&self, bar: &ProgressBar) {
        if self.shown.get()
            || bar.length().unwrap_or(0) <= FEW
            || self.created.elapsed() < DELAY
            || bar.is_finished()
        {
            return;
        }
        self.shown.set(true);
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(TICK);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `{rate}`: items a second, whole.
fn rate(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = write!(out, "{:.0}/s", state.per_sec());
}

/// `{left}`: the time left at the current rate, `12s` or `3m05s`.
fn left(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let remaining = state.len().unwrap_or(0).saturating_sub(state.pos());
    let per_sec = state.per_sec();
    if remaining == 0 {
        let _ = write!(out, "0s");
        return;
    }
    if per_sec.is_nan() || per_sec <= 0.0 {
        let _ = write!(out, "?");
        return;
    }
    let _ = write!(out, "{}", describe(remaining as f64 / per_sec));
}

fn describe(seconds: f64) -> String {
    let s = seconds.ceil().min(359_999.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_like_the_rest_of_ssosync() {
        assert_eq!(describe(0.2), "1s");
        assert_eq!(describe(59.0), "59s");
        assert_eq!(describe(185.0), "3m05s");
        assert_eq!(describe(7300.0), "2h01m");
    }

    #[test]
    fn off_and_unallowed_progress_never_shows() {
        for progress in [Progress::off(), Progress::on_stderr(false, "items")] {
            progress.add_total(1000);
            progress.advance(10);
            assert!(progress.bar.is_none());
            assert!(!progress.shown.get());
        }
    }
}
