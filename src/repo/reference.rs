//! Areas and agencies.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::authz::AgencyFacts;
use crate::db::schema::{agencies, areas};
use crate::db::DbConn;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = areas)]
pub struct AreaRow {
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = agencies)]
pub struct AgencyRow {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub created_at: NaiveDateTime,
}

pub fn areas(conn: &mut DbConn) -> QueryResult<Vec<AreaRow>> {
    areas::table
        .select(AreaRow::as_select())
        .order(areas::slug.asc())
        .load(conn)
}

pub fn agencies(conn: &mut DbConn) -> QueryResult<Vec<AgencyRow>> {
    agencies::table
        .select(AgencyRow::as_select())
        .order(agencies::slug.asc())
        .load(conn)
}

pub fn agency_facts(conn: &mut DbConn, slug: &str) -> QueryResult<Option<AgencyFacts>> {
    agencies::table
        .find(slug)
        .select((agencies::slug, agencies::kind))
        .get_result::<(String, String)>(conn)
        .optional()
        .map(|row| row.map(|(slug, kind)| AgencyFacts { slug, kind }))
}

pub fn agency_exists(conn: &mut DbConn, slug: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(agencies::table.find(slug))).get_result(conn)
}

pub fn insert_agency(conn: &mut DbConn, row: &AgencyRow) -> QueryResult<()> {
    diesel::insert_into(agencies::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}
