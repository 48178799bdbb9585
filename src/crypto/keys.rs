//! Key files in `SIG_DATA_DIR`: created on first start with mode 0600, never overwritten.
//!
//! | file | what |
//! | --- | --- |
//! | `jwt-dev-ed25519.pk8` | development JWT signing key (PKCS#8 DER) |
//! | `audit-ed25519.pk8` | audit checkpoint signing key (PKCS#8 DER) |
//! | `field-encryption.key` | 32-byte key that seals personal fields |
//! | `field-encryption.previous/*.key` | earlier field keys, kept after a rotation: they only open |
//! | `blind-index.key` | 32-byte key of the personal-number blind index |

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};

pub const JWT_DEV_KEY_FILE: &str = "jwt-dev-ed25519.pk8";
pub const AUDIT_KEY_FILE: &str = "audit-ed25519.pk8";
pub const FIELD_KEY_FILE: &str = "field-encryption.key";
pub const PREVIOUS_FIELD_KEYS_DIR: &str = "field-encryption.previous";
pub const INDEX_KEY_FILE: &str = "blind-index.key";
/// The audit tree's leaf key, kept apart once the blind-index key it was derived from rotates
/// (the leaves of the events before must stay verifiable). Absent: derived from the index key.
pub const AUDIT_LEAF_KEY_FILE: &str = "audit-leaf.key";
/// The next blind-index key while a rotation is under way (a rerun finishes it).
pub const NEXT_INDEX_KEY_FILE: &str = "blind-index.key.next";
/// The audit key's handovers, oldest first: each retired key hands the log over to the next at
/// a `seq`, signed by the retired key (`keys rotate audit`).
pub const AUDIT_HANDOVERS_FILE: &str = "audit-handovers.json";
/// The next audit key while a rotation is under way (a rerun finishes it).
pub const NEXT_AUDIT_KEY_FILE: &str = "audit-ed25519.pk8.next";
const FIELD_KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is readable by other users (mode {mode:o}); allow the owner only: chmod 600 {path}"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{0} does not hold a valid key")]
    Invalid(PathBuf),
    #[error("the system random number generator failed")]
    Random,
    #[error("{0}")]
    Handover(String),
}

/// The service's own keys, loaded (or created) once at start.
pub struct KeyStore {
    pub jwt_dev: Ed25519Key,
    pub audit: std::sync::Arc<AuditKeys>,
    pub field_key: [u8; FIELD_KEY_LEN],
    pub previous_field_keys: Vec<[u8; FIELD_KEY_LEN]>,
    pub index_key: [u8; FIELD_KEY_LEN],
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("jwt_dev", &self.jwt_dev.key_id)
            .field("audit", &self.audit.signing.key_id)
            .finish_non_exhaustive()
    }
}

/// The audit log's keys: the Ed25519 key that signs its checkpoints, the key its leaves' salts
/// come from, and the log's name (the origin line of its checkpoints, and the key's name).
pub struct AuditKeys {
    pub signing: Ed25519Key,
    pub leaf: LeafKey,
    pub origin: String,
    /// The keys that signed before a rotation, oldest first: each public key with the last
    /// `seq` it signed ([`AUDIT_HANDOVERS_FILE`]).
    pub retired: Vec<(Vec<u8>, i64)>,
}

/// The log's name when `SIG_AUDIT_ORIGIN` does not give one.
pub const DEFAULT_AUDIT_ORIGIN: &str = "sig-register.local/audit";

impl AuditKeys {
    pub fn public_key(&self) -> &[u8] {
        self.signing.public_key()
    }

    /// The keys a head at `seq` may be signed with: the key in use when the log stood there —
    /// and, at the last `seq` of a retired key, its successor too (a head there may be signed
    /// again after the rotation).
    pub fn public_keys_for(&self, seq: i64) -> Vec<&[u8]> {
        let mut keys = Vec::new();
        for (index, (key, last)) in self.retired.iter().enumerate() {
            if seq <= *last {
                keys.push(key.as_slice());
                if seq == *last {
                    keys.push(match self.retired.get(index + 1) {
                        Some((next, _)) => next.as_slice(),
                        None => self.public_key(),
                    });
                }
                return keys;
            }
        }
        keys.push(self.public_key());
        keys
    }

    pub fn key_id(&self) -> &str {
        &self.signing.key_id
    }
}

/// The key the salts of the audit tree's leaves are derived from (see `audit::leaf`): derived
/// from the blind-index key with its own HKDF label, so every instance sharing the keys
/// derives the same salts and there is no further key to keep.
#[derive(Clone)]
pub struct LeafKey(ring::hmac::Key);

impl std::fmt::Debug for LeafKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeafKey(..)")
    }
}

