//! Signed checkpoints of the audit log and its witness file. `serve` refreshes the witness
//! every 250 ms and signs a checkpoint every 60 s and at shutdown; `retention run` signs one
//! after its events.

use crate::audit::chain::Checkpoint;
use crate::audit::log::CheckpointError;
use crate::audit::to_micros;
use crate::error::UseCaseError;
use crate::state::StateInner;

/// Why no checkpoint was signed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no database connection: {0}")]
    Connection(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl From<Error> for UseCaseError {
    fn from(error: Error) -> Self {
        tracing::warn!(%error, "no audit checkpoint");
        UseCaseError::Unavailable
    }
}

/// Signs a checkpoint over the current head (unless one covers it already) and refreshes the
/// witness file.
pub fn sign_now(state: &StateInner) -> Result<Option<Checkpoint>, Error> {
    let mut conn = state.pool.get()?;
    let at = to_micros(state.clock.now());
    Ok(state.audit.checkpoint(&mut conn, at)?)
}

/// Writes the newest committed head to the witness file if it moved since the last write.
pub fn refresh_witness(state: &StateInner) -> std::io::Result<()> {
    state.audit.flush_witness(to_micros(state.clock.now()))
}
