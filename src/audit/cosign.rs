//! Outside witnesses, by the C2SP protocols: [tlog-witness] (`POST /add-checkpoint`) and
//! [tlog-cosignature] (Ed25519 `cosignature/v1`). A witness — a small process another party runs
//! (`sig-register witness serve`) — keeps, per log, the last checkpoint it cosigned, accepts a
//! newer one only with a valid consistency proof from it, and cosigns; a rollback or a fork
//! shown to it is refused, and logged by it as evidence. The service submits each new signed
//! tree head to the witnesses it is given (`SIG_AUDIT_WITNESSES`) and keeps their cosignatures.
//!
//! [tlog-witness]: https://c2sp.org/tlog-witness
//! [tlog-cosignature]: https://c2sp.org/tlog-cosignature

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

use super::merkle::{self, Hash};
use super::note;

const COSIGNATURE_TYPE: u8 = 0x04;
const DASH: &str = "\u{2014} ";
/// At most this many consistency proof lines (tlog-witness).
const MAX_PROOF_LINES: usize = 63;

/// The key ID of an Ed25519 cosigner: `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4]`.
pub fn key_hash(name: &str, public_key: &[u8]) -> [u8; 4] {
    note::typed_key_hash(name, COSIGNATURE_TYPE, public_key)
}

/// The cosigner's verifier key: `name+hash+base64(0x04 ‖ key)`.
pub fn verifier_key(name: &str, public_key: &[u8]) -> String {
    note::typed_verifier_key(name, COSIGNATURE_TYPE, public_key)
}

/// A cosigner's verifier key read back: `(name, key)`.
pub fn parse_verifier_key(text: &str) -> Option<(String, Vec<u8>)> {
    note::parse_typed_verifier_key(text, COSIGNATURE_TYPE)
}

fn message(body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// A cosignature line over the checkpoint `body`, made at `timestamp` (seconds).
pub fn cosign(name: &str, pair: &Ed25519KeyPair, body: &str, timestamp: u64) -> String {
    let mut blob = key_hash(name, pair.public_key().as_ref()).to_vec();
    blob.extend_from_slice(&timestamp.to_be_bytes());
    blob.extend_from_slice(pair.sign(message(body, timestamp).as_bytes()).as_ref());
    format!("{DASH}{name} {}\n", B64.encode(blob))
}

/// The first of `lines` that is a valid cosignature of `body` by `name`/`key`, with its
/// timestamp.
pub fn verify_cosignature(
    lines: &str,
    body: &str,
    name: &str,
    public_key: &[u8],
) -> Option<(u64, String)> {
    let hash = key_hash(name, public_key);
    let key = UnparsedPublicKey::new(&ED25519, public_key);
    lines.lines().find_map(|line| {
        let (signer, blob) = line.strip_prefix(DASH)?.split_once(' ')?;
        let blob = B64.decode(blob).ok().filter(|_| signer == name)?;
        if blob.len() != 4 + 8 + 64 || blob[..4] != hash {
            return None;
        }
        let timestamp = u64::from_be_bytes(blob[4..12].try_into().ok()?);
        key.verify(message(body, timestamp).as_bytes(), &blob[12..])
            .ok()
            .map(|()| (timestamp, line.to_owned()))
    })
}

/// An `add-checkpoint` request body: `old N`, the proof lines, a blank line, the note.
pub fn request_body(old: u64, proof: &[Hash], checkpoint: &str) -> String {
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&B64.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(checkpoint);
    body
}

/// A witness the service submits its tree heads to: `URL VKEY` in `SIG_AUDIT_WITNESSES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessTarget {
    /// The submission prefix (`{url}/add-checkpoint`).
    pub url: String,
    pub name: String,
    pub key: Vec<u8>,
}

/// `SIG_AUDIT_WITNESSES`: comma-separated `URL VKEY` pairs (the witness's submission prefix and
/// its verifier key, as `sig-register witness key` prints it).
pub fn parse_targets(text: &str) -> Result<Vec<WitnessTarget>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (url, vkey) = entry
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("{entry:?} is not `URL VKEY`"))?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("{url:?} is not an http(s) URL"));
            }
            let (name, key) = parse_verifier_key(vkey)
                .ok_or_else(|| format!("{:?} is not a witness's verifier key", vkey.trim()))?;
            Ok(WitnessTarget {
                url: url.trim_end_matches('/').to_owned(),
                name,
                key,
            })
        })
        .collect()
}

