//! Backups that restore: `sig-register backup` while a spawned server takes a write load, then
//! `restore` into a new data folder and database, `audit verify`, and a server on the restored
//! register that finds every case acknowledged before the backup began. Also: a damaged backup
//! and a data folder in use are refused; on PostgreSQL the keys and the witness are copied and
//! the command says what to run for the database.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sig_register::clock::{Clock, SystemClock};

use crate::cli::{base_env, mint_as};
use crate::support::fixtures::case_body_on;
use crate::support::http::{cli, request, Server};
use crate::support::pg;

const OWNER: &str = "socialtjanst-orebro";

fn run(root: &Path, env: &[(&str, String)], args: &[&str]) -> (bool, String, String) {
    let output = cli(root, env, args);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_backup_taken_under_load_restores_every_acknowledged_write() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(
        root.path(),
        format!("sqlite://{}", root.path().join("live.db").display()),
    );
    let (mut server, port) = Server::spawn(root.path(), &env);
    assert!(
        server.wait_ready(Duration::from_secs(30)),
        "the server starts"
    );
    let token = mint_as(root.path(), &env, "ss-backup", OWNER, "social_secretary");
    let today = sig_register::clock::stockholm_date(&SystemClock.now());

    // Two writers create cases until told to stop; each acknowledged case is noted with when
    // its 201 arrived.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, acknowledged, token) = (stop.clone(), acknowledged.clone(), token.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let body = case_body_on(today, 15);
                    let reply = request(
                        port,
                        "POST",
                        "/api/v1/cases",
                        Some(&token),
                        &[],
                        Some(&body),
                    );
                    if let Some(reply) = reply.filter(|r| r.status == 201) {
                        let id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
                        acknowledged
                            .lock()
                            .expect("list")
                            .push((Instant::now(), id));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let began = Instant::now();
    let backup_dir = root.path().join("backup");
    let (ok, out, err) = run(
        root.path(),
        &env,
        &["backup", "--to", &backup_dir.display().to_string()],
    );
    assert!(ok, "backup: {err}");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().expect("writer");
    }
    server.stop();
    let acknowledged = acknowledged.lock().expect("list").clone();
    let before: Vec<&String> = acknowledged
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| id)
        .collect();
    let after = acknowledged.len() - before.len();
    assert!(
        before.len() >= 5,
        "a write load ran before the backup ({})",
        before.len()
    );
    assert!(after >= 1, "the load went on during the backup");
    assert!(out.contains("audit events up to seq"), "{out}");
    assert!(
        !out.contains("Ungdom") && !err.contains("Ungdom"),
        "no personal data printed"
    );
    for name in [
        "backup.json",
        "sig-register.db",
        "audit-witness.json",
        "field-encryption.key",
    ] {
        assert!(backup_dir.join(name).is_file(), "{name} in the backup");
    }
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(backup_dir.join("field-encryption.key"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "keys stay private in the backup");

    // Elsewhere: a new data folder and database.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let restored_env = base_env(
        elsewhere.path(),
        format!(
            "sqlite://{}",
            elsewhere.path().join("restored.db").display()
        ),
    );
    let from = backup_dir.display().to_string();
    let (ok, out, err) = run(
        elsewhere.path(),
        &restored_env,
        &["restore", "--from", &from],
    );
    assert!(ok, "restore: {err}");
    assert!(out.contains("next: sig-register audit verify"), "{out}");
    let (ok, out, err) = run(elsewhere.path(), &restored_env, &["audit", "verify"]);
    assert!(ok, "audit verify of the restored register: {out}{err}");

    // A restore never writes over a register: the same again is refused.
    let (ok, _, err) = run(
        elsewhere.path(),
        &restored_env,
        &["restore", "--from", &from],
    );
    assert!(!ok && err.contains("is not empty"), "{err}");

    // Every case acknowledged before the backup began is in the restored register, readable
    // with the restored keys (the same token verifies: the same development key).
    let (mut restored, port) = Server::spawn(elsewhere.path(), &restored_env);
    assert!(
        restored.wait_ready(Duration::from_secs(30)),
        "the restored register serves"
    );
    for id in &before {
        let reply = request(
            port,
            "GET",
            &format!("/api/v1/cases/{id}"),
            Some(&token),
            &[],
            None,
        )
        .expect("an answer");
        assert_eq!(
            reply.status, 200,
            "case {id} acknowledged before the backup"
        );
        assert!(reply.json()["youth"]["given_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("Ungdom")));
    }
    restored.stop();
}

#[test]
fn a_damaged_backup_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(
        root.path(),
        format!("sqlite://{}", root.path().join("live.db").display()),
    );
    let (ok, _, err) = run(root.path(), &env, &["migrate"]);
    assert!(ok, "{err}");
    // Without keys (the data folder of another place): refused, naming the folder.
    let (ok, _, err) = run(root.path(), &env, &["backup", "--to", "b0"]);
    assert!(
        !ok && err.contains("SIG_DATA_DIR must name the data folder"),
        "{err}"
    );
    let _ = mint_as(root.path(), &env, "x", OWNER, "admin"); // makes the keys
    let (ok, _, err) = run(root.path(), &env, &["backup", "--to", "b1"]);
    assert!(ok, "{err}");
    // Not into a folder that holds something.
    let (ok, _, err) = run(root.path(), &env, &["backup", "--to", "b1"]);
    assert!(!ok && err.contains("is not empty"), "{err}");

    let key = root.path().join("b1").join("blind-index.key");
    let mut bytes = std::fs::read(&key).expect("key");
    bytes[0] ^= 1;
    std::fs::write(&key, bytes).expect("write");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let restored_env = base_env(
        elsewhere.path(),
        format!("sqlite://{}", elsewhere.path().join("r.db").display()),
    );
    let from = root.path().join("b1").display().to_string();
    let (ok, _, err) = run(
        elsewhere.path(),
        &restored_env,
        &["restore", "--from", &from],
    );
    assert!(
        !ok && err.contains("blind-index.key") && err.contains("damaged"),
        "{err}"
    );
    assert!(!elsewhere.path().join("data").exists(), "nothing restored");
    assert!(!elsewhere.path().join("r.db").exists());
}

