//! Areas and agencies.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{agencies, areas};
use crate::db::DbConn;
use crate::domain::agency::AgencyFacts;

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

/// Agencies found once, by slug. Agency rows are only ever inserted — nothing changes or
/// removes one — so a slug found keeps its kind for the life of the process, and the lookup
/// every request makes for its caller's agency costs no query after the first. A slug not
/// found is asked of the database again next time (an agency added by another process is seen).
#[derive(Debug, Default)]
pub struct KnownAgencies(std::sync::RwLock<std::collections::HashMap<String, AgencyFacts>>);

impl KnownAgencies {
    pub fn facts(&self, conn: &mut DbConn, slug: &str) -> QueryResult<Option<AgencyFacts>> {
        if let Some(facts) = self
            .0
            .read()
            .ok()
            .and_then(|known| known.get(slug).cloned())
        {
            return Ok(Some(facts));
        }
        let found = agency_facts(conn, slug)?;
        if let (Some(facts), Ok(mut known)) = (&found, self.0.write()) {
            known.insert(facts.slug.clone(), facts.clone());
        }
        Ok(found)
    }
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
