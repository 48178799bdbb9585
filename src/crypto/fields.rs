//! Field encryption at rest (AEAD) and the keyed blind index for personal numbers.
//!
//! The sealing key is derived with HKDF-SHA256 from the 32-byte `field-encryption.key`, the
//! blind-index key from `blind-index.key` (so the field key can rotate without re-indexing). A sealed value is `"SF1" ‖ key id (8 bytes) ‖ nonce (12) ‖ AES-256-GCM
//! ciphertext and tag`; the associated data binds it to its place (table, column, row id), so a
//! ciphertext copied into another row or column does not open. The key id lets old keys keep
//! opening old rows after a rotation (see docs/data-and-audit.md, "Rotating the field key").

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf::{Salt, HKDF_SHA256};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

const MAGIC: &[u8; 3] = b"SF1";
const KEY_ID_LEN: usize = 8;
const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN + NONCE_LEN;
const ENCRYPTION_LABEL: &[u8] = b"sig-register field encryption v1";
const INDEX_LABEL: &[u8] = b"sig-register blind index v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the system random number generator failed")]
    Random,
    #[error("a sealed field could not be opened (wrong key, wrong place, or damaged)")]
    Open,
    #[error("a sealed field names key {0}, which is not loaded")]
    UnknownKey(String),
}

struct FieldKey {
    id: [u8; KEY_ID_LEN],
    aead: LessSafeKey,
}

/// The keys for sealing fields: the current one, and older ones that only open.
pub struct FieldCrypto {
    current: FieldKey,
    previous: Vec<FieldKey>,
    index: hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for FieldCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldCrypto")
            .field("current", &crate::crypto::keys::hex(&self.current.id))
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

fn derive(master: &[u8], label: &[u8]) -> [u8; 32] {
    let prk = Salt::new(HKDF_SHA256, b"sig-register").extract(master);
    let mut out = [0u8; 32];
    let info = [label];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    if let Ok(okm) = prk.expand(&info, HKDF_SHA256) {
        let _ = okm.fill(&mut out);
    }
    out
}

fn field_key(master: &[u8]) -> FieldKey {
    let secret = derive(master, ENCRYPTION_LABEL);
    let digest = ring::digest::digest(&ring::digest::SHA256, &secret);
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&digest.as_ref()[..KEY_ID_LEN]);
    let unbound = UnboundKey::new(&AES_256_GCM, &secret)
        .unwrap_or_else(|_| unreachable!("32-byte AES-256 key"));
    FieldKey {
        id,
        aead: LessSafeKey::new(unbound),
    }
}

impl FieldCrypto {
    /// `master` seals; `previous` masters only open what they sealed; `index_master` keys the
    /// blind index.
    pub fn new(master: &[u8; 32], previous: &[[u8; 32]], index_master: &[u8; 32]) -> Self {
        Self {
            current: field_key(master),
            previous: previous.iter().map(|m| field_key(m)).collect(),
            index: hmac::Key::new(hmac::HMAC_SHA256, &derive(index_master, INDEX_LABEL)),
            rng: SystemRandom::new(),
        }
    }

    /// The current key's id (hex), as stored in every sealed value.
    pub fn key_id(&self) -> String {
        crate::crypto::keys::hex(&self.current.id)
    }

    /// Seals `plain` for the place named by `aad` (e.g. `cases.youth_name:<case id>`).
    pub fn seal(&self, plain: &[u8], aad: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut buffer = plain.to_vec();
        self.current
            .aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SealError::Random)?;
        let mut out = Vec::with_capacity(HEADER_LEN + buffer.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    pub fn seal_str(&self, plain: &str, aad: &str) -> Result<Vec<u8>, SealError> {
        self.seal(plain.as_bytes(), aad)
    }

    /// Opens a value sealed for the same place.
    pub fn open(&self, sealed: &[u8], aad: &str) -> Result<Vec<u8>, SealError> {
        if sealed.len() < HEADER_LEN || &sealed[..MAGIC.len()] != MAGIC {
            return Err(SealError::Open);
        }
        let id = &sealed[MAGIC.len()..MAGIC.len() + KEY_ID_LEN];
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| SealError::UnknownKey(crate::crypto::keys::hex(id)))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[MAGIC.len() + KEY_ID_LEN..HEADER_LEN]);
        let mut buffer = sealed[HEADER_LEN..].to_vec();
        let plain = key
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }

    pub fn open_str(&self, sealed: &[u8], aad: &str) -> Result<String, SealError> {
        String::from_utf8(self.open(sealed, aad)?).map_err(|_| SealError::Open)
    }

    /// The blind index of a normalised personal number: equal numbers, equal index; without
    /// the key, the index says nothing about the number.
    pub fn blind_index(&self, normalised: &str) -> Vec<u8> {
        hmac::sign(&self.index, normalised.as_bytes())
            .as_ref()
            .to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_fields_open_only_in_their_place() {
        let crypto = FieldCrypto::new(&[7; 32], &[], &[9; 32]);
        let sealed = crypto
            .seal_str("Ungdom Efternamn", "cases.youth_name:c1")
            .unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"Ungdom"));
        assert_eq!(
            crypto.open_str(&sealed, "cases.youth_name:c1").unwrap(),
            "Ungdom Efternamn"
        );
        assert_eq!(
            crypto.open(&sealed, "cases.youth_name:c2"),
            Err(SealError::Open),
            "another row"
        );
        assert_eq!(
            crypto.open(&sealed, "cases.youth_phone:c1"),
            Err(SealError::Open),
            "another column"
        );
        let again = crypto
            .seal_str("Ungdom Efternamn", "cases.youth_name:c1")
            .unwrap();
        assert_ne!(sealed, again, "a fresh nonce every time");
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert_eq!(
            crypto.open(&damaged, "cases.youth_name:c1"),
            Err(SealError::Open)
        );
    }

    #[test]
    fn rotated_keys_keep_opening_old_values() {
        let old = FieldCrypto::new(&[1; 32], &[], &[9; 32]);
        let sealed = old.seal_str("text", "notes.text:n1").unwrap();
        let rotated = FieldCrypto::new(&[2; 32], &[[1; 32]], &[9; 32]);
        assert_eq!(rotated.open_str(&sealed, "notes.text:n1").unwrap(), "text");
        assert_ne!(rotated.key_id(), old.key_id());
        let without = FieldCrypto::new(&[2; 32], &[], &[9; 32]);
        assert!(matches!(
            without.open(&sealed, "notes.text:n1"),
            Err(SealError::UnknownKey(_))
        ));
    }

    #[test]
    fn the_blind_index_is_keyed_and_deterministic() {
        let a = FieldCrypto::new(&[5; 32], &[], &[3; 32]);
        let b = FieldCrypto::new(&[5; 32], &[], &[4; 32]);
        assert_eq!(a.blind_index("200811122381"), a.blind_index("200811122381"));
        assert_ne!(a.blind_index("200811122381"), a.blind_index("200811122382"));
        assert_ne!(a.blind_index("200811122381"), b.blind_index("200811122381"));
    }
}
