//! [`AuditLog`]: the one door through which the service appends to the audit log. Requests,
//! the fallback for refused requests, retention and checkpoints all come through here, so
//! every committed head is noted for the witness file and no caller remembers it by hand.
//!
//! Two ways in: [`AuditLog::write`] runs a piece of work and appends its event in the same
//! write transaction (writes, refusals, retention); [`AuditLog::submit`] hands the event of a
//! read to the group-committing [`writer`](super::writer). Either way the caller learns that the
//! event is committed before it discloses anything.

use std::sync::Arc;

use chrono::NaiveDateTime;

use super::chain::{self, Checkpoint};
use super::witness::Witness;
use super::writer::{AppendError, AuditWriter};
use super::NewEvent;
use crate::crypto::keys::AuditKeys;
use crate::db::{self, DatabaseUrl, DbConn};

/// The event could not be stored: the transaction it belonged to was rolled back, and
/// nothing may be disclosed.
#[derive(Debug, thiserror::Error)]
#[error("the audit event could not be stored")]
pub struct NotRecorded;

/// Why a checkpoint or the witness file was not written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("writing the audit witness: {0}")]
    Witness(#[from] std::io::Error),
}

pub struct AuditLog {
    signer: Arc<AuditKeys>,
    witness: Witness,
    writer: AuditWriter,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("witness", &self.witness)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Starts the group-commit writer on its own connection to `url`; the witness file lives
    /// in `data_dir`.
    pub fn start(
        url: DatabaseUrl,
        signer: Arc<AuditKeys>,
        data_dir: std::path::PathBuf,
    ) -> std::io::Result<Self> {
        Ok(Self {
            writer: AuditWriter::start(url, signer.clone())?,
            witness: Witness::new(data_dir),
            signer,
        })
    }

    /// Runs `work` in one write transaction and appends the event it returns (if any) in the
    /// same transaction. If the event cannot be appended, everything `work` did is rolled back
    /// and the answer is `E::from(NotRecorded)`.
    pub fn write<T, E>(
        &self,
        conn: &mut DbConn,
        work: impl FnOnce(&mut DbConn) -> Result<(T, Option<NewEvent>), E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<NotRecorded>,
    {
        let (result, head) = db::write_tx(conn, |conn: &mut DbConn| {
            let (result, event) = work(conn)?;
            let head = match event {
                Some(event) => Some(chain::append(conn, &event, &self.signer).map_err(|error| {
                    tracing::error!(%error, "the audit event could not be stored; rolling back");
                    NotRecorded
                })?),
                None => None,
            };
            Ok::<_, E>((result, head))
        })?;
        if let Some((seq, hash)) = head {
            self.witness.committed(seq, hash);
        }
        Ok(result)
    }

    /// Appends the event of a read through the group-committing writer; returns once it is
    /// committed. Holds no thread or connection while it waits.
    pub async fn submit(&self, event: NewEvent) -> Result<(), NotRecorded> {
        // The leaf is made here, on the request's side, not on the writer's one line.
        let leaf = super::leaf_of(&event, &self.signer.leaf);
        let committed = match self.writer.submit(event, leaf) {
            Ok(pending) => pending.committed().await,
            Err(error) => Err(error),
        };
        let (seq, hash) = committed.map_err(|error: AppendError| {
            tracing::error!(%error, "the audit event of a read could not be stored; disclosing nothing");
            NotRecorded
        })?;
        self.witness.committed(seq, hash);
        Ok(())
    }

    /// Signs a checkpoint over the current head (unless one covers it already) and refreshes
    /// the witness file.
    pub fn checkpoint(
        &self,
        conn: &mut DbConn,
        at: NaiveDateTime,
    ) -> Result<Option<Checkpoint>, CheckpointError> {
        let checkpoint = db::write_tx(conn, |conn| chain::checkpoint_head(conn, &self.signer, at))?;
        if let Some(checkpoint) = &checkpoint {
            if let Ok(hash) = <[u8; 32]>::try_from(checkpoint.hash.as_slice()) {
                self.witness.committed(checkpoint.seq, hash);
            }
        }
        self.flush_witness(at)?;
        Ok(checkpoint)
    }

    /// Writes the newest committed head to the witness file if it moved since the last write.
    pub fn flush_witness(&self, at: NaiveDateTime) -> std::io::Result<()> {
        self.witness.flush(&self.signer, at)
    }

    /// The key that signs checkpoints and the witness.
    pub fn signer(&self) -> &AuditKeys {
        &self.signer
    }
}
