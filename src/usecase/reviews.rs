//! Documented log reviews (*logguppföljning*, API.md §10): what an auditor looked at in the
//! log for a period, what they found and what was done about it — append-only, the texts sealed
//! at rest — and the sampling helper that proposes whose use of the register this month's
//! review looks at.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Items;
use crate::audit::Action;
use crate::authz::Resource;
use crate::clock::rfc3339_naive;
use crate::crypto::columns::Column;
use crate::domain::FieldError;
use crate::error::UseCaseError;
use crate::repo::reviews::{self as repo, ActiveUser, ReviewRow};
use crate::work::Unit;

pub const MAX_REVIEW_CHARS: usize = 20_000;
/// At most this many users are recorded as one review's sample.
pub const MAX_SAMPLED_USERS: usize = 1_000;
/// The share of the active users a month's review proposes, in percent.
pub const SAMPLE_PERCENT: usize = 10;
/// Users with a request in this many days count as active.
const ACTIVE_DAYS: i64 = 365;
/// A user last reviewed this many days ago (or never) is due this month, so that everyone is
/// reviewed at least once a year.
const DUE_AFTER_DAYS: i64 = 334;

/// A new documented review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// The first day of the reviewed period.
    pub period_from: NaiveDate,
    /// The last day; on or after `period_from` and not in the future.
    pub period_to: NaiveDate,
    /// What was reviewed (1–20,000 characters).
    pub scope: String,
    /// What the review found (1–20,000 characters).
    pub findings: String,
    /// What was done or decided (at most 20,000 characters; may be empty).
    pub actions: String,
    /// The users whose use of the register the review looked at (their `sub`s), e.g. this
    /// month's sample proposed by the console.
    #[serde(default)]
    pub sampled_users: Vec<String>,
}

/// Who recorded a review.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reviewer {
    pub sub: String,
    pub name: String,
    pub agency: String,
}

/// A documented review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: String,
    #[schema(format = Date)]
    pub period_from: String,
    #[schema(format = Date)]
    pub period_to: String,
    pub scope: String,
    pub findings: String,
    pub actions: String,
    pub sampled_users: Vec<String>,
    pub reviewed_by: Reviewer,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// Reviews whose period meets `from ..= to` (dates, `YYYY-MM-DD`; either may be left out).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ReviewsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn view(unit: &Unit<'_>, row: &ReviewRow) -> Result<ReviewView, UseCaseError> {
    let open = |column, sealed: &[u8]| unit.crypto().open_text(column, &row.id, sealed);
    Ok(ReviewView {
        id: row.id.clone(),
        period_from: row.period_from.to_string(),
        period_to: row.period_to.to_string(),
        scope: open(Column::ReviewScope, &row.scope)?,
        findings: open(Column::ReviewFindings, &row.findings)?,
        actions: open(Column::ReviewActions, &row.actions)?,
        sampled_users: serde_json::from_str(&row.sampled_subs)
            .map_err(|e| UseCaseError::Internal(format!("a review's sample: {e}")))?,
        reviewed_by: Reviewer {
            sub: row.reviewed_by_sub.clone(),
            name: row.reviewed_by_name.clone(),
            agency: row.reviewed_by_agency.clone(),
        },
        created_at: rfc3339_naive(&row.created_at),
    })
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, text: &str, required: bool) {
    let length = text.chars().count();
    if required && text.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if length > MAX_REVIEW_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_REVIEW_CHARS} characters (is {length})"),
        ));
    }
}