impl LeafKey {
    pub fn derive(index_master: &[u8; FIELD_KEY_LEN]) -> Self {
        Self::from_bytes(&Self::derive_bytes(index_master))
    }

    /// The leaf key's own bytes, as derived from a blind-index key (HKDF, its own label).
    pub fn derive_bytes(index_master: &[u8; FIELD_KEY_LEN]) -> [u8; 32] {
        use ring::hkdf::{Salt, HKDF_SHA256};
        let prk = Salt::new(HKDF_SHA256, b"sig-register").extract(index_master);
        let mut out = [0u8; 32];
        // 32 bytes is always a valid HKDF-SHA256 output length.
        if let Ok(okm) = prk.expand(&[b"sig-register audit leaf salt v1"], HKDF_SHA256) {
            let _ = okm.fill(&mut out);
        }
        out
    }

    /// The leaf key kept in [`AUDIT_LEAF_KEY_FILE`] once the blind-index key has rotated.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes))
    }

    /// The seed of one event's salts: `HMAC-SHA256(key, event id)`.
    pub fn seed(&self, id: &str) -> [u8; 32] {
        let mut seed = [0u8; 32];
        seed.copy_from_slice(ring::hmac::sign(&self.0, id.as_bytes()).as_ref());
        seed
    }
}

/// An Ed25519 key pair with its PKCS#8 document (needed to sign JWTs) and a stable key id.
pub struct Ed25519Key {
    pub pair: Ed25519KeyPair,
    pub pkcs8: Vec<u8>,
    /// `ed25519-` and the first 16 hex digits of SHA-256 over the public key.
    pub key_id: String,
}

impl Ed25519Key {
    fn from_pkcs8(pkcs8: Vec<u8>, path: &Path) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
            .map_err(|_| KeyError::Invalid(path.to_owned()))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, pair.public_key().as_ref());
        let key_id = format!("ed25519-{}", hex(&digest.as_ref()[..8]));
        Ok(Self {
            pair,
            pkcs8,
            key_id,
        })
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }
}

impl KeyStore {
    /// Names the audit log (its checkpoints' origin); before the keys are shared.
    pub fn with_audit_origin(mut self, origin: &str) -> Self {
        if let Some(audit) = std::sync::Arc::get_mut(&mut self.audit) {
            origin.clone_into(&mut audit.origin);
        }
        self
    }

    /// Loads the keys from `dir`, creating the directory (0700) and any missing key (0600).
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        ensure_dir(dir)?;
        let rng = SystemRandom::new();
        let jwt_path = dir.join(JWT_DEV_KEY_FILE);
        let jwt = load_or_create_file(&jwt_path, || new_ed25519(&rng))?;
        let audit_path = dir.join(AUDIT_KEY_FILE);
        let audit = load_or_create_file(&audit_path, || new_ed25519(&rng))?;
        let random_key = || {
            let mut key = vec![0u8; FIELD_KEY_LEN];
            rng.fill(&mut key).map_err(|_| KeyError::Random)?;
            Ok(key)
        };
        let field_path = dir.join(FIELD_KEY_FILE);
        let field_key = key_bytes(load_or_create_file(&field_path, random_key)?, &field_path)?;
        let index_path = dir.join(INDEX_KEY_FILE);
        let index_key = key_bytes(load_or_create_file(&index_path, random_key)?, &index_path)?;
        let leaf_path = dir.join(AUDIT_LEAF_KEY_FILE);
        let leaf = if leaf_path.exists() {
            LeafKey::from_bytes(&key_bytes(read_private(&leaf_path)?, &leaf_path)?)
        } else {
            LeafKey::derive(&index_key)
        };
        let mut previous_field_keys = Vec::new();
        let previous_dir = dir.join(PREVIOUS_FIELD_KEYS_DIR);
        if previous_dir.is_dir() {
            let mut paths: Vec<PathBuf> = fs::read_dir(&previous_dir)
                .map_err(io_error(&previous_dir))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "key"))
                .collect();
            paths.sort();
            for path in paths {
                previous_field_keys.push(key_bytes(read_private(&path)?, &path)?);
            }
        }
        let signing = Ed25519Key::from_pkcs8(audit, &audit_path)?;
        Ok(Self {
            jwt_dev: Ed25519Key::from_pkcs8(jwt, &jwt_path)?,
            audit: std::sync::Arc::new(AuditKeys {
                retired: handovers_of(dir, signing.public_key())?,
                signing,
                leaf,
                origin: DEFAULT_AUDIT_ORIGIN.to_owned(),
            }),
            field_key,
            previous_field_keys,
            index_key,
        })
    }
}

fn key_bytes(bytes: Vec<u8>, path: &Path) -> Result<[u8; FIELD_KEY_LEN], KeyError> {
    bytes
        .try_into()
        .map_err(|_| KeyError::Invalid(path.to_owned()))
}

