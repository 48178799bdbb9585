//! The one enforcement point: the path every audited request — an API call or a page — takes
//! to the data (STYLE.md), free of HTTP. The caller says who asks, for which action, through
//! which request ([`Call`]); this module does the rest:
//!
//! one unit of work in one database transaction, on a blocking thread — load the caller's
//! agency, ask the policy set, do the work (in a savepoint), then append exactly one audit
//! event — and commit. A denied or failed unit rolls its work back to the savepoint and still
//! commits its event. If the event cannot be stored, everything rolls back and the request gets
//! 503: nothing is disclosed, nothing changed. No handler talks to diesel, Cedar or the audit
//! log on its own: events go through [`crate::audit::log::AuditLog`], the one door to the log.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::Connection;

use crate::audit::{self, Action, EventActor, NewEvent, Outcome};
use crate::auth::Actor;
use crate::authz::{AgencyFacts, Context, Decision, Question, Resource};
use crate::db::{self, DbConn};
use crate::error::UseCaseError;
use crate::state::{AppState, StateInner};

pub mod access;

/// The longest a read waits for its turn (see [`read`]): the pool's checkout time.
const TURN_WAIT: std::time::Duration = db::CHECKOUT_TIMEOUT;

/// What the event of a unit records besides who, what and the outcome. The work fills it in
/// as it learns (the target case is known before a denial, so a denial names it too).
#[derive(Clone, Debug, Default)]
pub struct AuditFacts {
    pub case_ids: Vec<String>,
    pub categories: Vec<String>,
    pub consent_id: Option<String>,
    /// The deciding policies; set by [`Unit::authorize`].
    pub reason: Option<String>,
}

/// What a unit of work sees: one open transaction, the caller, the caller's agency, one fixed
/// "now", and the audit facts to record.
pub struct Unit<'a> {
    pub conn: &'a mut DbConn,
    pub actor: &'a Actor,
    pub agency: AgencyFacts,
    pub now: DateTime<Utc>,
    pub audit: AuditFacts,
    state: &'a StateInner,
}

impl Unit<'_> {
    /// "Today" in Europe/Stockholm.
    pub fn today(&self) -> NaiveDate {
        crate::clock::stockholm_date(&self.now)
    }

    /// The policy set's decision, without turning a denial into an error.
    pub fn decide_in(&self, action: Action, resource: &Resource, context: &Context) -> Decision {
        self.state
            .policies
            .decide_in(self.question(action, resource, context))
    }

    /// See [`crate::authz::PolicyEngine::consent_would_allow`].
    pub fn consent_would_allow(
        &self,
        action: Action,
        resource: &Resource,
        context: &Context,
    ) -> bool {
        self.state
            .policies
            .consent_would_allow(self.question(action, resource, context))
    }

    /// The caller's question to the policy set.
    fn question<'q>(
        &'q self,
        action: Action,
        resource: &'q Resource,
        context: &'q Context,
    ) -> Question<'q> {
        Question {
            actor: self.actor,
            agency: &self.agency,
            action: action.as_str(),
            resource,
            context,
        }
    }

    /// The policy engine, for questions about other principals (access explanations).
    pub fn policies(&self) -> &crate::authz::PolicyEngine {
        &self.state.policies
    }

    /// `SIG_RETENTION_YEARS`.
    pub fn retention_years(&self) -> u32 {
        self.state.config.retention_years
    }

    /// Field encryption and the blind index.
    pub fn crypto(&self) -> &crate::crypto::fields::FieldCrypto {
        &self.state.crypto
    }

    /// `SIG_ANOMALY_DISTINCT_CASES`.
    pub fn anomaly_distinct_cases(&self) -> i64 {
        self.state.config.anomaly_distinct_cases
    }

    /// The audit log's public key (for checkpoint signatures) and its key id.
    pub fn audit_public_key(&self) -> (Vec<u8>, String) {
        let key = &self.state.keys.audit;
        (key.public_key().to_vec(), key.key_id().to_owned())
    }

    /// Asks the policy set; a denial becomes 403 `forbidden`.
    pub fn authorize(
        &mut self,
        action: Action,
        resource: Resource,
    ) -> Result<Decision, UseCaseError> {
        let decision =
            self.state
                .policies
                .decide(self.actor, &self.agency, action.as_str(), &resource);
        if decision.allowed {
            self.audit.reason = Some(decision.reason());
            Ok(decision)
        } else {
            Err(UseCaseError::Forbidden(format!(
                "your role and agency may not do this ({})",
                action.as_str()
            )))
        }
    }
}

