//! Retention (*gallring*) rules with no SQL: when a closed case's time is up, and what happens
//! to it then (DOMAIN.md). The job that applies them is `jobs::retention`.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

/// What the API says about an erased case's plan, notes or personal data.
pub const ERASED: &str = "this case's personal data was erased under the retention rules";

/// What happens to a case whose retention time has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Erase,
    Archive,
    Hold,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Erase => "erase",
            Disposition::Archive => "archive",
            Disposition::Hold => "hold",
        }
    }
}

/// Why a case goes to the research archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchiveBasis {
    /// The young person was born on the 5th, 15th or 25th of a month.
    BirthDay,
    /// The owner agency marked the case "archive".
    Decision,
}

impl ArchiveBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveBasis::BirthDay => "birth_day",
            ArchiveBasis::Decision => "decision",
        }
    }
}

/// The last day a case closed on `last_entry` is kept (29 February rolls back to the 28th).
pub fn retained_until(last_entry: NaiveDate, years: u32) -> NaiveDate {
    last_entry
        .checked_add_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(NaiveDate::MAX)
}

/// Files of people born on the 5th, 15th or 25th of a month go to the research archive.
pub fn born_on_archive_day(birth: NaiveDate) -> bool {
    matches!(birth.day(), 5 | 15 | 25)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn retention_counts_whole_years_and_a_leap_day_rolls_back() {
        assert_eq!(retained_until(day(2020, 6, 1), 5), day(2025, 6, 1));
        assert_eq!(retained_until(day(2020, 2, 29), 5), day(2025, 2, 28));
        assert_eq!(retained_until(day(2020, 2, 29), 4), day(2024, 2, 29));
        assert_eq!(retained_until(day(2020, 12, 31), 100), day(2120, 12, 31));
    }
}