fn check(input: &NewReview, today: NaiveDate) -> Result<(), UseCaseError> {
    let mut errors = Vec::new();
    if input.period_to < input.period_from {
        errors.push(FieldError::new(
            "period_to",
            "must be on or after period_from",
        ));
    }
    if input.period_to > today {
        errors.push(FieldError::new(
            "period_to",
            format!("must not be in the future (today is {today})"),
        ));
    }
    check_text(&mut errors, "scope", &input.scope, true);
    check_text(&mut errors, "findings", &input.findings, true);
    check_text(&mut errors, "actions", &input.actions, false);
    if input.sampled_users.len() > MAX_SAMPLED_USERS
        || input
            .sampled_users
            .iter()
            .any(|sub| sub.trim().is_empty() || sub.len() > 255)
    {
        errors.push(FieldError::new(
            "sampled_users",
            format!("must be at most {MAX_SAMPLED_USERS} user ids of 1–255 bytes"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(UseCaseError::Validation(errors))
    }
}

/// Records a review (role `auditor`); the reviewer is the caller.
pub fn create(unit: &mut Unit<'_>, input: NewReview) -> Result<ReviewView, UseCaseError> {
    unit.authorize(Action::AuditReviewCreate, Resource::AuditLog)?;
    check(&input, unit.today())?;
    let id = uuid::Uuid::now_v7().to_string();
    let mut sampled = input.sampled_users;
    sampled.sort();
    sampled.dedup();
    let seal = |column, text: &str| unit.crypto().seal_text(column, &id, text);
    let row = ReviewRow {
        id: id.clone(),
        period_from: input.period_from,
        period_to: input.period_to,
        scope: seal(Column::ReviewScope, &input.scope)?,
        findings: seal(Column::ReviewFindings, &input.findings)?,
        actions: seal(Column::ReviewActions, &input.actions)?,
        sampled_subs: serde_json::to_string(&sampled)
            .map_err(|e| UseCaseError::Internal(format!("a review's sample: {e}")))?,
        reviewed_by_sub: unit.actor.sub.clone(),
        reviewed_by_name: unit.actor.name.clone(),
        reviewed_by_agency: unit.actor.agency.clone(),
        created_at: crate::audit::to_micros(unit.now),
    };
    repo::insert(unit.conn, &row)?;
    view(unit, &row)
}

fn query_date(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, UseCaseError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
                UseCaseError::BadRequest(format!("`{field}` must be a date, e.g. 2026-11-30"))
            })
        })
        .transpose()
}

/// The reviews whose period meets the query's, newest first (role `auditor`).
pub fn list(unit: &mut Unit<'_>, query: ReviewsQuery) -> Result<Items<ReviewView>, UseCaseError> {
    unit.authorize(Action::AuditReviewList, Resource::AuditLog)?;
    let from = query_date("from", query.from.as_deref())?;
    let to = query_date("to", query.to.as_deref())?;
    let items = repo::list(unit.conn, from, to)?
        .iter()
        .map(|row| view(unit, row))
        .collect::<Result<_, _>>()?;
    Ok(Items { items })
}

/// The reviews page (UI.md §4 "Logguppföljningar"): [`list`] and this month's proposed sample,
/// in one `audit.review.list`.
pub fn list_with_sample(
    unit: &mut Unit<'_>,
    query: ReviewsQuery,
) -> Result<(Items<ReviewView>, Vec<Proposed>), UseCaseError> {
    let items = list(unit, query)?;
    Ok((items, propose_sample(unit)?))
}

/// A user the sampling helper proposes for this month's review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposed {
    pub sub: String,
    pub name: Option<String>,
    pub agency: Option<String>,
    /// When a review last sampled them (within the year), if it did.
    pub last_reviewed: Option<NaiveDate>,
}

/// This month's sample: at least [`SAMPLE_PERCENT`] % of the users active in the last year
/// (rounded up), and every one last reviewed eleven months ago, so each active user is reviewed
/// at least once a year. Users already sampled this month are not proposed again. Those never
/// reviewed come first, then the least recently reviewed; among equals the order is a hash of the month and the user,
/// fixed within the month and not guessable from names. Run inside an auditor's unit of work
/// (the page's `audit.review.list`); it reads who used the register, never what they saw.
pub fn propose_sample(unit: &mut Unit<'_>) -> Result<Vec<Proposed>, UseCaseError> {
    let now = unit.now.naive_utc();
    let today = unit.today();
    let users = repo::active_users(unit.conn, now - Duration::days(ACTIVE_DAYS))?;
    let mut last: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for review in repo::since(unit.conn, now - Duration::days(ACTIVE_DAYS))? {
        let day = crate::clock::stockholm_date(&review.created_at.and_utc());
        let subs: Vec<String> = serde_json::from_str(&review.sampled_subs).unwrap_or_default();
        for sub in subs {
            last.insert(sub, day);
        }
    }
    Ok(sample(users, &last, today))
}

