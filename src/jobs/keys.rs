//! `sig-register keys rotate blind-index`: a new key for the personal-number index, every
//! case's index computed again with it in one transaction.
//!
//! The order makes a cut-short rotation safe to run again: the audit leaf key is kept in a file
//! of its own first (the leaves of the events so far were made with it, and they must stay
//! verifiable); the next index key is written beside the current one; the indexes are
//! recomputed with it and committed; only then does it replace the current key. A rerun finds
//! the next key and finishes with it. Until each instance restarts it indexes with the key it
//! loaded, so every instance must be stopped while this runs.

use diesel::prelude::*;

use crate::config::Config;
use crate::crypto::columns::Column;
use crate::crypto::fields::FieldCrypto;
use crate::crypto::keys::{self, KeyStore};
use crate::db::schema::cases;

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("keys: {0}")]
    Keys(#[from] keys::KeyError),
    #[error("{0}")]
    NotHere(String),
    #[error("the database: {0}")]
    Database(String),
    #[error("case {0}: its sealed personal number does not open with the field keys")]
    Sealed(String),
    #[error("the database: {0}")]
    Query(#[from] diesel::result::Error),
}

/// How many cases were indexed again.
pub fn rotate_blind_index(config: &Config) -> Result<usize, RotateError> {
    let mut conn = open(config, keys::INDEX_KEY_FILE)?;
    let dir = &config.data_dir;
    let store = KeyStore::load_or_create(dir)?;
    let next = keys::begin_index_rotation(dir)?;
    let crypto = FieldCrypto::new(&store.field_key, &store.previous_field_keys, &next);
    let indexed = crate::db::write_tx(&mut conn, |conn| {
        let rows: Vec<(String, Option<Vec<u8>>)> = cases::table
            .select((cases::id, cases::youth_personal_number))
            .filter(cases::youth_pn_index.is_not_null())
            .load(conn)?;
        for (id, sealed) in &rows {
            let Some(sealed) = sealed else { continue };
            let number = crypto
                .open_str(sealed, &Column::YouthPersonalNumber.aad(id))
                .map_err(|_| RotateError::Sealed(id.clone()))?;
            diesel::update(cases::table.filter(cases::id.eq(id)))
                .set(cases::youth_pn_index.eq(Some(crypto.blind_index(&number))))
                .execute(conn)?;
        }
        Ok::<_, RotateError>(rows.len())
    })?;
    keys::finish_index_rotation(dir)?;
    Ok(indexed)
}

/// `sig-register keys rotate audit`: the audit log's signing key hands the log over, at its
/// head, to a new key (every instance stopped: a running one would go on signing with the
/// retired key, and `audit verify` would report its heads). Returns the head `seq` and the new
/// verifier key, for the witnesses and whoever checks extracts.
pub fn rotate_audit_key(config: &Config) -> Result<(i64, String), RotateError> {
    let mut conn = open(config, keys::AUDIT_KEY_FILE)?;
    let head = crate::audit::chain::head(&mut conn)?.map_or(0, |(seq, _)| seq);
    let public = keys::rotate_audit_key(&config.data_dir, head)?;
    Ok((
        head,
        crate::audit::note::verifier_key(&config.audit_origin, &public),
    ))
}

/// The database, once `SIG_DATA_DIR` is seen to hold `key_file` (the server's data folder).
fn open(config: &Config, key_file: &str) -> Result<crate::db::DbConn, RotateError> {
    let url = config
        .database()
        .map_err(|e| RotateError::Database(e.to_string()))?;
    if !config.data_dir.join(key_file).is_file() {
        return Err(RotateError::NotHere(format!(
            "{} holds no {key_file}: SIG_DATA_DIR must name the data folder the server uses",
            config.data_dir.display()
        )));
    }
    url.connect()
        .map_err(|e| RotateError::Database(e.to_string()))
}
