//! How hard to press a throttling portal: the adaptive limit on calls in flight,
//! how often and how long a throttled profile is asked again, and (for the long
//! listings of populate) the pace calls start at while the portal throttles.
//! Pure bookkeeping, no I/O, so the rules are unit-tested on their own.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How many times a profile is asked for when the portal keeps throttling it: each
/// round is the SDK's own attempts (with its backoff), started after a pause and
/// with fewer calls in flight. Rounds also stop at the run's throttling budget.
pub const THROTTLE_ROUNDS: u32 = 5;

/// The pause before a throttled profile's next round: this, doubled each round
/// (0.5 s, 1 s, 2 s, 4 s).
const THROTTLE_PAUSE: Duration = Duration::from_millis(500);

/// The pause before round `round` (2 or later).
pub fn throttle_pause(round: u32) -> Duration {
    THROTTLE_PAUSE * 2u32.pow(round.saturating_sub(2))
}

/// How many GetRoleCredentials calls may be in flight: up to `max`, halved when the
/// portal throttles, grown back by one after each `limit` successes in a row. As
/// in TCP's congestion control, one wave of throttled answers is one cut: calls
/// started before the last cut do not cut again when they come back throttled.
#[derive(Debug)]
pub struct Limiter {
    max: usize,
    /// Calls allowed in flight now.
    pub limit: usize,
    /// The lowest the limit went in this run.
    pub lowest: usize,
    successes: usize,
    /// Sequence number of the next call to start.
    next: u64,
    /// Calls numbered below this were started before the last cut.
    cut_at: u64,
}

impl Limiter {
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Limiter {
            max,
            limit: max,
            lowest: max,
            successes: 0,
            next: 0,
            cut_at: 0,
        }
    }

    /// A call starts: its sequence number.
    pub fn start(&mut self) -> u64 {
        self.next += 1;
        self.next - 1
    }

    /// A call came back throttled, with `in_flight` calls out (itself included):
    /// half of those (not of a limit they did not reach) may be out from now on.
    pub fn throttled(&mut self, call: u64, in_flight: usize) {
        self.successes = 0;
        if call < self.cut_at {
            return;
        }
        self.limit = (self.limit.min(in_flight) / 2).max(1);
        self.lowest = self.lowest.min(self.limit);
        self.cut_at = self.next;
    }

    pub fn succeeded(&mut self) {
        self.successes += 1;
        if self.successes >= self.limit && self.limit < self.max {
            self.limit += 1;
            self.successes = 0;
        }
    }
}

/// Over how long the admitted rate is measured.
const PACE_WINDOW: Duration = Duration::from_secs(1);

/// How far above the measured admitted rate calls are started: a little more
/// than the portal admits keeps it busy (a throttled call costs it nothing and
/// is asked again), so the listing runs at the rate the portal allows.
const PACE_HEADROOM: f64 = 1.1;

/// The slowest pace: one call a second, however hard the portal throttles.
const PACE_MIN: f64 = 1.0;

/// Above this many calls a second, pacing is dropped (only the cap on calls in
/// flight is left).
const PACE_MAX: f64 = 10_000.0;

/// The pace at which calls start, for runs of thousands of calls against a
/// portal that throttles by rate (ListAccountRoles at about 20 a second). No
/// pace until the first 429; from then on, calls start at [`PACE_HEADROOM`]
/// times the rate the portal admitted over the last [`PACE_WINDOW`], which a
/// throttling portal sets to its own rate; after a window without a 429 the
/// pace grows by about a quarter a second, to find a rate that rose again.
#[derive(Debug)]
pub struct Pacer {
    /// Calls a second; `None`: not paced.
    rate: Option<f64>,
    /// When the next call may start.
    next: Instant,
    /// When the answers the portal admitted (anything but a 429) came back,
    /// within the last window.
    admitted: VecDeque<Instant>,
    last_throttle: Option<Instant>,
    /// The slowest pace of the run, for the report.
    pub lowest: Option<f64>,
    /// How many calls came back throttled.
    pub throttled: u64,
}

