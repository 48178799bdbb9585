//! Appending to the chain, signing checkpoints, and verifying the whole log.
//!
//! An append happens at the very end of a unit of work, inside its transaction: the chain head
//! is locked only from that moment until the commit (PostgreSQL: a transaction-scoped advisory
//! lock; SQLite: the write lock `BEGIN IMMEDIATE` already holds), so no global lock is held
//! across a request's own work, and the event commits or rolls back with the write it records.

use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{chain_hash, checkpoint_message, NewEvent};
use crate::crypto::keys::{hex, AuditKeys};
use crate::db::schema::{audit_checkpoints, audit_event_cases, audit_events};
use crate::db::DbConn;

/// A checkpoint is signed at least every this many events (and every 60 s, and at shutdown).
pub const CHECKPOINT_EVERY: i64 = 1000;
/// `prev_hash` of the first event.
pub const GENESIS: [u8; 32] = [0; 32];
/// The newest head this instance committed, signed like a checkpoint and kept beside the keys,
/// outside the database: an attacker with database access alone cannot cut the log back past
/// it unnoticed. Rewritten at most every 250 ms and at shutdown.
pub const WITNESS_FILE: &str = "audit-witness.json";
/// An event's place in the chain: its `seq` and `hash`.
pub type Head = (i64, [u8; 32]);
const CHAIN_LOCK_KEY: i64 = 0x5349_475f_4155_4454; // "SIG_AUDT"
pub(super) const VERIFY_BATCH: i64 = 5_000;

pub use super::row::EventRow;
use super::{merkle, tree};

/// A signed checkpoint.
#[derive(
    Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize, Deserialize,
)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub at: NaiveDateTime,
    pub signature: Vec<u8>,
    pub key_id: String,
    /// The Merkle tree's root over events `1..=seq` (`None` on checkpoints signed before the
    /// tree, or when it could not stand at `seq`).
    #[serde(default)]
    pub root: Option<Vec<u8>>,
    /// The tree head as a signed C2SP checkpoint note, with `root`.
    #[serde(default)]
    pub note: Option<String>,
}

fn lock_chain(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY})")).execute(pg)?;
    }
    Ok(())
}

/// The last event's `seq` and `hash`.
///
/// Hot-path lookups here avoid `LIMIT ?`: SQLite reads a bound LIMIT while planning, so a
/// statement with one is compiled again on every run (a quarter of a case read's CPU).
pub fn head(conn: &mut DbConn) -> QueryResult<Option<(i64, Vec<u8>)>> {
    let newest = diesel::alias!(audit_events as newest);
    let last = newest
        .select(diesel::dsl::max(newest.field(audit_events::seq)))
        .single_value()
        .assume_not_null();
    crate::on_backend!(conn, |c| audit_events::table
        .select((audit_events::seq, audit_events::hash))
        .filter(audit_events::seq.eq(last))
        .get_result(c)
        .optional())
}

/// Appends `event` to the chain in the current transaction and returns its `seq` and `hash`.
/// Every [`CHECKPOINT_EVERY`] events the same transaction also signs a checkpoint.
pub fn append(conn: &mut DbConn, event: &NewEvent, signer: &AuditKeys) -> QueryResult<Head> {
    let heads = append_all(conn, std::slice::from_ref(event), signer)?;
    heads
        .into_iter()
        .next()
        .ok_or(diesel::result::Error::NotFound)
}

/// Appends `events`, in order, in the current transaction: the chain is locked and its head
/// read once, and the rows go in as one multi-row insert. Returns each event's `seq` and `hash`.
pub fn append_all(
    conn: &mut DbConn,
    events: &[NewEvent],
    signer: &AuditKeys,
) -> QueryResult<Vec<Head>> {
    append_all_with(conn, events, None, signer)
}

