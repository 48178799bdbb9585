//! The counts behind the steering group's statistics: ids, states and slugs only, never a
//! sealed field.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{cases, consent_parties, consents, plan_measures, plan_versions};
use crate::db::DbConn;
use crate::domain::consent::{self, ConsentState, StateFacts};

/// Raw counts of one area (before suppression).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AreaCounts {
    pub cases: BTreeMap<String, i64>,
    pub consents: BTreeMap<&'static str, i64>,
    /// (agency, status) → count
    pub measures: BTreeMap<(String, String), i64>,
}

#[derive(Queryable)]
struct ConsentFactsRow {
    id: String,
    area: String,
    valid_from: NaiveDate,
    valid_until: NaiveDate,
    superseded_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

#[derive(Queryable)]
struct MeasureRow {
    case_id: String,
    version: i64,
    area: String,
    agency: String,
    status: String,
}

/// Counts per area slug, as of `today`.
pub fn counts(conn: &mut DbConn, today: NaiveDate) -> QueryResult<HashMap<String, AreaCounts>> {
    let mut areas: HashMap<String, AreaCounts> = HashMap::new();
    let by_status: Vec<(String, String, i64)> = cases::table
        .group_by((cases::area, cases::status))
        .select((cases::area, cases::status, diesel::dsl::count_star()))
        .load(conn)?;
    for (area, status, count) in by_status {
        areas.entry(area).or_default().cases.insert(status, count);
    }

    let refused: HashSet<String> = consent_parties::table
        .filter(consent_parties::required.eq(true))
        .filter(consent_parties::decision.eq("refused"))
        .select(consent_parties::consent_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let rows: Vec<ConsentFactsRow> = consents::table
        .inner_join(cases::table)
        .select((
            consents::id,
            cases::area,
            consents::valid_from,
            consents::valid_until,
            consents::superseded_at,
            consents::revoked_at,
        ))
        .load(conn)?;
    for row in rows {
        let state: ConsentState = consent::state(
            &StateFacts {
                valid_from: row.valid_from,
                valid_until: row.valid_until,
                revoked: row.revoked_at.is_some(),
                superseded: row.superseded_at.is_some(),
                refused: refused.contains(&row.id),
            },
            today,
        );
        *areas
            .entry(row.area)
            .or_default()
            .consents
            .entry(state.as_str())
            .or_default() += 1;
    }

    // Measures of each case's newest plan version.
    let newest: HashMap<String, i64> = plan_versions::table
        .group_by(plan_versions::case_id)
        .select((
            plan_versions::case_id,
            diesel::dsl::max(plan_versions::version),
        ))
        .load::<(String, Option<i64>)>(conn)?
        .into_iter()
        .filter_map(|(case, version)| version.map(|v| (case, v)))
        .collect();
    let measures: Vec<MeasureRow> = plan_measures::table
        .inner_join(cases::table.on(cases::id.eq(plan_measures::case_id)))
        .select((
            plan_measures::case_id,
            plan_measures::version,
            cases::area,
            plan_measures::agency,
            plan_measures::status,
        ))
        .load(conn)?;
    for MeasureRow {
        case_id,
        version,
        area,
        agency,
        status,
    } in measures
    {
        if newest.get(&case_id) == Some(&version) {
            *areas
                .entry(area)
                .or_default()
                .measures
                .entry((agency, status))
                .or_default() += 1;
        }
    }
    Ok(areas)
}
