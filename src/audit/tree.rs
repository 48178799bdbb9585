//! The Merkle tree's storage (`audit_tree`): the perfect subtrees of [`super::merkle`], written
//! with the events they cover — in the same transaction, or the same statement on PostgreSQL —
//! so no event is committed without its leaf. Leaf `i` (0-based) is event `seq = i + 1`; its
//! leaf hash is RFC 9162's `SHA-256(0x00 ‖ leaf)` over the field commitments of
//! [`super::leaf`].
//!
//! A log written before the tree existed (or a tree found behind its log) is caught up under the
//! chain lock from the stored events. A tree found *ahead* of its log means events were cut: the
//! tree is then left as it is (it is append-only) and new events are written without nodes,
//! which verification reports.

use diesel::prelude::*;

use super::merkle::{self, Growth, Hash};
use super::row::EventRow;
use crate::crypto::keys::LeafKey;
use crate::db::schema::{audit_events, audit_tree};
use crate::db::DbConn;

/// A stored node: `(level, index, hash)`.
pub type Node = (u32, u64, Hash);

const CATCH_UP_BATCH: i64 = 5_000;
const INSERT_CHUNK: usize = 300;

fn to_node((level, index, hash): (i32, i64, Vec<u8>)) -> Option<Node> {
    Some((
        u32::try_from(level).ok()?,
        u64::try_from(index).ok()?,
        hash.try_into().ok()?,
    ))
}

/// Loads the nodes at `coords` on any concrete connection.
macro_rules! load_nodes {
    ($conn:expr, $coords:expr) => {{
        let mut query = audit_tree::table
            .select((audit_tree::level, audit_tree::idx, audit_tree::hash))
            .into_boxed();
        for (level, index) in $coords {
            query = query.or_filter(
                audit_tree::level
                    .eq(level as i32)
                    .and(audit_tree::idx.eq(index as i64)),
            );
        }
        query.load::<(i32, i64, Vec<u8>)>($conn)
    }};
}

/// The border nodes of the tree of `size` leaves, from what `load` found at `coords`:
/// `None` unless every border node is there and the leaf after them is not (the tree neither
/// behind nor ahead of `size`).
fn border_of(size: u64, found: Vec<(i32, i64, Vec<u8>)>) -> Option<Growth> {
    let nodes: Vec<Node> = found.into_iter().filter_map(to_node).collect();
    if nodes
        .iter()
        .any(|(level, index, _)| (*level, *index) == (0, size))
    {
        return None;
    }
    pick_border(size, &nodes)
}

/// The tree of `size` leaves grown from its border among `nodes`; `None` when one is missing.
fn pick_border(size: u64, nodes: &[Node]) -> Option<Growth> {
    let wanted = merkle::border(size);
    let border: Vec<Node> = wanted
        .iter()
        .filter_map(|want| nodes.iter().find(|(l, i, _)| (*l, *i) == *want).copied())
        .collect();
    (border.len() == wanted.len()).then(|| Growth::new(size, border))
}

fn coords(size: u64) -> Vec<(u32, u64)> {
    let mut coords = merkle::border(size);
    coords.push((0, size));
    coords
}

/// The tree of the first `size` events, ready to grow; `None` when the stored tree does not
/// stand exactly at `size`.
pub fn growth(conn: &mut DbConn, size: u64) -> QueryResult<Option<Growth>> {
    let coords = coords(size);
    let found = crate::on_backend!(conn, |c| load_nodes!(c, coords.iter().copied()))?;
    Ok(border_of(size, found))
}

/// The stored tree's border at `size` (however far the tree reaches beyond it), ready to grow
/// from there: where a verification of the log's upper part starts. `None` when a border node
/// is missing.
pub fn border_at(conn: &mut DbConn, size: u64) -> QueryResult<Option<Growth>> {
    let wanted = merkle::border(size);
    let found = crate::on_backend!(conn, |c| load_nodes!(c, wanted.iter().copied()))?;
    let nodes: Vec<Node> = found.into_iter().filter_map(to_node).collect();
    Ok(pick_border(size, &nodes))
}

/// The stored nodes that leaves `first..=last` (0-based) complete, by `(level, index)`.
pub fn completed_by(
    conn: &mut DbConn,
    first: u64,
    last: u64,
) -> QueryResult<std::collections::HashMap<(u32, u64), Hash>> {
    // Node (l, i) is completed by leaf (i + 1)·2^l − 1.
    let mut ranges = Vec::new();
    for level in 0..64u32 {
        let lo = (first + 1).div_ceil(1 << level).saturating_sub(1);
        let Some(hi) = ((last + 1) >> level).checked_sub(1) else {
            break;
        };
        if lo <= hi {
            ranges.push((level, lo, hi));
        }
    }
    let found = crate::on_backend!(conn, |c| {
        let mut query = audit_tree::table
            .select((audit_tree::level, audit_tree::idx, audit_tree::hash))
            .into_boxed();
        for (level, lo, hi) in &ranges {
            query = query.or_filter(
                audit_tree::level
                    .eq(*level as i32)
                    .and(audit_tree::idx.between(*lo as i64, *hi as i64)),
            );
        }
        query.load::<(i32, i64, Vec<u8>)>(c)
    })?;
    Ok(found
        .into_iter()
        .filter_map(to_node)
        .map(|(level, index, hash)| ((level, index), hash))
        .collect())
}

/// As [`growth`], on a PostgreSQL connection of its own.
pub fn growth_pg(conn: &mut diesel::PgConnection, size: u64) -> QueryResult<Option<Growth>> {
    let coords = coords(size);
    let found = load_nodes!(conn, coords.iter().copied())?;
    Ok(border_of(size, found))
}

