//! The `auth.throttled` events: one per client address and minute, with the count of requests
//! whose token was refused past `SIG_AUTH_FAILURES_PER_MINUTE` ([`crate::limits::AuthFailures`]).
//! A throttled request writes nothing itself; the event of its minute is written by the next
//! throttled request from that address after the minute, or by the housekeeping each minute,
//! or at shutdown.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::audit::{Action, EventActor, NewEvent};
use crate::limits::Window;
use crate::state::StateInner;
use crate::work::{self, AuditFacts};

/// The event of one address's minute. The address is recorded: it is what an operator blocks.
pub fn event(address: IpAddr, window: Window, now: DateTime<Utc>) -> NewEvent {
    let facts = AuditFacts {
        reason: Some(format!(
            "rate_limited: {} requests with a refused token from {address} since {}",
            window.count,
            crate::clock::rfc3339(&window.since)
        )),
        ..AuditFacts::default()
    };
    work::event(
        None,
        EventActor::default(),
        Action::AuthThrottled,
        429,
        facts,
        None,
        now,
    )
}

/// Writes the events of the minutes that have run (every count, when `all`: at shutdown).
/// Returns how many were written; a count whose event cannot be written is logged and lost
/// with its window only at shutdown — otherwise it is put back for the next minute.
pub fn flush(state: &StateInner, all: bool) -> usize {
    let now = state.clock.now();
    let mut written = 0;
    for (address, window) in state.auth_failures.take_due(now, all) {
        match work::record(state, event(address, window, now)) {
            Ok(()) => written += 1,
            Err(error) => {
                tracing::error!(%error, count = window.count, "an auth.throttled event could not be stored");
                if !all {
                    state.auth_failures.put_back(address, window);
                }
            }
        }
    }
    written
}
