//! How hard to press a throttling portal: the adaptive limit on calls in flight,
//! and how often and how long a throttled profile is asked again. Pure
//! bookkeeping, no I/O, so the rules are unit-tested on their own.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::Limiter;

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
}
