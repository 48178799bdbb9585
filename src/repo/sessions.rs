//! Web sessions (UI.md §2): one row per signed-in browser, keyed by the SHA-256 of the session
//! id (the id itself is only in the browser's cookie).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::sessions;
use crate::db::DbConn;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: Vec<u8>,
    pub sub: String,
    pub name: String,
    pub agency: String,
    /// The roles as a JSON list.
    pub roles: String,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id_hash: &[u8]) -> QueryResult<Option<SessionRow>> {
    crate::on_backend!(conn, |c| sessions::table
        .filter(sessions::id_hash.eq(id_hash))
        .select(SessionRow::as_select())
        .first(c)
        .optional())
}

/// Notes that the session was used at `at`.
pub fn touch(conn: &mut DbConn, id_hash: &[u8], at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::id_hash.eq(id_hash)))
        .set(sessions::last_seen_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// Ends the session; true when there was one.
pub fn delete(conn: &mut DbConn, id_hash: &[u8]) -> QueryResult<bool> {
    diesel::delete(sessions::table.filter(sessions::id_hash.eq(id_hash)))
        .execute(conn)
        .map(|n| n > 0)
}
