//! The tree's signed heads and proofs from outside: checkpoints as C2SP signed notes, the
//! inclusion and consistency endpoints (auditor only, audited), and the family's verifiable
//! extract, checked offline by `sig-register audit verify-extract` in an empty directory.

use base64::Engine as _;
use diesel::connection::SimpleConnection;
use serde_json::Value;

use sig_register::audit::{merkle, note};
use sig_register::auth::Role;

use crate::audit::{conn, events};
use crate::on_both_backends;
use crate::support::fixtures::{self, create_case, owner, police, record_consent};
use crate::support::http::cli;
use crate::support::{Backend, TestApp};

fn auditor(app: &TestApp) -> String {
    app.token("au-1", "socialtjanst-orebro", &[Role::Auditor])
}

fn sign_head(app: &TestApp) {
    let now = app.state().clock.now().naive_utc();
    app.state()
        .audit
        .checkpoint(&mut conn(app), now)
        .expect("a checkpoint");
}

fn hashes(value: &Value) -> Vec<merkle::Hash> {
    value
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| {
            sig_register::crypto::keys::unhex(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

/// ⌈log₂ n⌉.
fn ceil_log2(n: u64) -> usize {
    (64 - (n.max(1) - 1).leading_zeros()) as usize
}

/// The signed tree heads of `GET /audit/checkpoints`, opened with the log's key: `(size, root)`.
async fn signed_heads(app: &TestApp) -> Vec<(u64, merkle::Hash)> {
    let body = app
        .get("/api/v1/audit/checkpoints", Some(&auditor(app)))
        .await
        .json();
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body["public_key"].as_str().unwrap())
        .unwrap();
    let origin = &app.state().keys.audit.origin;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| !item["note"].is_null())
        .map(|item| {
            let opened = note::open_checkpoint(item["note"].as_str().unwrap(), origin, &key)
                .expect("the note verifies with the published key");
            assert_eq!(opened.size, item["tree_size"].as_u64().unwrap());
            assert_eq!(item["tree_size"], item["seq"]);
            (opened.size, opened.root)
        })
        .collect()
}

async fn proofs_lead_to_the_signed_heads(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let police = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    for _ in 0..13 {
        app.get("/api/v1/cases", Some(&police)).await;
    }
    sign_head(&app);
    for _ in 0..9 {
        app.get("/api/v1/cases", None).await;
    }
    sign_head(&app);
    let heads = signed_heads(&app).await;
    assert!(heads.len() >= 2, "two signed heads: {heads:?}");
    let (old, old_root) = heads[heads.len() - 2];
    let (new, new_root) = heads[heads.len() - 1];
    // The stored tree's roots are the signed ones.
    assert_eq!(
        sig_register::audit::tree::root(&mut conn(&app), new).unwrap(),
        Some(new_root)
    );

    // Every event up to the newest head proves its place, with its leaf recomputed here.
    let key = &app.state().keys.audit.leaf;
    let rows = {
        use diesel::prelude::*;
        use sig_register::audit::chain::EventRow;
        use sig_register::db::schema::audit_events;
        audit_events::table
            .select(EventRow::as_select())
            .order(audit_events::seq.asc())
            .load::<EventRow>(&mut conn(&app))
            .unwrap()
    };
    for row in rows.iter().filter(|r| r.seq as u64 <= new).step_by(3) {
        let response = app
            .get(
                &format!("/api/v1/audit/events/{}/inclusion?tree_size={new}", row.seq),
                Some(&auditor(&app)),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        let body = response.json();
        assert_eq!(body["leaf_index"], row.seq - 1);
        let proof = hashes(&body["hashes"]);
        assert!(proof.len() <= ceil_log2(new));
        let leaf = sig_register::audit::leaf::leaf_hash(key, &row.fields());
        merkle::verify_inclusion(&leaf, row.seq as u64 - 1, new, &proof, &new_root)
            .unwrap_or_else(|e| panic!("event {}: {e}", row.seq));
        // A forged proof, or another event's leaf, does not lead there.
        let mut forged = proof.clone();
        forged[0][0] ^= 1;
        assert!(
            merkle::verify_inclusion(&leaf, row.seq as u64 - 1, new, &forged, &new_root).is_err()
        );
    }
    // Without `tree_size`: the newest signed head's.
    let body = app
        .get("/api/v1/audit/events/1/inclusion", Some(&auditor(&app)))
        .await
        .json();
    assert_eq!(body["tree_size"], new);

    // The newer head extends the older one.
    let response = app
        .get(
            &format!("/api/v1/audit/consistency?from={old}&to={new}"),
            Some(&auditor(&app)),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let proof = hashes(&response.json()["hashes"]);
    assert!(proof.len() <= ceil_log2(new) + 1);
    merkle::verify_consistency(old, new, &old_root, &new_root, &proof).expect("consistent");
    // A root from a rewritten range does not.
    let mut rewritten = old_root;
    rewritten[5] ^= 0x80;
    assert!(merkle::verify_consistency(old, new, &rewritten, &new_root, &proof).is_err());

    // Bad sizes are refused with a reason; other roles are refused; each call is audited.
    let bad = [
        format!(
            "/api/v1/audit/events/1/inclusion?tree_size={}",
            new + 10_000
        ),
        format!("/api/v1/audit/events/{}/inclusion?tree_size=2", new),
        "/api/v1/audit/events/1/inclusion?tree_size=zero".to_owned(),
        "/api/v1/audit/events/-3/inclusion".to_owned(),
        "/api/v1/audit/events/first/inclusion".to_owned(),
        format!("/api/v1/audit/consistency?from={new}&to={old}"),
        "/api/v1/audit/consistency".to_owned(),
    ];
    for path in &bad {
        app.get(path, Some(&auditor(&app)))
            .await
            .assert_problem(400, "bad_request");
    }
    let before = events(&app).len();
    app.get("/api/v1/audit/events/1/inclusion", Some(&police))
        .await
        .assert_problem(403, "forbidden");
    app.get(
        &format!("/api/v1/audit/consistency?from=1&to={new}"),
        Some(&owner(&app)),
    )
    .await
    .assert_problem(403, "forbidden");
    let log = events(&app);
    assert_eq!(log.len(), before + 2, "one event each");
    assert_eq!(
        (
            log[before].event.action.as_str(),
            log[before].event.outcome.as_str()
        ),
        ("audit.proof.inclusion", "denied")
    );
    assert_eq!(
        (
            log[before + 1].event.action.as_str(),
            log[before + 1].event.outcome.as_str()
        ),
        ("audit.proof.consistency", "denied")
    );
    assert!(log
        .iter()
        .any(|e| e.event.action == "audit.proof.inclusion" && e.event.outcome == "allowed"));
}

fn verify_extract(dir: &std::path::Path, extract: &str, key: &str) -> (i32, String) {
    std::fs::write(dir.join("extract.json"), extract).unwrap();
    let output = cli(
        dir,
        &[],
        &[
            "audit",
            "verify-extract",
            "extract.json",
            "--public-key",
            key,
        ],
    );
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

async fn a_verifiable_extract_verifies_offline_and_refuses_a_change(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    record_consent(&app, &case, &["polisen-orebro"], &["identity", "plan"]).await;
    for _ in 0..3 {
        let read = app.get(&case.path(""), Some(&police(&app))).await;
        assert_eq!(read.status, 200);
    }
    // Another case, read in the same breath: its id must not show in this case's extract.
    let other = create_case(&app, 15).await;
    app.get(&other.path(""), Some(&owner(&app))).await;

    let plain = app
        .get(&case.path("/access-log"), Some(&owner(&app)))
        .await
        .json();
    let response = app
        .get(
            &case.path("/access-log?format=verifiable"),
            Some(&fixtures::auditor(&app)),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let text = response.text();
    let extract: Value = serde_json::from_str(&text).unwrap();
    let items = extract["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        plain["items"].as_array().unwrap().len(),
        "every event of the plain extract, proven"
    );
    // What the family must not learn: who by id or name, the request, the other case.
    for hidden in ["po-1", "\"path\":{\"value", other.id.as_str()] {
        assert!(!text.contains(hidden), "{hidden} is hidden");
    }
    let shown: Vec<&str> = items
        .iter()
        .map(|i| i["fields"]["actor.agency"]["value"].as_str().unwrap_or(""))
        .collect();
    assert!(shown.contains(&"polisen-orebro"), "{shown:?}");

    // Offline, in a directory holding nothing but the file, with only the public key.
    let vkey = note::verifier_key(
        &app.state().keys.audit.origin,
        app.state().keys.audit.public_key(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = verify_extract(dir.path(), &text, &vkey);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("extract VERIFIED: {} events", items.len())),
        "{out}"
    );
    assert!(out.contains("polisen-orebro"), "{out}");
    // The raw key (as /audit/checkpoints publishes it) works too.
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(app.state().keys.audit.public_key());
    assert_eq!(verify_extract(dir.path(), &text, &raw).0, 0);

    // One event changed: another agency shown.
    let changed = text.replacen("\"polisen-orebro\"", "\"skolan-orebro\"", 1);
    assert_ne!(changed, text);
    let (code, out) = verify_extract(dir.path(), &changed, &vkey);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("extract REFUSED: event"), "{out}");
    assert!(out.contains("not in the signed tree"), "{out}");
    // A byte of a proof changed.
    let mut forged: Value = extract.clone();
    let first = forged["items"][0]["inclusion"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = format!(
        "{}{}",
        if first.starts_with('0') { "1" } else { "0" },
        &first[1..]
    );
    forged["items"][0]["inclusion"][0] = Value::from(flipped);
    let (code, out) = verify_extract(dir.path(), &forged.to_string(), &vkey);
    assert_eq!(code, 1, "{out}");
    // The checkpoint's tree size changed (its signature no longer holds).
    let mut resized: Value = extract.clone();
    let note_text = resized["checkpoint"].as_str().unwrap().to_owned();
    let size = extract["tree_size"].as_u64().unwrap();
    resized["checkpoint"] =
        Value::from(note_text.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1));
    resized["tree_size"] = Value::from(size + 1);
    let (code, out) = verify_extract(dir.path(), &resized.to_string(), &vkey);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("checkpoint does not verify"), "{out}");
    // Another key refuses it; an unreadable key is a usage error.
    let other_key = note::verifier_key(&app.state().keys.audit.origin, &[7u8; 32]);
    assert_eq!(verify_extract(dir.path(), &text, &other_key).0, 1);
    assert_eq!(verify_extract(dir.path(), &text, "not a key").0, 2);

    // The request itself: one event, naming no case (it discloses who looked, not the case).
    let log = events(&app);
    let own = log
        .iter()
        .rev()
        .find(|e| e.event.action == "access_log.read")
        .unwrap();
    assert_eq!(own.event.outcome, "allowed");
    assert!(own.event.case_ids.is_empty());
    // Police may not have it; an unknown format is a bad request.
    app.get(
        &case.path("/access-log?format=verifiable"),
        Some(&police(&app)),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get(&case.path("/access-log?format=pdf"), Some(&owner(&app)))
        .await
        .assert_problem(400, "bad_request");
}

async fn verify_api(app: &TestApp, incremental: bool) -> Value {
    let path = if incremental {
        "/api/v1/audit/verify?incremental=true"
    } else {
        "/api/v1/audit/verify"
    };
    let response = app.get(path, Some(&auditor(app))).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

async fn an_incremental_verification_reads_only_what_is_new(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for _ in 0..20 {
        app.get("/api/v1/areas", None).await;
    }
    sign_head(&app);
    // With no verification recorded, an incremental one is a full one.
    let first = verify_api(&app, true).await;
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(first["since"], Value::Null);
    let verified = first["head"]["seq"].as_i64().unwrap();
    for _ in 0..7 {
        app.get("/api/v1/areas", None).await;
    }
    sign_head(&app);
    for _ in 0..3 {
        app.get("/api/v1/areas", None).await;
    }
    let second = verify_api(&app, true).await;
    assert_eq!(second["ok"], true, "{second}");
    assert_eq!(second["since"], verified);
    let head = second["head"]["seq"].as_i64().unwrap();
    assert_eq!(
        second["events_verified"],
        head - verified,
        "only the new events"
    );
    assert_eq!(
        second["checkpoints_verified"], 1,
        "only the checkpoint signed since"
    );
    // The full verification reads everything, and agrees.
    let full = verify_api(&app, false).await;
    assert_eq!(
        (full["ok"].clone(), full["since"].clone()),
        (Value::Bool(true), Value::Null)
    );
    assert!(full["events_verified"].as_i64().unwrap() > head);

    // A new event changed: found.
    let base = verify_api(&app, true).await["head"]["seq"]
        .as_i64()
        .unwrap();
    for _ in 0..5 {
        app.get("/api/v1/areas", None).await;
    }
    crate::audit::drop_append_only_triggers(&app);
    conn(&app)
        .batch_execute(&format!(
            "UPDATE audit_events SET reason = 'x' WHERE seq = {}",
            base + 3
        ))
        .expect("tamper");
    let found = verify_api(&app, true).await;
    assert_eq!(found["ok"], false);
    assert_eq!(found["failure"]["seq"], base + 3, "{found}");
    // An event verified before, changed: not read by the incremental verification (it proves
    // the log only grew); the full one finds it.
    conn(&app)
        .batch_execute(&format!(
            "UPDATE audit_events SET reason = reason WHERE seq = {0}; \
             UPDATE audit_events SET status = 299 WHERE seq = 4",
            base + 3
        ))
        .expect("tamper");
    let full = verify_api(&app, false).await;
    assert_eq!(full["failure"]["seq"], 4, "{full}");

    // The record verified before, changed or its last event cut: refused, with a reason.
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for _ in 0..6 {
        app.get("/api/v1/areas", None).await;
    }
    let base = verify_api(&app, false).await["head"]["seq"]
        .as_i64()
        .unwrap();
    let unguard = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_verified_no_update;",
        Backend::Postgres => "ALTER TABLE audit_verified DISABLE TRIGGER USER;",
    };
    conn(&app).batch_execute(unguard).expect("unguarded");
    conn(&app)
        .batch_execute(&format!(
            "UPDATE audit_verified SET tree_size = tree_size + 1 WHERE tree_size = {base}"
        ))
        .expect("tamper");
    let refused = verify_api(&app, true).await;
    assert_eq!(refused["ok"], false);
    assert!(
        refused["failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("does not verify with the audit key"),
        "{refused}"
    );

    // From the command line, as a nightly job runs it.
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for _ in 0..4 {
        app.get("/api/v1/areas", None).await;
    }
    verify_api(&app, false).await;
    for _ in 0..2 {
        app.get("/api/v1/areas", None).await;
    }
    let dir = app.config.data_dir.parent().unwrap().to_path_buf();
    let output = cli(
        &dir,
        &[
            ("SIG_DATABASE_URL", app.config.database_url.clone()),
            ("SIG_DATA_DIR", app.config.data_dir.display().to_string()),
        ],
        &["audit", "verify", "--incremental"],
    );
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("since the verification of the first"), "{out}");
}

on_both_backends!(
    proofs_lead_to_the_signed_heads,
    a_verifiable_extract_verifies_offline_and_refuses_a_change,
    an_incremental_verification_reads_only_what_is_new
);