/// The request fields an event records: never the query string (it may hold a personal number).
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub method: String,
    pub path: String,
}

/// One audited request: the application, who asks, and the action its event records.
pub struct Call {
    pub state: AppState,
    pub actor: Actor,
    pub action: Action,
    pub meta: RequestMeta,
}

/// The one builder of events: requests pass their [`RequestMeta`], jobs none.
pub fn event(
    meta: Option<&RequestMeta>,
    actor: EventActor,
    action: Action,
    status: u16,
    facts: AuditFacts,
    denial: Option<&str>,
    now: DateTime<Utc>,
) -> NewEvent {
    let reason = match denial {
        Some(code) => code.to_owned(),
        None => facts.reason.unwrap_or_else(|| "allowed".to_owned()),
    };
    NewEvent {
        id: uuid::Uuid::now_v7().to_string(),
        at: audit::to_micros(now),
        actor,
        action: action.as_str().to_owned(),
        outcome: Outcome::of_status(status).as_str().to_owned(),
        status: i32::from(status),
        case_ids: facts.case_ids,
        categories: facts.categories,
        consent_id: facts.consent_id,
        reason,
        request_id: meta.and_then(|m| m.request_id.clone()),
        method: meta.map(|m| m.method.clone()),
        path: meta.map(|m| m.path.clone()),
    }
}

/// Writes one event that records no unit of work (a refused request, a throttled minute)
/// through the audit log's one door.
pub fn record(state: &StateInner, event: NewEvent) -> Result<(), UseCaseError> {
    let mut conn = state.pool.get()?;
    state
        .audit
        .write(&mut conn, |_| Ok::<_, UseCaseError>(((), Some(event))))
}

/// Runs `work` as `actor` on `conn` (inside a transaction the caller opened), after loading the
/// caller's agency; what it learnt for the audit event goes to `facts`.
fn perform<T>(
    conn: &mut DbConn,
    state: &StateInner,
    actor: &Actor,
    now: DateTime<Utc>,
    facts: &mut AuditFacts,
    work: impl FnOnce(&mut Unit<'_>) -> Result<T, UseCaseError>,
) -> Result<T, UseCaseError> {
    let agency = state
        .agencies
        .facts(conn, &actor.agency)?
        .ok_or(UseCaseError::UnknownAgency)?;
    let mut unit = Unit {
        conn,
        actor,
        agency,
        now,
        audit: AuditFacts::default(),
        state,
    };
    let result = work(&mut unit);
    *facts = std::mem::take(&mut unit.audit);
    result
}

/// Runs a blocking piece of work on the runtime's blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, UseCaseError> {
    actix_web::rt::task::spawn_blocking(work)
        .await
        .map_err(|_| UseCaseError::Internal("a unit of work panicked".to_owned()))
}

impl Call {
    /// The event of this request, which ended with `result`.
    fn event<T>(
        &self,
        success: u16,
        result: &Result<T, UseCaseError>,
        facts: AuditFacts,
        now: DateTime<Utc>,
    ) -> NewEvent {
        let status = result
            .as_ref()
            .map_or_else(UseCaseError::status, |_| success);
        let denial = result.as_ref().err().map(UseCaseError::code);
        let actor = EventActor::from(&self.actor);
        event(
            Some(&self.meta),
            actor,
            self.action,
            status,
            facts,
            denial,
            now,
        )
    }
}

