//! Stored events read for verification straight from the database's row: each field is borrowed
//! from the row (SQLite) or the wire buffer (PostgreSQL), copied into one reused buffer, encoded
//! canonically and hashed. Nothing is allocated per field but the case ids, and what leaves the
//! row is only what verification compares: the sequence number, the stored links, the content's
//! hash and the case ids the event names (for the case index).

use std::cell::RefCell;

use chrono::NaiveDateTime;
use diesel::deserialize::{self, FromSqlRow};
use diesel::row::{Field, Row};
use diesel::sql_types::{BigInt, Binary, Integer, Nullable, Text, Timestamp};

use super::{case_set, chain_hash, write_canonical, CanonicalFields};
use crate::crypto::keys::LeafKey;
use crate::db::{MultiBackend, MultiRawValue};

/// The SQL types of `audit_events`' columns in table order (its default select): a column added
/// to the table changes the type and stops the build until [`CheckedEvent`] reads it.
pub type EventSql = (
    BigInt,
    Text,
    Timestamp,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Text,
    Text,
    Integer,
    Text,
    Text,
    Nullable<Text>,
    Text,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Binary,
    Binary,
);

/// A hash column as stored: exactly 32 bytes, or `None` when it holds anything else.
pub type Stored32 = Option<[u8; 32]>;

/// One stored event as verification sees it.
#[derive(Debug)]
pub struct CheckedEvent {
    pub seq: i64,
    pub prev_hash: Stored32,
    pub hash: Stored32,
    /// `SHA-256(stored prev_hash ‖ canonical(stored fields))`.
    pub content_hash: [u8; 32],
    /// The case ids the event names, sorted and without repeats, as the case index must hold
    /// them; `None` when the stored `case_ids` is not a JSON list of strings.
    pub case_ids: Option<Vec<String>>,
    /// The tree's leaf hash of the stored fields, when read under [`with_leaf_key`].
    pub leaf: Option<[u8; 32]>,
}

/// Runs `read` with the leaf key set for this thread: the events it reads carry their leaf
/// hashes (a row is decoded inside diesel's loader, which takes no arguments).
pub fn with_leaf_key<R>(key: &LeafKey, read: impl FnOnce() -> R) -> R {
    LEAF_KEY.with_borrow_mut(|slot| *slot = Some(key.clone()));
    let result = read();
    LEAF_KEY.with_borrow_mut(|slot| *slot = None);
    result
}

/// `case_ids` as stored (a JSON list), as the case index must hold them ([`case_set`]).
fn case_id_set(json: &str) -> Option<Vec<String>> {
    if json == "[]" {
        return Some(Vec::new());
    }
    serde_json::from_str::<Vec<String>>(json).ok().map(case_set)
}

/// The number of columns in [`EventSql`].
const COLUMNS: usize = 19;

/// The text columns, by their index in [`EventSql`].
const TEXTS: [usize; 14] = [1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16];

thread_local! {
    /// The texts of the row being read and its canonical encoding, reused row after row.
    static BUFFERS: RefCell<(String, Vec<u8>)> =
        RefCell::new((String::with_capacity(1024), Vec::with_capacity(1024)));
    /// The leaf key of [`with_leaf_key`], while it runs.
    static LEAF_KEY: RefCell<Option<LeafKey>> = const { RefCell::new(None) };
}

/// Runs `f` with the raw value of column `idx` (`None` for NULL).
fn with_value<'a, R, T>(
    row: &R,
    idx: usize,
    f: impl FnOnce(Option<MultiRawValue<'_>>) -> deserialize::Result<T>,
) -> deserialize::Result<T>
where
    R: Row<'a, MultiBackend>,
{
    let field = row
        .get(idx)
        .ok_or_else(|| format!("audit event column {idx} is missing"))?;
    f(field.value())
}

/// A text value, borrowed from the row (SQLite reads a blob as text by copying it, and the
/// other way round, so each kind is read as what it is).
fn text_str<'v>(value: &'v mut MultiRawValue<'_>) -> deserialize::Result<&'v str> {
    match value {
        MultiRawValue::Sqlite(value) => Ok(value.read_text()),
        MultiRawValue::Postgresql(value) => Ok(std::str::from_utf8(value.as_bytes())?),
    }
}

/// The bytes of a binary value, borrowed from the row.
fn blob_bytes<'v>(value: &'v mut MultiRawValue<'_>) -> &'v [u8] {
    match value {
        MultiRawValue::Sqlite(value) => value.read_blob(),
        MultiRawValue::Postgresql(value) => value.as_bytes(),
    }
}

