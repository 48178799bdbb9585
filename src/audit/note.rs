//! Signed tree heads in the C2SP formats the transparency-dev tools read: a `tlog-checkpoint`
//! body (origin, tree size, base64 root hash) in a `signed-note` with an Ed25519 signature.
//!
//! ```text
//! example.se/sig-register/audit
//! 4711
//! qO7F5l2mNNqS0mIzHa4/XWw0z5sM0HZNfDcrDN3Tvc8=
//!
//! — example.se/sig-register/audit Az3grl4...signature...
//! ```
//!
//! The key name is the origin. The key hash is the first four bytes of
//! `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`; the signature line carries
//! `base64(key hash ‖ Ed25519 signature over the body)`. The verifier key, as the Go tools and
//! witnesses take it, is `name+hex(key hash)+base64(0x01 ‖ public key)`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};

use super::merkle::Hash;

/// The signature type of an Ed25519 note signature (a log's key).
pub const ED25519_TYPE: u8 = 0x01;
const DASH: &str = "\u{2014} ";

/// The four-byte key hash of a key of signature type `kind` named `name`:
/// `SHA-256(name ‖ 0x0A ‖ kind ‖ key)[:4]`.
pub fn typed_key_hash(name: &str, kind: u8, public_key: &[u8]) -> [u8; 4] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(name.as_bytes());
    context.update(b"\n");
    context.update(&[kind]);
    context.update(public_key);
    let digest = context.finish();
    let mut out = [0u8; 4];
    out.copy_from_slice(&digest.as_ref()[..4]);
    out
}

/// The four-byte key hash of an Ed25519 key named `name`.
pub fn key_hash(name: &str, public_key: &[u8]) -> [u8; 4] {
    typed_key_hash(name, ED25519_TYPE, public_key)
}

/// A verifier key's text: `name+hash+base64(kind ‖ key)`.
pub fn typed_verifier_key(name: &str, kind: u8, public_key: &[u8]) -> String {
    let mut typed = vec![kind];
    typed.extend_from_slice(public_key);
    format!(
        "{name}+{}+{}",
        crate::crypto::keys::hex(&typed_key_hash(name, kind, public_key)),
        B64.encode(typed)
    )
}

/// A verifier key of signature type `kind` read back: the name and the 32-byte public key.
pub fn parse_typed_verifier_key(text: &str, kind: u8) -> Option<(String, Vec<u8>)> {
    let (name, rest) = text.trim().split_once('+')?;
    let (hash, key) = rest.split_once('+')?;
    let typed = B64.decode(key).ok()?;
    let (&found, public_key) = typed.split_first()?;
    if found != kind || public_key.len() != 32 || name.is_empty() {
        return None;
    }
    (crate::crypto::keys::hex(&typed_key_hash(name, kind, public_key)) == hash)
        .then(|| (name.to_owned(), public_key.to_vec()))
}

/// The log's verifier key text: `name+hash+base64(0x01 ‖ key)`.
pub fn verifier_key(name: &str, public_key: &[u8]) -> String {
    typed_verifier_key(name, ED25519_TYPE, public_key)
}

/// A log's verifier key read back: the name and the 32-byte public key.
pub fn parse_verifier_key(text: &str) -> Option<(String, Vec<u8>)> {
    parse_typed_verifier_key(text, ED25519_TYPE)
}

/// The checkpoint body: `origin\nsize\nbase64(root)\n`.
pub fn checkpoint_body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

/// Signs `body` as a note of the key `name`.
pub fn sign(body: &str, name: &str, pair: &Ed25519KeyPair) -> String {
    use ring::signature::KeyPair as _;
    let mut blob = key_hash(name, pair.public_key().as_ref()).to_vec();
    blob.extend_from_slice(pair.sign(body.as_bytes()).as_ref());
    format!("{body}\n{DASH}{name} {}\n", B64.encode(blob))
}

/// A signed checkpoint, opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The body the signatures sign (with its final newline).
    pub body: String,
    /// The note's signature lines: `(name, base64 blob)`, in order.
    pub signatures: Vec<(String, String)>,
}

/// Why a note is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the note is not a signed note (body, blank line, signature lines)")]
    Malformed,
    #[error("the note's body is not a checkpoint (origin, tree size, base64 root hash)")]
    NotCheckpoint,
    #[error("the note carries no signature by {0}")]
    Unsigned(String),
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
}

/// Splits a note into its body and signature lines.
pub fn split(note: &str) -> Result<(String, Vec<(String, String)>), NoteError> {
    let at = note.rfind("\n\n").ok_or(NoteError::Malformed)?;
    let (body, signatures) = (&note[..=at], &note[at + 2..]);
    if !signatures.ends_with('\n') || body.len() > 1_000_000 {
        return Err(NoteError::Malformed);
    }
    let mut lines = Vec::new();
    for line in signatures.lines() {
        let rest = line.strip_prefix(DASH).ok_or(NoteError::Malformed)?;
        let (name, blob) = rest.split_once(' ').ok_or(NoteError::Malformed)?;
        if name.is_empty() || blob.contains(' ') {
            return Err(NoteError::Malformed);
        }
        lines.push((name.to_owned(), blob.to_owned()));
    }
    if lines.is_empty() {
        return Err(NoteError::Malformed);
    }
    Ok((body.to_owned(), lines))
}

