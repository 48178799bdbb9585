//! The one path every `/api/v1` request takes to the data (STYLE.md):
//! one unit of work in one database transaction, inside `web::block` — load the caller's
//! agency, ask the policy set, do the work — committed together, or rolled back as a whole.
//! No handler talks to diesel or Cedar on its own.

use chrono::{DateTime, NaiveDate, Utc};

use crate::auth::Actor;
use crate::authz::{AgencyFacts, Decision, Resource};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::repo;
use crate::state::{AppState, StateInner};

/// Whether a unit writes. Writes take the database's write lock up front (`BEGIN IMMEDIATE` on
/// SQLite), so a read-then-write never fails half-way with "database is locked".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxMode {
    Read,
    Write,
}

/// What a unit of work sees: one open transaction, the caller, the caller's agency, and one
/// fixed "now" for the whole unit.
pub struct Unit<'a> {
    pub conn: &'a mut DbConn,
    pub actor: &'a Actor,
    pub agency: AgencyFacts,
    pub now: DateTime<Utc>,
    state: &'a StateInner,
}

impl Unit<'_> {
    /// "Today" in Europe/Stockholm.
    pub fn today(&self) -> NaiveDate {
        crate::clock::stockholm_date(&self.now)
    }

    /// Asks the policy set; a denial becomes 403 `forbidden`.
    pub fn authorize(&mut self, action: &str, resource: Resource) -> Result<Decision, ApiError> {
        let decision = self
            .state
            .policies
            .decide(self.actor, &self.agency, action, &resource);
        if decision.allowed {
            Ok(decision)
        } else {
            Err(ApiError::Forbidden(format!(
                "your role and agency may not do this ({action})"
            )))
        }
    }
}

/// Runs `work` as one unit of work for `actor`.
pub async fn run<T, F>(state: &AppState, actor: Actor, mode: TxMode, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Unit<'_>) -> Result<T, ApiError> + Send + 'static,
{
    let state = state.clone();
    actix_web::web::block(move || {
        let mut conn = state.pool.get()?;
        let now = state.clock.now();
        let body = |conn: &mut DbConn| {
            let agency = repo::reference::agency_facts(conn, &actor.agency)?
                .ok_or(ApiError::UnknownAgency)?;
            let mut unit = Unit {
                conn,
                actor: &actor,
                agency,
                now,
                state: &state,
            };
            work(&mut unit)
        };
        match mode {
            TxMode::Write => db::write_tx(&mut conn, body),
            TxMode::Read => {
                use diesel::Connection;
                DbConn::transaction(&mut conn, body)
            }
        }
    })
    .await?
}
