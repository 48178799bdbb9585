//! API.md §10: exactly one audit event per request, stored before anything is disclosed; the
//! chain, its checkpoints and the auditor's API.

use actix_web::test::TestRequest;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use sig_register::audit::chain::{self, EventRow};
use sig_register::audit::{self, EventActor, NewEvent};
use sig_register::auth::Role;
use sig_register::clock::Clock;
use sig_register::db::{self, DbConn};

use crate::on_both_backends;
use crate::support::{with_token, Backend, Resp, TestApp};

pub fn conn(app: &TestApp) -> DbConn {
    app.config
        .database()
        .expect("url")
        .connect()
        .expect("connect")
}

/// Every event, read straight from the database.
pub fn events(app: &TestApp) -> Vec<audit::AuditEvent> {
    use diesel::prelude::*;
    use sig_register::db::schema::audit_events;
    let rows: Vec<EventRow> = audit_events::table
        .select(EventRow::as_select())
        .order(audit_events::seq.asc())
        .load(&mut conn(app))
        .expect("events");
    rows.into_iter()
        .map(|r| r.into_event().expect("readable"))
        .collect()
}

fn auditor(app: &TestApp) -> String {
    app.token("au-1", "socialtjanst-orebro", &[Role::Auditor])
}

/// Verifies the log on one connection, and again split at every point between two connections
/// (as `audit verify` splits a large log): every split must find exactly what one pass finds.
pub fn verify(app: &TestApp) -> sig_register::audit::verify::Verification {
    let witness = chain::read_witness(&app.config.data_dir).expect("witness readable");
    let key = &app.state().keys.audit;
    let report = sig_register::audit::verify::verify(&mut conn(app), key, witness.as_ref())
        .expect("verify runs");
    let head = report.head.as_ref().map_or(0, |(seq, _)| *seq);
    let mut helper = conn(app);
    // The split falls after `from / 2`; a tampered log may be longer than its verified head.
    // Short logs (the tampering tests) are split at every point, long ones at a few.
    let splits: Vec<i64> = if head <= 16 {
        (2..=2 * head + 4).collect()
    } else {
        vec![2, 3, head, head + 1, 2 * head - 1, 2 * head, 2 * head + 1]
    };
    for from in splits {
        let split = sig_register::audit::verify::verify_split(
            &mut conn(app),
            Some(&mut helper),
            key,
            witness.as_ref(),
            from,
        )
        .expect("split verify runs");
        assert_eq!(
            split, report,
            "split verification with parallel_from {from}"
        );
    }
    report
}

/// Sends `request` and returns the response with the events it added.
async fn with_events(app: &TestApp, request: TestRequest) -> (Resp, Vec<audit::AuditEvent>) {
    let before = events(app).len();
    let response = app.call(request).await;
    let after = events(app);
    (response, after[before..].to_vec())
}

fn json_post(path: &str, token: Option<&str>, body: &Value) -> TestRequest {
    with_token(TestRequest::post().uri(path).set_json(body), token)
}

