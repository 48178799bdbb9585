//! The verifiable register extract (`GET /cases/{id}/access-log?format=verifiable`) and its
//! offline check (`sig-register audit verify-extract`): each event of one case as the family
//! sees it, the commitments of what it does not see, the event's inclusion proof, and the
//! signed checkpoint the proofs lead to. Checking needs the file and the log's public key —
//! no database, no network, no trust in whoever handed the file over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::leaf::{Disclosure, Opening};
use super::merkle::{self, Hash};
use super::note;
use crate::crypto::keys::unhex;

/// The format of a verifiable extract.
pub const VERIFIABLE_FORMAT: &str = "sig-register/verifiable-extract/v1";

/// One event of a verifiable extract: the fields the family sees, the rest as commitments,
/// and its inclusion proof in the checkpoint's tree.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifiableItem {
    pub seq: i64,
    pub leaf_index: u64,
    /// Per field of the leaf (`audit::leaf::FIELDS`): `{"value", "salt"}` shown,
    /// `{"commitment"}` hidden, and for `case_ids` `{"salt", "items"}` element by element.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, Opening>,
    /// The inclusion proof, lowercase hex, as RFC 9162 §2.1.3 orders it.
    pub inclusion: Vec<String>,
}

/// The register extract that anyone holding the audit log's public key can verify offline.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifiableExtract {
    /// `sig-register/verifiable-extract/v1`.
    pub format: String,
    pub case_id: String,
    /// The log's name: the checkpoint's origin and its key's name.
    pub origin: String,
    pub tree_size: u64,
    /// The signed C2SP checkpoint note the proofs lead to.
    pub checkpoint: String,
    pub items: Vec<VerifiableItem>,
}

/// One verified event, as the family reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvent {
    pub seq: i64,
    pub at: String,
    pub agency: String,
    pub roles: String,
    pub action: String,
    pub outcome: String,
}

/// What a verified extract proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedExtract {
    pub case_id: String,
    pub origin: String,
    pub tree_size: u64,
    pub events: Vec<VerifiedEvent>,
}

fn shown_text(d: &Disclosure, label: &str) -> String {
    match d.shown(label) {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(","),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Checks `text` (an extract's JSON) against the log key `public_key` and, when given, the
/// key's `name` (else the checkpoint's own origin names it). Every event must recompute its
/// leaf from what it shows and hides, its leaf must be in the signed tree, and it must show
/// the extract's case. The first failure is the answer, with its reason.
pub fn verify(
    text: &[u8],
    name: Option<&str>,
    public_key: &[u8],
) -> Result<VerifiedExtract, String> {
    let extract: VerifiableExtract = serde_json::from_slice(text)
        .map_err(|e| format!("the file is not a verifiable extract: {e}"))?;
    if extract.format != VERIFIABLE_FORMAT {
        return Err(format!(
            "the file's format is {:?}, not {VERIFIABLE_FORMAT}",
            extract.format
        ));
    }
    let name = name.unwrap_or(&extract.origin);
    let opened = note::open_checkpoint(&extract.checkpoint, name, public_key)
        .map_err(|e| format!("the checkpoint does not verify: {e}"))?;
    if opened.origin != extract.origin || opened.size != extract.tree_size {
        return Err(
            "the extract's origin or tree size differs from its signed checkpoint".to_owned(),
        );
    }
    let mut events = Vec::with_capacity(extract.items.len());
    let mut last_seq = 0;
    for item in &extract.items {
        let event = verify_item(item, &extract.case_id, &opened.root, opened.size)
            .map_err(|reason| format!("event {}: {reason}", item.seq))?;
        if item.seq <= last_seq {
            return Err(format!("event {}: the events are not in order", item.seq));
        }
        last_seq = item.seq;
        events.push(event);
    }
    Ok(VerifiedExtract {
        case_id: extract.case_id,
        origin: opened.origin,
        tree_size: opened.size,
        events,
    })
}

fn verify_item(
    item: &VerifiableItem,
    case_id: &str,
    root: &Hash,
    size: u64,
) -> Result<VerifiedEvent, String> {
    let disclosure = Disclosure {
        fields: item.fields.clone(),
    };
    // The leaf's place is the event's: the proof binds the index, and the index is `seq - 1`.
    if item.seq < 1 || item.leaf_index != (item.seq - 1) as u64 {
        return Err("its seq and leaf index disagree".to_owned());
    }
    if !disclosure.shown_cases().contains(&case_id) {
        return Err("it does not show the extract's case".to_owned());
    }
    let leaf = disclosure.leaf().map_err(|e| e.to_string())?;
    let proof: Vec<Hash> = item
        .inclusion
        .iter()
        .map(|h| unhex(h).and_then(|b| b.try_into().ok()))
        .collect::<Option<_>>()
        .ok_or("its inclusion proof is not hex hashes")?;
    merkle::verify_inclusion(
        &merkle::leaf_hash(&leaf),
        item.leaf_index,
        size,
        &proof,
        root,
    )
    .map_err(|e| format!("it is not in the signed tree ({e})"))?;
    Ok(VerifiedEvent {
        seq: item.seq,
        at: shown_text(&disclosure, "at"),
        agency: shown_text(&disclosure, "actor.agency"),
        roles: shown_text(&disclosure, "actor.roles"),
        action: shown_text(&disclosure, "action"),
        outcome: shown_text(&disclosure, "outcome"),
    })
}
