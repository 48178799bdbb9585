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

/// Signs a checkpoint at the log's head and writes the witness file, as a shutdown does.
fn sign_head(app: &crate::support::TestApp) {
    sig_register::jobs::checkpoints::sign_now(app.state())
        .expect("a checkpoint")
        .expect("signed");
    app.state()
        .audit
        .flush_witness(sig_register::audit::to_micros(app.state().clock.now()))
        .expect("the witness file");
}

/// `sig-register keys rotate audit`: the old key hands the log over at its head; the heads
/// before verify with the retired key, the heads after with the new one, and a handover not
/// signed by the retired key stops the start.
async fn the_audit_key_rotates_with_a_signed_handover(backend: crate::support::Backend) {
    use crate::support::fixtures::{create_case, owner};
    use crate::support::TestApp;
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    assert_eq!(
        app.get(&case.path(""), Some(&owner(&app))).await.status,
        200
    );
    sign_head(&app);
    let data = app.config.data_dir.clone();
    let old_public = app.state().keys.audit.public_key().to_vec();
    let env = [
        ("SIG_DATA_DIR", data.display().to_string()),
        ("SIG_DATABASE_URL", app.config.database_url.clone()),
    ];
    let cwd = app.dir.path().to_path_buf();
    let verify = || {
        let output = crate::support::http::cli(&cwd, &env, &["audit", "verify"]);
        (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    let (ok, out) = verify();
    assert!(ok, "before the rotation: {out}");

    // Every instance stopped; the command.
    let (seq, verifier_key) =
        sig_register::jobs::keys::rotate_audit_key(&app.config).expect("rotate the audit key");
    assert!(seq >= 2, "the handover is at the log's head ({seq})");
    assert!(verifier_key.starts_with(&format!("{}+", app.config.audit_origin)));
    assert!(data.join("audit-handovers.json").is_file());
    assert!(!data.join("audit-ed25519.pk8.next").exists());

    let restarted = sig_register::state::AppState::build(app.config.clone(), app.clock.clone())
        .expect("restart with the new key");
    let app = TestApp {
        data: actix_web::web::Data::new(restarted),
        ..app
    };
    assert_ne!(app.state().keys.audit.public_key(), &old_public[..]);
    assert_eq!(app.state().keys.audit.retired, [(old_public.clone(), seq)]);
    // New events and a head signed by the new key; the whole log verifies, old heads with the
    // retired key.
    assert_eq!(
        app.get(&case.path(""), Some(&owner(&app))).await.status,
        200
    );
    sign_head(&app);
    let (ok, out) = verify();
    assert!(ok, "after the rotation: {out}");
    let output = crate::support::http::cli(&cwd, &env, &["audit", "public-key"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), verifier_key);

    // A handover the retired key did not sign stops the start.
    let path = data.join("audit-handovers.json");
    let text = std::fs::read_to_string(&path).expect("handovers");
    let mut handovers: serde_json::Value = serde_json::from_str(&text).expect("json");
    handovers[0]["last_seq"] = serde_json::json!(seq + 100);
    std::fs::write(&path, handovers.to_string()).expect("write");
    let refused = sig_register::state::AppState::build(app.config.clone(), app.clock.clone())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("not signed by its retired key"),
        "{refused}"
    );
    std::fs::write(&path, text).expect("restore");
}

crate::on_both_backends!(the_audit_key_rotates_with_a_signed_handover);