/// As [`append_all`], with the events' tree leaves made beforehand ([`super::leaf_of`]), off the
/// chain's one line: the audit writer has the requests' threads make them.
pub fn append_all_with(
    conn: &mut DbConn,
    events: &[NewEvent],
    leaves: Option<&[merkle::Hash]>,
    signer: &AuditKeys,
) -> QueryResult<Vec<Head>> {
    lock_chain(conn)?;
    let head = match head(conn)? {
        Some((seq, hash)) => (seq, hash),
        None => (0, GENESIS.to_vec()),
    };
    let size = u64::try_from(head.0).unwrap_or(0);
    // The tree stands at the head (one query), or is caught up to it under this lock.
    let growth = match tree::growth(conn, size)? {
        Some(growth) => Some(growth),
        None => tree::catch_up(conn, size, &signer.leaf)?,
    };
    let linked = Linked::after(head, growth, events, leaves, signer);
    match &mut *conn {
        // One prepared statement for the three tables, whatever the batch's size.
        DbConn::Postgresql(c) => {
            let batch = super::batch_pg::EventBatch::new(
                CHAIN_LOCK_KEY,
                linked.rows,
                linked.index,
                &linked.tree,
            );
            if !batch.insert(c)? {
                // This transaction holds the lock, so taking it again cannot fail.
                return Err(diesel::result::Error::QueryBuilderError(
                    "the audit chain lock was not held".into(),
                ));
            }
        }
        // Multi-row inserts need the concrete connection (MultiConnection has none). Chunks
        // stay well below SQLite's limit of bound parameters per statement.
        DbConn::Sqlite(c) => {
            for chunk in linked.rows.chunks(500) {
                diesel::insert_into(audit_events::table)
                    .values(chunk)
                    .execute(c)?;
            }
            let index: Vec<_> = linked
                .index
                .iter()
                .map(|(case_id, seq)| {
                    (
                        audit_event_cases::case_id.eq(case_id),
                        audit_event_cases::seq.eq(*seq),
                    )
                })
                .collect();
            for chunk in index.chunks(2000) {
                diesel::insert_into(audit_event_cases::table)
                    .values(chunk)
                    .execute(c)?;
            }
            tree::insert(conn, &linked.tree)?;
        }
    }
    for checkpoint in &linked.checkpoints {
        diesel::insert_into(audit_checkpoints::table)
            .values(checkpoint)
            .execute(conn)?;
    }
    Ok(linked.heads)
}

/// Brings the Merkle tree up to the log's head (in a write transaction, under the chain lock):
/// at start-up, so a log written before the tree gets its nodes before the first request
/// rather than during it. Returns how many events the tree now covers (`None`: it cannot stand
/// at the head — see [`tree::catch_up`]).
pub fn catch_up_tree(conn: &mut DbConn, keys: &AuditKeys) -> QueryResult<Option<u64>> {
    lock_chain(conn)?;
    let size = head(conn)?.map_or(0, |(seq, _)| u64::try_from(seq).unwrap_or(0));
    Ok(tree::catch_up(conn, size, &keys.leaf)?.map(|grown| grown.size()))
}

/// PostgreSQL: appends `events` right after `head`, the last event this process committed, in
/// one statement outside any transaction (its own commit) and without waiting for the chain
/// lock: the statement takes the lock only if it is free, and the primary keys on `seq` (and on
/// the case index's `(case_id, seq)`) refuse an event whose place another appender took since.
/// Either way nothing is written and `None` comes back, and the caller appends under the lock
/// ([`append_all`]); `None` too when a checkpoint falls due in the batch (signed under the lock,
/// with its events). So the chain stays one line whoever appends, and the audit writer saves
/// the lock, the head read, `BEGIN` and `COMMIT` on each batch. Inside a transaction (where
/// its statement would not be its own commit) it writes nothing and returns `None`.
pub fn append_after(
    conn: &mut diesel::PgConnection,
    head: Head,
    events: &[NewEvent],
    signer: &AuditKeys,
) -> QueryResult<Option<Vec<Head>>> {
    append_after_with(conn, head, events, None, signer)
}

