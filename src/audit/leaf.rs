//! The Merkle tree's leaf: a salted commitment to each field of one event, so that part of an
//! event can be shown — to the family, in a verifiable extract — and still be proven to be in
//! the log, while the fields not shown (a staff member's identity, the request's path) stay
//! hidden: a hidden field appears only as its commitment, and its salt, which only the service
//! can derive, keeps a guess (say, every staff member's id in turn) from being checked
//! against it.
//!
//! Leaf v1 (what a verifier recomputes):
//! - `commit(label, salt, value) = SHA-256("sig-register audit field v1" ‖ 0x00 ‖ label ‖ 0x00
//!   ‖ salt ‖ value)`, where `value` is the field's JSON text exactly as the canonical encoding
//!   writes it (module [`super`]): `"case.read"`, `200`, `null`, `["identity","plan"]`.
//! - `case_ids` commits to each case id on its own, so an extract can show its one case and
//!   hide the others: element `k` (from 0) is `commit("case_ids/k", salt, "<id as JSON>")`,
//!   and the field's value is those element commitments, concatenated.
//! - `leaf = "sig-register audit leaf v1" ‖ 0x0A ‖ commit(field) for each field of [`FIELDS`], in
//!   that order`; the tree hashes it as RFC 9162 does (`SHA-256(0x00 ‖ leaf)`).
//! - Salts are 32 bytes: `SHA-256(seed ‖ label)` with `seed = HMAC-SHA256(leaf key, event id)`.
//!   The leaf key is derived from the blind-index key (HKDF-SHA256, its own label), so every
//!   instance sharing the keys derives the same salts and nothing more has to be kept.

use std::collections::BTreeMap;

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::merkle::{self, Hash};
use super::CanonicalFields;
use crate::crypto::keys::{hex, LeafKey};

const LEAF_PREFIX: &[u8] = b"sig-register audit leaf v1\n";
const FIELD_PREFIX: &[u8] = b"sig-register audit field v1\0";
/// The fields a leaf commits to, in order.
pub const FIELDS: [&str; 17] = [
    "seq",
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
    "categories",
    "case_ids",
    "actor.agency",
    "actor.roles",
    "actor.sub",
    "actor.name",
];
/// The fields a family's extract shows: those of its plain extract (API.md §10: when, which
/// agency and role, what, with what outcome) and the event's place. The rest — who by name or
/// id, the request's id and path, the policy's reason, the consent's id, the event's id and
/// status, and any other case the same request touched — stays hidden.
pub const FAMILY_FIELDS: [&str; 6] = [
    "seq",
    "at",
    "action",
    "outcome",
    "actor.agency",
    "actor.roles",
];

struct Salts([u8; 32]);

impl Salts {
    fn new(key: &LeafKey, id: &str) -> Self {
        Self(key.seed(id))
    }

    fn of(&self, label: &str) -> Hash {
        digest(&[&self.0, label.as_bytes()])
    }
}

fn digest(parts: &[&[u8]]) -> Hash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// `commit(label, salt, value)`.
pub fn commit(label: &str, salt: &Hash, value: &[u8]) -> Hash {
    digest(&[FIELD_PREFIX, label.as_bytes(), &[0], salt, value])
}

fn element_label(k: usize) -> String {
    format!("case_ids/{k}")
}

/// One field of an event: its JSON text and, for `case_ids`, its elements' JSON texts.
struct Field {
    label: &'static str,
    value: Vec<u8>,
    elements: Option<Vec<Vec<u8>>>,
}

fn json_text(value: &str) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

fn fields(f: &CanonicalFields<'_>) -> Vec<Field> {
    let text = |v: &str| json_text(v);
    let opt = |v: Option<&str>| v.map_or_else(|| b"null".to_vec(), json_text);
    let raw = |v: Option<&str>| v.unwrap_or("null").as_bytes().to_vec();
    let mut at = Vec::with_capacity(30);
    at.push(b'"');
    super::write_time(&mut at, f.at);
    at.push(b'"');
    // A stored list that is not a list of strings (only tampering makes one) is committed as
    // one element holding its text, so the leaf still covers exactly what is stored.
    let elements = serde_json::from_str::<Vec<String>>(f.case_ids_json).map_or_else(
        |_| vec![f.case_ids_json.as_bytes().to_vec()],
        |ids| ids.iter().map(|id| json_text(id)).collect(),
    );
    let plain = |label, value| Field {
        label,
        value,
        elements: None,
    };
    vec![
        plain("seq", f.seq.to_string().into_bytes()),
        plain("id", text(f.id)),
        plain("at", at),
        plain("action", text(f.action)),
        plain("outcome", text(f.outcome)),
        plain("status", f.status.to_string().into_bytes()),
        plain("method", opt(f.method)),
        plain("path", opt(f.path)),
        plain("request_id", opt(f.request_id)),
        plain("reason", text(f.reason)),
        plain("consent_id", opt(f.consent_id)),
        plain("categories", f.categories_json.as_bytes().to_vec()),
        Field {
            label: "case_ids",
            value: Vec::new(),
            elements: Some(elements),
        },
        plain("actor.agency", opt(f.actor_agency)),
        plain("actor.roles", raw(f.actor_roles_json)),
        plain("actor.sub", opt(f.actor_sub)),
        plain("actor.name", opt(f.actor_name)),
    ]
}