impl Pacer {
    pub fn new(now: Instant) -> Self {
        Pacer {
            rate: None,
            next: now,
            admitted: VecDeque::new(),
            last_throttle: None,
            lowest: None,
            throttled: 0,
        }
    }

    /// When the next call may start (now, or in the past, when it may start at once).
    pub fn ready_at(&self) -> Instant {
        self.next
    }

    /// A call starts at `now`.
    pub fn start(&mut self, now: Instant) {
        if let Some(rate) = self.rate {
            self.next = self.next.max(now) + Duration::from_secs_f64(1.0 / rate);
        }
    }

    /// The portal answered a call (anything but a 429) at `now`.
    pub fn admitted(&mut self, now: Instant) {
        self.admitted.push_back(now);
        self.forget_before(now);
        let quiet = self
            .last_throttle
            .is_some_and(|t| now.saturating_duration_since(t) > PACE_WINDOW);
        if let (Some(rate), true) = (self.rate, quiet) {
            // A quarter of the rate more per second of calls at that rate.
            let grown = rate + 0.25;
            self.rate = (grown < PACE_MAX).then_some(grown);
        }
    }

    /// A call came back throttled (429) at `now`.
    pub fn throttled(&mut self, now: Instant) {
        self.throttled += 1;
        self.forget_before(now);
        let measured = self.admitted.len() as f64 / PACE_WINDOW.as_secs_f64();
        let rate = (measured * PACE_HEADROOM).clamp(PACE_MIN, PACE_MAX);
        self.rate = Some(rate);
        self.lowest = Some(self.lowest.map_or(rate, |l| l.min(rate)));
        self.last_throttle = Some(now);
        // The slot after this one comes at the new pace.
        let step = Duration::from_secs_f64(1.0 / rate);
        self.next = self.next.min(now + step);
    }