async fn every_request_leaves_exactly_one_event(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    let police = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    let auditor = auditor(&app);
    let cases: Vec<(TestRequest, u16, &str, &str)> = vec![
        (
            TestRequest::get().uri("/api/v1/areas"),
            401,
            "auth.failed",
            "denied",
        ),
        (
            json_post("/api/v1/agencies", None, &json!({})),
            401,
            "auth.failed",
            "denied",
        ),
        (
            json_post(
                "/api/v1/agencies",
                Some(&admin),
                &json!({"slug": "ny-myndighet", "name": "Ny", "kind": "partner"}),
            ),
            201,
            "agency.create",
            "allowed",
        ),
        (
            json_post(
                "/api/v1/agencies",
                Some(&police),
                &json!({"slug": "polisens", "name": "P", "kind": "partner"}),
            ),
            403,
            "agency.create",
            "denied",
        ),
        (
            json_post(
                "/api/v1/agencies",
                Some(&admin),
                &json!({"slug": "X", "name": "P", "kind": "partner"}),
            ),
            422,
            "agency.create",
            "denied",
        ),
        (
            json_post(
                "/api/v1/agencies",
                Some(&admin),
                &json!({"slug": "ny-myndighet", "name": "Ny", "kind": "partner"}),
            ),
            409,
            "agency.create",
            "denied",
        ),
        (
            with_token(TestRequest::post().uri("/api/v1/agencies"), Some(&admin))
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{oops"),
            400,
            "agency.create",
            "denied",
        ),
        (
            with_token(TestRequest::post().uri("/api/v1/agencies"), Some(&admin))
                .insert_header(("Content-Type", "text/plain"))
                .set_payload("x"),
            415,
            "agency.create",
            "denied",
        ),
        (
            json_post(
                "/api/v1/agencies",
                Some(&admin),
                &json!({"slug": "x".repeat(300_000)}),
            ),
            413,
            "agency.create",
            "denied",
        ),
        (
            with_token(
                TestRequest::get().uri("/api/v1/no-such-thing"),
                Some(&police),
            ),
            404,
            "request.unmatched",
            "denied",
        ),
        (
            with_token(TestRequest::delete().uri("/api/v1/agencies"), Some(&police)),
            405,
            "request.unmatched",
            "denied",
        ),
        (
            with_token(
                TestRequest::get().uri("/api/v1/audit/events"),
                Some(&auditor),
            ),
            200,
            "audit.search",
            "allowed",
        ),
        (
            with_token(
                TestRequest::get().uri("/api/v1/audit/events"),
                Some(&police),
            ),
            403,
            "audit.search",
            "denied",
        ),
        (
            with_token(
                TestRequest::get().uri("/api/v1/audit/events?limit=5000"),
                Some(&auditor),
            ),
            400,
            "audit.search",
            "denied",
        ),
        (
            with_token(
                TestRequest::get().uri("/api/v1/audit/events?limit=abc"),
                Some(&auditor),
            ),
            400,
            "audit.search",
            "denied",
        ),
    ];
    for (request, status, action, outcome) in cases {
        let (response, new) = with_events(&app, request).await;
        assert_eq!(response.status.as_u16(), status, "{}", response.text());
        assert_eq!(
            new.len(),
            1,
            "exactly one event for {action} → {status}: {new:?}"
        );
        let event = &new[0];
        assert_eq!(
            (
                event.event.action.as_str(),
                event.event.outcome.as_str(),
                event.event.status
            ),
            (action, outcome, i32::from(status))
        );
    }
    // Authenticated reads of reference data are exempt.
    for path in ["/api/v1/areas", "/api/v1/agencies"] {
        let (response, new) = with_events(
            &app,
            with_token(TestRequest::get().uri(path), Some(&police)),
        )
        .await;
        assert_eq!(response.status, 200);
        assert!(new.is_empty(), "GET {path} is not audited");
    }
    assert!(verify(&app).ok());
}

async fn every_documented_route_is_audited(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let document = serde_json::to_value(sig_register::openapi::openapi_document()).expect("json");
    let police = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "0192f0c4-0000-7000-8000-000000000001"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().expect("item").keys() {
            let method = actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes())
                .expect("method");
            for token in [None, Some(police.as_str())] {
                let exempt = token.is_some()
                    && method == actix_web::http::Method::GET
                    && (path == "/api/v1/areas" || path == "/api/v1/agencies");
                let request = with_token(
                    TestRequest::default().method(method.clone()).uri(&concrete),
                    token,
                )
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{}");
                let (response, new) = with_events(&app, request).await;
                assert_eq!(
                    new.len(),
                    usize::from(!exempt),
                    "{method} {path} ({}) → {}: {new:?}",
                    if token.is_some() {
                        "police"
                    } else {
                        "no token"
                    },
                    response.status
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 16,
        "every documented operation was tried ({checked})"
    );
}

async fn events_record_who_what_and_how_without_personal_data(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    let (response, new) = with_events(
        &app,
        json_post(
            "/api/v1/agencies?personal_number=200811122381",
            Some(&admin),
            &json!({"slug": "fritid-x", "name": "Fritid X", "kind": "partner"}),
        ),
    )
    .await;
    assert_eq!(response.status, 201);
    let event = &new[0];
    assert_eq!(event.event.actor.sub.as_deref(), Some("adm-1"));
    assert_eq!(
        event.event.actor.agency.as_deref(),
        Some("socialtjanst-orebro")
    );
    assert_eq!(
        event.event.actor.roles.as_deref(),
        Some(&["admin".to_owned()][..])
    );
    assert_eq!(
        event.event.reason, "admin-registers-agencies",
        "the deciding policy's @id"
    );
    assert_eq!(event.event.method.as_deref(), Some("POST"));
    assert_eq!(
        event.event.path.as_deref(),
        Some("/api/v1/agencies"),
        "no query string"
    );
    assert_eq!(event.event.request_id, response.header("x-request-id"));
    assert!(uuid::Uuid::parse_str(&event.event.id).is_ok());
    let text = serde_json::to_string(event).expect("json");
    assert!(!text.contains("200811122381"));

    let (_, new) = with_events(
        &app,
        TestRequest::get()
            .uri("/api/v1/areas")
            .insert_header(("Authorization", "Bearer abc.def.ghi")),
    )
    .await;
    let failed = &new[0];
    assert_eq!(failed.event.action, "auth.failed");
    assert_eq!(
        failed.event.actor,
        EventActor::default(),
        "null actor fields"
    );
    assert_eq!(failed.event.reason, "unauthenticated");
    assert!(!serde_json::to_string(failed)
        .expect("json")
        .contains("abc.def.ghi"));
}

async fn events_chain_and_verify(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for _ in 0..5 {
        app.get("/api/v1/areas", None).await;
    }
    let all = events(&app);
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(all[0].prev_hash, chain::GENESIS.to_vec());
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for event in &all {
        assert_eq!(
            audit::chain_hash(&event.prev_hash, &audit::canonical(event.seq, &event.event))
                .to_vec(),
            event.hash
        );
    }
    let report = verify(&app);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events_verified, 5);
    let auditor = auditor(&app);
    let body = app.get("/api/v1/audit/verify", Some(&auditor)).await.json();
    assert_eq!(body["ok"], true);
    assert_eq!(body["events_verified"], 6, "its own event included");
    assert!(body["failure"].is_null());
}

async fn concurrent_requests_get_gapless_sequence_numbers(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    let requests = (0..32).map(|n| {
        let token = if n % 2 == 0 {
            Some(admin.clone())
        } else {
            None
        };
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/agencies",
                token.as_deref(),
                &json!({"slug": format!("samtidig-{n}"), "name": "S", "kind": "partner"}),
            )
            .await
            .status
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert_eq!(statuses.iter().filter(|s| s.as_u16() == 201).count(), 16);
    let seqs: Vec<i64> = events(&app).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=32).collect::<Vec<_>>());
    assert!(verify(&app).ok());
}