/// The choice of [`propose_sample`], over the active users and when each was last reviewed.
pub fn sample(
    users: Vec<ActiveUser>,
    last: &BTreeMap<String, NaiveDate>,
    today: NaiveDate,
) -> Vec<Proposed> {
    let month_start = today.with_day(1).unwrap_or(today);
    let active = users.len();
    let mut open: Vec<Proposed> = users
        .into_iter()
        .map(|user| Proposed {
            last_reviewed: last.get(&user.sub).copied(),
            sub: user.sub,
            name: user.name,
            agency: user.agency,
        })
        .filter(|p| p.last_reviewed.is_none_or(|day| day < month_start))
        .collect();
    let month = format!("{:04}-{:02}", today.year(), today.month());
    let tiebreak = |sub: &str| {
        let digest =
            ring::digest::digest(&ring::digest::SHA256, format!("{month}\n{sub}").as_bytes());
        digest.as_ref().to_vec()
    };
    open.sort_by_cached_key(|p| (p.last_reviewed, tiebreak(&p.sub)));
    let due = open
        .iter()
        .filter(|p| {
            p.last_reviewed
                .is_some_and(|day| (today - day).num_days() >= DUE_AFTER_DAYS)
        })
        .count();
    let share = active.saturating_mul(SAMPLE_PERCENT).div_ceil(100);
    open.truncate(share.max(due));
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(n: usize) -> Vec<ActiveUser> {
        (0..n)
            .map(|i| ActiveUser {
                sub: format!("user-{i:03}"),
                agency: Some("polisen-orebro".to_owned()),
                name: None,
            })
            .collect()
    }

    /// Month by month, taking each proposal as reviewed, every active user is reviewed within
    /// twelve months, and no month proposes fewer than 10 %.
    #[test]
    fn a_year_of_monthly_samples_covers_every_user() {
        let mut last = BTreeMap::new();
        let mut seen = std::collections::BTreeSet::new();
        let start = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        for month in 0..12u32 {
            let today = start
                .checked_add_months(chrono::Months::new(month))
                .unwrap();
            let proposed = sample(users(95), &last, today);
            assert!(proposed.len() >= 10, "month {month}: {}", proposed.len());
            for p in proposed {
                assert!(
                    p.last_reviewed
                        .is_none_or(|d| d < today.with_day(1).unwrap()),
                    "sampled twice in one month"
                );
                last.insert(p.sub.clone(), today);
                seen.insert(p.sub);
            }
        }
        assert_eq!(seen.len(), 95, "everyone reviewed within the year");
    }

    /// Users sampled this month are not proposed again; the least recently reviewed come
    /// first; one due after eleven months is proposed even beyond the 10 %.
    #[test]
    fn the_sample_prefers_those_not_reviewed_for_longest() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let mut last = BTreeMap::new();
        for i in 0..20 {
            last.insert(format!("user-{i:03}"), today - Duration::days(40 + i));
        }
        last.insert("user-020".to_owned(), today - Duration::days(2));
        let proposed = sample(users(21), &last, today);
        assert_eq!(proposed.len(), 3, "10 % of 21, rounded up");
        let subs: Vec<&str> = proposed.iter().map(|p| p.sub.as_str()).collect();
        assert_eq!(subs, ["user-019", "user-018", "user-017"]);
        for i in 0..4 {
            last.insert(format!("user-{i:03}"), today - Duration::days(340));
        }
        let proposed = sample(users(21), &last, today);
        assert_eq!(proposed.len(), 4, "every user due is proposed");
        assert!(proposed.iter().all(|p| p.sub.as_str() <= "user-003"));
        assert!(sample(Vec::new(), &last, today).is_empty());
    }
}