fn element_commitments(salts: &Salts, elements: &[Vec<u8>]) -> Vec<Hash> {
    elements
        .iter()
        .enumerate()
        .map(|(k, value)| {
            let label = element_label(k);
            commit(&label, &salts.of(&label), value)
        })
        .collect()
}

fn assemble(commitments: &[Hash]) -> Vec<u8> {
    let mut leaf = Vec::with_capacity(LEAF_PREFIX.len() + 32 * commitments.len());
    leaf.extend_from_slice(LEAF_PREFIX);
    for c in commitments {
        leaf.extend_from_slice(c);
    }
    leaf
}

/// The leaf of an event.
pub fn leaf(key: &LeafKey, f: &CanonicalFields<'_>) -> Vec<u8> {
    let salts = Salts::new(key, f.id);
    let commitments: Vec<Hash> = fields(f)
        .into_iter()
        .map(|field| {
            let salt = salts.of(field.label);
            match &field.elements {
                Some(elements) => commit(
                    field.label,
                    &salt,
                    &element_commitments(&salts, elements).concat(),
                ),
                None => commit(field.label, &salt, &field.value),
            }
        })
        .collect();
    assemble(&commitments)
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
    let salts = Salts::new(key, f.id);
    let mut out = BTreeMap::new();
    for field in fields(f) {
        let salt = salts.of(field.label);
        let opening = match &field.elements {
            Some(elements) => {
                let commitments = element_commitments(&salts, elements);
                let wanted = case_id.map(json_text);
                let items = elements
                    .iter()
                    .zip(&commitments)
                    .enumerate()
                    .map(|(k, (value, commitment))| {
                        let visible =
                            shown.contains(&field.label) || wanted.as_ref() == Some(value);
                        match serde_json::from_slice::<String>(value) {
                            Ok(text) if visible => Element::Shown {
                                value: text,
                                salt: hex(&salts.of(&element_label(k))),
                            },
                            _ => Element::Hidden {
                                commitment: hex(commitment),
                            },
                        }
                    })
                    .collect();
                Opening::Elements {
                    salt: hex(&salt),
                    items,
                }
            }
            None if shown.contains(&field.label) => match serde_json::from_slice(&field.value) {
                Ok(value) => Opening::Shown {
                    value,
                    salt: hex(&salt),
                },
                Err(_) => Opening::Hidden {
                    commitment: hex(&commit(field.label, &salt, &field.value)),
                },
            },
            None => Opening::Hidden {
                commitment: hex(&commit(field.label, &salt, &field.value)),
            },
        };
        out.insert(field.label.to_owned(), opening);
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

fn hash_of(text: &str, label: &str) -> Result<Hash, DisclosureError> {
    let bytes = crate::crypto::keys::unhex(text)
        .ok_or_else(|| DisclosureError::Malformed(label.to_owned()))?;
    bytes
        .try_into()
        .map_err(|_| DisclosureError::Malformed(label.to_owned()))
}

impl Disclosure {
    /// The leaf the disclosed fields commit to: what the verifier hashes and proves.
    pub fn leaf(&self) -> Result<Vec<u8>, DisclosureError> {
        if let Some(unknown) = self.fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(DisclosureError::Unknown(unknown.clone()));
        }
        let mut commitments = Vec::with_capacity(FIELDS.len());
        for label in FIELDS {
            let opening = self
                .fields
                .get(label)
                .ok_or_else(|| DisclosureError::Missing(label.to_owned()))?;
            let malformed = || DisclosureError::Malformed(label.to_owned());
            let commitment = match opening {
                Opening::Hidden { commitment } => hash_of(commitment, label)?,
                Opening::Shown { value, salt } if label != "case_ids" => {
                    let bytes = serde_json::to_vec(value).map_err(|_| malformed())?;
                    commit(label, &hash_of(salt, label)?, &bytes)
                }
                Opening::Elements { salt, items } if label == "case_ids" => {
                    let mut value = Vec::with_capacity(32 * items.len());
                    for (k, item) in items.iter().enumerate() {
                        let element = match item {
                            Element::Hidden { commitment } => hash_of(commitment, label)?,
                            Element::Shown { value, salt } => {
                                let label = element_label(k);
                                commit(&label, &hash_of(salt, "case_ids")?, &json_text(value))
                            }
                        };
                        value.extend_from_slice(&element);
                    }
                    commit(label, &hash_of(salt, label)?, &value)
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
