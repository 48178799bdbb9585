//! How many instances serve on one database, so the per-user rate limit holds for the service
//! as a whole ([`crate::limits::RateLimits`]). On PostgreSQL each `serve` keeps one connection
//! of its own named `sig-register serve <uuid>` (`application_name`), and counts the distinct
//! such names connected to its database (`pg_stat_activity`): an instance that stops, or dies,
//! drops out with its connection — nothing to clean up. On SQLite one instance serves.

use diesel::connection::SimpleConnection;
use diesel::{QueryableByName, RunQueryDsl};

use crate::db::{DbConn, DbError};
use crate::state::StateInner;

/// This process's presence on the database.
pub struct Presence {
    name: String,
    conn: Option<DbConn>,
}

impl Default for Presence {
    fn default() -> Self {
        Self {
            name: format!("sig-register serve {}", uuid::Uuid::new_v4()),
            conn: None,
        }
    }
}

impl Presence {
    /// Announces this instance (once per connection: the connection is the announcement) and
    /// shares the rate limit among the instances counted now. Returns their number.
    pub fn tick(&mut self, state: &StateInner) -> Result<u32, DbError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let mut conn = state.config.database()?.connect()?;
                if let DbConn::Postgresql(_) = conn {
                    conn.batch_execute(&format!("SET application_name = '{}'", self.name))?;
                }
                self.conn.insert(conn)
            }
        };
        let counted = count(conn);
        if counted.is_err() {
            self.conn = None;
        }
        let instances = counted?;
        if state.rate_limits.set_instances(instances) {
            tracing::info!(
                instances,
                "the per-user rate limit is shared among the instances on this database"
            );
        }
        Ok(instances)
    }
}

/// The instances announced on `conn`'s database (1 on SQLite).
fn count(conn: &mut DbConn) -> Result<u32, DbError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    if let DbConn::Sqlite(_) = conn {
        return Ok(1);
    }
    let found: Count = diesel::sql_query(
        "SELECT count(DISTINCT application_name) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'sig-register serve %'",
    )
    .get_result(conn)?;
    Ok(u32::try_from(found.n).unwrap_or(u32::MAX).max(1))
}
