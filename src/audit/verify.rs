//! Verifying the log: every event's place, chain hash, case index and tree leaf, the tree's
//! stored nodes, every checkpoint's signature and tree head, and the witnessed head — in full,
//! or incrementally from the last verification recorded (signed) in `audit_verified`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use ring::signature::{UnparsedPublicKey, ED25519};

use super::chain::{checkpoints, Checkpoint, GENESIS, VERIFY_BATCH, WITNESS_FILE};
use super::checkpoint_message;
use super::scan::{CheckedEvent, Stored32};
use super::{merkle, tree};
use crate::clock::rfc3339_naive;
use crate::crypto::keys::{hex, AuditKeys};
use crate::db::schema::{audit_event_cases, audit_events, audit_verified};
use crate::db::DbConn;

/// The result of verifying the log (API.md §10 `GET /audit/verify`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub events_verified: i64,
    pub checkpoints_verified: i64,
    pub head: Option<(i64, Vec<u8>)>,
    /// The first bad `seq` and why.
    pub failure: Option<(i64, String)>,
    /// The Merkle tree's root at the head, grown from the events (when verified).
    pub tree_root: Option<merkle::Hash>,
    /// An incremental verification: the size of the log verified before, where it started.
    pub since: Option<i64>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// A signed head (a checkpoint's, or the witness file's) that the events did not reach: the
