//! Abuse limits: how fast one user may call the API, how many refused tokens one address may
//! send, and how long a request body may take.
//!
//! A request body must arrive within `SIG_REQUEST_TIMEOUT_SECS` (408 `request_timeout`), the
//! same time a client has for the request head.
//!
//! The rate is a GCRA bucket per token subject (`governor`): `burst` requests at once, then
//! `per_second` on average. A refused request is 429 `rate_limited` with `Retry-After` and, like
//! every refused request under `/api/v1`, leaves one audit event naming the user. The bucket is
//! kept per user, not per address: everyone at one municipality may sit behind one proxy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::UseCaseError;

/// The per-user limit of the whole service: with `n` instances on one database, each keeps
/// `1/n` of it (rate and burst), so together they allow what one would. `n` is counted by
/// [`crate::jobs::instances`]; when it changes the buckets start full again.
#[derive(Debug)]
pub struct RateLimits {
    per_second: u32,
    burst: u32,
    share: std::sync::RwLock<Share>,
    clock: DefaultClock,
}

#[derive(Debug)]
struct Share {
    instances: u32,
    limiter: DefaultKeyedRateLimiter<String>,
}

impl RateLimits {
    /// `per_second` and `burst` are at least 1.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let clock = DefaultClock::default();
        let per_second = per_second.max(1);
        let burst = burst.max(1);
        Self {
            share: std::sync::RwLock::new(Share {
                instances: 1,
                limiter: Self::limiter(per_second, burst, 1, &clock),
            }),
            per_second,
            burst,
            clock,
        }
    }

    fn limiter(
        per_second: u32,
        burst: u32,
        instances: u32,
        clock: &DefaultClock,
    ) -> DefaultKeyedRateLimiter<String> {
        let period =
            std::time::Duration::from_secs_f64(f64::from(instances) / f64::from(per_second));
        let burst = NonZeroU32::new(burst.div_ceil(instances)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        governor::RateLimiter::dashmap_with_clock(quota, clock.clone())
    }

    fn share(&self) -> std::sync::RwLockReadGuard<'_, Share> {
        self.share.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one request of `sub`; 429 with the whole seconds to wait when over the limit.
    pub fn check(&self, sub: &str) -> Result<(), UseCaseError> {
        match self.share().limiter.check_key(&sub.to_owned()) {
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

    /// Shares the limit among `instances` (at least 1); `true` when that changed it.
    pub fn set_instances(&self, instances: u32) -> bool {
        let instances = instances.max(1);
        if self.share().instances == instances {
            return false;
        }
        let mut share = self.share.write().unwrap_or_else(|e| e.into_inner());
        *share = Share {
            instances,
            limiter: Self::limiter(self.per_second, self.burst, instances, &self.clock),
        };
        true
    }

    /// The instances the limit is shared among.
    pub fn instances(&self) -> u32 {
        self.share().instances
    }

    /// Forgets users whose bucket is full again, so the table holds only recent callers.
    pub fn forget_idle(&self) {
        let share = self.share();
        share.limiter.retain_recent();
        share.limiter.shrink_to_fit();
    }

    /// Users with a bucket in the table.
    pub fn tracked(&self) -> usize {
        self.share().limiter.len()
    }
}

/// Requests that fail authentication, per client address (`SIG_AUTH_FAILURES_PER_MINUTE`,
/// `SIG_AUTH_FAILURES_BURST`):
/// within the rate each is a 401 with its own `auth.failed` event; past it, a 429 that is
/// counted instead — one `auth.throttled` event per address and minute carries the count, so a
/// flood of bad tokens cannot flood the audit log, and nothing is hidden.
#[derive(Debug)]
pub struct AuthFailures {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// The throttled requests of one address since `since`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub count: u64,
}

/// How long one `auth.throttled` event's count runs.
pub const THROTTLE_WINDOW_SECS: i64 = 60;

impl AuthFailures {
    /// `per_minute` refused tokens per address on average (at least 1), `burst` at once.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let clock = DefaultClock::default();
        let limiter = governor::RateLimiter::dashmap_with_clock(
            Quota::per_minute(per_minute).allow_burst(burst),
            clock.clone(),
        );
        Self {
            limiter,
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one refused token from `address`: `Ok` while within the rate, else the whole
    /// seconds until the next one would be.
    pub fn refuse(&self, address: IpAddr) -> Result<(), u64> {
        self.limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// Counts one throttled request from `address` at `now`; returns the address's previous
    /// window when it had run its minute (its event is due), starting a new one.
    pub fn count(&self, address: IpAddr, now: DateTime<Utc>) -> Option<Window> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(address).or_insert(Window {
            since: now,
            count: 0,
        });
        if now - window.since >= Duration::seconds(THROTTLE_WINDOW_SECS) {
            let ended = *window;
            *window = Window {
                since: now,
                count: 1,
            };
            return Some(ended);
        }
        window.count += 1;
        None
    }

    /// Takes the windows whose minute has run at `now` (every window when `all`), for their
    /// events: the housekeeping each minute, and everything at shutdown.
    pub fn take_due(&self, now: DateTime<Utc>, all: bool) -> Vec<(IpAddr, Window)> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let due: Vec<IpAddr> = windows
            .iter()
            .filter(|(_, w)| all || now - w.since >= Duration::seconds(THROTTLE_WINDOW_SECS))
            .map(|(address, _)| *address)
            .collect();
        due.into_iter()
            .filter_map(|address| windows.remove(&address).map(|w| (address, w)))
            .filter(|(_, w)| w.count > 0)
            .collect()
    }

    /// Gives back a window whose event could not be written, merged with any newer one.
    pub fn put_back(&self, address: IpAddr, window: Window) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let merged = windows.entry(address).or_insert(Window {
            since: window.since,
            count: 0,
        });
        merged.since = merged.since.min(window.since);
        merged.count += window.count;
    }

    /// Forgets addresses whose bucket is full again.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The client's address: the connection's peer, or — when the peer is a trusted proxy
/// (`SIG_TRUSTED_PROXIES`) — the nearest address in `X-Forwarded-For` that is not one. Never
/// a forwarded address from an untrusted peer, which anyone could write.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpAddr],
) -> IpAddr {
    let unknown = IpAddr::from([0, 0, 0, 0]);
    let Some(peer) = peer else {
        return unknown;
    };
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut chain: Vec<IpAddr> = forwarded_for
        .unwrap_or("")
        .split(',')
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    while let Some(hop) = chain.pop() {
        if !trusted.contains(&hop) {
            return hop;
        }
    }
    peer
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

    #[test]
    fn two_instances_each_keep_half() {
        let limits = RateLimits::new(1, 10);
        assert!(limits.set_instances(2));
        assert!(!limits.set_instances(2));
        let allowed = (0..10).filter(|_| limits.check("a").is_ok()).count();
        assert_eq!(allowed, 5);
        assert!(limits.set_instances(1));
        let allowed = (0..20).filter(|_| limits.check("a").is_ok()).count();
        assert_eq!(allowed, 10, "the whole limit again, buckets full");
    }

    #[test]
    fn refused_tokens_are_limited_per_address_and_counted_per_minute() {
        let failures = AuthFailures::new(3, 3);
        let a: IpAddr = "203.0.113.9".parse().expect("ip");
        let b: IpAddr = "198.51.100.1".parse().expect("ip");
        for _ in 0..3 {
            assert!(failures.refuse(a).is_ok());
        }
        assert!(failures.refuse(a).is_err());
        assert!(
            failures.refuse(b).is_ok(),
            "another address has its own bucket"
        );
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        assert_eq!(failures.count(a, t0), None);
        assert_eq!(failures.count(a, t0 + Duration::seconds(59)), None);
        assert!(failures
            .take_due(t0 + Duration::seconds(59), false)
            .is_empty());
        assert_eq!(
            failures.count(a, t0 + Duration::seconds(60)),
            Some(Window {
                since: t0,
                count: 2
            })
        );
        failures.count(b, t0 + Duration::seconds(70));
        let due = failures.take_due(t0 + Duration::seconds(125), false);
        assert_eq!(
            due,
            [(
                a,
                Window {
                    since: t0 + Duration::seconds(60),
                    count: 1
                }
            )]
        );
        assert_eq!(
            failures.take_due(t0 + Duration::seconds(125), true).len(),
            1
        );
        assert!(failures
            .take_due(t0 + Duration::seconds(125), true)
            .is_empty());
    }

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "203.0.113.9".parse().expect("ip");
        let forged = "192.0.2.66, 203.0.113.9";
        assert_eq!(
            client_address(Some(client), Some("192.0.2.66"), &[proxy]),
            client
        );
        assert_eq!(client_address(Some(proxy), Some(forged), &[proxy]), client);
        assert_eq!(
            client_address(Some(proxy), Some("203.0.113.9, 10.0.0.1"), &[proxy]),
            client
        );
        assert_eq!(client_address(Some(proxy), None, &[proxy]), proxy);
        assert_eq!(client_address(Some(proxy), Some("x"), &[]), proxy);
    }
}