/// The nodes as the batch statement and the inserts take them.
pub fn columns(nodes: &[Node]) -> (Vec<i32>, Vec<i64>, Vec<Vec<u8>>) {
    let mut out = (
        Vec::with_capacity(nodes.len()),
        Vec::with_capacity(nodes.len()),
        Vec::with_capacity(nodes.len()),
    );
    for (level, index, hash) in nodes {
        out.0.push(*level as i32);
        out.1.push(*index as i64);
        out.2.push(hash.to_vec());
    }
    out
}

/// Inserts `nodes` in the current transaction.
pub fn insert(conn: &mut DbConn, nodes: &[Node]) -> QueryResult<()> {
    for chunk in nodes.chunks(INSERT_CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(level, index, hash)| {
                (
                    audit_tree::level.eq(*level as i32),
                    audit_tree::idx.eq(*index as i64),
                    audit_tree::hash.eq(hash.to_vec()),
                )
            })
            .collect();
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(audit_tree::table)
                .values(rows)
                .execute(c)?,
            DbConn::Postgresql(c) => diesel::insert_into(audit_tree::table)
                .values(rows)
                .execute(c)?,
        };
    }
    Ok(())
}

/// How many leaves the stored tree has.
pub fn size(conn: &mut DbConn) -> QueryResult<u64> {
    let last: Option<i64> = crate::on_backend!(conn, |c| audit_tree::table
        .filter(audit_tree::level.eq(0))
        .select(diesel::dsl::max(audit_tree::idx))
        .first(c))?;
    Ok(last.map_or(0, |i| u64::try_from(i + 1).unwrap_or(0)))
}

/// Brings the tree up to the events up to `head` (run under the chain lock, in a write
/// transaction): reads the events the tree lacks, in batches, and adds their nodes. Returns the
/// tree at `head`, or `None` when it cannot stand there (it is ahead, or the log has a gap).
pub fn catch_up(conn: &mut DbConn, head: u64, key: &LeafKey) -> QueryResult<Option<Growth>> {
    let mut at = size(conn)?;
    if at > head {
        tracing::error!(
            tree = at,
            log = head,
            "the audit tree is ahead of its log: events were cut"
        );
        return Ok(None);
    }
    let Some(mut tree) = growth(conn, at)? else {
        tracing::error!(tree = at, "the audit tree's stored border is incomplete");
        return Ok(None);
    };
    if at < head {
        tracing::info!(
            from = at,
            to = head,
            "adding the audit tree's nodes for earlier events"
        );
    }
    while at < head {
        let rows: Vec<EventRow> = audit_events::table
            .filter(audit_events::seq.gt(at as i64))
            .filter(audit_events::seq.le(head as i64))
            .order(audit_events::seq.asc())
            .limit(CATCH_UP_BATCH)
            .select(EventRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if row.seq as u64 != at + 1 {
                tracing::error!(
                    seq = at + 1,
                    "the audit log has a gap: the tree stops before it"
                );
                return Ok(None);
            }
            if tree
                .push(super::leaf::leaf_hash(key, &row.fields()))
                .is_err()
            {
                return Ok(None);
            }
            at += 1;
        }
        let added = std::mem::take(&mut tree.added);
        insert(conn, &added)?;
    }
    Ok(Some(tree))
}

/// The root of the stored tree of `size` leaves.
pub fn root(conn: &mut DbConn, size: u64) -> QueryResult<Option<Hash>> {
    let mut nodes = Stored(conn);
    match merkle::root(&mut nodes, size) {
        Ok(hash) => Ok(Some(hash)),
        Err(StoredError::Missing) => Ok(None),
        Err(StoredError::Db(error)) => Err(error),
    }
}

/// The inclusion proof of event `seq` in the stored tree of `size` events; `None` when the
/// tree lacks a node or `seq` is not inside it.
pub fn inclusion(conn: &mut DbConn, seq: u64, size: u64) -> QueryResult<Option<Vec<Hash>>> {
    if seq == 0 {
        return Ok(None);
    }
    let mut nodes = Stored(conn);
    match merkle::inclusion_proof(&mut nodes, seq - 1, size) {
        Ok(proof) => Ok(proof.ok()),
        Err(StoredError::Missing) => Ok(None),
        Err(StoredError::Db(error)) => Err(error),
    }
}

/// The consistency proof between the stored trees of `old` and `new` events.
pub fn consistency(conn: &mut DbConn, old: u64, new: u64) -> QueryResult<Option<Vec<Hash>>> {
    let mut nodes = Stored(conn);
    match merkle::consistency_proof(&mut nodes, old, new) {
        Ok(proof) => Ok(proof.ok()),
        Err(StoredError::Missing) => Ok(None),
        Err(StoredError::Db(error)) => Err(error),
    }
}

enum StoredError {
    Missing,
    Db(diesel::result::Error),
}

/// Nodes read one by one from `audit_tree`.
struct Stored<'a>(&'a mut DbConn);

impl merkle::Nodes for Stored<'_> {
    type Error = StoredError;

    fn node(&mut self, level: u32, index: u64) -> Result<Hash, StoredError> {
        let found: Option<Vec<u8>> = crate::on_backend!(self.0, |c| audit_tree::table
            .filter(audit_tree::level.eq(level as i32))
            .filter(audit_tree::idx.eq(index as i64))
            .select(audit_tree::hash)
            .first(c)
            .optional())
        .map_err(StoredError::Db)?;
        found
            .and_then(|hash| hash.try_into().ok())
            .ok_or(StoredError::Missing)
    }
}
