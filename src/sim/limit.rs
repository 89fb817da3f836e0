//! The per-account rate limit of the PRA API: 20 requests per second and 15,000 per hour
//! (`reference/pra-config-api.md` §2.5).
//!
//! Each window is a sliding log of admission times rather than a token bucket: "at most 20
//! requests in any one second" is then an exact property, so a client (and a test) can rely on
//! the 21st request within one second being refused, whatever the scheduling between requests.
//! The appliance's own algorithm is not documented.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Requests allowed per second.
pub const PER_SECOND: usize = 20;
/// Requests allowed per hour; also the value of `X-RateLimit-Limit`.
pub const PER_HOUR: usize = 15_000;

/// The two windows of one API account.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    second: Window,
    hour: Window,
}

#[derive(Debug, Default)]
struct Window {
    admitted: VecDeque<Instant>,
}

impl Window {
    fn prune(&mut self, now: Instant, span: Duration) {
        while let Some(first) = self.admitted.front() {
            if now.duration_since(*first) >= span {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
    }

    /// How long until a request would fit, when the window is full.
    fn wait(&self, now: Instant, span: Duration, limit: usize) -> Option<Duration> {
        if self.admitted.len() < limit {
            return None;
        }
        let oldest = self.admitted[self.admitted.len() - limit];
        Some(span.saturating_sub(now.duration_since(oldest)))
    }
}

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

impl Limiter {
    /// Admits one request at `now`, or says how long to wait (for `Retry-After`).
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        self.second.prune(now, SECOND);
        self.hour.prune(now, HOUR);
        let wait = [
            self.second.wait(now, SECOND, PER_SECOND),
            self.hour.wait(now, HOUR, PER_HOUR),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        self.second.admitted.push_back(now);
        self.hour.admitted.push_back(now);
        Ok(())
    }

    /// Requests left in the hourly window (`X-RateLimit-Remaining`).
    pub(crate) fn remaining(&mut self, now: Instant) -> usize {
        self.hour.prune(now, HOUR);
        PER_HOUR.saturating_sub(self.hour.admitted.len())
    }
}

/// `Retry-After` in whole seconds, never 0 (a client must wait at least a little).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_21st_request_within_a_second_waits_for_the_first_to_age_out() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(l.admit(t0 + Duration::from_millis(i * 10)).is_ok());
        }
        let wait = l.admit(t0 + Duration::from_millis(500)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        assert!(l.admit(t0 + Duration::from_millis(1000)).is_ok());
        assert_eq!(l.remaining(t0 + Duration::from_secs(1)), PER_HOUR - 21);
    }

    #[test]
    fn the_hourly_budget_runs_out_and_comes_back() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for i in 0..PER_HOUR as u64 {
            // 10 per second: never the per-second limit.
            assert!(l.admit(t0 + Duration::from_millis(i * 100)).is_ok());
        }
        let late = t0 + Duration::from_millis(PER_HOUR as u64 * 100);
        assert_eq!(l.remaining(late), 0);
        let wait = l.admit(late).unwrap_err();
        assert_eq!(wait, HOUR - Duration::from_millis(PER_HOUR as u64 * 100));
        assert!(l.admit(t0 + HOUR).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