/// A witness's cosignature of one signed tree head, as kept.
#[derive(
    Clone, Debug, PartialEq, Eq, diesel::Queryable, diesel::Selectable, diesel::Insertable,
)]
#[diesel(table_name = crate::db::schema::audit_cosignatures)]
pub struct Cosignature {
    pub witness: String,
    pub tree_size: i64,
    /// The note signature line, as the witness gave it.
    pub line: String,
    pub at: chrono::NaiveDateTime,
}

/// What the kept cosignatures say of the signed tree heads, for `audit verify`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CosignReport {
    /// Signed tree heads no configured witness has (validly) cosigned, oldest first.
    pub uncosigned: Vec<i64>,
    /// A kept cosignature that does not verify: `(tree size, witness)`.
    pub invalid: Option<(i64, String)>,
}

/// Checks the kept cosignatures against `targets`' keys and lists the signed tree heads that
/// none of them cosigned.
pub fn report(
    conn: &mut crate::db::DbConn,
    targets: &[WitnessTarget],
) -> diesel::QueryResult<CosignReport> {
    use diesel::prelude::*;

    use crate::db::schema::audit_cosignatures;
    let kept: Vec<Cosignature> = audit_cosignatures::table
        .select(Cosignature::as_select())
        .load(conn)?;
    let mut by_size: BTreeMap<i64, Vec<Cosignature>> = BTreeMap::new();
    for cosignature in kept {
        by_size
            .entry(cosignature.tree_size)
            .or_default()
            .push(cosignature);
    }
    let mut report = CosignReport::default();
    for checkpoint in super::chain::checkpoints(conn)? {
        let Some(body) = checkpoint
            .note
            .as_deref()
            .and_then(|n| note::parse_checkpoint(n).ok())
            .map(|opened| opened.body)
        else {
            continue;
        };
        let mut cosigned = false;
        for cosignature in by_size.get(&checkpoint.seq).into_iter().flatten() {
            let Some(target) = targets.iter().find(|t| t.name == cosignature.witness) else {
                continue;
            };
            if verify_cosignature(&cosignature.line, &body, &target.name, &target.key).is_some() {
                cosigned = true;
            } else if report.invalid.is_none() {
                report.invalid = Some((checkpoint.seq, cosignature.witness.clone()));
            }
        }
        if !cosigned {
            report.uncosigned.push(checkpoint.seq);
        }
    }
    Ok(report)
}

/// What the witness kept of one log: the latest checkpoint it cosigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latest {
    pub size: u64,
    /// Base64, as in the checkpoint.
    pub root: String,
    /// The cosigned checkpoint note, as submitted.
    pub note: String,
}

/// The witness's record: per origin, the latest checkpoint it cosigned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessState {
    pub logs: BTreeMap<String, Latest>,
}

/// A log the witness follows: its origin (the key's name) and Ed25519 key.
#[derive(Clone, Debug)]
pub struct LogKey {
    pub origin: String,
    pub key: Vec<u8>,
}

/// The witness's answer to an `add-checkpoint`, as tlog-witness defines them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200: the cosignature lines.
    Cosigned(String),
    /// 400: the request is not well formed.
    BadRequest(&'static str),
    /// 403: no signature by the log's key verifies.
    Forbidden,
    /// 404: the witness does not follow this origin.
    UnknownLog,
    /// 409: the old size is not the size last cosigned (that size), or the same size with
    /// another root — a fork.
    Conflict { size: u64, fork: bool },
    /// 422: the consistency proof does not verify — a rewritten log.
    Inconsistent,
}

impl Answer {
    pub fn status(&self) -> u16 {
        match self {
            Answer::Cosigned(_) => 200,
            Answer::BadRequest(_) => 400,
            Answer::Forbidden => 403,
            Answer::UnknownLog => 404,
            Answer::Conflict { .. } => 409,
            Answer::Inconsistent => 422,
        }
    }

