//! Appending to the chain, signing checkpoints, and verifying the whole log.
//!
//! An append happens at the very end of a unit of work, inside its transaction: the chain head
//! is locked only from that moment until the commit (PostgreSQL: a transaction-scoped advisory
//! lock; SQLite: the write lock `BEGIN IMMEDIATE` already holds), so no global lock is held
//! across a request's own work, and the event commits or rolls back with the write it records.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use ring::signature::{UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

use super::scan::{CheckedEvent, Stored32};
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
const VERIFY_BATCH: i64 = 5_000;

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
    let linked = Linked::after(head, growth, events, signer);
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
    let linked = Linked::after((head.0, head.1.to_vec()), Some(growth), events, signer);
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
        signer: &AuditKeys,
    ) -> Self {
        let mut linked = Self {
            rows: Vec::with_capacity(events.len()),
            index: Vec::new(),
            heads: Vec::with_capacity(events.len()),
            checkpoints: Vec::new(),
            tree: Vec::new(),
        };
        for event in events {
            seq += 1;
            let (body, leaf) = super::with_fields(seq, event, |f| {
                let mut body = Vec::with_capacity(640);
                super::write_canonical(&mut body, f);
                (body, super::leaf::leaf_hash(&signer.leaf, f))
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

/// The result of verifying the log (API.md §10 `GET /audit/verify`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub events_verified: i64,
    pub checkpoints_verified: i64,
    pub head: Option<(i64, Vec<u8>)>,
    /// The first bad `seq` and why.
    pub failure: Option<(i64, String)>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

fn keep_first(failure: &mut Option<(i64, String)>, seq: i64, reason: String) {
    if failure.as_ref().is_none_or(|(first, _)| seq < *first) {
        *failure = Some((seq, reason));
    }
}

/// Verifies every event's place and hash, that the case index holds exactly each event's case
/// ids, every checkpoint's signature and hash, and that the log still reaches the `witness`
/// checkpoint. Reads in batches; never loads the whole log.
pub fn verify(
    conn: &mut DbConn,
    public_key: &[u8],
    witness: Option<&Checkpoint>,
) -> QueryResult<Verification> {
    verify_with(conn, None, public_key, witness)
}

/// Below this many events, a second connection is not worth its thread.
const PARALLEL_FROM: i64 = 20_000;

/// As [`verify`]; with a `helper` connection (in a read transaction of its own), the upper half
/// of the log is verified on it at the same time. Each event's check needs only its own row and
/// the stored hash before it, so the halves are independent but for the link between them,
/// checked here. The head is fixed first on `conn`: events appended meanwhile are not read.
pub fn verify_with(
    conn: &mut DbConn,
    helper: Option<&mut DbConn>,
    public_key: &[u8],
    witness: Option<&Checkpoint>,
) -> QueryResult<Verification> {
    verify_split(conn, helper, public_key, witness, PARALLEL_FROM)
}

/// As [`verify_with`], splitting the log between the connections from `parallel_from` events
/// on (tests split small logs to compare the split verification with the sequential one).
pub fn verify_split(
    conn: &mut DbConn,
    helper: Option<&mut DbConn>,
    public_key: &[u8],
    witness: Option<&Checkpoint>,
    parallel_from: i64,
) -> QueryResult<Verification> {
    let key = UnparsedPublicKey::new(&ED25519, public_key);
    let mut failure: Option<(i64, String)> = None;
    // Checkpoints first: signatures need no events.
    let mut pending: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    let mut checkpoints_verified = 0;
    for checkpoint in checkpoints(conn)? {
        let message = checkpoint_message(checkpoint.seq, &checkpoint.hash, &checkpoint.at);
        if key
            .verify(message.as_bytes(), &checkpoint.signature)
            .is_err()
        {
            keep_first(
                &mut failure,
                checkpoint.seq,
                "the checkpoint's signature does not verify with the audit key".to_owned(),
            );
        } else {
            checkpoints_verified += 1;
        }
        pending.insert(checkpoint.seq, checkpoint.hash);
    }
    // The witness: a signed head kept outside the database. The log must still reach it.
    let mut witness_seq = None;
    if let Some(witness) = witness {
        let message = checkpoint_message(witness.seq, &witness.hash, &witness.at);
        if key.verify(message.as_bytes(), &witness.signature).is_err() {
            keep_first(
                &mut failure,
                witness.seq,
                format!("{WITNESS_FILE} holds a head whose signature does not verify"),
            );
        } else if pending
            .get(&witness.seq)
            .is_some_and(|hash| *hash != witness.hash)
        {
            keep_first(
                &mut failure,
                witness.seq,
                format!("a checkpoint disagrees with the head recorded in {WITNESS_FILE}"),
            );
        } else {
            pending.insert(witness.seq, witness.hash.clone());
            witness_seq = Some(witness.seq);
        }
    }

    let head_seq: i64 = audit_events::table
        .select(diesel::dsl::max(audit_events::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    let (lower, upper) = match helper {
        Some(helper) if head_seq >= parallel_from.max(2) => {
            let mid = head_seq / 2;
            let mut upper_pending = pending.split_off(&(mid + 1));
            let (lower, upper) = std::thread::scope(|scope| {
                let upper = scope.spawn(|| {
                    diesel::Connection::transaction(helper, |helper| {
                        verify_range(helper, mid + 1, head_seq, None, &mut upper_pending)
                    })
                });
                let lower = verify_range(conn, 1, mid, Some(GENESIS), &mut pending);
                let upper = upper.join().unwrap_or_else(|_| {
                    Err(diesel::result::Error::QueryBuilderError(
                        "the verifying thread stopped".into(),
                    ))
                });
                (lower, upper)
            });
            pending.append(&mut upper_pending);
            (lower?, Some(upper?))
        }
        _ => (
            verify_range(conn, 1, head_seq, Some(GENESIS), &mut pending)?,
            None,
        ),
    };
    let mut events_verified = lower.verified;
    let mut head = lower.last;
    if let Some((seq, reason)) = lower.failure {
        keep_first(&mut failure, seq, reason);
    } else if let Some(upper) = upper {
        let linked = lower
            .last
            .is_some_and(|(_, hash)| upper.first_prev == Some(Some(hash)));
        if upper.first_prev.is_some() && !linked {
            keep_first(
                &mut failure,
                lower.last.map_or(1, |(seq, _)| seq + 1),
                "prev_hash does not link to the previous event's hash".to_owned(),
            );
        } else {
            events_verified += upper.verified;
            head = upper.last.or(head);
            if let Some((seq, reason)) = upper.failure {
                keep_first(&mut failure, seq, reason);
            }
        }
    }
    if failure.is_none() {
        if let Some((&seq, _)) = pending.iter().next() {
            let reason = if Some(seq) == witness_seq {
                format!("event {seq}, recorded as the head in {WITNESS_FILE}, is missing: the log was cut")
            } else {
                format!("a signed checkpoint names event {seq}, which is missing: the log was cut")
            };
            keep_first(&mut failure, seq, reason);
        }
    }
    Ok(Verification {
        events_verified,
        checkpoints_verified,
        head: head.map(|(seq, hash)| (seq, hash.to_vec())),
        failure,
    })
}

/// What verifying one range of the log found.
struct Segment {
    /// Events verified before the first failure.
    verified: i64,
    failure: Option<(i64, String)>,
    /// For a range verified without the hash before it: the first event's stored `prev_hash`,
    /// when the first event is there.
    first_prev: Option<Stored32>,
    /// The last verified event and its hash.
    last: Option<(i64, [u8; 32])>,
}

/// Verifies events `from..=to`: each present in order, linked to the one before (from
/// `start_prev`, or, when `None`, left to the caller for the first event), hashing to its
/// stored hash, and with exactly its case ids in the case index; removes the checkpoints it
/// reaches from `pending`, checking their hashes.
fn verify_range(
    conn: &mut DbConn,
    from: i64,
    to: i64,
    start_prev: Option<[u8; 32]>,
    pending: &mut BTreeMap<i64, Vec<u8>>,
) -> QueryResult<Segment> {
    let mut segment = Segment {
        verified: 0,
        failure: None,
        first_prev: None,
        last: None,
    };
    let mut expected_seq = from;
    let mut prev_hash = start_prev;
    'batches: while expected_seq <= to {
        let batch: Vec<CheckedEvent> = audit_events::table
            .filter(audit_events::seq.between(expected_seq, to))
            .order(audit_events::seq.asc())
            .limit(VERIFY_BATCH)
            .load(conn)?;
        if batch.is_empty() {
            // The range ends in a gap: name the next stored event, as one pass over the whole
            // log would have met it.
            let next: Option<i64> = audit_events::table
                .select(diesel::dsl::min(audit_events::seq))
                .filter(audit_events::seq.gt(to))
                .first(conn)?;
            if let Some(next) = next {
                segment.failure = Some((
                    expected_seq,
                    format!("event {expected_seq} is missing (the next stored event is {next})"),
                ));
            }
            break;
        }
        // The case index rows of these events (the access-log extract and the search's case
        // filter read them, not the events), each checked below against its event's case ids.
        let (first, last) = (batch[0].seq, batch[batch.len() - 1].seq);
        let index: Vec<(i64, String)> = audit_event_cases::table
            .select((audit_event_cases::seq, audit_event_cases::case_id))
            .filter(audit_event_cases::seq.between(first, last))
            .order(audit_event_cases::seq.asc())
            .load(conn)?;
        let mut index = index.into_iter().peekable();
        for row in batch {
            let seq = row.seq;
            let fail = |reason: String| Some((seq, reason));
            if seq != expected_seq {
                segment.failure = Some((
                    expected_seq,
                    format!("event {expected_seq} is missing (the next stored event is {seq})"),
                ));
                break 'batches;
            }
            match prev_hash {
                Some(prev) if row.prev_hash != Some(prev) => {
                    segment.failure =
                        fail("prev_hash does not link to the previous event's hash".to_owned());
                    break 'batches;
                }
                Some(_) => {}
                None => segment.first_prev = Some(row.prev_hash),
            }
            let Some(stored_hash) = row.hash.filter(|hash| *hash == row.content_hash) else {
                segment.failure = fail("the hash does not match the event's content".to_owned());
                break 'batches;
            };
            if let Some(expected) = pending.remove(&seq) {
                if expected != stored_hash {
                    segment.failure = fail(
                        "the event's hash differs from a signed checkpoint or the witnessed head"
                            .to_owned(),
                    );
                    break 'batches;
                }
            }
            let mut indexed: Vec<String> = Vec::new();
            while let Some((_, case_id)) = index.next_if(|(at, _)| *at <= seq) {
                indexed.push(case_id);
            }
            indexed.sort_unstable();
            if row.case_ids.as_ref() != Some(&indexed) {
                segment.failure = fail(
                    "the case index (read for the access-log extract) does not hold exactly the \
                     event's case ids"
                        .to_owned(),
                );
                break 'batches;
            }
            segment.verified += 1;
            segment.last = Some((seq, stored_hash));
            prev_hash = Some(stored_hash);
            expected_seq += 1;
        }
    }
    Ok(segment)
}

/// Lowercase hex of a hash, for messages and the API.
pub fn hash_hex(hash: &[u8]) -> String {
    hex(hash)
}
