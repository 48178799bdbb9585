//! The Merkle tree's leaf: a salted commitment to each field of one event, so that part of an
//! event can be shown — to the family, in a verifiable extract — and still be proven to be in
//! the log, while the fields not shown (a staff member's identity, the request's path) stay
//! hidden: a hidden field appears only as its commitment, and its salt, which only the service
//! can derive, keeps a guess (say, every staff member's id in turn) from being checked
//! against it.
//!
//! Leaf v1 (what a verifier recomputes):
//! - Field `i` of [`FIELDS`] (from 0) commits as `SHA-256(salt_i ‖ i ‖ value)`: the 16-byte
//!   salt, the field's number as one byte, and the field's JSON text exactly as the canonical
//!   encoding writes it (module [`super`]): `"case.read"`, `200`, `null`, `["identity","plan"]`.
//! - `case_ids` commits to each case id on its own, so an extract can show its one case and
//!   hide the others: element `k` is `SHA-256(salt_{16+k} ‖ 0x80 ‖ "<id as JSON>")`, and the
//!   field's value is those element commitments, concatenated.
//! - `leaf = "sig-register audit leaf v1" ‖ 0x0A ‖ the 16 field commitments, in order`; the tree
//!   hashes it as RFC 9162 does (`SHA-256(0x00 ‖ leaf)`). The event's `seq` is not in the leaf:
//!   its place in the tree is (leaf index `seq − 1`, bound by every inclusion proof), so the
//!   leaf can be made before the event's place is known.
//! - Salts: `seed = HMAC-SHA256(leaf key, event id)`; `SHA-256(seed ‖ p)` for `p` = 0, 1, … (four
//!   bytes, big-endian) gives salts `2p` (its first 16 bytes) and `2p + 1` (its last 16). The leaf key is
//!   derived from the blind-index key (HKDF-SHA256, its own label), so every instance sharing
//!   the keys derives the same salts and nothing more has to be kept.

use std::collections::BTreeMap;

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::merkle::{self, Hash};
use super::CanonicalFields;
use crate::crypto::keys::{hex, LeafKey};

const LEAF_PREFIX: &[u8] = b"sig-register audit leaf v1\n";
const ELEMENT_TAG: u8 = 0x80;
/// The number of `case_ids` among [`FIELDS`].
const CASE_IDS: usize = 10;
/// A salt.
pub type Salt = [u8; 16];
/// The fields a leaf commits to, in order.
pub const FIELDS: [&str; 16] = [
    "id",
    "at",
    "action",
    "outcome",
    "status",
    "method",
    "path",
    "request_id",
    "reason",
    "consent_id",
    "case_ids",
    "categories",
    "actor.agency",
    "actor.roles",
    "actor.sub",
    "actor.name",
];
/// The fields a family's extract shows: those of its plain extract (API.md §10: when, which
/// agency and role, what, with what outcome). The rest — who by name or id, the request's id
/// and path, the policy's reason, the consent's id, the event's id and status, the categories,
/// and any other case the same request touched — stays hidden.
pub const FAMILY_FIELDS: [&str; 5] = ["at", "action", "outcome", "actor.agency", "actor.roles"];

fn salts(key: &LeafKey, id: &str, count: usize) -> Vec<Salt> {
    let seed = key.seed(id);
    let mut out = Vec::with_capacity(count + 1);
    for p in 0..count.div_ceil(2) {
        let mut context = Context::new(&SHA256);
        context.update(&seed);
        context.update(&(p as u32).to_be_bytes());
        let digest = context.finish();
        let (a, b) = digest.as_ref().split_at(16);
        out.push(a.try_into().unwrap_or_default());
        out.push(b.try_into().unwrap_or_default());
    }
    out
}

/// `SHA-256(salt ‖ tag ‖ value)`.
pub fn commit(tag: u8, salt: &Salt, value: &[u8]) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(salt);
    context.update(&[tag]);
    context.update(value);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

fn write_text(out: &mut Vec<u8>, value: &str) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

