//! Keeps [`chain::WITNESS_FILE`] up to date: the newest committed head, signed, outside the
//! database. Appends (through [`super::log::AuditLog`]) only note their head in memory; a
//! background task writes the file at most every 250 ms, and `serve` writes it once more at
//! shutdown.

use std::path::PathBuf;
use std::sync::Mutex;

use chrono::NaiveDateTime;

use super::chain;
use crate::crypto::keys::AuditKeys;

#[derive(Debug, Default)]
struct Heads {
    latest: Option<(i64, [u8; 32])>,
    written: i64,
}

#[derive(Debug)]
pub struct Witness {
    dir: PathBuf,
    heads: Mutex<Heads>,
}

impl Witness {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            heads: Mutex::new(Heads::default()),
        }
    }

    /// Notes a committed head (commits finish in `seq` order per chain, but threads report
    /// them in any order: the highest wins).
    pub fn committed(&self, seq: i64, hash: [u8; 32]) {
        if let Ok(mut heads) = self.heads.lock() {
            if heads.latest.is_none_or(|(latest, _)| seq > latest) {
                heads.latest = Some((seq, hash));
            }
        }
    }

    /// Writes the newest head to the witness file if it moved since the last write.
    pub fn flush(&self, signer: &AuditKeys, at: NaiveDateTime) -> std::io::Result<()> {
        let pending = match self.heads.lock() {
            Ok(heads) => heads.latest.filter(|(seq, _)| *seq > heads.written),
            Err(_) => None,
        };
        let Some((seq, hash)) = pending else {
            return Ok(());
        };
        chain::write_witness(&self.dir, &chain::sign_head(signer, seq, &hash, at, None))?;
        if let Ok(mut heads) = self.heads.lock() {
            heads.written = heads.written.max(seq);
        }
        Ok(())
    }
}