/// As [`append_after`], with the events' leaves made beforehand (see [`append_all_with`]).
pub fn append_after_with(
    conn: &mut diesel::PgConnection,
    head: Head,
    events: &[NewEvent],
    leaves: Option<&[merkle::Hash]>,
    signer: &AuditKeys,
) -> QueryResult<Option<Vec<Head>>> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    if AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some()
    {
        return Ok(None);
    }
    let last = head.0 + i64::try_from(events.len()).unwrap_or(i64::MAX);
    if last / CHECKPOINT_EVERY != head.0 / CHECKPOINT_EVERY {
        // A checkpoint falls due within the batch.
        return Ok(None);
    }
    // The tree at the head: a read of its border. Not there (behind, ahead, or the head moved
    // on), the caller appends under the lock, which catches the tree up.
    let Some(growth) = tree::growth_pg(conn, u64::try_from(head.0).unwrap_or(0))? else {
        return Ok(None);
    };
    let linked = Linked::after(
        (head.0, head.1.to_vec()),
        Some(growth),
        events,
        leaves,
        signer,
    );
    let batch =
        super::batch_pg::EventBatch::new(CHAIN_LOCK_KEY, linked.rows, linked.index, &linked.tree);
    match batch.insert(conn) {
        Ok(true) => Ok(Some(linked.heads)),
        Ok(false) => Ok(None),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        )) if matches!(
            info.constraint_name(),
            // The place taken, met in either table first.
            Some("audit_events_pkey" | "audit_event_cases_pkey" | "audit_tree_pkey")
        ) =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Events linked onto a head: their rows, case index rows, `(seq, hash)`, the checkpoints
/// that fall due among them and the tree nodes their leaves complete.
struct Linked {
    rows: Vec<EventRow>,
    index: Vec<(String, i64)>,
    heads: Vec<Head>,
    checkpoints: Vec<Checkpoint>,
    tree: Vec<tree::Node>,
}

impl Linked {
    /// With `growth`, the tree standing at the head; without (a tree that cannot stand there,
    /// reported when it was found), the events go in without nodes.
    fn after(
        (mut seq, mut prev_hash): (i64, Vec<u8>),
        mut growth: Option<merkle::Growth>,
        events: &[NewEvent],
        leaves: Option<&[merkle::Hash]>,
        signer: &AuditKeys,
    ) -> Self {
        let mut linked = Self {
            rows: Vec::with_capacity(events.len()),
            index: Vec::new(),
            heads: Vec::with_capacity(events.len()),
            checkpoints: Vec::new(),
            tree: Vec::new(),
        };
        for (i, event) in events.iter().enumerate() {
            seq += 1;
            let made = leaves.and_then(|leaves| leaves.get(i)).copied();
            let (body, leaf) = super::with_fields(seq, event, |f| {
                let mut body = Vec::with_capacity(640);
                super::write_canonical(&mut body, f);
                let leaf = made.unwrap_or_else(|| super::leaf::leaf_hash(&signer.leaf, f));
                (body, leaf)
            });
            let hash = chain_hash(&prev_hash, &body);
            if let Some(grown) = growth.as_mut() {
                if grown.push(leaf).is_err() {
                    tracing::error!(seq, "the audit tree's border is incomplete");
                    growth = None;
                }
            }
            linked.index.extend(
                super::case_set(&event.case_ids)
                    .into_iter()
                    .map(|case_id| (case_id.clone(), seq)),
            );
            if seq % CHECKPOINT_EVERY == 0 {
                let root = growth.as_mut().and_then(|grown| grown.root().ok());
                linked
                    .checkpoints
                    .push(sign_head(signer, seq, &hash, event.at, root));
            }
            linked
                .rows
                .push(EventRow::new(seq, event, prev_hash, hash.to_vec()));
            linked.heads.push((seq, hash));
            prev_hash = hash.to_vec();
        }
        if let Some(grown) = growth {
            linked.tree = grown.added;
        }
        linked
    }
}

fn write_checkpoint(
    conn: &mut DbConn,
    seq: i64,
    hash: &[u8],
    at: NaiveDateTime,
    signer: &AuditKeys,
) -> QueryResult<Checkpoint> {
    let size = u64::try_from(seq).unwrap_or(0);
    let root = tree::growth(conn, size)?.and_then(|mut grown| grown.root().ok());
    let checkpoint = sign_head(signer, seq, hash, at, root);
    diesel::insert_into(audit_checkpoints::table)
        .values(&checkpoint)
        .execute(conn)?;
    Ok(checkpoint)
}

