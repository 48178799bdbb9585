//! A batch of audit events, their case index rows and their tree nodes, inserted into PostgreSQL by one
//! statement of fixed text: each column travels as one array parameter and `unnest` turns the
//! arrays back into rows. diesel's multi-row `VALUES` changes its text with the number of
//! rows, so PostgreSQL parsed and planned it for every batch; this statement is prepared once
//! per connection, whatever the batch's size, and writes both tables in one round trip (the
//! foreign key from the case index is checked at the end of the statement).
//!
//! The statement takes the chain lock itself, without waiting (`pg_try_advisory_xact_lock`),
//! and writes nothing unless it holds it, so it can also run on its own, outside any
//! transaction, after a head this process committed ([`super::chain::append_after`]). Inside a
//! transaction that already holds the lock, taking it again always succeeds.

use chrono::NaiveDateTime;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Bool, Integer, Nullable, Text, Timestamp};
use diesel::{QueryResult, RunQueryDsl};

use super::row::EventRow;

/// The columns of `audit_events`, one vector each, in the statement's order.
#[derive(Default)]
pub struct EventBatch {
    /// The advisory lock that serialises appends to the chain.
    lock_key: i64,
    seq: Vec<i64>,
    id: Vec<String>,
    at: Vec<NaiveDateTime>,
    actor_sub: Vec<Option<String>>,
    actor_name: Vec<Option<String>>,
    actor_agency: Vec<Option<String>>,
    actor_roles: Vec<Option<String>>,
    action: Vec<String>,
    outcome: Vec<String>,
    status: Vec<i32>,
    case_ids: Vec<String>,
    categories: Vec<String>,
    consent_id: Vec<Option<String>>,
    reason: Vec<String>,
    request_id: Vec<Option<String>>,
    method: Vec<Option<String>>,
    path: Vec<Option<String>>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
    /// `audit_event_cases`: one row per (case, event).
    index_case_id: Vec<String>,
    index_seq: Vec<i64>,
    /// `audit_tree`: the nodes the events' leaves complete.
    tree_level: Vec<i32>,
    tree_idx: Vec<i64>,
    tree_hash: Vec<Vec<u8>>,
}

impl EventBatch {
    pub fn new(
        lock_key: i64,
        rows: Vec<EventRow>,
        index: Vec<(String, i64)>,
        tree: &[super::tree::Node],
    ) -> Self {
        let mut batch = Self {
            lock_key,
            ..Self::default()
        };
        for row in rows {
            // Destructured, so a field added to the row stops the build until it is sent.
            let EventRow {
                seq,
                id,
                at,
                actor_sub,
                actor_name,
                actor_agency,
                actor_roles,
                action,
                outcome,
                status,
                case_ids,
                categories,
                consent_id,
                reason,
                request_id,
                method,
                path,
                prev_hash,
                hash,
            } = row;
            batch.seq.push(seq);
            batch.id.push(id);
            batch.at.push(at);
            batch.actor_sub.push(actor_sub);
            batch.actor_name.push(actor_name);
            batch.actor_agency.push(actor_agency);
            batch.actor_roles.push(actor_roles);
            batch.action.push(action);
            batch.outcome.push(outcome);
            batch.status.push(status);
            batch.case_ids.push(case_ids);
            batch.categories.push(categories);
            batch.consent_id.push(consent_id);
            batch.reason.push(reason);
            batch.request_id.push(request_id);
            batch.method.push(method);
            batch.path.push(path);
            batch.prev_hash.push(prev_hash);
            batch.hash.push(hash);
        }
        (batch.index_case_id, batch.index_seq) = index.into_iter().unzip();
        (batch.tree_level, batch.tree_idx, batch.tree_hash) = super::tree::columns(tree);
        batch
    }

    /// Inserts the batch if the chain lock is (or can at once be) held: `false` when another
    /// session holds it, and nothing was written.
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<bool> {
        self.get_result(conn)
    }
}

/// The statement's own id: its text never changes.
impl QueryId for EventBatch {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for EventBatch {
    type SqlType = Bool;
}

impl RunQueryDsl<PgConnection> for &EventBatch {}

impl QueryFragment<Pg> for EventBatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        macro_rules! arrays {
            ($($field:ident: $sql:ty),+ $(,)?) => {{
                let mut first = true;
                $(
                    if !std::mem::take(&mut first) {
                        out.push_sql(", ");
                    }
                    out.push_bind_param::<Array<$sql>, _>(&self.$field)?;
                )+
            }};
        }
        out.push_sql("WITH gate AS (SELECT pg_try_advisory_xact_lock(");
        out.push_bind_param::<BigInt, _>(&self.lock_key)?;
        out.push_sql(
            ") AS held), \
             events AS (INSERT INTO audit_events (seq, id, at, actor_sub, actor_name, \
             actor_agency, actor_roles, action, outcome, status, case_ids, categories, \
             consent_id, reason, request_id, method, path, prev_hash, hash) \
             SELECT * FROM unnest(",
        );
        arrays!(
            seq: BigInt,
            id: Text,
            at: Timestamp,
            actor_sub: Nullable<Text>,
            actor_name: Nullable<Text>,
            actor_agency: Nullable<Text>,
            actor_roles: Nullable<Text>,
            action: Text,
            outcome: Text,
            status: Integer,
            case_ids: Text,
            categories: Text,
            consent_id: Nullable<Text>,
            reason: Text,
            request_id: Nullable<Text>,
            method: Nullable<Text>,
            path: Nullable<Text>,
            prev_hash: Binary,
            hash: Binary,
        );
        out.push_sql(
            ") WHERE (SELECT held FROM gate)), \
             cases AS (INSERT INTO audit_event_cases (case_id, seq) SELECT * FROM unnest(",
        );
        arrays!(index_case_id: Text, index_seq: BigInt);
        out.push_sql(
            ") WHERE (SELECT held FROM gate)), \
             tree AS (INSERT INTO audit_tree (level, idx, hash) SELECT * FROM unnest(",
        );
        arrays!(tree_level: Integer, tree_idx: BigInt, tree_hash: Binary);
        out.push_sql(") WHERE (SELECT held FROM gate)) SELECT held FROM gate");
        Ok(())
    }
}
