//! Plan versions: each write inserts a new one; nothing is ever updated in place. Two writers
//! of the same version collide on the primary key, and exactly one wins.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{plan_measures, plan_versions};
use crate::db::DbConn;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_versions)]
pub struct PlanVersionRow {
    pub case_id: String,
    pub version: i64,
    pub status: String,
    pub agreed_on: Option<NaiveDate>,
    /// Sealed goals, measures and follow-ups; `None` once the case is erased.
    pub content: Option<Vec<u8>>,
    pub updated_at: NaiveDateTime,
    pub updated_by_sub: String,
    pub updated_by_agency: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_measures)]
pub struct MeasureIndexRow {
    pub case_id: String,
    pub version: i64,
    pub measure_id: String,
    pub agency: String,
    pub status: String,
}

/// The newest version of a case's plan (none before the first write).
pub fn current(conn: &mut DbConn, case_id: &str) -> QueryResult<Option<PlanVersionRow>> {
    // The newest by `max`, not `ORDER BY … LIMIT ?`: SQLite compiles a statement with a bound
    // LIMIT again on every run.
    let other = diesel::alias!(plan_versions as other);
    let newest = other
        .select(diesel::dsl::max(other.field(plan_versions::version)))
        .filter(other.field(plan_versions::case_id).eq(case_id))
        .single_value()
        .assume_not_null();
    plan_versions::table
        .filter(plan_versions::case_id.eq(case_id))
        .filter(plan_versions::version.eq(newest))
        .select(PlanVersionRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn version(
    conn: &mut DbConn,
    case_id: &str,
    version: i64,
) -> QueryResult<Option<PlanVersionRow>> {
    plan_versions::table
        .find((case_id, version))
        .select(PlanVersionRow::as_select())
        .get_result(conn)
        .optional()
}

/// What the version list shows of each version.
#[derive(Clone, Debug, Queryable)]
pub struct VersionMeta {
    pub version: i64,
    pub status: String,
    pub updated_at: NaiveDateTime,
    pub updated_by_agency: String,
}

/// Every version's metadata, oldest first.
pub fn versions(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<VersionMeta>> {
    plan_versions::table
        .filter(plan_versions::case_id.eq(case_id))
        .order(plan_versions::version.asc())
        .select((
            plan_versions::version,
            plan_versions::status,
            plan_versions::updated_at,
            plan_versions::updated_by_agency,
        ))
        .load(conn)
}

/// Inserts a version and its measure index. A unique violation means another writer took this
/// version first.
pub fn insert(
    conn: &mut DbConn,
    row: &PlanVersionRow,
    measures: &[MeasureIndexRow],
) -> QueryResult<()> {
    diesel::insert_into(plan_versions::table)
        .values(row)
        .execute(conn)?;
    for measure in measures {
        diesel::insert_into(plan_measures::table)
            .values(measure)
            .execute(conn)?;
    }
    Ok(())
}