async fn concurrent_reads_share_commits_and_keep_the_chain_gapless(backend: Backend) {
    use crate::support::fixtures::{
        create_case, owner, police, record_consent, school, POLICE_AGENCY,
    };
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut cases = Vec::new();
    for _ in 0..4 {
        let case = create_case(&app, 19).await;
        record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
        cases.push(case);
    }
    let before = events(&app).len();
    let (owner, police, school) = (owner(&app), police(&app), school(&app));
    let reads = (0..48).map(|n| {
        let case = &cases[n % cases.len()];
        let token = [&police, &school, &owner][n % 3].clone();
        let app = &app;
        async move {
            let response = app.get(&case.path(""), Some(&token)).await;
            (n, case.id.clone(), response.status.as_u16())
        }
    });
    let answers = futures_util::future::join_all(reads).await;
    for (n, _, status) in &answers {
        let expected = if n % 3 == 1 { 403 } else { 200 };
        assert_eq!(*status, expected, "read {n}");
    }
    let all = events(&app);
    let added = &all[before..];
    assert_eq!(added.len(), 48, "one event per read");
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=all.len() as i64).collect::<Vec<_>>());
    for (_, case_id, status) in &answers {
        assert!(
            added
                .iter()
                .any(|e| e.event.case_ids == vec![case_id.clone()]
                    && e.event.status == i32::from(*status)),
            "an event for each read of {case_id}"
        );
    }
    assert_eq!(
        added.iter().filter(|e| e.event.outcome == "denied").count(),
        16
    );
    assert!(verify(&app).ok());
}

/// Makes every insert into the audit log fail, as a full disk or a revoked grant would.
fn block_audit_writes(app: &TestApp) {
    let sql = match app.backend {
        Backend::Sqlite => "CREATE TRIGGER test_block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit store unwritable'); END;",
        Backend::Postgres => "CREATE FUNCTION test_block() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store unwritable'; END $$; \
             CREATE TRIGGER test_block_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_block();",
    };
    conn(app).batch_execute(sql).expect("block audit writes");
}

fn unblock_audit_writes(app: &TestApp) {
    let sql = match app.backend {
        Backend::Sqlite => "DROP TRIGGER test_block_audit;",
        Backend::Postgres => "DROP TRIGGER test_block_audit ON audit_events;",
    };
    conn(app).batch_execute(sql).expect("unblock");
}

async fn an_unwritable_audit_store_discloses_and_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    let auditor = auditor(&app);
    app.get("/api/v1/areas", None).await;
    block_audit_writes(&app);
    let write = app
        .post_json(
            "/api/v1/agencies",
            Some(&admin),
            &json!({"slug": "aldrig", "name": "A", "kind": "partner"}),
        )
        .await;
    write.assert_problem(503, "unavailable");
    let read = app.get("/api/v1/audit/events", Some(&auditor)).await;
    read.assert_problem(503, "unavailable");
    assert!(
        !read.text().contains("auth.failed"),
        "nothing of the log is disclosed"
    );
    app.get("/api/v1/areas", None)
        .await
        .assert_problem(503, "unavailable");
    app.post_json("/api/v1/agencies", Some(&admin), &json!({"slug": "X"}))
        .await
        .assert_problem(503, "unavailable");
    unblock_audit_writes(&app);
    let listed = app.get("/api/v1/agencies", Some(&admin)).await.json();
    assert!(
        !listed
            .as_array()
            .expect("array")
            .iter()
            .any(|a| a["slug"] == "aldrig"),
        "the write was rolled back"
    );
    assert_eq!(events(&app).len(), 1, "no event was half-written");
    assert_eq!(
        app.post_json(
            "/api/v1/agencies",
            Some(&admin),
            &json!({"slug": "nu-da", "name": "A", "kind": "partner"})
        )
        .await
        .status,
        201
    );
    assert!(verify(&app).ok());
}

async fn the_log_is_append_only_in_the_database(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    app.get("/api/v1/areas", None).await;
    let admin = app.admin();
    app.post_json(
        "/api/v1/agencies",
        Some(&admin),
        &json!({"slug": "x1", "name": "A", "kind": "partner"}),
    )
    .await;
    sig_register::jobs::checkpoints::sign_now(app.state()).expect("checkpoint");
    for sql in [
        "UPDATE audit_events SET status = 200 WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 2",
        "UPDATE audit_checkpoints SET seq = 7",
        "DELETE FROM audit_checkpoints",
    ] {
        assert!(
            conn(&app).batch_execute(sql).is_err(),
            "{sql} must be refused"
        );
    }
    if app.backend == Backend::Postgres {
        assert!(conn(&app)
            .batch_execute("TRUNCATE audit_events CASCADE")
            .is_err());
    }
    assert!(verify(&app).ok());
}

/// What an attacker with database access does first.
pub(crate) fn drop_append_only_triggers(app: &TestApp) {
    let sql = match app.backend {
        Backend::Sqlite => "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; \
             DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete; \
             DROP TRIGGER audit_event_cases_no_update; DROP TRIGGER audit_event_cases_no_delete; PRAGMA foreign_keys = OFF;",
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; \
             ALTER TABLE audit_event_cases DISABLE TRIGGER USER; \
             ALTER TABLE audit_event_cases DROP CONSTRAINT audit_event_cases_seq_fkey;",
    };
    conn(app).batch_execute(sql).expect("drop triggers");
}

