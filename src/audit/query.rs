//! Reading the log: search with keyset paging, batches for streaming export, anomaly review,
//! and the per-case access log (built on the `audit_event_cases` index).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};
use chrono_tz::Europe::Stockholm;
use diesel::prelude::*;

use super::row::EventRow;
use super::AuditEvent;
use crate::db::schema::{audit_event_cases, audit_events};
use crate::db::DbConn;

type Db = <DbConn as Connection>::Backend;

/// The filters of `GET /audit/events` (every one optional).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub agency: Option<String>,
    pub case_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Events up to this `seq` only (an export's snapshot of the log).
    pub up_to_seq: Option<i64>,
}

/// Events matching `filter` with `seq > after`, oldest first, at most `limit`.
pub fn search(
    conn: &mut DbConn,
    filter: &Filter,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = audit_events::table
        .select(EventRow::as_select())
        .filter(audit_events::seq.gt(after))
        .into_boxed::<Db>();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor_sub.eq(actor.clone()));
    }
    if let Some(agency) = &filter.agency {
        query = query.filter(audit_events::actor_agency.eq(agency.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.le(to));
    }
    if let Some(last) = filter.up_to_seq {
        query = query.filter(audit_events::seq.le(last));
    }
    if let Some(case_id) = &filter.case_id {
        let seqs = audit_event_cases::table
            .filter(audit_event_cases::case_id.eq(case_id.clone()))
            .select(audit_event_cases::seq);
        query = query.filter(audit_events::seq.eq_any(seqs));
    }
    let rows: Vec<EventRow> = query
        .order(audit_events::seq.asc())
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let seq = row.seq;
            let event = row.into_event();
            if event.is_none() {
                tracing::error!(
                    seq,
                    "audit event with unreadable fields (run `sig-register audit verify`)"
                );
            }
            event
        })
        .collect())
}

#[derive(Queryable)]
struct AccessRow {
    at: NaiveDateTime,
    agency: Option<String>,
    roles: Option<String>,
    action: String,
    outcome: String,
}

#[derive(Queryable)]
struct ActorEventRow {
    seq: i64,
    sub: Option<String>,
    agency: Option<String>,
    at: NaiveDateTime,
    outcome: String,
}

#[derive(Queryable)]
struct CaseEventRow {
    seq: i64,
    case_id: String,
    sub: Option<String>,
    agency: Option<String>,
    at: NaiveDateTime,
}

/// One line of the access-log extract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    pub at: NaiveDateTime,
    pub agency: Option<String>,
    pub roles: Option<String>,
    pub action: String,
    pub outcome: String,
}

/// Every event that names `case_id`, oldest first.
pub fn access_log(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<AccessEntry>> {
    let rows: Vec<AccessRow> = audit_event_cases::table
        .inner_join(audit_events::table)
        .filter(audit_event_cases::case_id.eq(case_id))
        .order(audit_events::seq.asc())
        .select((
            audit_events::at,
            audit_events::actor_agency,
            audit_events::actor_roles,
            audit_events::action,
            audit_events::outcome,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |AccessRow {
                 at,
                 agency,
                 roles,
                 action,
                 outcome,
             }| AccessEntry {
                at,
                agency,
                roles: roles
                    .and_then(|text| serde_json::from_str::<Vec<String>>(&text).ok())
                    .map(|roles| roles.join(",")),
                action,
                outcome,
            },
        )
        .collect())
}

/// The stored events naming `case_id`, up to `up_to` (a signed tree head's size), oldest
/// first: what a verifiable extract discloses from and proves.
pub fn case_rows(conn: &mut DbConn, case_id: &str, up_to: i64) -> QueryResult<Vec<EventRow>> {
    audit_event_cases::table
        .inner_join(audit_events::table)
        .filter(audit_event_cases::case_id.eq(case_id))
        .filter(audit_events::seq.le(up_to))
        .order(audit_events::seq.asc())
        .select(EventRow::as_select())
        .load(conn)
}

/// Counts per actor for the anomaly review.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Anomalies {
    pub denied_by_actor: Vec<(String, Option<String>, i64)>,
    pub off_hours: Vec<(String, Option<String>, i64)>,
    /// (sub, agency, day in Europe/Stockholm, distinct cases)
    pub high_volume: Vec<(String, Option<String>, NaiveDate, i64)>,
}

/// Outside 07:00–19:00 in Europe/Stockholm, or on a Saturday or Sunday.
pub fn is_off_hours(at: NaiveDateTime) -> bool {
    let local = DateTime::<Utc>::from_naive_utc_and_offset(at, Utc).with_timezone(&Stockholm);
    matches!(local.weekday(), Weekday::Sat | Weekday::Sun) || local.hour() < 7 || local.hour() >= 19
}

