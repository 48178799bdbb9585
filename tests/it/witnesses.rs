//! Outside witnesses (C2SP tlog-witness / tlog-cosignature): two `sig-register witness serve`
//! processes cosign every signed tree head the service submits, each with a consistency proof
//! from the last one it cosigned; a fork, a rewrite or a rollback signed with the log's own key
//! is refused by both and recorded as evidence; `audit verify` lists heads no witness cosigned.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use diesel::prelude::*;
use serde_json::Value;

use sig_register::audit::cosign::{self, Cosignature};
use sig_register::audit::{merkle, note};
use sig_register::auth::Role;
use sig_register::db::schema::audit_cosignatures;

use crate::audit::conn;
use crate::on_both_backends;
use crate::support::http::{cli, get, BINARY};
use crate::support::ports::free_port;
use crate::support::{Backend, TestApp};

struct Witness {
    child: Child,
    port: u16,
    dir: PathBuf,
    name: String,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn witness_key(dir: &Path, name: &str) -> String {
    let output = cli(
        dir,
        &[],
        &[
            "witness",
            "key",
            "--dir",
            &dir.display().to_string(),
            "--name",
            name,
        ],
    );
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn spawn(dir: &Path, name: &str, port: u16, log_key: &str) -> Witness {
    let child = Command::new(BINARY)
        .current_dir(dir)
        .args([
            "witness",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--dir",
            &dir.display().to_string(),
            "--name",
            name,
            "--log-key",
            log_key,
        ])
        .env_remove("SIG_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a witness");
    let witness = Witness {
        child,
        port,
        dir: dir.to_owned(),
        name: name.to_owned(),
    };
    let started = Instant::now();
    while get(port, "/healthz", None).map(|r| r.0) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the witness starts"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    witness
}

/// POSTs `body` to a witness: `(status, body)`.
fn post(port: u16, body: &str) -> (u16, String) {
    match openidconnect::ureq::post(&format!("http://127.0.0.1:{port}/add-checkpoint"))
        .send_string(body)
    {
        Ok(response) => (200, response.into_string().unwrap()),
        Err(openidconnect::ureq::Error::Status(code, response)) => {
            (code, response.into_string().unwrap_or_default())
        }
        Err(error) => panic!("{error}"),
    }
}

fn cosignatures(app: &TestApp) -> Vec<Cosignature> {
    audit_cosignatures::table
        .select(Cosignature::as_select())
        .order((audit_cosignatures::tree_size, audit_cosignatures::witness))
        .load(&mut conn(app))
        .unwrap()
}

fn signed_heads(app: &TestApp) -> Vec<(i64, String)> {
    sig_register::audit::chain::checkpoints(&mut conn(app))
        .unwrap()
        .into_iter()
        .filter_map(|c| Some((c.seq, c.note?)))
        .collect()
}

async fn two_witnesses_cosign_every_head_and_refuse_a_fork(backend: Backend) {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let names = ["arkiv.orebro.se/witness", "karlskoga.se/witness"];
    let ports = [free_port(), free_port()];
    let keys: Vec<String> = (0..2)
        .map(|i| witness_key(dirs[i].path(), names[i]))
        .collect();
    let witnesses_setting = (0..2)
        .map(|i| format!("http://127.0.0.1:{} {}", ports[i], keys[i]))
        .collect::<Vec<_>>()
        .join(",");
    let Some(app) = TestApp::with_config(backend, |c| c.audit_witnesses = witnesses_setting) else {
        return;
    };
    let log_key = note::verifier_key(
        &app.state().keys.audit.origin,
        app.state().keys.audit.public_key(),
    );
    let witnesses: Vec<Witness> = (0..2)
        .map(|i| spawn(dirs[i].path(), names[i], ports[i], &log_key))
        .collect();

    // Three rounds of events, a signed head each, submitted as `serve` does every minute.
    for round in 0..3 {
        for _ in 0..(5 + round * 7) {
            app.get("/api/v1/areas", None).await;
        }
        sig_register::jobs::checkpoints::sign_now(app.state()).expect("a head");
        assert_eq!(
            sig_register::jobs::cosign::submit_all(app.state()),
            2,
            "both witnesses cosign round {round}"
        );
    }
    let heads = signed_heads(&app);
    assert_eq!(heads.len(), 3);
    let kept = cosignatures(&app);
    assert_eq!(kept.len(), 6, "every head, by both: {kept:?}");
    for (size, checkpoint) in &heads {
        let body = note::parse_checkpoint(checkpoint).unwrap().body;
        for (i, name) in names.iter().enumerate() {
            let row = kept
                .iter()
                .find(|c| c.tree_size == *size && c.witness == *name)
                .unwrap_or_else(|| panic!("{name} cosigned {size}"));
            let (_, key) = cosign::parse_verifier_key(&keys[i]).unwrap();
            assert!(cosign::verify_cosignature(&row.line, &body, name, &key).is_some());
        }
    }
    // Nothing new: nothing submitted.
    assert_eq!(sig_register::jobs::cosign::submit_all(app.state()), 0);
    let auditor = app.token("au-1", "socialtjanst-orebro", &[Role::Auditor]);
    let report = app.get("/api/v1/audit/verify", Some(&auditor)).await.json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["uncosigned"], serde_json::json!([]));

    // A fork: a tree head signed with the log's own key (as a thief of the key, or the service
    // itself, would show someone a second history), larger than the last cosigned.
    let (last, last_note) = heads.last().unwrap().clone();
    let last_root = note::parse_checkpoint(&last_note).unwrap().root;
    let mut other = merkle::MemoryTree::default();
    for i in 0..(last as u64 + 4) {
        other.push(merkle::leaf_hash(format!("another history {i}").as_bytes()));
    }
    let forked_size = last as u64 + 4;
    let forked_root = merkle::root(&mut other, forked_size).unwrap();
    let origin = app.state().keys.audit.origin.clone();
    let pair = &app.state().keys.audit.signing.pair;
    let forked = note::sign(
        &note::checkpoint_body(&origin, forked_size, &forked_root),
        &origin,
        pair,
    );
    let proof = merkle::consistency_proof(&mut other, last as u64, forked_size)
        .unwrap()
        .unwrap();
    // The same size as the last cosigned, another root.
    let mut same_size = merkle::MemoryTree::default();
    for i in 0..last as u64 {
        same_size.push(merkle::leaf_hash(format!("yet another {i}").as_bytes()));
    }
    let same_root = merkle::root(&mut same_size, last as u64).unwrap();
    assert_ne!(same_root, last_root);
    let split = note::sign(
        &note::checkpoint_body(&origin, last as u64, &same_root),
        &origin,
        pair,
    );
    // A rollback: the first head again.
    let first = &heads[0].1;
    for witness in &witnesses {
        let (status, _) = post(
            witness.port,
            &cosign::request_body(last as u64, &proof, &forked),
        );
        assert_eq!(
            status, 422,
            "{} refuses the rewritten history",
            witness.name
        );
        let (status, body) = post(
            witness.port,
            &cosign::request_body(last as u64, &[], &split),
        );
        assert_eq!(
            (status, body.trim()),
            (409, last.to_string().as_str()),
            "{}",
            witness.name
        );
        let (status, _) = post(witness.port, &cosign::request_body(0, &[], first));
        assert_eq!(status, 409, "{} refuses the rollback", witness.name);
        // Each refusal of a validly signed head is kept as evidence.
        let evidence = std::fs::read_to_string(witness.dir.join("evidence.ndjson")).unwrap();
        let lines: Vec<Value> = evidence
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{evidence}");
        assert!(lines[0]["request"].as_str().unwrap().contains(&forked));
        // The witness still stands at the real head.
        let state: Value = serde_json::from_str(
            &std::fs::read_to_string(witness.dir.join("witness-state.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(state["logs"][&origin]["size"], last);
        assert_eq!(
            state["logs"][&origin]["root"],
            base64::engine::general_purpose::STANDARD.encode(last_root)
        );
    }

    // A new head not yet submitted is reported as uncosigned; submitted, it is not.
    app.get("/api/v1/areas", None).await;
    let newest = sig_register::jobs::checkpoints::sign_now(app.state())
        .unwrap()
        .unwrap()
        .seq;
    let report = app.get("/api/v1/audit/verify", Some(&auditor)).await.json();
    assert_eq!(
        report["uncosigned"],
        serde_json::json!([newest]),
        "{report}"
    );
    assert_eq!(sig_register::jobs::cosign::submit_all(app.state()), 2);
    let report = app.get("/api/v1/audit/verify", Some(&auditor)).await.json();
    assert_eq!(report["uncosigned"], serde_json::json!([]), "{report}");
    drop(witnesses);
}

on_both_backends!(two_witnesses_cosign_every_head_and_refuse_a_fork);
