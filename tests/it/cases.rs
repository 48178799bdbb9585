//! API.md §5 and §9: cases, their validation, ETags, status rules and notes; encryption at rest.

use actix_web::test::TestRequest;
use diesel::connection::SimpleConnection;
use serde_json::json;

use sig_register::auth::Role;

use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{with_token, Backend, TestApp};

async fn owner_creates_and_reads_a_case(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let body = case_body(&app, 16);
    let response = app
        .post_json("/api/v1/cases", Some(&owner(&app)), &body)
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let view = response.json();
    let id = view["id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(
        response.header("location").as_deref(),
        Some(format!("/api/v1/cases/{id}").as_str())
    );
    assert_eq!(
        response.header("etag"),
        Some(format!("\"{}\"", view["version"]))
    );
    assert_eq!(view["status"], "open");
    assert_eq!(view["owner_agency"], OWNER_AGENCY);
    assert_eq!(view["consent"]["state"], "none");
    assert_eq!(
        view["visible_categories"].as_array().expect("list").len(),
        6
    );
    assert_eq!(view["youth"]["given_name"], body["youth"]["given_name"]);
    assert_eq!(
        view["youth"]["personal_number"],
        body["youth"]["personal_number"]
    );
    assert_eq!(view["youth"]["address"], body["youth"]["address"]);
    assert_eq!(
        view["guardians"][0]["given_name"],
        body["guardians"][0]["given_name"]
    );
    assert!(view["guardians"][0]["id"].is_string());
    assert_eq!(view["referral"]["source_agency"], POLICE_AGENCY);
    assert!(view.get("warnings").is_none());
    let read = app
        .get(&format!("/api/v1/cases/{id}"), Some(&owner(&app)))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["youth"], view["youth"]);
    assert_eq!(read.header("etag"), response.header("etag"));
}

