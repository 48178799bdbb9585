//! Group commit for the audit events of reads.
//!
//! A read changes nothing, so its event needs no transaction of its own: it needs to be durable
//! before the response leaves. Reads hand their event to one writer thread and wait for its
//! answer without holding a thread (the wait is a future); the writer appends every event
//! waiting at that moment in one transaction and one commit (one fsync), then answers each.
//! Under load the batches grow by themselves, so the chain lock and the disk flush are paid
//! once per batch instead of once per request. If the batch cannot be committed, every read in
//! it gets the error and discloses nothing.
//!
//! On PostgreSQL the writer remembers the head it last committed and appends the next batch
//! after it in one statement and its own commit ([`chain::append_after`]), taking the chain lock
//! only if it is free; when another appender holds the lock or has appended since, the batch
//! goes in under the lock as before. Most batches are then one round trip instead of five.
//!
//! Writes keep appending their own event inside their own transaction (see [`crate::work`]).

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use tokio::sync::oneshot;

use super::merkle::Hash;
use super::{chain, NewEvent};
use crate::crypto::keys::AuditKeys;
use crate::db::{self, DatabaseUrl, DbConn};

/// At most this many events in one transaction.
const MAX_BATCH: usize = 512;

/// Why an event was not stored.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("the audit store is unavailable: {0}")]
    Store(String),
    #[error("the audit writer has stopped")]
    Stopped,
}

type Committed = Result<(i64, [u8; 32]), String>;
type Reply = oneshot::Sender<Committed>;

/// An event handed to the writer, not yet known to be committed.
#[derive(Debug)]
#[must_use = "nothing may be disclosed before the event is committed"]
pub struct Pending(oneshot::Receiver<Committed>);

impl Pending {
    /// The event's `seq` and `hash` once it is committed, or why it was not.
    pub async fn committed(self) -> Result<(i64, [u8; 32]), AppendError> {
        self.0
            .await
            .map_err(|_| AppendError::Stopped)?
            .map_err(AppendError::Store)
    }
}

/// The handle reads use; cheap to share. Dropping the last one stops the thread.
#[derive(Debug)]
pub struct AuditWriter {
    queue: Sender<(NewEvent, Hash, Reply)>,
}

impl AuditWriter {
    /// Starts the writer thread, which opens its own connection to `url` when it first needs
    /// one (and again after a failure).
    pub fn start(url: DatabaseUrl, signer: Arc<AuditKeys>) -> std::io::Result<Self> {
        let (queue, inbox) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || run(&url, &signer, &inbox))?;
        Ok(Self { queue })
    }

    /// Hands `event` to the writer; never blocks. Await [`Pending::committed`] before
    /// disclosing anything.
    pub fn submit(&self, event: NewEvent, leaf: Hash) -> Result<Pending, AppendError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((event, leaf, reply))
            .map_err(|_| AppendError::Stopped)?;
        Ok(Pending(answer))
    }
}

fn run(url: &DatabaseUrl, signer: &AuditKeys, inbox: &Receiver<(NewEvent, Hash, Reply)>) {
    let mut conn: Option<DbConn> = None;
    // The head the writer last committed, while nothing has failed since.
    let mut head = None;
    let mut events = Vec::new();
    let mut leaves = Vec::new();
    let mut replies = Vec::new();
    while let Ok(first) = inbox.recv() {
        events.clear();
        leaves.clear();
        replies.clear();
        let mut next = Some(first);
        while let Some((event, leaf, reply)) = next.take() {
            events.push(event);
            leaves.push(leaf);
            replies.push(reply);
            if events.len() < MAX_BATCH {
                next = inbox.try_recv().ok();
            }
        }
        let result = match conn.as_mut() {
            Some(conn) => commit(conn, &events, &leaves, signer, &mut head),
            None => match url.connect() {
                Ok(fresh) => commit(conn.insert(fresh), &events, &leaves, signer, &mut head),
                Err(error) => Err(error.to_string()),
            },
        };
        match result {
            Ok(heads) => {
                for (reply, head) in replies.drain(..).zip(heads) {
                    let _ = reply.send(Ok(head));
                }
            }
            Err(error) => {
                tracing::error!(%error, events = events.len(), "audit events not stored; the reads waiting on them get 503");
                // A fresh connection next time: this one may be broken.
                conn = None;
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// The whole batch at once: on PostgreSQL after the `head` this writer last committed, if no
/// one else holds or has moved the chain since; otherwise in one transaction with the chain
/// locked and its head read once ([`chain::append_all`]). `head` follows what was committed.
fn commit(
    conn: &mut DbConn,
    events: &[NewEvent],
    leaves: &[Hash],
    signer: &AuditKeys,
    head: &mut Option<chain::Head>,
) -> Result<Vec<chain::Head>, String> {
    let last = head.take();
    if let (DbConn::Postgresql(pg), Some(last)) = (&mut *conn, last) {
        if let Some(heads) = chain::append_after_with(pg, last, events, Some(leaves), signer)
            .map_err(|e| e.to_string())?
        {
            *head = heads.last().copied();
            return Ok(heads);
        }
    }
    let heads = db::write_tx(conn, |conn| {
        chain::append_all_with(conn, events, Some(leaves), signer)
    })
    .map_err(|e| e.to_string())?;
    *head = heads.last().copied();
    Ok(heads)
}