fn write_opt(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => write_text(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes the JSON text of field `i` (not `case_ids`) into `out`.
fn write_field(out: &mut Vec<u8>, i: usize, f: &CanonicalFields<'_>) {
    match i {
        0 => write_text(out, f.id),
        1 => {
            out.push(b'"');
            super::write_time(out, f.at);
            out.push(b'"');
        }
        2 => write_text(out, f.action),
        3 => write_text(out, f.outcome),
        4 => out.extend_from_slice(f.status.to_string().as_bytes()),
        5 => write_opt(out, f.method),
        6 => write_opt(out, f.path),
        7 => write_opt(out, f.request_id),
        8 => write_text(out, f.reason),
        9 => write_opt(out, f.consent_id),
        11 => out.extend_from_slice(f.categories_json.as_bytes()),
        12 => write_opt(out, f.actor_agency),
        13 => out.extend_from_slice(f.actor_roles_json.unwrap_or("null").as_bytes()),
        14 => write_opt(out, f.actor_sub),
        _ => write_opt(out, f.actor_name),
    }
}

/// The JSON texts of the case ids. A stored list that is not a list of strings (only tampering
/// makes one) is committed as one element holding its text, so the leaf still covers exactly
/// what is stored.
fn case_elements(f: &CanonicalFields<'_>) -> Vec<Vec<u8>> {
    match serde_json::from_str::<Vec<String>>(f.case_ids_json) {
        Ok(ids) => ids
            .iter()
            .map(|id| {
                let mut out = Vec::with_capacity(id.len() + 2);
                write_text(&mut out, id);
                out
            })
            .collect(),
        Err(_) => vec![f.case_ids_json.as_bytes().to_vec()],
    }
}

fn assemble(commitments: &[Hash]) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(LEAF_PREFIX.len() + 32 * commitments.len());
    leaf.extend_from_slice(LEAF_PREFIX);
    for c in commitments {
        leaf.extend_from_slice(c);
    }
    leaf
}

/// The openings of an event: per field, its value's JSON text, salt and commitment; for
/// `case_ids` also each element's.
struct Opened {
    values: Vec<Vec<u8>>,
    elements: Vec<Vec<u8>>,
    salts: Vec<Salt>,
    element_commitments: Vec<Hash>,
    commitments: Vec<Hash>,
}

fn open(key: &LeafKey, f: &CanonicalFields<'_>) -> Opened {
    let elements = case_elements(f);
    let salts = salts(key, f.id, FIELDS.len() + elements.len());
    let element_commitments: Vec<Hash> = elements
        .iter()
        .enumerate()
        .map(|(k, value)| commit(ELEMENT_TAG, &salts[FIELDS.len() + k], value))
        .collect();
    let mut values = Vec::with_capacity(FIELDS.len());
    let mut commitments = Vec::with_capacity(FIELDS.len());
    for (i, salt) in salts.iter().enumerate().take(FIELDS.len()) {
        let value = if i == CASE_IDS {
            element_commitments.concat()
        } else {
            let mut value = Vec::with_capacity(48);
            write_field(&mut value, i, f);
            value
        };
        commitments.push(commit(i as u8, salt, &value));
        values.push(value);
    }
    Opened {
        values,
        elements,
        salts,
        element_commitments,
        commitments,
    }
}

/// The leaf of an event.
pub fn leaf(key: &LeafKey, f: &CanonicalFields<'_>) -> Vec<u8> {
    let elements = case_elements(f);
    let salts = salts(key, f.id, FIELDS.len() + elements.len());
    let mut leaf = Vec::with_capacity(LEAF_PREFIX.len() + 32 * FIELDS.len());
    leaf.extend_from_slice(LEAF_PREFIX);
    let mut value = Vec::with_capacity(128);
    for (i, salt) in salts.iter().enumerate().take(FIELDS.len()) {
        value.clear();
        if i == CASE_IDS {
            for (k, element) in elements.iter().enumerate() {
                value.extend_from_slice(&commit(ELEMENT_TAG, &salts[FIELDS.len() + k], element));
            }
        } else {
            write_field(&mut value, i, f);
        }
        leaf.extend_from_slice(&commit(i as u8, salt, &value));
    }
    leaf
}

/// The tree's leaf hash of an event.
pub fn leaf_hash(key: &LeafKey, f: &CanonicalFields<'_>) -> Hash {
    merkle::leaf_hash(&leaf(key, f))
}

/// One field of a [`Disclosure`]: shown (its value and salt), hidden (its commitment), or, for
/// `case_ids`, element by element.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Opening {
    Shown { value: Value, salt: String },
    Elements { salt: String, items: Vec<Element> },
    Hidden { commitment: String },
}

/// One case id of a [`Opening::Elements`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Element {
    Shown { value: String, salt: String },
    Hidden { commitment: String },
}

/// An event with some fields shown and the rest as commitments: enough to recompute its leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Disclosure {
    pub fields: BTreeMap<String, Opening>,
}