async fn personal_number_forms_normalise_and_are_found_by_the_blind_index(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for (label, coordination) in [
        ("YYMMDD-NNNC", false),
        ("YYMMDDNNNC", false),
        ("YYYYMMDD-NNNC", false),
        ("coordination", true),
    ] {
        let number = personal_number(today(&app), 17, coordination);
        let written = match label {
            "YYMMDD-NNNC" => format!("{}-{}", &number[2..8], &number[8..]),
            "YYMMDDNNNC" => number[2..].to_owned(),
            "YYYYMMDD-NNNC" => format!("{}-{}", &number[..8], &number[8..]),
            _ => number.clone(),
        };
        let mut body = case_body(&app, 17);
        body["youth"]["personal_number"] = json!(written);
        let case = create_case_with(&app, body).await;
        assert_eq!(case.view["youth"]["personal_number"], number, "{label}");
        let found = app
            .get(
                &format!("/api/v1/cases?personal_number={written}"),
                Some(&owner(&app)),
            )
            .await
            .json();
        let ids: Vec<&str> = found["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids, [case.id.as_str()], "{label}");
    }
}

async fn every_broken_rule_is_a_422_naming_its_field(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = owner(&app);
    let post = |body: serde_json::Value| {
        let app = &app;
        let token = token.clone();
        async move { app.post_json("/api/v1/cases", Some(&token), &body).await }
    };
    let mut body = case_body(&app, 16);
    let number = body["youth"]["personal_number"]
        .as_str()
        .expect("pn")
        .to_owned();
    let last = number
        .chars()
        .last()
        .and_then(|c| c.to_digit(10))
        .expect("digit");
    body["youth"]["personal_number"] = json!(format!("{}{}", &number[..11], (last + 1) % 10));
    body["area"] = json!("atlantis");
    let response = post(body).await;
    response.assert_problem(422, "validation_failed");
    let mut got = fields(&response);
    got.sort();
    assert_eq!(
        got,
        ["area", "youth.personal_number"],
        "one entry per broken field"
    );
    for age in [8, 11, 26, 40] {
        let response = post(case_body(&app, age)).await;
        response.assert_problem(422, "validation_failed");
        assert_eq!(fields(&response), ["youth.personal_number"], "age {age}");
    }
    let young = post(case_body(&app, 13)).await;
    assert_eq!(young.status, 201, "12–14 is allowed, with a warning");
    assert!(young.json()["warnings"]
        .as_array()
        .is_some_and(|w| !w.is_empty()));
    let mut body = case_body(&app, 16);
    body["guardians"] = json!([]);
    assert_eq!(fields(&post(body).await), ["guardians"]);
    let mut body = case_body(&app, 16);
    body["guardians"][0]["has_custody"] = json!(false);
    assert_eq!(fields(&post(body).await), ["guardians"]);
    let mut body = case_body(&app, 16);
    body["referral"]["source_agency"] = json!("okand-myndighet");
    assert_eq!(fields(&post(body).await), ["referral.source_agency"]);
    let mut body = case_body(&app, 19);
    body["youth"]["given_name"] = json!("  ");
    assert_eq!(fields(&post(body).await), ["youth.given_name"]);
    let cases = app.get("/api/v1/cases", Some(&token)).await.json();
    assert_eq!(
        cases["items"].as_array().expect("items").len(),
        1,
        "refused requests change nothing"
    );
}

async fn only_social_services_secretaries_open_cases(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let body = case_body(&app, 16);
    for token in [
        police(&app),
        school(&app),
        auditor(&app),
        app.admin(),
        app.token("sk-secretary", SCHOOL_AGENCY, &[Role::SocialSecretary]),
    ] {
        app.post_json("/api/v1/cases", Some(&token), &body)
            .await
            .assert_problem(403, "forbidden");
    }
    assert_eq!(
        app.get("/api/v1/cases", Some(&owner(&app))).await.json()["items"],
        json!([])
    );
}

async fn unknown_and_unparsable_ids(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = owner(&app);
    app.get(
        &format!("/api/v1/cases/{}", uuid::Uuid::now_v7()),
        Some(&token),
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/cases/not-a-uuid", Some(&token))
        .await
        .assert_problem(400, "bad_request");
    let case = create_case(&app, 19).await;
    let request = with_token(
        TestRequest::post().uri(&case.path("/consents/nope/revoke")),
        Some(&token),
    )
    .set_json(json!({"party": "youth"}));
    app.call(request).await.assert_problem(400, "bad_request");
    for query in [
        "?limit=0",
        "?limit=201",
        "?cursor=x",
        "?personal_number=123",
        "?status=maybe",
    ] {
        app.get(&format!("/api/v1/cases{query}"), Some(&token))
            .await
            .assert_problem(400, "bad_request");
    }
}

async fn patch_needs_the_current_etag(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = owner(&app);
    let case = create_case(&app, 16).await;
    let patch = |etag: Option<&str>, body: serde_json::Value| {
        let mut request =
            with_token(TestRequest::patch().uri(&case.path("")), Some(&token)).set_json(body);
        if let Some(etag) = etag {
            request = request.insert_header(("If-Match", etag.to_owned()));
        }
        app.call(request)
    };
    patch(None, json!({"area": "varberga"}))
        .await
        .assert_problem(428, "precondition_required");
    let response = patch(Some(&case.etag), json!({"area": "varberga"})).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["area"], "varberga");
    let new_etag = response.header("etag").expect("etag");
    assert_ne!(new_etag, case.etag);
    patch(Some(&case.etag), json!({"area": "oxhagen"}))
        .await
        .assert_problem(412, "precondition_failed");
    patch(Some(&new_etag), json!({"area": "atlantis"}))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(
        app.get(&case.path(""), Some(&token)).await.json()["area"],
        "varberga"
    );
    let police_patch = with_token(
        TestRequest::patch().uri(&case.path("")),
        Some(&police(&app)),
    )
    .insert_header(("If-Match", new_etag.clone()))
    .set_json(json!({"area": "oxhagen"}));
    app.call(police_patch)
        .await
        .assert_problem(403, "forbidden");
}

async fn status_rules_activation_closing_and_finality(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = owner(&app);
    let case = create_case(&app, 19).await;
    let patch = |etag: String, body: serde_json::Value| {
        let request = with_token(TestRequest::patch().uri(&case.path("")), Some(&token))
            .insert_header(("If-Match", etag))
            .set_json(body);
        app.call(request)
    };
    patch(case.etag.clone(), json!({"status": "active"}))
        .await
        .assert_problem(409, "conflict");
    let response = patch(case.etag.clone(), json!({"status": "closed"})).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(fields(&response), ["closure_reason"]);
    record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    let active = patch(case.etag.clone(), json!({"status": "active"})).await;
    assert_eq!(active.status, 200, "{}", active.text());
    let closed = patch(
        active.header("etag").expect("etag"),
        json!({"status": "closed", "closure_reason": "Målen uppnådda"}),
    )
    .await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.json()["status"], "closed");
    let ids = |query: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            app.get(&format!("/api/v1/cases{query}"), Some(&token))
                .await
                .json()["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("?status=closed").await, std::slice::from_ref(&case.id));
    assert!(ids("?status=open").await.is_empty());
    patch(
        closed.header("etag").expect("etag"),
        json!({"status": "active"}),
    )
    .await
    .assert_problem(409, "conflict");
}

async fn notes_follow_the_authors_agency_kind(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    let note = app
        .post_json(
            &case.path("/notes"),
            Some(&owner(&app)),
            &json!({"text": "Första mötet gick bra."}),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.text());
    let note = note.json();
    assert_eq!(
        (note["category"].as_str(), note["agency"].as_str()),
        (Some("social_notes"), Some(OWNER_AGENCY))
    );
    assert_eq!(note["author_name"], "Test ss-anna");
    app.post_json(
        &case.path("/notes"),
        Some(&owner(&app)),
        &json!({"text": "a".repeat(20_000)}),
    )
    .await;
    let long = app
        .post_json(
            &case.path("/notes"),
            Some(&owner(&app)),
            &json!({"text": "a".repeat(20_001)}),
        )
        .await;
    long.assert_problem(422, "validation_failed");
    assert_eq!(fields(&long), ["text"]);
    app.post_json(
        &case.path("/notes"),
        Some(&police(&app)),
        &json!({"text": "x"}),
    )
    .await
    .assert_problem(403, "consent_required");
    app.post_json(
        &case.path("/notes"),
        Some(&auditor(&app)),
        &json!({"text": "x"}),
    )
    .await
    .assert_problem(403, "forbidden");
    record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    let police_note = app
        .post_json(
            &case.path("/notes"),
            Some(&police(&app)),
            &json!({"text": "Polisens iakttagelse."}),
        )
        .await;
    assert_eq!(police_note.json()["category"], "police_notes");
    let listed = app
        .get(&case.path("/notes"), Some(&owner(&app)))
        .await
        .json();
    let categories: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["category"].as_str().expect("c"))
        .collect();
    assert_eq!(
        categories,
        ["police_notes", "social_notes", "social_notes"],
        "newest first, the owner sees all"
    );
    let police_view = app
        .get(&case.path("/notes"), Some(&police(&app)))
        .await
        .json();
    let categories: Vec<&str> = police_view["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["category"].as_str().expect("c"))
        .collect();
    assert_eq!(
        categories,
        ["police_notes"],
        "only their own agency's notes: social_notes is not consented"
    );
}

async fn nothing_personal_is_stored_in_plain_text(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut body = case_body(&app, 16);
    body["youth"]["given_name"] = json!("Zyxwvutsrq");
    body["youth"]["family_name"] = json!("Qponmlkjih");
    body["youth"]["address"] = json!("Hemligvägen 77, Örebro");
    body["youth"]["phone"] = json!("070-999 88 77");
    body["guardians"][0]["given_name"] = json!("Vardnadshavarnamn");
    body["referral"]["reason"] = json!("Känslig anledning xyzzy");
    let case = create_case_with(&app, body.clone()).await;
    app.post_json(
        &case.path("/notes"),
        Some(&owner(&app)),
        &json!({"text": "Anteckningstext plugh"}),
    )
    .await;
    let number = body["youth"]["personal_number"]
        .as_str()
        .expect("pn")
        .to_owned();
    let secrets = [
        "Zyxwvutsrq".to_owned(),
        "Qponmlkjih".to_owned(),
        "Hemligvägen".to_owned(),
        "999 88 77".to_owned(),
        "Vardnadshavarnamn".to_owned(),
        "xyzzy".to_owned(),
        "plugh".to_owned(),
        number.clone(),
        number[2..].to_owned(),
        body["guardians"][0]["personal_number"]
            .as_str()
            .expect("pn")
            .to_owned(),
    ];
    match backend {
        Backend::Sqlite => {
            let db = app.dir.path().join("sig-register.db");
            let mut bytes = std::fs::read(&db).expect("db");
            bytes.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
            for secret in &secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{secret} is in the SQLite file"
                );
            }
        }
        Backend::Postgres => {
            use diesel::prelude::*;
            #[derive(diesel::QueryableByName)]
            struct Dump {
                #[diesel(sql_type = diesel::sql_types::Text)]
                row: String,
            }
            let mut conn = crate::audit::conn(&app);
            let mut dump = String::new();
            for table in ["cases", "guardians", "consents", "notes", "audit_events"] {
                let rows: Vec<Dump> =
                    diesel::sql_query(format!("SELECT row_to_json(t)::text AS row FROM {table} t"))
                        .load(&mut conn)
                        .expect("dump");
                dump.extend(rows.into_iter().map(|r| r.row));
            }
            // bytea is dumped as hex: look for the hex of each secret too.
            for secret in &secrets {
                let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
                assert!(
                    !dump.contains(secret.as_str()) && !dump.contains(&hex),
                    "{secret} is in the database"
                );
            }
            conn.batch_execute("SELECT 1").expect("alive");
        }
    }
    // The events of all this hold ids only.
    let events = serde_json::to_string(&crate::audit::events(&app)).expect("json");
    for secret in &secrets {
        assert!(
            !events.contains(secret.as_str()),
            "{secret} is in the audit log"
        );
    }
}