    /// The pace now, in calls a second (`None`: not paced).
    #[cfg(test)]
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    fn forget_before(&mut self, now: Instant) {
        while self
            .admitted
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) > PACE_WINDOW)
        {
            self.admitted.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Limiter, Pacer};

    #[test]
    fn the_limiter_halves_once_per_wave_and_grows_back_one_at_a_time() {
        let mut l = Limiter::new(64);
        assert_eq!(l.limit, 64);
        // A wave of 64 calls all throttled: one cut, not six.
        let wave: Vec<u64> = (0..64).map(|_| l.start()).collect();
        for &call in &wave {
            l.throttled(call, 64);
        }
        assert_eq!((l.limit, l.lowest), (32, 32));
        // A call started after the cut, throttled: the next cut.
        let call = l.start();
        l.throttled(call, 32);
        assert_eq!((l.limit, l.lowest), (16, 16));
        // Half of what was in flight, when that is below the limit.
        let mut few = Limiter::new(64);
        let call = few.start();
        few.throttled(call, 15);
        assert_eq!(few.limit, 7);
        // One more after each `limit` successes in a row, never above the maximum.
        for _ in 0..15 {
            l.succeeded();
        }
        assert_eq!(l.limit, 16);
        l.succeeded();
        assert_eq!(l.limit, 17);
        for _ in 0..10_000 {
            l.succeeded();
        }
        assert_eq!((l.limit, l.lowest), (64, 16));
        // Never below one call at a time.
        for _ in 0..10 {
            let call = l.start();
            l.throttled(call, 64);
        }
        assert_eq!((l.limit, l.lowest), (1, 1));
        assert_eq!(Limiter::new(0).limit, 1);
    }

    /// A portal that admits `rate` calls a second (a token bucket holding one
    /// second's worth, full at the start) against a client that starts calls as
    /// the pacer allows and asks again for every throttled one: how long `calls`
    /// calls take, and how many were throttled.
    fn simulate(rate: f64, calls: u64, latency: Duration) -> (Duration, u64) {
        let start = Instant::now();
        let mut pacer = Pacer::new(start);
        let mut bucket = rate;
        let mut last = start;
        let mut now = start;
        let mut done = 0;
        // Calls in flight: when each comes back.
        let mut in_flight: Vec<(Instant, bool)> = Vec::new();
        let cap = 64;
        while done < calls {
            // Start what may start.
            while in_flight.len() < cap
                && pacer.ready_at() <= now
                && done + (in_flight.len() as u64) < calls
            {
                pacer.start(now);
                bucket = (bucket + now.duration_since(last).as_secs_f64() * rate).min(rate);
                last = now;
                let admitted = bucket >= 1.0;
                if admitted {
                    bucket -= 1.0;
                }
                in_flight.push((now + latency, admitted));
            }
            // Advance to the next event.
            let next_answer = in_flight.iter().map(|(t, _)| *t).min();
            let next_start = (in_flight.len() < cap).then(|| pacer.ready_at().max(now));
            now = match (next_answer, next_start) {
                (Some(a), Some(s)) => a.min(s).max(now + Duration::from_micros(100)),
                (Some(a), None) => a,
                (None, Some(s)) => s.max(now + Duration::from_micros(100)),
                (None, None) => break,
            };
            let (back, still): (Vec<_>, Vec<_>) =
                in_flight.into_iter().partition(|(t, _)| *t <= now);
            in_flight = still;
            for (_, admitted) in back {
                if admitted {
                    pacer.admitted(now);
                    done += 1;
                } else {
                    pacer.throttled(now);
                }
            }
        }
        (now.duration_since(start), pacer.throttled)
    }

    #[test]
    fn the_pacer_runs_at_the_rate_the_portal_admits() {
        for (rate, calls) in [(200.0, 2020), (20.0, 303), (5.0, 100)] {
            for latency in [Duration::from_millis(1), Duration::from_millis(50)] {
                let (took, throttled) = simulate(rate, calls, latency);
                // The floor: the bucket's second's worth at once, the rest at the rate.
                let floor = (calls as f64 - rate) / rate;
                let took = took.as_secs_f64();
                assert!(
                    took < floor * 1.10 + 0.2,
                    "{calls} calls at {rate}/s, {latency:?}: {took:.2} s against a floor of {floor:.2} s"
                );
                // The first wave (up to the cap of 64 at once), then about the
                // headroom's share.
                assert!(
                    (throttled as f64) < 64.0 + calls as f64 * 0.2,
                    "{calls} calls at {rate}/s: {throttled} throttled"
                );
            }
        }
    }

    #[test]
    fn the_pacer_slows_to_what_is_admitted_and_grows_back() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        assert_eq!(pacer.rate(), None);
        pacer.start(t0);
        assert_eq!(pacer.ready_at(), t0, "no pace before a 429");
        // 40 admitted within the last second, then a 429: 44 a second.
        for i in 0..40 {
            pacer.admitted(t0 + Duration::from_millis(i * 10));
        }
        let t1 = t0 + Duration::from_millis(500);
        pacer.throttled(t1);
        let rate = pacer.rate().unwrap();
        assert!((rate - 44.0).abs() < 0.01, "{rate}");
        pacer.start(t1);
        let gap = pacer.ready_at().duration_since(t1).as_secs_f64();
        assert!((gap - 1.0 / 44.0).abs() < 1e-3, "{gap}");
        // Nothing admitted for a while: one call a second, no slower.
        pacer.throttled(t1 + Duration::from_secs(5));
        assert_eq!(pacer.rate(), Some(1.0));
        assert_eq!(pacer.lowest, Some(1.0));
        // A window without 429s: the pace grows with every admitted answer.
        let t2 = t1 + Duration::from_secs(7);
        for i in 0..100 {
            pacer.admitted(t2 + Duration::from_millis(i));
        }
        assert!(pacer.rate().unwrap() > 20.0, "{:?}", pacer.rate());
        assert_eq!(pacer.throttled, 2);
    }
}