/// Shows `shown` fields of an event (and, of its case ids, only `case_id`); the rest hidden.
pub fn disclose(
    key: &LeafKey,
    f: &CanonicalFields<'_>,
    shown: &[&str],
    case_id: Option<&str>,
) -> Disclosure {
    let opened = open(key, f);
    let wanted = case_id.map(|id| {
        let mut out = Vec::new();
        write_text(&mut out, id);
        out
    });
    let mut out = BTreeMap::new();
    for (i, label) in FIELDS.iter().enumerate() {
        let visible = shown.contains(label);
        let opening = if i == CASE_IDS {
            let items = opened
                .elements
                .iter()
                .zip(&opened.element_commitments)
                .enumerate()
                .map(
                    |(k, (value, commitment))| match serde_json::from_slice::<String>(value) {
                        Ok(text) if visible || wanted.as_ref() == Some(value) => Element::Shown {
                            value: text,
                            salt: hex(&opened.salts[FIELDS.len() + k]),
                        },
                        _ => Element::Hidden {
                            commitment: hex(commitment),
                        },
                    },
                )
                .collect();
            Opening::Elements {
                salt: hex(&opened.salts[i]),
                items,
            }
        } else {
            match serde_json::from_slice(&opened.values[i]) {
                Ok(value) if visible => Opening::Shown {
                    value,
                    salt: hex(&opened.salts[i]),
                },
                _ => Opening::Hidden {
                    commitment: hex(&opened.commitments[i]),
                },
            }
        };
        out.insert((*label).to_owned(), opening);
    }
    Disclosure { fields: out }
}

/// Why a disclosure does not make a leaf.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    #[error("field {0} is missing")]
    Missing(String),
    #[error("field {0} is not a field of the leaf")]
    Unknown(String),
    #[error("field {0} is not well formed")]
    Malformed(String),
}

fn bytes_of<const N: usize>(text: &str, label: &str) -> Result<[u8; N], DisclosureError> {
    crate::crypto::keys::unhex(text)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| DisclosureError::Malformed(label.to_owned()))
}