async fn the_field_key_rotates_without_losing_old_cases(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let before = create_case(&app, 19).await;
    // `sig-register keys rotate field`: the current key moves to the previous keys.
    let data = app.config.data_dir.clone();
    let old_key = std::fs::read(data.join("field-encryption.key")).expect("key");
    let kept = sig_register::crypto::keys::rotate_field_key(&data, "2026-11").expect("rotate");
    assert_eq!(kept, data.join("field-encryption.previous/2026-11.key"));
    assert_eq!(std::fs::read(&kept).expect("kept"), old_key);
    assert_ne!(
        std::fs::read(data.join("field-encryption.key")).expect("new"),
        old_key
    );
    assert!(
        sig_register::crypto::keys::rotate_field_key(&data, "2026-11").is_err(),
        "a kept key is never written over"
    );
    let restarted = sig_register::state::AppState::build(app.config.clone(), app.clock.clone())
        .expect("restart");
    let app = TestApp {
        data: actix_web::web::Data::new(restarted),
        ..app
    };
    assert!(
        data.join("field-encryption.key").is_file(),
        "a new current key"
    );
    let read = app.get(&before.path(""), Some(&owner(&app))).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(
        read.json()["youth"],
        before.view["youth"],
        "old rows open with the previous key"
    );
    let number = before.body["youth"]["personal_number"]
        .as_str()
        .expect("pn");
    let found = app
        .get(
            &format!("/api/v1/cases?personal_number={number}"),
            Some(&owner(&app)),
        )
        .await
        .json();
    assert_eq!(
        found["items"].as_array().expect("items").len(),
        1,
        "the blind index has its own key"
    );
    let after = create_case(&app, 19).await;
    assert_eq!(
        app.get(&after.path(""), Some(&owner(&app))).await.status,
        200
    );
    // New values are sealed with the new key alone: without the kept key the old case no longer
    // opens, the new one does.
    std::fs::remove_file(&kept).expect("remove");
    let restarted = sig_register::state::AppState::build(app.config.clone(), app.clock.clone())
        .expect("restart");
    let app = TestApp {
        data: actix_web::web::Data::new(restarted),
        ..app
    };
    assert_ne!(
        app.get(&before.path(""), Some(&owner(&app))).await.status,
        200,
        "the old case needs the old key"
    );
    let read = app.get(&after.path(""), Some(&owner(&app))).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json()["youth"], after.view["youth"]);
}