/// A fresh app with `count` events, a checkpoint over the first `checkpointed`, and a witness of
/// the head.
async fn app_with_history(backend: Backend, count: usize, checkpointed: usize) -> Option<TestApp> {
    let app = TestApp::new(backend)?;
    for n in 0..count {
        if n == checkpointed {
            sig_register::jobs::checkpoints::sign_now(app.state()).expect("checkpoint");
        }
        app.get("/api/v1/areas", None).await;
    }
    // The witness of the head, as the running service keeps it.
    app.state()
        .audit
        .flush_witness(audit::to_micros(app.clock.now()))
        .expect("witness");
    drop_append_only_triggers(&app);
    Some(app)
}

fn failure_seq(app: &TestApp) -> i64 {
    let report = verify(app);
    match report.failure {
        Some((seq, _)) => seq,
        None => panic!("tampering went unnoticed: {report:?}"),
    }
}

async fn a_changed_field_is_detected(backend: Backend) {
    let Some(app) = app_with_history(backend, 8, 6).await else {
        return;
    };
    conn(&app)
        .batch_execute("UPDATE audit_events SET status = 200, outcome = 'allowed' WHERE seq = 3")
        .expect("tamper");
    assert_eq!(failure_seq(&app), 3);
}

async fn a_deleted_event_is_detected(backend: Backend) {
    let Some(app) = app_with_history(backend, 8, 6).await else {
        return;
    };
    conn(&app)
        .batch_execute("DELETE FROM audit_events WHERE seq = 4")
        .expect("tamper");
    assert_eq!(failure_seq(&app), 4);
}

async fn two_swapped_events_are_detected(backend: Backend) {
    let Some(app) = app_with_history(backend, 8, 6).await else {
        return;
    };
    let mut conn = conn(&app);
    conn.batch_execute("UPDATE audit_events SET seq = -5 WHERE seq = 5; UPDATE audit_events SET seq = 5 WHERE seq = 4; UPDATE audit_events SET seq = 4 WHERE seq = -5;")
        .expect("tamper");
    assert_eq!(failure_seq(&app), 4);
}

async fn a_forged_event_is_detected(backend: Backend) {
    // The forger rewrites the chain from seq 3 on with correct hashes, leaving the tree as it
    // was (its leaves need a key the database does not hold).
    let Some(app) = app_with_history(backend, 8, 6).await else {
        return;
    };
    let mut conn = conn(&app);
    let all = events(&app);
    conn.batch_execute("DELETE FROM audit_event_cases; DELETE FROM audit_events WHERE seq >= 3")
        .expect("cut");
    let mut prev = all[1].hash.clone();
    let mut forged: Vec<NewEvent> = vec![{
        let mut e = all[2].event.clone();
        e.id = uuid::Uuid::now_v7().to_string();
        e.actor.sub = Some("someone-else".to_owned());
        e
    }];
    forged.extend(all[2..].iter().map(|e| e.event.clone()));
    for (offset, event) in forged.iter().enumerate() {
        let seq = 3 + offset as i64;
        let hash = audit::chain_hash(&prev, &audit::canonical(seq, event));
        diesel::RunQueryDsl::execute(
            diesel::insert_into(sig_register::db::schema::audit_events::table)
                .values(forged_row(seq, event, &prev, &hash)),
            &mut conn,
        )
        .expect("insert");
        prev = hash.to_vec();
    }
    let report = verify(&app);
    let (seq, reason) = report.failure.expect("the forgery is detected");
    // The chain alone would break only at the signed checkpoint (seq 6); the tree's leaves
    // are salted with a key the database does not hold, so the first forged event is caught.
    assert_eq!(seq, 3, "at the first forged event: {reason}");
    assert!(reason.contains("audit tree's leaf"), "{reason}");
}

fn forged_row(seq: i64, e: &NewEvent, prev: &[u8], hash: &[u8]) -> EventRow {
    EventRow {
        seq,
        id: e.id.clone(),
        at: e.at,
        actor_sub: e.actor.sub.clone(),
        actor_name: e.actor.name.clone(),
        actor_agency: e.actor.agency.clone(),
        actor_roles: e
            .actor
            .roles
            .as_ref()
            .map(|r| serde_json::to_string(r).expect("json")),
        action: e.action.clone(),
        outcome: e.outcome.clone(),
        status: e.status,
        case_ids: serde_json::to_string(&e.case_ids).expect("json"),
        categories: serde_json::to_string(&e.categories).expect("json"),
        consent_id: e.consent_id.clone(),
        reason: e.reason.clone(),
        request_id: e.request_id.clone(),
        method: e.method.clone(),
        path: e.path.clone(),
        prev_hash: prev.to_vec(),
        hash: hash.to_vec(),
    }
}

async fn a_tail_cut_after_the_last_checkpoint_is_detected(backend: Backend) {
    let Some(app) = app_with_history(backend, 9, 5).await else {
        return;
    };
    // Checkpoint over seq 5; events 6–9 follow; the witness recorded head 9.
    conn(&app)
        .batch_execute("DELETE FROM audit_events WHERE seq > 6")
        .expect("cut");
    let report = verify(&app);
    let (seq, reason) = report.failure.expect("the cut is detected");
    assert_eq!(seq, 9);
    assert!(reason.contains("cut"), "{reason}");
    // Cutting the checkpoint too does not help.
    conn(&app)
        .batch_execute("DELETE FROM audit_checkpoints; DELETE FROM audit_events WHERE seq > 3")
        .expect("cut");
    assert!(!verify(&app).ok());
}