fn stored32(value: Option<MultiRawValue<'_>>) -> deserialize::Result<Stored32> {
    Ok(value.and_then(|mut value| blob_bytes(&mut value).try_into().ok()))
}

fn not_null<T>(value: Option<T>, column: &str) -> deserialize::Result<T> {
    value.ok_or_else(|| format!("audit event column {column} is NULL").into())
}

impl FromSqlRow<EventSql, MultiBackend> for CheckedEvent {
    fn build_from_row<'a>(row: &impl Row<'a, MultiBackend>) -> deserialize::Result<Self> {
        let seq = with_value(row, 0, |v| not_null(v, "seq")?.from_sql::<i64, BigInt>())?;
        let at = with_value(row, 2, |v| match not_null(v, "at")? {
            MultiRawValue::Sqlite(mut value) => match parse_sqlite_time(value.read_text()) {
                Some(at) => Ok(at),
                None => MultiRawValue::Sqlite(value).from_sql::<NaiveDateTime, Timestamp>(),
            },
            value => value.from_sql::<NaiveDateTime, Timestamp>(),
        })?;
        let status = with_value(row, 9, |v| {
            not_null(v, "status")?.from_sql::<i32, Integer>()
        })?;
        let prev_hash = with_value(row, 17, stored32)?;
        BUFFERS.with_borrow_mut(|(text, encoded)| {
            text.clear();
            // Where each text column lies in `text`, by column index (`None`: NULL or not text).
            let mut spans: [Option<(usize, usize)>; COLUMNS] = [None; COLUMNS];
            for idx in TEXTS {
                spans[idx] = with_value(row, idx, |value| match value {
                    None => Ok(None),
                    Some(mut value) => {
                        let start = text.len();
                        text.push_str(text_str(&mut value)?);
                        Ok(Some((start, text.len())))
                    }
                })?;
            }
            let get = |idx: usize| spans[idx].and_then(|(start, end)| text.get(start..end));
            let required = |idx: usize, column: &str| not_null(get(idx), column);
            encoded.clear();
            let fields = CanonicalFields {
                seq,
                id: required(1, "id")?,
                at: &at,
                actor_sub: get(3),
                actor_name: get(4),
                actor_agency: get(5),
                actor_roles_json: get(6),
                action: required(7, "action")?,
                outcome: required(8, "outcome")?,
                status,
                case_ids_json: required(10, "case_ids")?,
                categories_json: required(11, "categories")?,
                consent_id: get(12),
                reason: required(13, "reason")?,
                request_id: get(14),
                method: get(15),
                path: get(16),
            };
            write_canonical(encoded, &fields);
            let leaf = LEAF_KEY
                .with_borrow(|key| key.as_ref().map(|key| super::leaf::leaf_hash(key, &fields)));
            let content_hash = with_value(row, 17, |value| {
                let mut value = not_null(value, "prev_hash")?;
                Ok(chain_hash(blob_bytes(&mut value), encoded))
            })?;
            Ok(Self {
                seq,
                prev_hash,
                hash: with_value(row, 18, stored32)?,
                content_hash,
                case_ids: case_id_set(required(10, "case_ids")?),
                leaf,
            })
        })
    }
}

/// `YYYY-MM-DD HH:MM:SS[.f…]` as diesel writes a timestamp into SQLite, parsed without chrono's
/// general parser (a fifth of a row's cost). Anything else is `None`, for diesel's own parser.
fn parse_sqlite_time(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let nanos = match b.get(19..) {
        Some([]) => 0,
        Some([b'.', fraction @ ..]) if (1..=9).contains(&fraction.len()) => {
            num(20..b.len())? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?
        .and_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)
}

#[cfg(test)]
mod tests {
    use super::parse_sqlite_time;
    use chrono::NaiveDateTime;

    #[test]
    fn sqlite_times_parse_as_diesel_writes_them() {
        for text in [
            "2026-11-23 09:15:00.123456",
            "2026-11-23 09:15:00",
            "2026-11-23 09:15:00.5",
            "2026-02-28 23:59:59.999999999",
        ] {
            let expected = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap();
            assert_eq!(parse_sqlite_time(text), Some(expected), "{text}");
        }
        for text in [
            "2026-11-23T09:15:00",
            "2026-13-23 09:15:00",
            "2026-11-23 09:15:00.",
            "2026-11-23 09:15:00.1234567890",
            "2026-11-23 09:15",
            "2026-11-23 09:15:0x",
            "",
        ] {
            assert_eq!(parse_sqlite_time(text), None, "{text}");
        }
    }
}