/// Signs a checkpoint over the current head unless one already covers it; returns the
/// newest checkpoint. Run in a write transaction.
pub fn checkpoint_head(
    conn: &mut DbConn,
    signer: &AuditKeys,
    at: NaiveDateTime,
) -> QueryResult<Option<Checkpoint>> {
    lock_chain(conn)?;
    let Some((seq, hash)) = head(conn)? else {
        return Ok(None);
    };
    if let Some(last) = latest_checkpoint(conn)? {
        if last.seq >= seq {
            return Ok(Some(last));
        }
    }
    write_checkpoint(conn, seq, &hash, at, signer).map(Some)
}

pub fn latest_checkpoint(conn: &mut DbConn) -> QueryResult<Option<Checkpoint>> {
    let newest = diesel::alias!(audit_checkpoints as newest);
    let last = newest
        .select(diesel::dsl::max(newest.field(audit_checkpoints::seq)))
        .single_value()
        .assume_not_null();
    audit_checkpoints::table
        .select(Checkpoint::as_select())
        .filter(audit_checkpoints::seq.eq(last))
        .get_result(conn)
        .optional()
}

/// The size of the newest signed tree head (a checkpoint with its note).
pub fn latest_signed_tree_size(conn: &mut DbConn) -> QueryResult<Option<u64>> {
    let seq: Option<i64> = audit_checkpoints::table
        .filter(audit_checkpoints::note.is_not_null())
        .select(diesel::dsl::max(audit_checkpoints::seq))
        .first(conn)?;
    Ok(seq.and_then(|seq| u64::try_from(seq).ok()))
}

/// The signed tree heads after size `after`, oldest first: `(tree size, note)`.
pub fn signed_heads_after(conn: &mut DbConn, after: u64) -> QueryResult<Vec<(u64, String)>> {
    let rows: Vec<(i64, Option<String>)> = audit_checkpoints::table
        .filter(audit_checkpoints::seq.gt(i64::try_from(after).unwrap_or(i64::MAX)))
        .filter(audit_checkpoints::note.is_not_null())
        .order(audit_checkpoints::seq.asc())
        .select((audit_checkpoints::seq, audit_checkpoints::note))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, note)| Some((u64::try_from(seq).ok()?, note?)))
        .collect())
}

pub fn checkpoints(conn: &mut DbConn) -> QueryResult<Vec<Checkpoint>> {
    audit_checkpoints::table
        .select(Checkpoint::as_select())
        .order(audit_checkpoints::seq.asc())
        .load(conn)
}

/// Signs `(seq, hash, at)` with the audit key and, given the tree's `root` at `seq`, the
/// tree head as a C2SP checkpoint note.
pub fn sign_head(
    signer: &AuditKeys,
    seq: i64,
    hash: &[u8],
    at: NaiveDateTime,
    root: Option<merkle::Hash>,
) -> Checkpoint {
    let signature = signer
        .signing
        .pair
        .sign(checkpoint_message(seq, hash, &at).as_bytes());
    let note = root.map(|root| {
        let body =
            super::note::checkpoint_body(&signer.origin, u64::try_from(seq).unwrap_or(0), &root);
        super::note::sign(&body, &signer.origin, &signer.signing.pair)
    });
    Checkpoint {
        seq,
        hash: hash.to_vec(),
        at,
        signature: signature.as_ref().to_vec(),
        key_id: signer.key_id().to_owned(),
        root: root.map(|root| root.to_vec()),
        note,
    }
}

/// Records a signed head in `dir/audit-witness.json` (a temporary file, then renamed).
pub fn write_witness(dir: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = dir.join(format!("{WITNESS_FILE}.tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(&serde_json::to_vec(checkpoint).map_err(std::io::Error::other)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(WITNESS_FILE))
}

/// The witness in `dir`, if this instance has written one. A witness that cannot be read is an
/// error: it may have been tampered with.
pub fn read_witness(dir: &Path) -> Result<Option<Checkpoint>, String> {
    match std::fs::read(dir.join(WITNESS_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| format!("{WITNESS_FILE} is not readable")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{WITNESS_FILE}: {e}")),
    }
}

/// Lowercase hex of a hash, for messages and the API.
pub fn hash_hex(hash: &[u8]) -> String {
    hex(hash)
}