const ANOMALY_BATCH: i64 = 10_000;

/// Reviews the events between `from` and `to` (inclusive), people's requests only (not the
/// retention job). Reads in batches.
pub fn anomalies(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
    distinct_case_threshold: i64,
) -> QueryResult<Anomalies> {
    type Key = (String, Option<String>);
    let mut denied: BTreeMap<Key, i64> = BTreeMap::new();
    let mut off_hours: BTreeMap<Key, i64> = BTreeMap::new();
    let mut after = 0i64;
    loop {
        let batch: Vec<ActorEventRow> = audit_events::table
            .filter(audit_events::at.ge(from))
            .filter(audit_events::at.le(to))
            .filter(audit_events::seq.gt(after))
            .filter(audit_events::actor_sub.is_not_null())
            // People's requests only: the retention job's events carry no method.
            .filter(audit_events::method.is_not_null())
            .order(audit_events::seq.asc())
            .limit(ANOMALY_BATCH)
            .select((
                audit_events::seq,
                audit_events::actor_sub,
                audit_events::actor_agency,
                audit_events::at,
                audit_events::outcome,
            ))
            .load(conn)?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for ActorEventRow {
            sub,
            agency,
            at,
            outcome,
            ..
        } in batch
        {
            let key = (sub.unwrap_or_default(), agency);
            if outcome == "denied" {
                *denied.entry(key.clone()).or_default() += 1;
            }
            if is_off_hours(at) {
                *off_hours.entry(key).or_default() += 1;
            }
        }
    }
    let mut cases_per_day: BTreeMap<(String, Option<String>, NaiveDate), BTreeSet<String>> =
        BTreeMap::new();
    let mut after = 0i64;
    let mut after_case = String::new();
    loop {
        let batch: Vec<CaseEventRow> = audit_event_cases::table
            .inner_join(audit_events::table)
            .filter(audit_events::at.ge(from))
            .filter(audit_events::at.le(to))
            .filter(audit_events::actor_sub.is_not_null())
            // People's requests only: the retention job's events carry no method.
            .filter(audit_events::method.is_not_null())
            .filter(
                audit_event_cases::seq.gt(after).or(audit_event_cases::seq
                    .eq(after)
                    .and(audit_event_cases::case_id.gt(after_case.clone()))),
            )
            .order((
                audit_event_cases::seq.asc(),
                audit_event_cases::case_id.asc(),
            ))
            .limit(ANOMALY_BATCH)
            .select((
                audit_event_cases::seq,
                audit_event_cases::case_id,
                audit_events::actor_sub,
                audit_events::actor_agency,
                audit_events::at,
            ))
            .load(conn)?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        after_case = last.case_id.clone();
        for CaseEventRow {
            case_id,
            sub,
            agency,
            at,
            ..
        } in batch
        {
            let day = DateTime::<Utc>::from_naive_utc_and_offset(at, Utc)
                .with_timezone(&Stockholm)
                .date_naive();
            cases_per_day
                .entry((sub.unwrap_or_default(), agency, day))
                .or_default()
                .insert(case_id);
        }
    }
    let high_volume = cases_per_day
        .into_iter()
        .filter_map(|((sub, agency, day), cases)| {
            let count = i64::try_from(cases.len()).unwrap_or(i64::MAX);
            (count > distinct_case_threshold).then_some((sub, agency, day, count))
        })
        .collect();
    let flatten = |map: BTreeMap<Key, i64>| {
        map.into_iter()
            .map(|((sub, agency), n)| (sub, agency, n))
            .collect()
    };
    Ok(Anomalies {
        denied_by_actor: flatten(denied),
        off_hours: flatten(off_hours),
        high_volume,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn off_hours_are_judged_in_stockholm_time() {
        // Monday 23 November 2026; Stockholm is UTC+1 in winter.
        assert!(
            !is_off_hours(at("2026-11-23 06:00")),
            "07:00 local is working time"
        );
        assert!(is_off_hours(at("2026-11-23 05:59")), "06:59 local");
        assert!(!is_off_hours(at("2026-11-23 17:59")), "18:59 local");
        assert!(is_off_hours(at("2026-11-23 18:00")), "19:00 local");
        assert!(is_off_hours(at("2026-11-22 12:00")), "a Sunday");
        // Summer time: UTC+2.
        assert!(!is_off_hours(at("2026-06-15 05:00")), "07:00 local in June");
        assert!(is_off_hours(at("2026-06-15 17:00")), "19:00 local in June");
    }
}
