//! Abuse limits: how fast one user may call the API, and how long a request body may take.
//!
//! A request body must arrive within `SIG_REQUEST_TIMEOUT_SECS` (408 `request_timeout`), the
//! same time a client has for the request head.
//!
//! The rate is a GCRA bucket per token subject (`governor`): `burst` requests at once, then
//! `per_second` on average. A refused request is 429 `rate_limited` with `Retry-After` and, like
//! every refused request under `/api/v1`, leaves one audit event naming the user. The bucket is
//! kept per user, not per address: everyone at one municipality may sit behind one proxy.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::UseCaseError;

#[derive(Debug)]
pub struct RateLimits {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl RateLimits {
    /// `per_second` and `burst` are at least 1.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let clock = DefaultClock::default();
        let limiter = governor::RateLimiter::dashmap_with_clock(
            Quota::per_second(per_second).allow_burst(burst),
            clock.clone(),
        );
        Self { limiter, clock }
    }

    /// Counts one request of `sub`; 429 with the whole seconds to wait when over the limit.
    pub fn check(&self, sub: &str) -> Result<(), UseCaseError> {
        match self.limiter.check_key(&sub.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(UseCaseError::RateLimited {
                    retry_after_secs: retry_after_secs.max(1),
                })
            }
        }
    }

    /// Forgets users whose bucket is full again, so the table holds only recent callers.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Users with a bucket in the table.
    pub fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_passes_then_one_user_waits_and_others_do_not() {
        let limits = RateLimits::new(1, 3);
        for _ in 0..3 {
            assert!(limits.check("a").is_ok());
        }
        match limits.check("a") {
            Err(UseCaseError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(
            limits.check("b").is_ok(),
            "another user has a bucket of their own"
        );
        assert_eq!(limits.tracked(), 2);
    }
}