async fn a_checkpoint_with_a_bad_signature_is_detected(backend: Backend) {
    let Some(app) = app_with_history(backend, 8, 6).await else {
        return;
    };
    let sql = match app.backend {
        Backend::Sqlite => "UPDATE audit_checkpoints SET signature = zeroblob(64)",
        Backend::Postgres => {
            "UPDATE audit_checkpoints SET signature = decode(repeat('00', 64), 'hex')"
        }
    };
    conn(&app).batch_execute(sql).expect("tamper");
    let (seq, reason) = verify(&app).failure.expect("detected");
    assert_eq!(seq, 6);
    assert!(reason.contains("signature"), "{reason}");
}

/// The access-log extract reads the case index, not the events: deleting, adding, changing or
/// moving an index row (after dropping the triggers and the foreign key, as an attacker would)
/// must break verification at that event, as a changed event would.
async fn a_tampered_case_index_is_detected(backend: Backend) {
    let tampering = [
        ("DELETE FROM audit_event_cases WHERE seq = 4", 4),
        (
            "INSERT INTO audit_event_cases (case_id, seq) VALUES ('c-x', 3)",
            3,
        ),
        (
            "UPDATE audit_event_cases SET case_id = 'c-x' WHERE seq = 2",
            2,
        ),
        ("UPDATE audit_event_cases SET seq = 5 WHERE seq = 4", 4),
        (
            "INSERT INTO audit_event_cases (case_id, seq) VALUES ('c-a', 1)",
            1,
        ),
    ];
    for (sql, bad_seq) in tampering {
        let Some(app) = TestApp::new(backend) else {
            return;
        };
        let case_ids: [&[&str]; 8] = [
            &[],
            &["c-a"],
            // Unsorted and repeated: the index holds each case once.
            &["c-b", "c-a", "c-b"],
            &["c-a"],
            &["c-c"],
            &[],
            &["c-c", "c-a"],
            &["c-c"],
        ];
        let mut conn = conn(&app);
        db::write_tx(&mut conn, |conn| {
            for ids in case_ids {
                let mut event = refused_request(&app);
                event.case_ids = ids.iter().map(|id| (*id).to_owned()).collect();
                chain::append(conn, &event, &app.state().keys.audit)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .expect("append");
        let intact = verify(&app);
        assert!(intact.ok(), "{intact:?}");
        assert_eq!(intact.events_verified, 8);
        drop_append_only_triggers(&app);
        conn.batch_execute(sql).expect("tamper");
        let report = verify(&app);
        let (seq, reason) = report
            .failure
            .unwrap_or_else(|| panic!("{sql}: went unnoticed"));
        assert_eq!(seq, bad_seq, "{sql}: {reason}");
        assert!(reason.contains("case index"), "{sql}: {reason}");
        assert_eq!(report.events_verified, bad_seq - 1, "{sql}");
    }
}

/// The event of a request refused for want of a token, with a fresh id.
fn refused_request(app: &TestApp) -> NewEvent {
    NewEvent {
        id: uuid::Uuid::now_v7().to_string(),
        at: audit::to_micros(app.clock.now()),
        actor: EventActor::default(),
        action: "auth.failed".to_owned(),
        outcome: "denied".to_owned(),
        status: 401,
        case_ids: vec![],
        categories: vec![],
        consent_id: None,
        reason: "unauthenticated".to_owned(),
        request_id: None,
        method: Some("GET".to_owned()),
        path: Some("/api/v1/areas".to_owned()),
    }
}

async fn a_checkpoint_is_signed_every_thousand_events(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut conn = conn(&app);
    db::write_tx(&mut conn, |conn| {
        for _ in 0..1001 {
            chain::append(conn, &refused_request(&app), &app.state().keys.audit)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("append");
    let checkpoints = chain::checkpoints(&mut conn).expect("checkpoints");
    assert_eq!(
        checkpoints.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [1000]
    );
    let report = verify(&app);
    assert!(report.ok());
    assert_eq!(
        (report.events_verified, report.checkpoints_verified),
        (1001, 1)
    );
}

async fn search_filters_and_pages_with_a_cursor(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    let police = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    for n in 0..3 {
        app.post_json(
            "/api/v1/agencies",
            Some(&admin),
            &json!({"slug": format!("sok-{n}"), "name": "S", "kind": "partner"}),
        )
        .await;
        app.post_json(
            "/api/v1/agencies",
            Some(&police),
            &json!({"slug": format!("nej-{n}"), "name": "S", "kind": "partner"}),
        )
        .await;
    }
    let auditor = auditor(&app);
    let page = |query: &str| {
        let uri = format!("/api/v1/audit/events{query}");
        let token = auditor.clone();
        let app = &app;
        async move {
            let response = app.get(&uri, Some(&token)).await;
            assert_eq!(response.status, 200, "{uri}: {}", response.text());
            response.json()
        }
    };
    let body = page("?actor=po-1").await;
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .all(|e| e["actor"]["sub"] == "po-1" && e["outcome"] == "denied"));
    assert_eq!(
        page("?agency=polisen-orebro&outcome=denied").await["items"]
            .as_array()
            .expect("items")
            .len(),
        3
    );
    assert_eq!(
        page("?action=agency.create&outcome=allowed").await["items"]
            .as_array()
            .expect("items")
            .len(),
        3
    );
    let future = "2999-01-01T00:00:00Z";
    assert_eq!(
        page(&format!("?from={future}")).await["items"]
            .as_array()
            .expect("items")
            .len(),
        0
    );
    // Paging: oldest first, two at a time, through every event.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..20 {
        let body = page(&format!("?limit=2&cursor={cursor}")).await;
        seen.extend(
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|e| e["seq"].as_i64().expect("seq")),
        );
        match body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "oldest first");
    assert_eq!(
        seen,
        (1..=seen.len() as i64).collect::<Vec<_>>(),
        "every event once"
    );
    assert!(
        seen.len() >= 10,
        "the auditor's own searches are audited too"
    );
    for bad in [
        "?limit=0",
        "?limit=1001",
        "?cursor=abc",
        "?from=yesterday",
        "?outcome=maybe",
    ] {
        app.get(&format!("/api/v1/audit/events{bad}"), Some(&auditor))
            .await
            .assert_problem(400, "bad_request");
    }
}

async fn only_auditors_read_the_log(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for role in [
        Role::Admin,
        Role::SocialSecretary,
        Role::PoliceOfficer,
        Role::Partner,
    ] {
        let token = app.token("not-auditor", "socialtjanst-orebro", &[role]);
        for path in [
            "/api/v1/audit/events",
            "/api/v1/audit/events/export",
            "/api/v1/audit/verify",
            "/api/v1/audit/checkpoints",
            "/api/v1/audit/anomalies",
        ] {
            let response = app.get(path, Some(&token)).await;
            response.assert_problem(403, "forbidden");
            assert!(
                !response.text().contains("\"seq\""),
                "{path} disclosed events to {role:?}"
            );
        }
    }
}

async fn export_streams_ndjson_and_csv(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for _ in 0..3 {
        app.get("/api/v1/areas", None).await;
    }
    let auditor = auditor(&app);
    let ndjson = app.get("/api/v1/audit/events/export", Some(&auditor)).await;
    assert_eq!(ndjson.status, 200);
    assert!(ndjson
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/x-ndjson"));
    let lines: Vec<Value> = ndjson
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 3, "the log as it stood when the export began");
    assert_eq!(lines[0]["seq"], 1);
    let csv = app
        .get(
            "/api/v1/audit/events/export?format=csv&action=auth.failed",
            Some(&auditor),
        )
        .await;
    assert!(csv
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/csv"));
    let text = csv.text();
    let mut rows = text.lines();
    let header = rows.next().expect("header");
    assert!(
        header.starts_with("seq,id,at,actor,action,outcome,status,case_ids"),
        "{header}"
    );
    assert_eq!(rows.count(), 3);
    app.get("/api/v1/audit/events/export?format=xml", Some(&auditor))
        .await
        .assert_problem(400, "bad_request");
}

async fn checkpoints_are_signed_with_the_published_key(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    app.get("/api/v1/areas", None).await;
    sig_register::jobs::checkpoints::sign_now(app.state()).expect("checkpoint");
    let body = app
        .get("/api/v1/audit/checkpoints", Some(&auditor(&app)))
        .await
        .json();
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let public_key = engine
        .decode(body["public_key"].as_str().expect("key"))
        .expect("base64url");
    let item = &body["items"][0];
    let message = format!(
        "{}\n{}\n{}",
        item["seq"],
        item["hash"].as_str().expect("hash"),
        item["at"].as_str().expect("at")
    );
    let signature = engine
        .decode(item["signature"].as_str().expect("signature"))
        .expect("base64url");
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public_key)
        .verify(message.as_bytes(), &signature)
        .expect("the checkpoint verifies with the published key");
    assert_eq!(item["seq"], 1);
}

async fn anomalies_count_denials_off_hours_and_volume(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| c.anomaly_distinct_cases = 2) else {
        return;
    };
    // Saturday 21 November 2026, 23:30 in Stockholm.
    let saturday_night = chrono::DateTime::parse_from_rfc3339("2026-11-21T22:30:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    app.clock.set(saturday_night);
    let police = app.token("po-7", "polisen-orebro", &[Role::PoliceOfficer]);
    for n in 0..3 {
        app.post_json(
            "/api/v1/agencies",
            Some(&police),
            &json!({"slug": format!("n-{n}"), "name": "S", "kind": "partner"}),
        )
        .await;
    }
    // Three distinct cases in one day, written as the case endpoints write them.
    let mut conn = conn(&app);
    db::write_tx(&mut conn, |conn| {
        for case in ["c-1", "c-2", "c-3"] {
            let event = NewEvent {
                id: uuid::Uuid::now_v7().to_string(),
                at: audit::to_micros(saturday_night),
                actor: EventActor {
                    sub: Some("po-7".into()),
                    name: Some("P".into()),
                    agency: Some("polisen-orebro".into()),
                    roles: Some(vec!["police_officer".into()]),
                },
                action: "case.read".into(),
                outcome: "allowed".into(),
                status: 200,
                case_ids: vec![case.into()],
                categories: vec![],
                consent_id: None,
                reason: "test".into(),
                request_id: None,
                method: Some("GET".into()),
                path: Some(format!("/api/v1/cases/{case}")),
            };
            chain::append(conn, &event, &app.state().keys.audit)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("append");
    let body = app
        .get(
            "/api/v1/audit/anomalies?from=2026-11-20T00:00:00Z&to=2026-11-23T00:00:00Z",
            Some(&auditor(&app)),
        )
        .await
        .json();
    assert_eq!(
        body["denied_by_actor"],
        json!([{"sub": "po-7", "agency": "polisen-orebro", "count": 3}])
    );
    assert_eq!(
        body["off_hours"],
        json!([{"sub": "po-7", "agency": "polisen-orebro", "count": 6}])
    );
    assert_eq!(body["high_volume"][0]["sub"], "po-7");
    assert_eq!(body["high_volume"][0]["distinct_cases"], 3);
    let empty = app
        .get(
            "/api/v1/audit/anomalies?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
            Some(&auditor(&app)),
        )
        .await
        .json();
    assert_eq!(empty["denied_by_actor"], json!([]));
}

/// A batch of events goes in as given, on both backends (PostgreSQL sends each column as one
/// array): every field, NULLs and all, read back; one case index row per distinct case of each
/// event; the chain linked and verified.
async fn a_batch_of_events_is_stored_as_given(backend: Backend) {
    use diesel::prelude::*;
    use sig_register::db::schema::audit_event_cases;
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let at = |second: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_micro_opt(9, 15, second, 123_456))
            .expect("time")
    };
    let full = NewEvent {
        id: uuid::Uuid::now_v7().to_string(),
        at: at(1),
        actor: EventActor {
            sub: Some("po-1".to_owned()),
            name: Some("Per \"P\" Polis".to_owned()),
            agency: Some("polisen-orebro".to_owned()),
            roles: Some(vec!["police_officer".to_owned(), "auditor".to_owned()]),
        },
        action: "case.list".to_owned(),
        outcome: "allowed".to_owned(),
        status: 200,
        case_ids: vec![
            "case-b".to_owned(),
            "case-a".to_owned(),
            "case-b".to_owned(),
        ],
        categories: vec!["identity".to_owned(), "plan".to_owned()],
        consent_id: Some("consent-1".to_owned()),
        reason: "consented-agency-reads-covered-categories".to_owned(),
        request_id: Some("req-1".to_owned()),
        method: Some("GET".to_owned()),
        path: Some("/api/v1/cases?area=vivalla".to_owned()),
    };
    let bare = NewEvent {
        id: uuid::Uuid::now_v7().to_string(),
        at: at(2),
        actor: EventActor::default(),
        action: "auth".to_owned(),
        outcome: "denied".to_owned(),
        status: 401,
        case_ids: vec![],
        categories: vec![],
        consent_id: None,
        reason: "unauthenticated\nåäö ✓".to_owned(),
        request_id: None,
        method: None,
        path: None,
    };
    let one_case = NewEvent {
        id: uuid::Uuid::now_v7().to_string(),
        at: at(3),
        case_ids: vec!["case-c".to_owned()],
        ..full.clone()
    };
    let batch = vec![full, bare, one_case];
    let mut conn = conn(&app);
    let before = events(&app).len();
    let heads = db::write_tx(&mut conn, |c| {
        chain::append_all(c, &batch, &app.state().keys.audit)
    })
    .expect("the batch");
    let stored = events(&app);
    assert_eq!(stored.len(), before + batch.len());
    let stored = &stored[before..];
    for ((given, event), (seq, hash)) in batch.iter().zip(stored).zip(&heads) {
        assert_eq!(event.seq, *seq);
        assert_eq!(event.hash, hash.to_vec());
        assert_eq!(event.event.id, given.id);
        assert_eq!(event.event.at, given.at);
        assert_eq!(event.event.actor, given.actor);
        assert_eq!(
            (
                &event.event.action,
                &event.event.outcome,
                event.event.status
            ),
            (&given.action, &given.outcome, given.status)
        );
        assert_eq!(event.event.case_ids, given.case_ids);
        assert_eq!(event.event.categories, given.categories);
        assert_eq!(event.event.consent_id, given.consent_id);
        assert_eq!(event.event.reason, given.reason);
        assert_eq!(
            (
                &event.event.request_id,
                &event.event.method,
                &event.event.path
            ),
            (&given.request_id, &given.method, &given.path)
        );
    }
    assert_eq!(stored[1].prev_hash, stored[0].hash);
    assert_eq!(stored[2].prev_hash, stored[1].hash);
    let first = stored[0].seq;
    let index: Vec<(String, i64)> = audit_event_cases::table
        .filter(audit_event_cases::seq.ge(first))
        .order((audit_event_cases::seq, audit_event_cases::case_id))
        .load(&mut conn)
        .expect("the case index");
    let expected = [("case-a", first), ("case-b", first), ("case-c", first + 2)];
    assert_eq!(
        index,
        expected.map(|(case, seq)| (case.to_owned(), seq)).to_vec()
    );
    assert!(verify(&app).ok());
}

/// PostgreSQL: a batch appended after a remembered head (the audit writer's way) goes in only
/// while that head is still the chain's and no one holds the chain lock, and not when a
/// checkpoint falls due in it; otherwise nothing is written, at once, and the caller appends
/// under the lock. The chain stays one gapless, verified line throughout.
#[actix_web::test]
async fn postgres_appends_after_a_remembered_head_only_while_it_is_still_the_head() {
    use diesel::prelude::*;
    use sig_register::db::schema::audit_events;
    let Some(app) = TestApp::new(Backend::Postgres) else {
        return;
    };
    let signer = &app.state().keys.audit;
    let event = || NewEvent {
        case_ids: vec!["case-a".to_owned()],
        ..refused_request(&app)
    };
    let DbConn::Postgresql(mut pg) = conn(&app) else {
        panic!("a PostgreSQL connection");
    };
    // Were the lock not respected, the insert below would wait on the other transaction, which
    // waits on this test: fail instead of hanging.
    pg.batch_execute("SET statement_timeout = '5s'")
        .expect("timeout");
    let mut other = conn(&app);
    let stored = |pg: &mut diesel::PgConnection| -> i64 {
        audit_events::table.count().get_result(pg).expect("count")
    };
    let locked = |conn: &mut DbConn, events: Vec<NewEvent>| {
        db::write_tx(conn, |c| chain::append_all(c, &events, signer)).expect("locked append")
    };

    let first = *locked(&mut other, vec![event()]).last().expect("head");
    let after = chain::append_after(&mut pg, first, &[event(), event()], signer)
        .expect("append after")
        .expect("the remembered head is the chain's");
    assert_eq!(
        after.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [first.0 + 1, first.0 + 2]
    );
    let head = *after.last().expect("head");
    assert_eq!(stored(&mut pg), head.0);

    // Inside a transaction its statement would not be its own commit: nothing written.
    let inside = pg.transaction(|pg| {
        assert!(chain::append_after(pg, head, &[event()], signer)?.is_none());
        Err::<(), _>(diesel::result::Error::RollbackTransaction)
    });
    assert!(matches!(
        inside,
        Err(diesel::result::Error::RollbackTransaction)
    ));
    assert_eq!(stored(&mut pg), head.0);

    // A head that is no longer the chain's: nothing written.
    let stale = chain::append_after(&mut pg, first, &[event()], signer).expect("runs");
    assert!(stale.is_none());
    assert_eq!(stored(&mut pg), head.0);

    // Another transaction holds the lock (and has appended, uncommitted): nothing written, and
    // no waiting for it.
    let moved = db::write_tx(&mut other, |c| {
        let heads = chain::append_all(c, &[event()], signer)?;
        let busy = chain::append_after(&mut pg, head, &[event()], signer)?;
        assert!(busy.is_none(), "appended while another held the chain lock");
        Ok::<_, diesel::result::Error>(heads)
    })
    .expect("the other append");
    let moved = *moved.last().expect("head");
    assert_eq!(moved.0, head.0 + 1);
    assert_eq!(stored(&mut pg), moved.0);
    // Once it has committed, the remembered head is stale.
    assert!(chain::append_after(&mut pg, head, &[event()], signer)
        .expect("runs")
        .is_none());
    let again = chain::append_after(&mut pg, moved, &[event()], signer)
        .expect("runs")
        .expect("the new head is the chain's");
    let mut head = *again.last().expect("head");

    // A checkpoint due within the batch is signed under the lock, never here.
    let short = chain::CHECKPOINT_EVERY - 2 - head.0;
    head = *locked(&mut other, (0..short).map(|_| event()).collect())
        .last()
        .expect("head");
    assert_eq!(head.0, chain::CHECKPOINT_EVERY - 2);
    assert!(
        chain::append_after(&mut pg, head, &[event(), event()], signer)
            .expect("runs")
            .is_none()
    );
    assert_eq!(stored(&mut pg), head.0);
    let last = chain::append_after(&mut pg, head, &[event()], signer)
        .expect("runs")
        .expect("no checkpoint due");
    assert_eq!(last[0].0, chain::CHECKPOINT_EVERY - 1);
    locked(&mut other, vec![event()]);

    let report = verify(&app);
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.events_verified, report.checkpoints_verified),
        (chain::CHECKPOINT_EVERY, 1)
    );
    let seqs: Vec<i64> = audit_events::table
        .select(audit_events::seq)
        .order(audit_events::seq)
        .load(&mut pg)
        .expect("seqs");
    assert_eq!(seqs, (1..=chain::CHECKPOINT_EVERY).collect::<Vec<_>>());
}

on_both_backends!(
    every_request_leaves_exactly_one_event,
    a_batch_of_events_is_stored_as_given,
    every_documented_route_is_audited,
    events_record_who_what_and_how_without_personal_data,
    events_chain_and_verify,
    concurrent_requests_get_gapless_sequence_numbers,
    concurrent_reads_share_commits_and_keep_the_chain_gapless,
    an_unwritable_audit_store_discloses_and_changes_nothing,
    the_log_is_append_only_in_the_database,
    a_changed_field_is_detected,
    a_deleted_event_is_detected,
    two_swapped_events_are_detected,
    a_forged_event_is_detected,
    a_tail_cut_after_the_last_checkpoint_is_detected,
    a_checkpoint_with_a_bad_signature_is_detected,
    a_tampered_case_index_is_detected,
    a_checkpoint_is_signed_every_thousand_events,
    search_filters_and_pages_with_a_cursor,
    only_auditors_read_the_log,
    export_streams_ndjson_and_csv,
    checkpoints_are_signed_with_the_published_key,
    anomalies_count_denials_off_hours_and_volume,
);