/// Rotates the field-encryption key in `dir`: the current key is kept as
/// `field-encryption.previous/{label}.key` (so every value sealed with it still opens), then a
/// new random key takes its place. Crash-safe in that order: the old key is on the disk before
/// the new one replaces it. A running service seals with the key it loaded until it restarts;
/// those values open afterwards with the kept key. Returns the kept key's path.
pub fn rotate_field_key(dir: &Path, label: &str) -> Result<PathBuf, KeyError> {
    let current = dir.join(FIELD_KEY_FILE);
    let old = key_bytes(read_private(&current)?, &current)?;
    let previous = dir.join(PREVIOUS_FIELD_KEYS_DIR);
    ensure_dir(&previous)?;
    let kept = previous.join(format!("{label}.key"));
    write_new_private(&kept, &old)?;
    let mut fresh = [0u8; FIELD_KEY_LEN];
    SystemRandom::new()
        .fill(&mut fresh)
        .map_err(|_| KeyError::Random)?;
    let tmp = current.with_extension(format!("tmp-{}", std::process::id()));
    write_new_private(&tmp, &fresh)?;
    fs::rename(&tmp, &current).map_err(io_error(&current))?;
    sync_dir(dir)?;
    Ok(kept)
}

/// The steps of a blind-index rotation that touch files; the database's part is between
/// [`begin_index_rotation`] and [`finish_index_rotation`] (`jobs::keys`).
///
/// Begins it: keeps the audit leaf key in [`AUDIT_LEAF_KEY_FILE`] (once; the leaves of the
/// events so far were made with it), and returns the next index key — the one a rotation that
/// was cut short left in [`NEXT_INDEX_KEY_FILE`], or a new one written there.
pub fn begin_index_rotation(dir: &Path) -> Result<[u8; FIELD_KEY_LEN], KeyError> {
    let current_path = dir.join(INDEX_KEY_FILE);
    let current = key_bytes(read_private(&current_path)?, &current_path)?;
    let leaf = dir.join(AUDIT_LEAF_KEY_FILE);
    if !leaf.exists() {
        write_new_private(&leaf, &LeafKey::derive_bytes(&current))?;
    }
    let next_path = dir.join(NEXT_INDEX_KEY_FILE);
    if next_path.exists() {
        return key_bytes(read_private(&next_path)?, &next_path);
    }
    let mut next = [0u8; FIELD_KEY_LEN];
    SystemRandom::new()
        .fill(&mut next)
        .map_err(|_| KeyError::Random)?;
    write_new_private(&next_path, &next)?;
    Ok(next)
}

/// Finishes it, once every index is the next key's: the next key replaces the current one.
pub fn finish_index_rotation(dir: &Path) -> Result<(), KeyError> {
    let current = dir.join(INDEX_KEY_FILE);
    fs::rename(dir.join(NEXT_INDEX_KEY_FILE), &current).map_err(io_error(&current))?;
    sync_dir(dir)
}

/// One handover of the audit log from a retired key to the next (base64 keys and signature).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Handover {
    pub retired_key: String,
    pub last_seq: i64,
    pub next_key: String,
    pub signature: String,
}

/// What a retired key signs to hand the log over.
pub fn handover_message(last_seq: i64, next_key: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "sig-register audit key handover v1\n{last_seq}\n{}\n",
        base64::engine::general_purpose::STANDARD.encode(next_key)
    )
}

fn read_handovers(dir: &Path) -> Result<Vec<Handover>, KeyError> {
    let path = dir.join(AUDIT_HANDOVERS_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|_| KeyError::Invalid(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error(&path)(e)),
    }
}

/// The retired audit keys with their last `seq`, after checking the chain of handovers: each
/// signed by its retired key, each next key the following one's retired key, the last one's
/// next key the key in use, the `seq`s rising. Anything else stops the start.
fn handovers_of(dir: &Path, current: &[u8]) -> Result<Vec<(Vec<u8>, i64)>, KeyError> {
    use base64::Engine as _;
    let path = dir.join(AUDIT_HANDOVERS_FILE);
    let broken = |why: &str| KeyError::Handover(format!("{}: {why}", path.display()));
    let b64 = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| broken("not base64"))
    };
    let handovers = read_handovers(dir)?;
    let mut retired = Vec::new();
    for (index, handover) in handovers.iter().enumerate() {
        let key = b64(&handover.retired_key)?;
        let next = b64(&handover.next_key)?;
        let message = handover_message(handover.last_seq, &next);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key)
            .verify(message.as_bytes(), &b64(&handover.signature)?)
            .map_err(|_| {
                broken(&format!(
                    "handover {index} is not signed by its retired key"
                ))
            })?;
        let expected_next = match handovers.get(index + 1) {
            Some(following) => b64(&following.retired_key)?,
            None => current.to_vec(),
        };
        if next != expected_next {
            if dir.join(NEXT_AUDIT_KEY_FILE).exists() {
                return Err(broken(
                    "an audit key rotation did not finish: run `sig-register keys rotate audit` again",
                ));
            }
            return Err(broken(&format!(
                "handover {index} names another next key than the one that follows it"
            )));
        }
        if retired
            .last()
            .is_some_and(|(_, last)| *last >= handover.last_seq)
        {
            return Err(broken("the handovers' seqs do not rise"));
        }
        retired.push((key, handover.last_seq));
    }
    Ok(retired)
}

