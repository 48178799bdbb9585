//! The only place that reads "now". Everything else gets time from a [`Clock`], so tests can
//! fix it (clippy's `disallowed-methods` keeps direct clock calls out of the rest of the code).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Stockholm;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// "Today" as the register means it: the date in Europe/Stockholm.
    fn today(&self) -> NaiveDate {
        stockholm_date(&self.now())
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still (tests, benchmarks) until moved.
#[derive(Debug)]
pub struct FixedClock(std::sync::Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.0.lock() {
            *now = at;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        match self.0.lock() {
            Ok(now) => *now,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// The date in Europe/Stockholm at `at`.
pub fn stockholm_date(at: &DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Stockholm).date_naive()
}

/// RFC 3339 UTC with microseconds, as the API writes every time (`2026-11-23T09:15:00.123456Z`).
pub fn rfc3339(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A stored UTC time (`NaiveDateTime`) in the API's one format.
pub fn rfc3339_naive(at: &chrono::NaiveDateTime) -> String {
    rfc3339(&DateTime::<Utc>::from_naive_utc_and_offset(*at, Utc))
}

/// Serde helpers that write times in the API's one format.
pub mod api_time {
    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(
            &DateTime::<Utc>::from_naive_utc_and_offset(*at, Utc),
        ))
    }
}
