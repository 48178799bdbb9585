//! Steering-group statistics (API.md §11): per area, cases by status, consents by state and
//! measures by agency and status. Every count from 1 to 4 is withheld (`null`, and the area says
//! `suppressed: true`), and no total or margin is given from which a withheld count could be
//! computed back.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::Action;
use crate::authz::Resource;
use crate::clock::rfc3339;
use crate::error::UseCaseError;
use crate::repo::{reference, stats};
use crate::work::Unit;

/// Counts from 1 to this are too small to publish.
pub const SUPPRESS_UP_TO: i64 = 4;

/// A count as published: `None` (shown as `null`) when it is withheld, noted in `suppressed`.
fn publish(count: i64, suppressed: &mut bool) -> Option<i64> {
    if (1..=SUPPRESS_UP_TO).contains(&count) {
        *suppressed = true;
        None
    } else {
        Some(count)
    }
}

/// The count under `key`, 0 when there is none.
fn get<K: Borrow<str> + Ord>(map: &BTreeMap<K, i64>, key: &str) -> i64 {
    map.get(key).copied().unwrap_or(0)
}

/// Cases by status; `null` is a withheld count (1–4).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseCounts {
    pub open: Option<i64>,
    pub active: Option<i64>,
    pub closed: Option<i64>,
}

/// Consents by their state today; `null` is a withheld count (1–4).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentCounts {
    pub active: Option<i64>,
    pub scheduled: Option<i64>,
    pub refused: Option<i64>,
    pub expired: Option<i64>,
    pub revoked: Option<i64>,
    pub superseded: Option<i64>,
}

/// Measures of one agency in one status; `null` is a withheld count (1–4).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureCount {
    pub agency: String,
    pub status: String,
    pub count: Option<i64>,
}

/// One partnership area's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaStats {
    pub area: String,
    /// Some count of this area is withheld.
    pub suppressed: bool,
    pub cases: CaseCounts,
    pub consents: ConsentCounts,
    pub measures: Vec<MeasureCount>,
}

/// The statistics of every area.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    #[schema(format = DateTime)]
    pub generated_at: String,
    pub areas: Vec<AreaStats>,
}

/// Per area statistics (any authenticated role).
pub fn read(unit: &mut Unit<'_>) -> Result<StatsView, UseCaseError> {
    unit.authorize(Action::StatsRead, Resource::Cases)?;
    let today = unit.today();
    let mut counts = stats::counts(unit.conn, today)?;
    let mut areas = Vec::new();
    for area in reference::areas(unit.conn)? {
        let found = counts.remove(&area.slug).unwrap_or_default();
        let mut suppressed = false;
        let mut case = |status| publish(get(&found.cases, status), &mut suppressed);
        let cases = CaseCounts {
            open: case("open"),
            active: case("active"),
            closed: case("closed"),
        };
        let mut consent = |state| publish(get(&found.consents, state), &mut suppressed);
        let consents = ConsentCounts {
            active: consent("active"),
            scheduled: consent("scheduled"),
            refused: consent("refused"),
            expired: consent("expired"),
            revoked: consent("revoked"),
            superseded: consent("superseded"),
        };
        let measures = found
            .measures
            .iter()
            .map(|((agency, status), count)| MeasureCount {
                agency: agency.clone(),
                status: status.clone(),
                count: publish(*count, &mut suppressed),
            })
            .collect();
        areas.push(AreaStats {
            area: area.slug,
            suppressed,
            cases,
            consents,
            measures,
        });
    }
    Ok(StatsView {
        generated_at: rfc3339(&unit.now),
        areas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_one_to_four_are_withheld() {
        let mut suppressed = false;
        assert_eq!(publish(0, &mut suppressed), Some(0));
        assert!(!suppressed, "zero is published");
        assert_eq!(publish(5, &mut suppressed), Some(5));
        assert!(!suppressed);
        for small in 1..=4 {
            let mut suppressed = false;
            assert_eq!(publish(small, &mut suppressed), None);
            assert!(suppressed);
        }
    }
}