    /// Whether the refusal is evidence of a log misbehaving (validly signed, yet a rollback,
    /// a fork or a rewrite): the witness logs those.
    pub fn is_evidence(&self) -> bool {
        matches!(
            self,
            Answer::Conflict { fork: true, .. } | Answer::Inconsistent
        )
    }
}

fn parse_request(body: &str) -> Result<(u64, Vec<Hash>, &str), &'static str> {
    let (head, checkpoint) = body
        .split_once("\n\n")
        .ok_or("the body has no blank line before the checkpoint")?;
    let mut lines = head.lines();
    let old = lines
        .next()
        .and_then(|line| line.strip_prefix("old "))
        .filter(|n| *n == "0" || !n.starts_with('0'))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("the first line is not `old N`")?;
    let proof: Vec<Hash> = lines
        .map(|line| B64.decode(line).ok().and_then(|h| h.try_into().ok()))
        .collect::<Option<_>>()
        .ok_or("a proof line is not a base64 hash")?;
    if proof.len() > MAX_PROOF_LINES {
        return Err("more than 63 proof lines");
    }
    Ok((old, proof, checkpoint))
}

/// Handles one `add-checkpoint` on `state` (the caller holds it for the whole call, and
/// persists it before answering a cosignature): verifies the log's signature, the old size
/// against the size last cosigned, and the consistency proof from it; then cosigns at `now`
/// (seconds) and records the checkpoint.
pub fn add_checkpoint(
    state: &mut WitnessState,
    logs: &[LogKey],
    name: &str,
    pair: &Ed25519KeyPair,
    body: &str,
    now: u64,
) -> Answer {
    let (old, proof, checkpoint) = match parse_request(body) {
        Ok(parsed) => parsed,
        Err(reason) => return Answer::BadRequest(reason),
    };
    let Ok(opened) = note::parse_checkpoint(checkpoint) else {
        return Answer::BadRequest("the checkpoint is not a signed checkpoint note");
    };
    let Some(log) = logs.iter().find(|log| log.origin == opened.origin) else {
        return Answer::UnknownLog;
    };
    if note::verify_signature(&opened, &log.origin, &log.key).is_err() {
        return Answer::Forbidden;
    }
    if old > opened.size {
        return Answer::BadRequest("the old size is larger than the checkpoint's");
    }
    let latest = state.logs.get(&opened.origin);
    let (latest_size, latest_root) = match latest {
        Some(latest) => (
            latest.size,
            B64.decode(&latest.root)
                .ok()
                .and_then(|r| <Hash>::try_from(r).ok()),
        ),
        None => (0, None),
    };
    if old != latest_size {
        // A rollback (a smaller tree than cosigned) shows here too: refused with our size.
        return Answer::Conflict {
            size: latest_size,
            fork: opened.size < latest_size,
        };
    }
    if old == opened.size {
        if latest_root != Some(opened.root) && old != 0 {
            return Answer::Conflict {
                size: latest_size,
                fork: true,
            };
        }
    } else if old == 0 {
        if !proof.is_empty() {
            return Answer::BadRequest("the proof must be empty from size 0");
        }
    } else {
        let Some(old_root) = latest_root else {
            return Answer::Inconsistent;
        };
        if merkle::verify_consistency(old, opened.size, &old_root, &opened.root, &proof).is_err() {
            return Answer::Inconsistent;
        }
    }
    state.logs.insert(
        opened.origin.clone(),
        Latest {
            size: opened.size,
            root: B64.encode(opened.root),
            note: checkpoint.to_owned(),
        },
    );
    Answer::Cosigned(cosign(name, pair, &opened.body, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::MemoryTree;

    fn pair(seed: u8) -> Ed25519KeyPair {
        Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
    }

    struct Log {
        tree: MemoryTree,
        pair: Ed25519KeyPair,
    }

    impl Log {
        fn new() -> Self {
            Self {
                tree: MemoryTree::default(),
                pair: pair(1),
            }
        }

        fn grow(&mut self, n: u64) {
            for i in 0..n {
                let size = self.tree.size();
                self.tree.push(merkle::leaf_hash(&(size + i).to_be_bytes()));
            }
        }

        fn checkpoint(&mut self) -> String {
            let size = self.tree.size();
            let root = merkle::root(&mut self.tree, size).unwrap();
            note::sign(
                &note::checkpoint_body("example.se/audit", size, &root),
                "example.se/audit",
                &self.pair,
            )
        }

        fn key(&self) -> LogKey {
            LogKey {
                origin: "example.se/audit".to_owned(),
                key: self.pair.public_key().as_ref().to_vec(),
            }
        }
    }

    #[test]
    fn a_witness_cosigns_a_growing_log_and_refuses_a_fork() {
        let witness = pair(9);
        let mut state = WitnessState::default();
        let mut log = Log::new();
        log.grow(5);
        let first = log.checkpoint();
        let keys = [log.key()];
        let add = |state: &mut WitnessState, body: &str, now: u64| {
            add_checkpoint(state, &keys, "w.example/1", &witness, body, now)
        };
        let answer = add(&mut state, &request_body(0, &[], &first), 100);
        let Answer::Cosigned(lines) = answer else {
            panic!("{answer:?}")
        };
        let body = note::parse_checkpoint(&first).unwrap().body;
        assert_eq!(
            verify_cosignature(&lines, &body, "w.example/1", witness.public_key().as_ref())
                .map(|(at, _)| at),
            Some(100)
        );
        // Grown, with the consistency proof from 5.
        log.grow(6);
        let second = log.checkpoint();
        let proof = merkle::consistency_proof(&mut log.tree, 5, 11)
            .unwrap()
            .unwrap();
        assert!(matches!(
            add(&mut state, &request_body(5, &proof, &second), 101),
            Answer::Cosigned(_)
        ));
        assert_eq!(state.logs["example.se/audit"].size, 11);
        // A stale old size: 409 with the witness's size.
        assert_eq!(
            add(&mut state, &request_body(5, &proof, &second), 102),
            Answer::Conflict {
                size: 11,
                fork: false
            }
        );
        // A fork: another tree of 13 leaves from the same first 5, signed by the log's key.
        let mut fork = Log::new();
        fork.grow(5);
        for i in 0..8u64 {
            fork.tree.push(merkle::leaf_hash(&(1000 + i).to_be_bytes()));
        }
        let forked = fork.checkpoint();
        let proof = merkle::consistency_proof(&mut fork.tree, 11, 13)
            .unwrap()
            .unwrap();
        let answer = add(&mut state, &request_body(11, &proof, &forked), 103);
        assert_eq!(answer, Answer::Inconsistent);
        assert!(answer.is_evidence());
        // The same size with another root.
        let mut same = Log::new();
        same.grow(5);
        for i in 0..6u64 {
            same.tree.push(merkle::leaf_hash(&(2000 + i).to_be_bytes()));
        }
        let other = same.checkpoint();
        assert_eq!(
            add(&mut state, &request_body(11, &[], &other), 104),
            Answer::Conflict {
                size: 11,
                fork: true
            }
        );
        // A rollback to the first checkpoint.
        assert_eq!(
            add(&mut state, &request_body(5, &[], &first), 105),
            Answer::Conflict {
                size: 11,
                fork: true
            }
        );
        // Nothing refused moved the witness.
        assert_eq!(state.logs["example.se/audit"].size, 11);
        // Another key, another origin, a bad body.
        let mut stranger = Log::new();
        stranger.pair = pair(2);
        stranger.grow(1);
        assert_eq!(
            add(
                &mut state,
                &request_body(11, &[], &stranger.checkpoint()),
                106
            ),
            Answer::Forbidden
        );
        let unknown = note::sign(
            &note::checkpoint_body("elsewhere/log", 1, &[0; 32]),
            "elsewhere/log",
            &log.pair,
        );
        assert_eq!(
            add(&mut state, &request_body(0, &[], &unknown), 107),
            Answer::UnknownLog
        );
        assert!(matches!(
            add(&mut state, "old x\n\n", 108),
            Answer::BadRequest(_)
        ));
    }

    #[test]
    fn verifier_keys_round_trip() {
        let witness = pair(9);
        let vkey = verifier_key("w.example/1", witness.public_key().as_ref());
        assert_eq!(
            parse_verifier_key(&vkey),
            Some((
                "w.example/1".to_owned(),
                witness.public_key().as_ref().to_vec()
            ))
        );
        assert!(
            note::parse_verifier_key(&vkey).is_none(),
            "a cosigner key is not a log key"
        );
    }
}