/// Runs `work` as one audited unit of work for the caller, in one write transaction with its
/// event; `success` is the status it answers with when the work succeeds.
pub async fn run<T, F>(call: Call, success: u16, work: F) -> Result<T, UseCaseError>
where
    T: Send + 'static,
    F: FnOnce(&mut Unit<'_>) -> Result<T, UseCaseError> + Send + 'static,
{
    blocking(move || {
        let state = call.state.clone();
        let mut conn = state.pool.get()?;
        let now = state.clock.now();
        state.audit.write(&mut conn, |conn: &mut DbConn| {
            let mut facts = AuditFacts::default();
            // The work runs in a savepoint: its changes roll back on any error, the event stays.
            let result = conn.transaction(|conn: &mut DbConn| {
                perform(conn, &state, &call.actor, now, &mut facts, work)
            });
            let event = call.event(success, &result, facts, now);
            Ok::<_, UseCaseError>((result, Some(event)))
        })
    })
    .await??
}

/// Runs `work` as one audited read: the work as a [`db::read_tx`] (beside other reads and the
/// writer, holding no write lock), then its one event through the group-committing writer
/// ([`crate::audit::log::AuditLog::submit`]). The result is returned only once the event is
/// committed; if it cannot be, the answer is 503 and nothing is disclosed. For requests that
/// change nothing.
pub async fn read<T, F>(call: Call, success: u16, work: F) -> Result<T, UseCaseError>
where
    T: Send + 'static,
    F: FnOnce(&mut Unit<'_>) -> Result<T, UseCaseError> + Send + 'static,
{
    let state = call.state.clone();
    // A turn first: at most `SIG_READ_CONCURRENCY` reads work at once (one per core by
    // default), the rest wait in arrival order without a thread. At load, every thread beyond
    // the cores only made the slowest requests slower. A turn not given within the pool's
    // checkout time is not waited for (the read then runs as it would have without turns), so
    // reads stuck on an unreachable database cannot queue the others for long.
    let turn = match state.read_slots.try_acquire() {
        Ok(turn) => Some(turn),
        // No turn free (or others already waiting: tokio hands freed turns to them first).
        Err(_) => actix_web::rt::time::timeout(TURN_WAIT, state.read_slots.acquire())
            .await
            .ok()
            .and_then(Result::ok),
    };
    // The work on a blocking thread; the wait for the event's commit is not on one, so a read
    // waiting for the group commit holds neither a thread nor a connection (nor a turn).
    let (result, event) = blocking(move || {
        let state = call.state.clone();
        let now = state.clock.now();
        let mut facts = AuditFacts::default();
        let result = match state.pool.get() {
            Ok(mut conn) => db::read_tx(&mut conn, |conn: &mut DbConn| {
                perform(conn, &state, &call.actor, now, &mut facts, work)
            }),
            Err(error) => Err(UseCaseError::from(error)),
        };
        let event = call.event(success, &result, facts, now);
        (result, event)
    })
    .await?;
    drop(turn);
    state.audit.submit(event).await?;
    result
}

/// As [`read`], and once its event is committed, `then` on a connection of its own, without a
/// turn (it may scan the whole log), outside any transaction: `then` opens the ones it needs.
/// For answers that must include the request's own event — the verification of the audit log,
/// the verifiable extract (which first signs the log's head, a write, then reads against it).
pub async fn read_then<A, T, F, G>(
    call: Call,
    success: u16,
    work: F,
    then: G,
) -> Result<T, UseCaseError>
where
    A: Send + 'static,
    T: Send + 'static,
    F: FnOnce(&mut Unit<'_>) -> Result<A, UseCaseError> + Send + 'static,
    G: FnOnce(&mut DbConn, &StateInner, A) -> Result<T, UseCaseError> + Send + 'static,
{
    let state = call.state.clone();
    let allowed = read(call, success, work).await?;
    blocking(move || {
        let mut conn = state.pool.get()?;
        then(&mut conn, &state, allowed)
    })
    .await?
}

/// Runs `work` without an audit event: only for the reference data that API.md §10 exempts
/// (authenticated `GET areas` and `GET agencies`). The caller's agency is still checked.
pub async fn run_unaudited<T, F>(state: AppState, actor: Actor, work: F) -> Result<T, UseCaseError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, UseCaseError> + Send + 'static,
{
    blocking(move || {
        let mut conn = state.pool.get()?;
        db::read_tx(&mut conn, |conn| {
            state
                .agencies
                .facts(conn, &actor.agency)?
                .ok_or(UseCaseError::UnknownAgency)?;
            work(conn)
        })
    })
    .await?
}

/// The policy set's answer for the caller, without a unit of work and without an event: only
/// for pages that show reference data (exempt from the log, API.md §10) and need to know
/// whether to offer a form whose write is then audited on its own (the agency registry).
pub async fn may(
    state: AppState,
    actor: Actor,
    action: Action,
    resource: Resource,
) -> Result<bool, UseCaseError> {
    blocking(move || {
        let mut conn = state.pool.get()?;
        let agency = db::read_tx(&mut conn, |conn| state.agencies.facts(conn, &actor.agency))?
            .ok_or(UseCaseError::UnknownAgency)?;
        Ok(state
            .policies
            .decide(&actor, &agency, action.as_str(), &resource)
            .allowed)
    })
    .await?
}