/// Rotates the audit log's signing key in `dir` at `last_seq` (the log's head; every instance
/// stopped): a new key is made beside the current one, the current key signs the handover to
/// it (appended to [`AUDIT_HANDOVERS_FILE`]), then the new key replaces the current one. The
/// retired private key is not kept; its public key is, in the handover. A rerun after a cut
/// finishes with the key made before. Returns the new public key.
pub fn rotate_audit_key(dir: &Path, last_seq: i64) -> Result<Vec<u8>, KeyError> {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let current_path = dir.join(AUDIT_KEY_FILE);
    let current = Ed25519Key::from_pkcs8(read_private(&current_path)?, &current_path)?;
    let next_path = dir.join(NEXT_AUDIT_KEY_FILE);
    let next_pkcs8 = if next_path.exists() {
        read_private(&next_path)?
    } else {
        let pkcs8 = new_ed25519(&SystemRandom::new())?;
        write_new_private(&next_path, &pkcs8)?;
        pkcs8
    };
    let next = Ed25519Key::from_pkcs8(next_pkcs8, &next_path)?;
    let mut handovers = read_handovers(dir)?;
    let already = handovers
        .last()
        .is_some_and(|h| h.next_key == b64(next.public_key()));
    if !already {
        let message = handover_message(last_seq, next.public_key());
        handovers.push(Handover {
            retired_key: b64(current.public_key()),
            last_seq,
            next_key: b64(next.public_key()),
            signature: b64(current.pair.sign(message.as_bytes()).as_ref()),
        });
        let path = dir.join(AUDIT_HANDOVERS_FILE);
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        let text = serde_json::to_string_pretty(&handovers)
            .map_err(|_| KeyError::Invalid(path.clone()))?;
        write_new_private(&tmp, text.as_bytes())?;
        fs::rename(&tmp, &path).map_err(io_error(&path))?;
    }
    fs::rename(&next_path, &current_path).map_err(io_error(&current_path))?;
    sync_dir(dir)?;
    Ok(next.public_key().to_vec())
}

/// Flushes `dir`'s entries (a rename into it) to the disk.
fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Writes `bytes` to a new file at `path` (0600), flushed to the disk; never over a file.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// An Ed25519 key of its own at `path` (0600, its directory 0700), created on first use: an
/// outside witness's.
pub fn load_or_create_ed25519(path: &Path) -> Result<Ed25519Key, KeyError> {
    if let Some(dir) = path.parent() {
        ensure_dir(dir)?;
    }
    let rng = SystemRandom::new();
    let pkcs8 = load_or_create_file(path, || new_ed25519(&rng))?;
    Ed25519Key::from_pkcs8(pkcs8, path)
}

fn new_ed25519(rng: &SystemRandom) -> Result<Vec<u8>, KeyError> {
    Ed25519KeyPair::generate_pkcs8(rng)
        .map(|doc| doc.as_ref().to_vec())
        .map_err(|_| KeyError::Random)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn ensure_dir(dir: &Path) -> Result<(), KeyError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error(dir))
}

/// Reads `path`, or creates it with `make()` if it does not exist. Creation writes a private
/// temporary file and links it into place, so a crash never leaves a half-written key and a
/// key that appeared meanwhile is never overwritten.
fn load_or_create_file(
    path: &Path,
    make: impl FnOnce() -> Result<Vec<u8>, KeyError>,
) -> Result<Vec<u8>, KeyError> {
    match read_private(path) {
        Ok(bytes) => return Ok(bytes),
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(other) => return Err(other),
    }
    let bytes = make()?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(bytes),
        // Another process created the key first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_private(path),
        Err(e) => Err(io_error(path)(e)),
    }
}

fn read_private(path: &Path) -> Result<Vec<u8>, KeyError> {
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let metadata = file.metadata().map_err(io_error(path))?;
    if !metadata.is_file() {
        return Err(KeyError::Io {
            path: path.to_owned(),
            source: std::io::Error::other("not a file: a key file belongs here"),
        });
    }
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io_error(path))?;
    Ok(bytes)
}

/// The bytes of lowercase or uppercase hex text; `None` unless it is whole bytes of hex digits.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
