//! Submits the log's signed tree heads to its outside witnesses (`SIG_AUDIT_WITNESSES`), each
//! with the consistency proof from the size that witness last cosigned, and keeps their
//! cosignatures in `audit_cosignatures`. `serve` runs it after each minute's checkpoint and at
//! shutdown; a witness that cannot be reached is tried again the next time, from where it
//! stood.

use std::time::Duration;

use diesel::prelude::*;

use crate::audit::cosign::{self, Cosignature, WitnessTarget};
use crate::audit::{chain, note, tree};
use crate::db::schema::audit_cosignatures;
use crate::db::{self, DbConn};
use crate::state::StateInner;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a witness was left for the next time.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("no database connection: {0}")]
    Connection(#[from] diesel::r2d2::PoolError),
    #[error("the tree lacks a node of the consistency proof to {0}")]
    Proof(u64),
    #[error("{0}")]
    Witness(String),
}

/// Submits every signed tree head newer than what each witness cosigned; returns how many
/// cosignatures were added. Each witness on its own: one that fails does not hold up the rest.
pub fn submit_all(state: &StateInner) -> usize {
    if state.witnesses.is_empty() {
        return 0;
    }
    let agent = openidconnect::ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
        .redirects(0)
        .build();
    let mut added = 0;
    for target in &state.witnesses {
        match submit(state, &agent, target) {
            Ok(n) => added += n,
            Err(error) => {
                tracing::warn!(witness = %target.name, %error, "the witness did not cosign")
            }
        }
    }
    added
}

fn last_cosigned(conn: &mut DbConn, witness: &str) -> QueryResult<u64> {
    let last: Option<i64> = audit_cosignatures::table
        .filter(audit_cosignatures::witness.eq(witness))
        .select(diesel::dsl::max(audit_cosignatures::tree_size))
        .first(conn)?;
    Ok(last.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

fn submit(
    state: &StateInner,
    agent: &openidconnect::ureq::Agent,
    target: &WitnessTarget,
) -> Result<usize, Error> {
    let mut conn = state.pool.get()?;
    let mut last = last_cosigned(&mut conn, &target.name)?;
    // Only the heads this witness lacks: each minute's run reads nothing older.
    let mut heads = chain::signed_heads_after(&mut conn, last)?;
    let mut added = 0;
    let mut resynced = false;
    let mut i = 0;
    while let Some((size, checkpoint)) = heads.get(i) {
        let proof = if last == 0 {
            Vec::new()
        } else {
            tree::consistency(&mut conn, last, *size)?.ok_or(Error::Proof(*size))?
        };
        let body = cosign::request_body(last, &proof, checkpoint);
        let url = format!("{}/add-checkpoint", target.url);
        match agent.post(&url).send_string(&body) {
            Ok(response) => {
                let lines = response
                    .into_string()
                    .map_err(|e| Error::Witness(e.to_string()))?;
                let opened = note::parse_checkpoint(checkpoint)
                    .map_err(|e| Error::Witness(e.to_string()))?;
                let (_, line) =
                    cosign::verify_cosignature(&lines, &opened.body, &target.name, &target.key)
                        .ok_or_else(|| {
                            Error::Witness("its answer holds no valid cosignature".to_owned())
                        })?;
                let at = crate::audit::to_micros(state.clock.now());
                db::write_tx(&mut conn, |conn| {
                    diesel::insert_into(audit_cosignatures::table)
                        .values(&Cosignature {
                            witness: target.name.clone(),
                            tree_size: *size as i64,
                            line,
                            at,
                        })
                        .execute(conn)
                })?;
                added += 1;
                last = *size;
                i += 1;
            }
            Err(openidconnect::ureq::Error::Status(409, response)) if !resynced => {
                // The witness stands elsewhere (a cosignature not kept here): go on from its size,
                // if it is one of ours.
                resynced = true;
                let theirs: Option<u64> = response
                    .into_string()
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                let ours = match theirs {
                    Some(0) => true,
                    Some(theirs) => chain::signed_heads_after(&mut conn, theirs - 1)?
                        .first()
                        .is_some_and(|(size, _)| *size == theirs),
                    None => false,
                };
                let Some(theirs) = theirs.filter(|_| ours) else {
                    return Err(Error::Witness(
                        "it holds a tree size this log never signed: investigate".to_owned(),
                    ));
                };
                last = theirs;
                heads = chain::signed_heads_after(&mut conn, last)?;
                i = 0;
            }
            Err(openidconnect::ureq::Error::Status(code, response)) => {
                let text = response.into_string().unwrap_or_default();
                return Err(Error::Witness(format!(
                    "it refused the tree head of size {size}: {code} {}",
                    text.trim()
                )));
            }
            Err(error) => return Err(Error::Witness(format!("unreachable: {error}"))),
        }
    }
    Ok(added)
}