impl Disclosure {
    /// The leaf the disclosed fields commit to: what the verifier hashes and proves.
    pub fn leaf(&self) -> Result<Vec<u8>, DisclosureError> {
        if let Some(unknown) = self.fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(DisclosureError::Unknown(unknown.clone()));
        }
        let mut commitments = Vec::with_capacity(FIELDS.len());
        for (i, label) in FIELDS.iter().enumerate() {
            let opening = self
                .fields
                .get(*label)
                .ok_or_else(|| DisclosureError::Missing((*label).to_owned()))?;
            let malformed = || DisclosureError::Malformed((*label).to_owned());
            let commitment = match opening {
                Opening::Hidden { commitment } => bytes_of::<32>(commitment, label)?,
                Opening::Shown { value, salt } if i != CASE_IDS => {
                    let bytes = serde_json::to_vec(value).map_err(|_| malformed())?;
                    commit(i as u8, &bytes_of::<16>(salt, label)?, &bytes)
                }
                Opening::Elements { salt, items } if i == CASE_IDS => {
                    let mut value = Vec::with_capacity(32 * items.len());
                    for item in items {
                        let element = match item {
                            Element::Hidden { commitment } => bytes_of::<32>(commitment, label)?,
                            Element::Shown { value, salt } => {
                                let mut text = Vec::new();
                                write_text(&mut text, value);
                                commit(ELEMENT_TAG, &bytes_of::<16>(salt, label)?, &text)
                            }
                        };
                        value.extend_from_slice(&element);
                    }
                    commit(i as u8, &bytes_of::<16>(salt, label)?, &value)
                }
                _ => return Err(malformed()),
            };
            commitments.push(commitment);
        }
        Ok(assemble(&commitments))
    }

    /// A shown field's value.
    pub fn shown(&self, label: &str) -> Option<&Value> {
        match self.fields.get(label)? {
            Opening::Shown { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The case ids shown.
    pub fn shown_cases(&self) -> Vec<&str> {
        match self.fields.get("case_ids") {
            Some(Opening::Elements { items, .. }) => items
                .iter()
                .filter_map(|item| match item {
                    Element::Shown { value, .. } => Some(value.as_str()),
                    Element::Hidden { .. } => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;

    fn key() -> LeafKey {
        LeafKey::derive(&[7; 32])
    }

    fn with<R>(case_ids: &str, sub: &str, run: impl FnOnce(&CanonicalFields<'_>) -> R) -> R {
        let at =
            NaiveDateTime::parse_from_str("2026-11-23 09:15:00.123456", "%Y-%m-%d %H:%M:%S%.f")
                .unwrap();
        run(&CanonicalFields {
            seq: 7,
            id: "0192f0c4-0000-7000-8000-000000000001",
            at: &at,
            actor_sub: Some(sub),
            actor_name: Some("Per \"P\" Nilsson"),
            actor_agency: Some("polisen-orebro"),
            actor_roles_json: Some("[\"police_officer\"]"),
            action: "case.read",
            outcome: "allowed",
            status: 200,
            case_ids_json: case_ids,
            categories_json: "[\"identity\",\"plan\"]",
            consent_id: None,
            reason: "consent-covers-agency",
            request_id: Some("r1"),
            method: Some("GET"),
            path: Some("/api/v1/cases/c1"),
        })
    }

    #[test]
    fn a_family_disclosure_recomputes_the_leaf_and_hides_the_rest() {
        let leaf = with("[\"fall-0\",\"fall-1\",\"fall-2\"]", "po-1", |f| {
            leaf(&key(), f)
        });
        let shown = with("[\"fall-0\",\"fall-1\",\"fall-2\"]", "po-1", |f| {
            disclose(&key(), f, &FAMILY_FIELDS, Some("fall-1"))
        });
        assert_eq!(shown.leaf().unwrap(), leaf);
        assert_eq!(shown.shown("actor.agency").unwrap(), "polisen-orebro");
        assert_eq!(shown.shown("at").unwrap(), "2026-11-23T09:15:00.123456Z");
        assert_eq!(shown.shown_cases(), vec!["fall-1"]);
        let text = serde_json::to_string(&shown).unwrap();
        for secret in [
            "po-1",
            "Nilsson",
            "fall-0",
            "fall-2",
            "r1",
            "/api/v1",
            "consent-covers",
        ] {
            assert!(!text.contains(secret), "{secret} is hidden");
        }
        // It survives the round trip through its JSON.
        let back: Disclosure = serde_json::from_str(&text).unwrap();
        assert_eq!(back.leaf().unwrap(), leaf);
    }

    #[test]
    fn every_change_to_a_disclosure_changes_its_leaf() {
        let leaf = with("[\"fall-1\"]", "po-1", |f| leaf(&key(), f));
        let shown = with("[\"fall-1\"]", "po-1", |f| {
            disclose(&key(), f, &FAMILY_FIELDS, Some("fall-1"))
        });
        let mut changed = shown.clone();
        changed.fields.insert(
            "actor.agency".to_owned(),
            match &shown.fields["actor.agency"] {
                Opening::Shown { salt, .. } => Opening::Shown {
                    value: Value::from("socialtjansten-orebro"),
                    salt: salt.clone(),
                },
                _ => unreachable!(),
            },
        );
        assert_ne!(changed.leaf().unwrap(), leaf);
        let mut changed = shown.clone();
        if let Some(Opening::Elements { items, .. }) = changed.fields.get_mut("case_ids") {
            items[0] = Element::Shown {
                value: "fall-9".to_owned(),
                salt: match &items[0] {
                    Element::Shown { salt, .. } => salt.clone(),
                    Element::Hidden { .. } => unreachable!(),
                },
            };
        }
        assert_ne!(changed.leaf().unwrap(), leaf);
        let mut missing = shown.clone();
        missing.fields.remove("actor.sub");
        assert_eq!(
            missing.leaf(),
            Err(DisclosureError::Missing("actor.sub".to_owned()))
        );
    }

    #[test]
    fn hidden_fields_differ_between_events_and_keys() {
        // The same staff member in two events: the commitments differ (salted per event), so
        // an extract does not even show that the same person acted twice.
        let a = with("[\"fall-1\"]", "po-1", |f| {
            disclose(&key(), f, &FAMILY_FIELDS, None)
        });
        let b = with("[\"fall-1\"]", "po-1", |f| {
            let mut g = *f;
            g.id = "0192f0c4-0000-7000-8000-000000000002";
            disclose(&key(), &g, &FAMILY_FIELDS, None)
        });
        assert_ne!(a.fields["actor.sub"], b.fields["actor.sub"]);
        let other = with("[\"fall-1\"]", "po-1", |f| {
            leaf(&LeafKey::derive(&[8; 32]), f)
        });
        assert_ne!(other, with("[\"fall-1\"]", "po-1", |f| leaf(&key(), f)));
        assert_ne!(
            with("[\"fall-1\"]", "po-2", |f| leaf(&key(), f)),
            with("[\"fall-1\"]", "po-1", |f| leaf(&key(), f))
        );
    }

    #[test]
    fn a_full_disclosure_matches_too() {
        let leaf = with("[]", "po-1", |f| leaf(&key(), f));
        let all = with("[]", "po-1", |f| disclose(&key(), f, &FIELDS, None));
        assert_eq!(all.leaf().unwrap(), leaf);
        assert_eq!(all.shown("actor.name").unwrap(), "Per \"P\" Nilsson");
        assert_eq!(all.shown("status").unwrap(), 200);
    }
}