#[test]
fn on_postgres_the_keys_and_witness_are_copied_and_the_dump_is_named() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(root.path(), url.clone());
    let (mut server, port) = Server::spawn(root.path(), &env);
    assert!(
        server.wait_ready(Duration::from_secs(30)),
        "the server starts"
    );
    let token = mint_as(root.path(), &env, "ss-pg", OWNER, "social_secretary");
    let reply = request(port, "GET", "/api/v1/cases", Some(&token), &[], None).expect("answer");
    assert_eq!(reply.status, 200);
    server.stop(); // writes the witness file at shutdown
    let (ok, out, err) = run(root.path(), &env, &["backup", "--to", "pgb"]);
    assert!(ok, "{err}");
    assert!(out.contains("pg_dump --format=custom"), "{out}");
    for name in [
        "backup.json",
        "audit-witness.json",
        "audit-ed25519.pk8",
        "blind-index.key",
    ] {
        assert!(root.path().join("pgb").join(name).is_file(), "{name}");
    }
    assert!(!root.path().join("pgb").join("sig-register.db").exists());
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let restored_env = base_env(elsewhere.path(), url.clone());
    let from = root.path().join("pgb").display().to_string();
    let (ok, out, err) = run(
        elsewhere.path(),
        &restored_env,
        &["restore", "--from", &from],
    );
    assert!(ok, "{err}");
    assert!(out.contains("pg_restore"), "{out}");
    for name in [
        "audit-witness.json",
        "jwt-dev-ed25519.pk8",
        "field-encryption.key",
    ] {
        let original = std::fs::read(root.path().join("data").join(name)).expect("original");
        let copy = std::fs::read(elsewhere.path().join("data").join(name)).expect("restored");
        assert_eq!(original, copy, "{name} restored as it was");
    }
    // The restored keys and the (same) database: the log verifies.
    let (ok, out, err) = run(elsewhere.path(), &restored_env, &["audit", "verify"]);
    assert!(ok, "{out}{err}");
    pg::drop_database(&url);
}