async fn find_by_number(app: &TestApp, number: &str) -> Vec<String> {
    app.get(
        &format!("/api/v1/cases?personal_number={number}"),
        Some(&owner(app)),
    )
    .await
    .json()["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn the_blind_index_key_rotates_and_search_still_finds(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let before = create_case(&app, 19).await;
    let number = before.body["youth"]["personal_number"]
        .as_str()
        .expect("pn")
        .to_owned();
    assert_eq!(
        find_by_number(&app, &number).await,
        std::slice::from_ref(&before.id)
    );
    // An audited event whose leaf must stay verifiable after the rotation.
    assert_eq!(
        app.get(&before.path(""), Some(&owner(&app))).await.status,
        200
    );
    let data = app.config.data_dir.clone();
    let old_key = std::fs::read(data.join("blind-index.key")).expect("key");

    // `sig-register keys rotate blind-index`, every instance stopped.
    let indexed =
        sig_register::jobs::keys::rotate_blind_index(&app.config).expect("rotate the index key");
    assert_eq!(indexed, 1);
    assert_ne!(
        std::fs::read(data.join("blind-index.key")).expect("new"),
        old_key
    );
    assert!(
        data.join("audit-leaf.key").is_file(),
        "the leaf key is kept"
    );
    assert!(!data.join("blind-index.key.next").exists());

    let restarted = sig_register::state::AppState::build(app.config.clone(), app.clock.clone())
        .expect("restart");
    let app = TestApp {
        data: actix_web::web::Data::new(restarted),
        ..app
    };
    assert_eq!(
        find_by_number(&app, &number).await,
        std::slice::from_ref(&before.id),
        "the old case is found with the new key"
    );
    let after = create_case(&app, 19).await;
    let other = after.body["youth"]["personal_number"]
        .as_str()
        .expect("pn")
        .to_owned();
    assert_eq!(
        find_by_number(&app, &other).await,
        std::slice::from_ref(&after.id)
    );
    // The audit log, its tree included, still verifies with the kept leaf key.
    let env = [
        ("SIG_DATA_DIR", data.display().to_string()),
        ("SIG_DATABASE_URL", app.config.database_url.clone()),
    ];
    let output = crate::support::http::cli(app.dir.path(), &env, &["audit", "verify"]);
    assert!(
        output.status.success(),
        "audit verify after the rotation: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // A second rotation goes from the new key; the leaf key stays the first one.
    let leaf = std::fs::read(data.join("audit-leaf.key")).expect("leaf");
    sig_register::jobs::keys::rotate_blind_index(&app.config).expect("rotate again");
    assert_eq!(
        std::fs::read(data.join("audit-leaf.key")).expect("leaf"),
        leaf
    );
}

/// The case record every access is decided on reads alike on both backends: on PostgreSQL in
/// one statement (with the guardians), on SQLite query by query. Compared with the plain
/// lookups of each piece: the current consent only, its lists sorted, parties and guardians
/// in their order, NULLs kept.
async fn a_case_record_reads_as_its_pieces(backend: Backend) {
    use sig_register::repo::cases as repo;
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut body = case_body(&app, 15);
    body["guardians"] = json!([
        {"given_name": "Första", "family_name": "Vårdnadshavare", "phone": "073-111 22 33", "has_custody": true},
        {"given_name": "Andra", "family_name": "Skyddad", "address": "Hemlig 1", "has_custody": false,
         "protected_identity": true},
    ]);
    let case = create_case_with(&app, body).await;
    let bare = create_case(&app, 19).await;
    record_consent(&app, &case, &[SCHOOL_AGENCY], &["plan"]).await;
    record_consent(
        &app,
        &case,
        &[SCHOOL_AGENCY, POLICE_AGENCY],
        &["plan", "identity", "social_notes"],
    )
    .await;

    let mut conn = crate::audit::conn(&app);
    let debug = |value: &dyn std::fmt::Debug| format!("{value:?}");
    let record = repo::find_case_record(&mut conn, &case.id)
        .expect("read")
        .expect("the case");
    let consent = record.consent.as_ref().expect("the current consent");
    let current = repo::consents_of(&mut conn, &case.id).expect("consents");
    assert_eq!(current.len(), 2);
    assert_eq!(debug(consent), debug(&current[0]));
    assert_eq!(consent.agencies, [POLICE_AGENCY, SCHOOL_AGENCY]);
    assert_eq!(consent.categories, ["identity", "plan", "social_notes"]);
    assert_eq!(consent.parties.len(), 3);
    assert_eq!(
        debug(&Some(&record.case)),
        debug(&repo::find_case(&mut conn, &case.id).expect("case").as_ref())
    );
    let guardians = repo::guardians_of(&mut conn, &case.id).expect("guardians");
    assert_eq!(guardians.len(), 2);
    assert!(guardians[1].protected_identity && guardians[1].personal_number.is_none());
    match backend {
        Backend::Postgres => assert_eq!(debug(&record.guardians), debug(&Some(guardians))),
        Backend::Sqlite => assert!(record.guardians.is_none()),
    }

    // Should two consents ever both be unsuperseded, the newest counts, as on SQLite.
    use diesel::prelude::*;
    use sig_register::db::schema::consents;
    diesel::update(consents::table.filter(consents::case_id.eq(&case.id)))
        .set(consents::superseded_at.eq(None::<chrono::NaiveDateTime>))
        .execute(&mut conn)
        .expect("unsupersede");
    let record = repo::find_case_record(&mut conn, &case.id)
        .expect("read")
        .expect("the case");
    assert_eq!(
        record.consent.map(|c| c.row.id),
        Some(current[0].row.id.clone())
    );

    // No consent: the case alone, and (PostgreSQL) empty lists of guardians.
    let record = repo::find_case_record(&mut conn, &bare.id)
        .expect("read")
        .expect("the case");
    assert!(record.consent.is_none());
    if backend == Backend::Postgres {
        assert_eq!(record.guardians.map(|g| g.len()), Some(0));
    }
    let missing = uuid::Uuid::now_v7().to_string();
    assert!(repo::find_case_record(&mut conn, &missing)
        .expect("read")
        .is_none());
}

on_both_backends!(
    the_field_key_rotates_without_losing_old_cases,
    the_blind_index_key_rotates_and_search_still_finds,
    owner_creates_and_reads_a_case,
    personal_number_forms_normalise_and_are_found_by_the_blind_index,
    every_broken_rule_is_a_422_naming_its_field,
    only_social_services_secretaries_open_cases,
    unknown_and_unparsable_ids,
    patch_needs_the_current_etag,
    status_rules_activation_closing_and_finality,
    notes_follow_the_authors_agency_kind,
    nothing_personal_is_stored_in_plain_text,
    a_case_record_reads_as_its_pieces,
);
