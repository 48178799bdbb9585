//! Key files: created on first start with mode 0600 in a 0700 directory, never overwritten.

use std::os::unix::fs::PermissionsExt;

use sig_register::crypto::keys::{
    KeyError, KeyStore, AUDIT_KEY_FILE, FIELD_KEY_FILE, INDEX_KEY_FILE, JWT_DEV_KEY_FILE,
};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn first_start_creates_private_key_files() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    let keys = KeyStore::load_or_create(&dir).expect("keys");
    assert_eq!(mode(&dir), 0o700);
    for file in [
        JWT_DEV_KEY_FILE,
        AUDIT_KEY_FILE,
        FIELD_KEY_FILE,
        INDEX_KEY_FILE,
    ] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(
        std::fs::read(dir.join(FIELD_KEY_FILE)).expect("read").len(),
        32
    );
    assert_ne!(
        keys.jwt_dev.public_key(),
        keys.audit.public_key(),
        "two different key pairs"
    );
}

#[test]
fn existing_keys_are_never_overwritten() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    let first = KeyStore::load_or_create(&dir).expect("keys");
    let before: Vec<Vec<u8>> = [
        JWT_DEV_KEY_FILE,
        AUDIT_KEY_FILE,
        FIELD_KEY_FILE,
        INDEX_KEY_FILE,
    ]
    .iter()
    .map(|f| std::fs::read(dir.join(f)).expect("read"))
    .collect();
    let second = KeyStore::load_or_create(&dir).expect("keys");
    let after: Vec<Vec<u8>> = [
        JWT_DEV_KEY_FILE,
        AUDIT_KEY_FILE,
        FIELD_KEY_FILE,
        INDEX_KEY_FILE,
    ]
    .iter()
    .map(|f| std::fs::read(dir.join(f)).expect("read"))
    .collect();
    assert_eq!(before, after);
    assert_eq!(first.jwt_dev.key_id, second.jwt_dev.key_id);
    assert_eq!(first.field_key, second.field_key);
}

#[test]
fn a_key_file_readable_by_others_stops_the_start() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    KeyStore::load_or_create(&dir).expect("keys");
    let path = dir.join(AUDIT_KEY_FILE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let error = KeyStore::load_or_create(&dir).expect_err("refused");
    assert!(matches!(error, KeyError::TooOpen { .. }), "{error}");
    assert!(error.to_string().contains("chmod 600"));
}

#[test]
fn a_damaged_key_file_stops_the_start() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    KeyStore::load_or_create(&dir).expect("keys");
    std::fs::write(dir.join(JWT_DEV_KEY_FILE), b"not a key").expect("write");
    assert!(matches!(
        KeyStore::load_or_create(&dir),
        Err(KeyError::Invalid(_))
    ));
}
