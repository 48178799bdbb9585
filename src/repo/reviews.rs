//! Documented log reviews (API.md §10), append-only, and the users the log saw in a period
//! (the review's sampling helper).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{audit_events, audit_reviews};
use crate::db::DbConn;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_reviews)]
pub struct ReviewRow {
    pub id: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    /// The three texts, sealed (`audit_reviews.{scope,findings,actions}:{id}`).
    pub scope: Vec<u8>,
    pub findings: Vec<u8>,
    pub actions: Vec<u8>,
    /// The sampled users' `sub`s as a JSON list.
    pub sampled_subs: String,
    pub reviewed_by_sub: String,
    pub reviewed_by_name: String,
    pub reviewed_by_agency: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &ReviewRow) -> QueryResult<()> {
    diesel::insert_into(audit_reviews::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The reviews whose period meets `from ..= to` (either end open), newest first.
pub fn list(
    conn: &mut DbConn,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> QueryResult<Vec<ReviewRow>> {
    let mut query = audit_reviews::table
        .select(ReviewRow::as_select())
        .order((audit_reviews::created_at.desc(), audit_reviews::id.desc()))
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(audit_reviews::period_to.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(audit_reviews::period_from.le(to));
    }
    query.load(conn)
}

/// The reviews recorded at or after `since` (whose samples count towards the year).
pub fn since(conn: &mut DbConn, since: NaiveDateTime) -> QueryResult<Vec<ReviewRow>> {
    audit_reviews::table
        .filter(audit_reviews::created_at.ge(since))
        .select(ReviewRow::as_select())
        .order(audit_reviews::created_at.asc())
        .load(conn)
}

/// A person the log saw.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActiveUser {
    pub sub: String,
    pub agency: Option<String>,
    pub name: Option<String>,
}

/// Every person with a request in the log at or after `since`; the retention job's events
/// carry no method and are not people's. The distinct users are found by a loose index scan
/// over `audit_events_by_actor` (one probe per user, not a scan of the period's events: a
/// year of a busy log is millions of rows, its users hundreds), then each user's newest
/// request in the period gives their agency and name.
pub fn active_users(conn: &mut DbConn, since: NaiveDateTime) -> QueryResult<Vec<ActiveUser>> {
    #[derive(QueryableByName)]
    struct Sub {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sub: String,
    }
    let subs: Vec<Sub> = diesel::sql_query(
        "WITH RECURSIVE subs(sub) AS ( \
           SELECT MIN(actor_sub) FROM audit_events \
           UNION ALL \
           SELECT (SELECT MIN(e.actor_sub) FROM audit_events e WHERE e.actor_sub > subs.sub) \
           FROM subs WHERE subs.sub IS NOT NULL) \
         SELECT sub FROM subs WHERE sub IS NOT NULL",
    )
    .load(conn)?;
    let mut users = Vec::new();
    for Sub { sub } in subs {
        let newest: Option<(Option<String>, Option<String>)> =
            crate::on_backend!(conn, |c| audit_events::table
                .filter(audit_events::actor_sub.eq(&sub))
                .filter(audit_events::at.ge(since))
                .filter(audit_events::method.is_not_null())
                .order(audit_events::at.desc())
                .select((audit_events::actor_agency, audit_events::actor_name))
                .first(c)
                .optional())?;
        if let Some((agency, name)) = newest {
            users.push(ActiveUser { sub, agency, name });
        }
    }
    Ok(users)
}
