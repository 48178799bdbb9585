//! The Merkle tree over the audit events (`audit_tree`): written with the events by every
//! append path (the group-committing writer, the locked append, PostgreSQL's one-statement
//! append), equal to the tree recomputed from the stored events, its proofs verifying; a log
//! without its tree is caught up.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use sig_register::audit::chain::EventRow;
use sig_register::audit::leaf;
use sig_register::audit::merkle::{self, MemoryTree};
use sig_register::audit::tree;
use sig_register::auth::Role;
use sig_register::db::schema::audit_events;

use crate::audit::conn;
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

/// The tree recomputed from the stored events, and its size.
fn recomputed(app: &TestApp) -> (MemoryTree, u64) {
    let rows: Vec<EventRow> = audit_events::table
        .select(EventRow::as_select())
        .order(audit_events::seq.asc())
        .load(&mut conn(app))
        .expect("events");
    let mut tree = MemoryTree::default();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.seq as usize, i + 1, "gapless");
        tree.push(leaf::leaf_hash(&app.state().keys.audit.leaf, &row.fields()));
    }
    let size = tree.size();
    (tree, size)
}

/// The stored tree equals the recomputed one; every event's inclusion proof from the stored
/// nodes verifies; consistency proofs from a few earlier sizes verify.
fn assert_tree_matches(app: &TestApp) -> u64 {
    let (mut memory, size) = recomputed(app);
    let mut db = conn(app);
    let root = tree::root(&mut db, size)
        .expect("reads")
        .expect("a stored tree");
    assert_eq!(
        root,
        merkle::root(&mut memory, size).unwrap(),
        "root of {size}"
    );
    assert_eq!(tree::size(&mut db).expect("size"), size);
    for seq in 1..=size {
        let proof = tree::inclusion(&mut db, seq, size)
            .expect("reads")
            .expect("a proof");
        let leaf_hash = {
            use merkle::Nodes;
            memory.node(0, seq - 1).unwrap()
        };
        merkle::verify_inclusion(&leaf_hash, seq - 1, size, &proof, &root)
            .unwrap_or_else(|e| panic!("event {seq} of {size}: {e}"));
    }
    for old in [1, size / 3, size / 2, size - 1] {
        if old == 0 || old > size {
            continue;
        }
        let proof = tree::consistency(&mut db, old, size)
            .expect("reads")
            .expect("a proof");
        let old_root = merkle::root(&mut memory, old).unwrap();
        merkle::verify_consistency(old, size, &old_root, &root, &proof)
            .unwrap_or_else(|e| panic!("{old} → {size}: {e}"));
    }
    size
}

async fn the_tree_grows_with_the_log(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    for n in 0..37 {
        let token = (n % 3 != 0).then_some(token.as_str());
        app.get("/api/v1/cases", token).await;
    }
    assert_eq!(assert_tree_matches(&app), 37);
    // Concurrent requests, through the group-committing writer.
    let mut handles = Vec::new();
    for _ in 0..4 {
        let data = app.data.clone();
        let token = token.clone();
        handles.push(std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let service = actix_web::test::init_service(sig_register::build_app(data)).await;
                for _ in 0..15 {
                    let request = actix_web::test::TestRequest::get()
                        .uri("/api/v1/cases")
                        .insert_header(("Authorization", format!("Bearer {token}")))
                        .to_request();
                    actix_web::test::call_service(&service, request).await;
                }
            });
        }));
    }
    for handle in handles {
        handle.join().expect("a client");
    }
    assert_eq!(assert_tree_matches(&app), 97);
    // The tree is append-only in the database itself.
    for sql in ["UPDATE audit_tree SET idx = 99", "DELETE FROM audit_tree"] {
        assert!(conn(&app).batch_execute(sql).is_err(), "{sql}");
    }
}

async fn a_log_without_its_tree_is_caught_up(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for _ in 0..21 {
        app.get("/api/v1/cases", None).await;
    }
    // As a log written before the tree: no nodes at all.
    let sql = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_tree_no_delete; DELETE FROM audit_tree;",
        Backend::Postgres => "ALTER TABLE audit_tree DISABLE TRIGGER USER; DELETE FROM audit_tree;",
    };
    conn(&app).batch_execute(sql).expect("an old log");
    assert_eq!(tree::size(&mut conn(&app)).expect("size"), 0);
    app.get("/api/v1/cases", None).await;
    assert_eq!(assert_tree_matches(&app), 22);
}

/// Lets the test change `audit_tree` and `audit_checkpoints` as an attacker with the database
/// would (the append-only triggers dropped).
fn unguard(app: &TestApp, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "DROP TRIGGER audit_tree_no_update; DROP TRIGGER audit_checkpoints_no_update;"
        }
        Backend::Postgres => {
            "ALTER TABLE audit_tree DISABLE TRIGGER USER; \
             ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;"
        }
    };
    conn(app).batch_execute(sql).expect("unguarded");
}

async fn history(app: &TestApp) {
    for _ in 0..9 {
        app.get("/api/v1/areas", None).await;
    }
    sig_register::jobs::checkpoints::sign_now(app.state()).expect("checkpoint");
    for _ in 0..4 {
        app.get("/api/v1/areas", None).await;
    }
}

fn failure(app: &TestApp) -> (i64, String) {
    crate::audit::verify(app)
        .failure
        .expect("the tampering is detected")
}

async fn a_changed_tree_is_detected(backend: Backend) {
    // A leaf replaced: verification recomputes every leaf from its event.
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    history(&app).await;
    assert!(crate::audit::verify(&app).ok());
    unguard(&app, backend);
    conn(&app)
        .batch_execute("UPDATE audit_tree SET hash = (SELECT hash FROM audit_tree WHERE level = 0 AND idx = 1) WHERE level = 0 AND idx = 4")
        .expect("tamper");
    let (seq, reason) = failure(&app);
    assert_eq!(seq, 5, "{reason}");
    assert!(reason.contains("leaf differs"), "{reason}");

    // An interior node replaced (the leaves intact): proofs through it would fail.
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    history(&app).await;
    unguard(&app, backend);
    conn(&app)
        .batch_execute("UPDATE audit_tree SET hash = (SELECT hash FROM audit_tree WHERE level = 0 AND idx = 0) WHERE level = 2 AND idx = 0")
        .expect("tamper");
    let (_, reason) = failure(&app);
    assert!(reason.contains("stored nodes differ"), "{reason}");

    // A signed tree head's root replaced: its note no longer agrees (and re-signing needs the key).
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    history(&app).await;
    unguard(&app, backend);
    conn(&app)
        .batch_execute("UPDATE audit_checkpoints SET root = (SELECT hash FROM audit_tree WHERE level = 0 AND idx = 0)")
        .expect("tamper");
    let (_, reason) = failure(&app);
    assert!(reason.contains("names another size or root"), "{reason}");
}

on_both_backends!(
    the_tree_grows_with_the_log,
    a_log_without_its_tree_is_caught_up,
    a_changed_tree_is_detected
);