/// log was cut.
fn report_cut(
    pending: &BTreeMap<i64, Vec<u8>>,
    witness_seq: Option<i64>,
    failure: &mut Option<(i64, String)>,
) {
    if let Some((&seq, _)) = pending.iter().next() {
        let reason = if Some(seq) == witness_seq {
            format!(
                "event {seq}, recorded as the head in {WITNESS_FILE}, is missing: the log was cut"
            )
        } else {
            format!("a signed checkpoint names event {seq}, which is missing: the log was cut")
        };
        keep_first(failure, seq, reason);
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
    keys: &AuditKeys,
    witness: Option<&Checkpoint>,
) -> QueryResult<Verification> {
    verify_with(conn, None, keys, witness)
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
    keys: &AuditKeys,
    witness: Option<&Checkpoint>,
) -> QueryResult<Verification> {
    verify_split(conn, helper, keys, witness, PARALLEL_FROM)
}

/// As [`verify_with`], splitting the log between the connections from `parallel_from` events
/// on (tests split small logs to compare the split verification with the sequential one).
pub fn verify_split(
    conn: &mut DbConn,
    helper: Option<&mut DbConn>,
    keys: &AuditKeys,
    witness: Option<&Checkpoint>,
    parallel_from: i64,
) -> QueryResult<Verification> {
    let Signed {
        head_seq,
        mut pending,
        mut roots,
        witness_seq,
        checkpoints_verified,
        mut failure,
    } = signed_heads(conn, keys, witness, 0)?;
    let leaf_key = &keys.leaf;
    let (lower, upper) = match helper {
        Some(helper) if head_seq >= parallel_from.max(2) => {
            let mid = head_seq / 2;
            let mut upper_pending = pending.split_off(&(mid + 1));
            let mut upper_roots = roots.split_off(&(mid + 1));
            let (lower, upper) = std::thread::scope(|scope| {
                let upper = scope.spawn(|| {
                    diesel::Connection::transaction(helper, |helper| {
                        // The upper half's tree grows from the stored border at `mid`, which
                        // the lower half's tree, grown from the events, must then equal.
                        let start = tree::border_at(helper, mid as u64)?;
                        let mut ranges = Ranges {
                            pending: &mut upper_pending,
                            roots: &mut upper_roots,
                        };
                        verify_range(
                            helper,
                            mid + 1,
                            head_seq,
                            None,
                            start,
                            leaf_key,
                            &mut ranges,
                        )
                    })
                });
                let mut ranges = Ranges {
                    pending: &mut pending,
                    roots: &mut roots,
                };
                let lower = verify_range(
                    conn,
                    1,
                    mid,
                    Some(GENESIS),
                    Some(merkle::Growth::default()),
                    leaf_key,
                    &mut ranges,
                );
                let upper = upper.join().unwrap_or_else(|_| {
                    Err(diesel::result::Error::QueryBuilderError(
                        "the verifying thread stopped".into(),
                    ))
                });
                (lower, upper)
            });
            pending.append(&mut upper_pending);
            roots.append(&mut upper_roots);
            (lower?, Some(upper?))
        }
        _ => {
            let mut ranges = Ranges {
                pending: &mut pending,
                roots: &mut roots,
            };
            (
                verify_range(
                    conn,
                    1,
                    head_seq,
                    Some(GENESIS),
                    Some(merkle::Growth::default()),
                    leaf_key,
                    &mut ranges,
                )?,
                None,
            )
        }
    };
    let mut events_verified = lower.verified;
    let mut head = lower.last;
    let mut grown = lower.tree;
    let mut tree_root = None;
    if let Some((seq, reason)) = lower.failure {
        keep_first(&mut failure, seq, reason);
    } else if let Some(upper) = upper {
        let linked = lower
            .last
            .is_some_and(|(_, hash)| upper.first_prev == Some(Some(hash)));
        let joined = match (&grown, &upper.start_border) {
            (Some(lower_tree), Some(border)) => lower_tree.border_nodes() == *border,
            _ => false,
        };
        if upper.first_prev.is_some() && !linked {
            keep_first(
                &mut failure,
                lower.last.map_or(1, |(seq, _)| seq + 1),
                "prev_hash does not link to the previous event's hash".to_owned(),
            );
        } else if upper.first_prev.is_some() && !joined {
            keep_first(
                &mut failure,
                lower.last.map_or(1, |(seq, _)| seq + 1),
                "the audit tree's stored nodes differ from the tree of the events before"
                    .to_owned(),
            );
        } else {
            grown = upper.tree;
            events_verified += upper.verified;
            head = upper.last.or(head);
            if let Some((seq, reason)) = upper.failure {
                keep_first(&mut failure, seq, reason);
            }
        }
    }
    if failure.is_none() {
        report_cut(&pending, witness_seq, &mut failure);
    }
    if failure.is_none() {
        tree_root = grown.as_mut().and_then(|g| g.root().ok());
    }
    Ok(Verification {
        events_verified,
        checkpoints_verified,
        head: head.map(|(seq, hash)| (seq, hash.to_vec())),
        failure,
        tree_root,
        since: None,
    })
}

/// The log verified before, as recorded: where an incremental verification starts.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_verified)]
pub struct VerifiedHead {
    pub tree_size: i64,
    pub root: Vec<u8>,
    pub chain_hash: Vec<u8>,
    pub at: NaiveDateTime,
    /// Whether it read every event (else it started from an earlier record).
    pub full_read: bool,
    pub signature: Vec<u8>,
}

impl VerifiedHead {
    fn message(
        tree_size: i64,
        root: &[u8],
        chain_hash: &[u8],
        at: &NaiveDateTime,
        full: bool,
    ) -> String {
        format!(
            "sig-register audit verified v1\n{tree_size}\n{}\n{}\n{}\n{}\n",
            hex(root),
            hex(chain_hash),
            rfc3339_naive(at),
            if full { "full" } else { "incremental" }
        )
    }

    /// The record of a verification that found the log intact up to its head.
    pub fn of(report: &Verification, keys: &AuditKeys, at: NaiveDateTime) -> Option<Self> {
        let (seq, hash) = report.head.as_ref().filter(|_| report.ok())?;
        let root = report.tree_root?;
        let full = report.since.is_none();
        let message = Self::message(*seq, &root, hash, &at, full);
        Some(Self {
            tree_size: *seq,
            root: root.to_vec(),
            chain_hash: hash.clone(),
            at,
            full_read: full,
            signature: keys.signing.pair.sign(message.as_bytes()).as_ref().to_vec(),
        })
    }

    fn verifies(&self, public_key: &[u8]) -> bool {
        let message = Self::message(
            self.tree_size,
            &self.root,
            &self.chain_hash,
            &self.at,
            self.full_read,
        );
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(message.as_bytes(), &self.signature)
            .is_ok()
    }
}

/// Records `report` (when it found the log intact) for the next incremental verification. A
/// head recorded already is kept as it was.
pub fn record(
    conn: &mut DbConn,
    keys: &AuditKeys,
    report: &Verification,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let Some(record) = VerifiedHead::of(report, keys, at) else {
        return Ok(false);
    };
    let known: i64 = audit_verified::table
        .filter(audit_verified::tree_size.eq(record.tree_size))
        .count()
        .get_result(conn)?;
    if known == 0 {
        diesel::insert_into(audit_verified::table)
            .values(&record)
            .execute(conn)?;
    }
    Ok(true)
}

/// The newest recorded verification.
pub fn latest_verified(conn: &mut DbConn) -> QueryResult<Option<VerifiedHead>> {
    audit_verified::table
        .select(VerifiedHead::as_select())
        .order(audit_verified::tree_size.desc())
        .first(conn)
        .optional()
}

/// Verifies only what is new since the newest recorded verification (a full one when there
/// is none): that record's signature; that its last event and the tree's border there are
/// still as verified; the new events as [`verify`] checks them, their chain linked to the
/// recorded hash and their tree grown from the recorded border; a consistency proof from the
/// recorded tree to the head; the checkpoints signed since; and the witnessed head. Changes to
/// events verified before are not looked for: `--full` (and every proof or extract that
/// touches them) finds those.
pub fn verify_incremental(
    conn: &mut DbConn,
    keys: &AuditKeys,
    witness: Option<&Checkpoint>,
) -> QueryResult<Verification> {
    let Some(base) = latest_verified(conn)? else {
        return verify_with(conn, None, keys, witness);
    };
    let m = base.tree_size;
    let refused = |reason: String| Verification {
        events_verified: 0,
        checkpoints_verified: 0,
        head: None,
        failure: Some((m, reason)),
        tree_root: None,
        since: Some(m),
    };
    // Signed when it was recorded: with the key of its head, or the one in use since.
    let mut base_keys = keys.public_keys_for(base.tree_size);
    base_keys.push(keys.public_key());
    if !base_keys.iter().any(|key| base.verifies(key)) {
        return Ok(refused(
            "the record of the last verification does not verify with the audit key: run a full verification"
                .to_owned(),
        ));
    }
    let stored: Option<Vec<u8>> = audit_events::table
        .select(audit_events::hash)
        .filter(audit_events::seq.eq(m))
        .first(conn)
        .optional()?;
    let (Some(prev), Ok(base_root)) = (
        stored
            .filter(|hash| *hash == base.chain_hash)
            .and_then(|hash| <[u8; 32]>::try_from(hash).ok()),
        <merkle::Hash>::try_from(base.root.as_slice()),
    ) else {
        return Ok(refused(format!(
            "event {m}, verified before, is missing or changed: run a full verification"
        )));
    };
    let start = tree::border_at(conn, m as u64)?
        .filter(|border| border.clone().root().ok() == Some(base_root));
    if start.is_none() {
        return Ok(refused(
            "the audit tree's nodes verified before were changed: run a full verification"
                .to_owned(),
        ));
    }
    let mut signed = signed_heads(conn, keys, witness, m)?;
    let mut failure = signed.failure.take();
    let mut ranges = Ranges {
        pending: &mut signed.pending,
        roots: &mut signed.roots,
    };
    let mut segment = verify_range(
        conn,
        m + 1,
        signed.head_seq,
        Some(prev),
        start,
        &keys.leaf,
        &mut ranges,
    )?;
    if let Some((seq, reason)) = segment.failure.take() {
        keep_first(&mut failure, seq, reason);
    }
    let head = segment.last.unwrap_or((m, prev));
    let mut tree_root = None;
    if failure.is_none() {
        let new_root = segment.tree.as_mut().and_then(|g| g.root().ok());
        // The tree at the head extends the tree verified before (RFC 9162 §2.1.4).
        let consistent = match new_root {
            Some(new_root) if head.0 > m => tree::consistency(conn, m as u64, head.0 as u64)?
                .is_some_and(|proof| {
                    merkle::verify_consistency(
                        m as u64,
                        head.0 as u64,
                        &base_root,
                        &new_root,
                        &proof,
                    )
                    .is_ok()
                }),
            Some(new_root) => new_root == base_root,
            None => false,
        };
        if consistent {
            tree_root = new_root;
        } else {
            keep_first(
                &mut failure,
                head.0,
                "the tree at the head does not extend the tree verified before".to_owned(),
            );
        }
    }
    if failure.is_none() {
        report_cut(&signed.pending, signed.witness_seq, &mut failure);
    }
    Ok(Verification {
        events_verified: segment.verified,
        checkpoints_verified: signed.checkpoints_verified,
        head: Some((head.0, head.1.to_vec())),
        failure,
        tree_root,
        since: Some(m),
    })
}

/// What the signed heads after `after` ask of the events: the chain hashes at their `seq`
/// (checkpoints and the witness), the tree roots (tree head notes), and any failure of their
/// own signatures.
struct Signed {
    /// The newest event's `seq` (0 for an empty log).
    head_seq: i64,
    pending: BTreeMap<i64, Vec<u8>>,
    roots: BTreeMap<i64, merkle::Hash>,
    witness_seq: Option<i64>,
    checkpoints_verified: i64,
    failure: Option<(i64, String)>,
}

fn signed_heads(
    conn: &mut DbConn,
    keys: &AuditKeys,
    witness: Option<&Checkpoint>,
    after: i64,
) -> QueryResult<Signed> {
    // Each head is checked with the key that signed the log there (after a rotation, the
    // retired keys below their handover's seq).
    let signed_by = |seq: i64, message: &str, signature: &[u8]| {
        keys.public_keys_for(seq).into_iter().any(|key| {
            UnparsedPublicKey::new(&ED25519, key)
                .verify(message.as_bytes(), signature)
                .is_ok()
        })
    };
    let mut failure: Option<(i64, String)> = None;
    // Checkpoints first: signatures need no events.
    let mut pending: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
    let mut roots: BTreeMap<i64, merkle::Hash> = BTreeMap::new();
    let mut checkpoints_verified = 0;
    for checkpoint in checkpoints(conn)?.into_iter().filter(|c| c.seq > after) {
        if let Some(note) = &checkpoint.note {
            let keys_there = keys.public_keys_for(checkpoint.seq);
            let mut opened = Err(String::new());
            for key in keys_there {
                opened = signed_root(note, &checkpoint, key);
                if opened.is_ok() {
                    break;
                }
            }
            match opened {
                Ok(root) => {
                    roots.insert(checkpoint.seq, root);
                }
                Err(reason) => keep_first(&mut failure, checkpoint.seq, reason),
            }
        }
        let message = checkpoint_message(checkpoint.seq, &checkpoint.hash, &checkpoint.at);
        if !signed_by(checkpoint.seq, &message, &checkpoint.signature) {
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
        if !signed_by(witness.seq, &message, &witness.signature) {
            keep_first(
                &mut failure,
                witness.seq,
                format!("{WITNESS_FILE} holds a head whose signature does not verify"),
            );
        } else if witness.seq <= after {
            // Verified before: the event there must still be the one witnessed.
            let stored: Option<Vec<u8>> = audit_events::table
                .select(audit_events::hash)
                .filter(audit_events::seq.eq(witness.seq))
                .first(conn)
                .optional()?;
            if stored.as_ref() != Some(&witness.hash) {
                keep_first(
                    &mut failure,
                    witness.seq,
                    format!(
                        "event {}, recorded as the head in {WITNESS_FILE}, is missing or changed",
                        witness.seq
                    ),
                );
            }
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
    Ok(Signed {
        head_seq,
        pending,
        roots,
        witness_seq,
        checkpoints_verified,
        failure,
    })
}

/// A checkpoint's tree head note, opened: its root, when the note is signed by the log's key
/// (its origin naming the key) and agrees with the checkpoint's own `seq` and `root`.
fn signed_root(
    note: &str,
    checkpoint: &Checkpoint,
    public_key: &[u8],
) -> Result<merkle::Hash, String> {
    let opened = super::note::parse_checkpoint(note)
        .and_then(|opened| {
            super::note::verify_signature(&opened, &opened.origin, public_key).map(|()| opened)
        })
        .map_err(|e| format!("the checkpoint's tree head note does not verify: {e}"))?;
    if i64::try_from(opened.size).ok() != Some(checkpoint.seq)
        || checkpoint.root.as_deref() != Some(&opened.root[..])
    {
        return Err("the checkpoint's tree head note names another size or root".to_owned());
    }
    Ok(opened.root)
}

/// What a range's events must meet: the chain hashes and tree roots signed at their `seq`.
struct Ranges<'a> {
    pending: &'a mut BTreeMap<i64, Vec<u8>>,
    roots: &'a mut BTreeMap<i64, merkle::Hash>,
}

/// What verifying one range of the log found.
struct Segment {
    /// The tree grown from the range's events (`None` once it could not grow).
    tree: Option<merkle::Growth>,
    /// For a range verified from a stored border: that border, as it was.
    start_border: Option<Vec<tree::Node>>,
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
    start_tree: Option<merkle::Growth>,
    leaf_key: &crate::crypto::keys::LeafKey,
    ranges: &mut Ranges<'_>,
) -> QueryResult<Segment> {
    let pending = &mut *ranges.pending;
    let mut segment = Segment {
        start_border: start_tree.as_ref().map(merkle::Growth::border_nodes),
        tree: start_tree,
        verified: 0,
        failure: None,
        first_prev: None,
        last: None,
    };
    let mut expected_seq = from;
    let mut prev_hash = start_prev;
    'batches: while expected_seq <= to {
        let batch: Vec<CheckedEvent> = super::scan::with_leaf_key(leaf_key, || {
            audit_events::table
                .filter(audit_events::seq.between(expected_seq, to))
                .order(audit_events::seq.asc())
                .limit(VERIFY_BATCH)
                .load(conn)
        })?;
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
        // The stored tree nodes these events' leaves complete, each checked below against the
        // node grown from the events.
        let stored = tree::completed_by(conn, (first - 1) as u64, (last - 1) as u64)?;
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
            // The event's leaf, as its fields make it, grown into the tree whose roots the
            // signed tree heads name; the stored nodes it completes must be those grown.
            let leaf = row.leaf.unwrap_or_default();
            let Some(grown) = segment.tree.as_mut() else {
                segment.failure = fail("the audit tree's stored border is missing".to_owned());
                break 'batches;
            };
            let before = grown.added.len();
            if grown.push(leaf).is_err() {
                segment.failure = fail("the audit tree's stored border is incomplete".to_owned());
                break 'batches;
            }
            for (level, index, hash) in &grown.added[before..] {
                let reason = match stored.get(&(*level, *index)) {
                    Some(found) if found == hash => continue,
                    Some(_) if *level == 0 => {
                        "the audit tree's leaf differs from the event's content"
                    }
                    None if *level == 0 => "the event has no leaf in the audit tree",
                    Some(_) => {
                        "the audit tree's stored nodes differ from the tree of the events: \
                                its proofs would not verify"
                    }
                    None => "the audit tree lacks a node the event completes",
                };
                segment.failure = fail(reason.to_owned());
                break 'batches;
            }
            if let Some(root) = ranges.roots.remove(&seq) {
                if grown.root().ok() != Some(root) {
                    segment.failure =
                        fail("the tree of the events differs from a signed tree head".to_owned());
                    break 'batches;
                }
            }
            segment.verified += 1;
            segment.last = Some((seq, stored_hash));
            prev_hash = Some(stored_hash);
            expected_seq += 1;
        }
        if let Some(grown) = segment.tree.as_mut() {
            grown.added.clear();
        }
    }
    Ok(segment)
}