/// Parses a checkpoint note (without checking a signature).
pub fn parse_checkpoint(note: &str) -> Result<Opened, NoteError> {
    let (body, signatures) = split(note)?;
    let mut lines = body.lines();
    let origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or(NoteError::NotCheckpoint)?;
    let size = lines
        .next()
        .filter(|s| s == &"0" || !s.starts_with('0'))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(NoteError::NotCheckpoint)?;
    let root: Hash = lines
        .next()
        .and_then(|r| B64.decode(r).ok())
        .and_then(|r| r.try_into().ok())
        .ok_or(NoteError::NotCheckpoint)?;
    Ok(Opened {
        origin: origin.to_owned(),
        size,
        root,
        body,
        signatures,
    })
}

/// Does `opened` carry a valid signature by the key `name`/`public_key`?
pub fn verify_signature(opened: &Opened, name: &str, public_key: &[u8]) -> Result<(), NoteError> {
    verify_body(&opened.body, &opened.signatures, name, public_key)
}

/// Does one of `signatures` sign `body` with the key `name`/`public_key`?
pub fn verify_body(
    body: &str,
    signatures: &[(String, String)],
    name: &str,
    public_key: &[u8],
) -> Result<(), NoteError> {
    let hash = key_hash(name, public_key);
    let key = UnparsedPublicKey::new(&ED25519, public_key);
    let mut found = false;
    for (_, blob) in signatures.iter().filter(|(signer, _)| signer == name) {
        let Ok(blob) = B64.decode(blob) else {
            continue;
        };
        if blob.len() != 4 + 64 || blob[..4] != hash {
            continue;
        }
        found = true;
        if key.verify(body.as_bytes(), &blob[4..]).is_ok() {
            return Ok(());
        }
    }
    Err(if found {
        NoteError::BadSignature(name.to_owned())
    } else {
        NoteError::Unsigned(name.to_owned())
    })
}

/// Opens a checkpoint signed by `name`/`public_key`.
pub fn open_checkpoint(note: &str, name: &str, public_key: &[u8]) -> Result<Opened, NoteError> {
    let opened = parse_checkpoint(note)?;
    verify_signature(&opened, name, public_key)?;
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// golang.org/x/mod/sumdb/note's own example: the same key must give the same bytes.
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                              then you don't know what your problem is.\n";
    const PETER_NOTE_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn peter() -> Ed25519KeyPair {
        let seed = B64
            .decode(PETER_SKEY.splitn(5, '+').last().unwrap())
            .unwrap();
        assert_eq!(seed[0], ED25519_TYPE);
        Ed25519KeyPair::from_seed_unchecked(&seed[1..]).unwrap()
    }

    #[test]
    fn signs_as_the_go_reference_does() {
        use ring::signature::KeyPair as _;
        let pair = peter();
        assert_eq!(
            verifier_key("PeterNeumann", pair.public_key().as_ref()),
            PETER_VKEY
        );
        let note = sign(PETER_TEXT, "PeterNeumann", &pair);
        assert_eq!(note, format!("{PETER_TEXT}\n{PETER_NOTE_SIG}"));
        let (name, key) = parse_verifier_key(PETER_VKEY).unwrap();
        let (body, signatures) = split(&note).unwrap();
        verify_body(&body, &signatures, &name, &key).unwrap();
        let changed = note.replace("cryptography", "cryptographY");
        let (body, signatures) = split(&changed).unwrap();
        assert_eq!(
            verify_body(&body, &signatures, &name, &key),
            Err(NoteError::BadSignature("PeterNeumann".to_owned()))
        );
        assert_eq!(
            verify_body(&body, &signatures, "EnochRoot", &key),
            Err(NoteError::Unsigned("EnochRoot".to_owned()))
        );
        assert!(parse_verifier_key(&PETER_VKEY.replace("c74f20a3", "c74f20a4")).is_none());
    }

    #[test]
    fn a_checkpoint_round_trips_and_refuses_changes() {
        use ring::signature::KeyPair as _;
        let pair = peter();
        let key = pair.public_key().as_ref().to_vec();
        let root = [9u8; 32];
        let note = sign(
            &checkpoint_body("example.se/audit", 4711, &root),
            "example.se/audit",
            &pair,
        );
        let opened = open_checkpoint(&note, "example.se/audit", &key).unwrap();
        assert_eq!((opened.size, opened.root), (4711, root));
        assert_eq!(opened.origin, "example.se/audit");
        let bigger = note.replace("\n4711\n", "\n4712\n");
        assert_eq!(
            open_checkpoint(&bigger, "example.se/audit", &key),
            Err(NoteError::BadSignature("example.se/audit".to_owned()))
        );
        assert_eq!(
            parse_checkpoint("example.se/audit\n0471\nAAAA\n\n\u{2014} x y\n"),
            Err(NoteError::NotCheckpoint)
        );
        assert_eq!(
            parse_checkpoint("no blank line\n"),
            Err(NoteError::Malformed)
        );
    }
}
