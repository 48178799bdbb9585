//! API.md §6 and §7: recording, states and revocation of consent, and who may read what.

use chrono::Duration;
use serde_json::{json, Value};

use sig_register::auth::Role;

use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{Backend, TestApp};

async fn consent_of(app: &TestApp, case: &Case, id: &str) -> Value {
    let list = app
        .get(&case.path("/consents"), Some(&owner(app)))
        .await
        .json();
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .expect("listed")
}

async fn a_minors_consent_needs_the_youth_and_every_custodial_guardian(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut body = case_body(&app, 16);
    body["guardians"] = json!([
        {"given_name": "A", "family_name": "B", "has_custody": true},
        {"given_name": "C", "family_name": "D", "has_custody": true},
        {"given_name": "E", "family_name": "F", "has_custody": false},
    ]);
    let case = create_case_with(&app, body).await;
    let ids = case.guardian_ids();
    let path = case.path("/consents");
    let mut consent = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 180);
    consent["guardians"] = json!([consent["guardians"][0].clone()]);
    let response = app.post_json(&path, Some(&owner(&app)), &consent).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(fields(&response), ["guardians"]);
    assert!(
        response.text().contains(&ids[1]),
        "names the missing guardian"
    );
    let mut consent = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 180);
    consent.as_object_mut().expect("object").remove("youth");
    let response = app.post_json(&path, Some(&owner(&app)), &consent).await;
    assert_eq!(fields(&response), ["youth"]);
    // With both custodial guardians (the one without custody need not decide): 201, active.
    let mut consent = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 180);
    consent["guardians"] = json!([
        consent["guardians"][0].clone(),
        consent["guardians"][1].clone()
    ]);
    let response = app.post_json(&path, Some(&owner(&app)), &consent).await;
    assert_eq!(response.status, 201, "{}", response.text());
    let recorded = response.json();
    assert_eq!(recorded["state"], "active");
    assert_eq!(recorded["parties"].as_array().expect("parties").len(), 3);
    for field in [
        "id",
        "agencies",
        "categories",
        "purpose",
        "valid_from",
        "valid_until",
        "evidence_ref",
        "recorded_by",
        "recorded_at",
    ] {
        assert!(!recorded[field].is_null(), "{field}");
    }
}

async fn an_adult_needs_only_their_own_decision(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    let consent = record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    assert_eq!(consent["state"], "active");
}

async fn consent_rules_give_422(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    let path = case.path("/consents");
    let post = |body: Value| {
        let app = &app;
        let path = path.clone();
        async move { app.post_json(&path, Some(&owner(app)), &body).await }
    };
    let base = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 180);
    let mut b = base.clone();
    b["valid_until"] = json!((today(&app) + Duration::days(365)).to_string());
    assert_eq!(fields(&post(b).await), ["valid_until"], "366 days");
    let mut b = base.clone();
    b["valid_until"] = json!((today(&app) - Duration::days(3)).to_string());
    assert_eq!(
        fields(&post(b).await),
        ["valid_until"],
        "ends before it starts"
    );
    let mut b = base.clone();
    b["agencies"] = json!(["okand"]);
    assert_eq!(fields(&post(b).await), ["agencies"]);
    let mut b = base.clone();
    b["categories"] = json!(["everything"]);
    assert_eq!(fields(&post(b).await), ["categories"]);
    let mut b = base.clone();
    b["youth"]["decided_on"] = json!((today(&app) + Duration::days(2)).to_string());
    assert_eq!(fields(&post(b).await), ["youth.decided_on"]);
    let mut b = base.clone();
    b["youth"]["decision"] = json!("maybe");
    assert_eq!(fields(&post(b).await), ["youth.decision"]);
    let mut b = base.clone();
    b["valid_until"] = json!((today(&app) + Duration::days(364)).to_string());
    assert_eq!(post(b).await.status, 201, "365 days is the most");
    let listed = app.get(&path, Some(&owner(&app))).await.json();
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        1,
        "refusals recorded nothing"
    );
}

async fn every_consent_state(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    let path = case.path("/consents");
    let token = owner(&app);
    let post = |body: Value| {
        let app = &app;
        let path = path.clone();
        let token = token.clone();
        async move {
            let response = app.post_json(&path, Some(&token), &body).await;
            assert_eq!(response.status, 201, "{}", response.text());
            response.json()
        }
    };
    let scheduled = post(consent_body(
        &app,
        &case,
        &[POLICE_AGENCY],
        &["identity"],
        3,
        30,
    ))
    .await;
    assert_eq!(scheduled["state"], "scheduled");
    let expired = post(consent_body(
        &app,
        &case,
        &[POLICE_AGENCY],
        &["identity"],
        -40,
        30,
    ))
    .await;
    assert_eq!(
        expired["state"], "expired",
        "a consent whose validity ended may be recorded"
    );
    assert_eq!(
        consent_of(&app, &case, scheduled["id"].as_str().expect("id")).await["state"],
        "superseded"
    );
    let mut refused_body = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 30);
    refused_body["guardians"][0]["decision"] = json!("refused");
    let refused = post(refused_body).await;
    assert_eq!(
        refused["state"], "refused",
        "a guardian's refusal blocks sharing"
    );
    let mut youth_refused = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 30);
    youth_refused["youth"]["decision"] = json!("refused");
    assert_eq!(post(youth_refused).await["state"], "refused");
    let active = post(consent_body(
        &app,
        &case,
        &[POLICE_AGENCY],
        &["identity"],
        -1,
        30,
    ))
    .await;
    assert_eq!(active["state"], "active");
    app.get(&case.path(""), Some(&police(&app))).await.json();
    let revoke = app
        .post_json(
            &case.path(&format!(
                "/consents/{}/revoke",
                active["id"].as_str().expect("id")
            )),
            Some(&token),
            &json!({"party": "youth", "reason": "Vill inte längre"}),
        )
        .await;
    assert_eq!(revoke.status, 200);
    assert_eq!(revoke.json()["state"], "revoked");
    let listed = app.get(&path, Some(&token)).await.json();
    let states: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["state"].as_str().expect("state"))
        .collect();
    assert_eq!(
        states,
        [
            "revoked",
            "superseded",
            "superseded",
            "superseded",
            "superseded"
        ],
        "newest first"
    );
    let case_view = app.get(&case.path(""), Some(&token)).await.json();
    assert_eq!(case_view["consent"]["state"], "revoked");
}

async fn consent_expires_with_the_clock(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    assert_eq!(
        app.get(&case.path(""), Some(&police(&app))).await.status,
        200
    );
    let later = sig_register::clock::Clock::now(&*app.clock) + Duration::days(200);
    app.clock.set(later);
    let police = app.token("po-per", POLICE_AGENCY, &[Role::PoliceOfficer]);
    app.get(&case.path(""), Some(&police))
        .await
        .assert_problem(403, "consent_required");
    assert_eq!(
        app.get(&case.path(""), Some(&owner(&app))).await.json()["consent"]["state"],
        "expired"
    );
}

async fn police_read_only_consented_categories_until_revoked(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    app.get(&case.path(""), Some(&police(&app)))
        .await
        .assert_problem(403, "consent_required");
    let listed = app.get("/api/v1/cases", Some(&police(&app))).await.json();
    assert_eq!(listed["items"], json!([]), "not listed without consent");
    let consent = record_consent(&app, &case, &[POLICE_AGENCY], &["identity", "plan"]).await;
    let view = app.get(&case.path(""), Some(&police(&app))).await;
    assert_eq!(view.status, 200, "{}", view.text());
    let view = view.json();
    assert_eq!(view["visible_categories"], json!(["identity", "plan"]));
    assert_eq!(
        view["youth"]["given_name"],
        case.body["youth"]["given_name"]
    );
    assert!(
        view.get("referral").is_none(),
        "the referral is the owner's alone"
    );
    app.get(&case.path(""), Some(&school(&app)))
        .await
        .assert_problem(403, "consent_required");
    let listed = app.get("/api/v1/cases", Some(&police(&app))).await.json();
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    // The youth revokes; the very next request is refused.
    let revoke = app
        .post_json(
            &case.path(&format!(
                "/consents/{}/revoke",
                consent["id"].as_str().expect("id")
            )),
            Some(&owner(&app)),
            &json!({"party": "youth"}),
        )
        .await;
    assert_eq!(revoke.status, 200);
    app.get(&case.path(""), Some(&police(&app)))
        .await
        .assert_problem(403, "consent_required");
    app.get(&case.path("/notes"), Some(&police(&app)))
        .await
        .assert_problem(403, "consent_required");
    assert_eq!(
        app.get("/api/v1/cases", Some(&police(&app))).await.json()["items"],
        json!([])
    );
    let by_number = app
        .get(
            &format!(
                "/api/v1/cases?personal_number={}",
                case.body["youth"]["personal_number"].as_str().expect("pn")
            ),
            Some(&police(&app)),
        )
        .await
        .json();
    assert_eq!(
        by_number["items"],
        json!([]),
        "no count or hint of an unreadable case"
    );
}

async fn a_consent_without_identity_hides_the_youth(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    record_consent(&app, &case, &[POLICE_AGENCY], &["plan"]).await;
    let view = app.get(&case.path(""), Some(&police(&app))).await.json();
    assert_eq!(view["visible_categories"], json!(["plan"]));
    assert!(view.get("youth").is_none() && view.get("guardians").is_none());
}

async fn roles_that_may_never_read_case_content(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    record_consent(&app, &case, &[POLICE_AGENCY, OWNER_AGENCY], &["identity"]).await;
    for token in [auditor(&app), app.admin()] {
        app.get(&case.path(""), Some(&token))
            .await
            .assert_problem(403, "forbidden");
        app.get(&case.path("/notes"), Some(&token))
            .await
            .assert_problem(403, "forbidden");
        app.get(&case.path("/consents"), Some(&token))
            .await
            .assert_problem(403, "forbidden");
        app.get("/api/v1/cases", Some(&token))
            .await
            .assert_problem(403, "forbidden");
    }
    // Police may read but never record or revoke consent.
    let body = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 30);
    app.post_json(&case.path("/consents"), Some(&police(&app)), &body)
        .await
        .assert_problem(403, "forbidden");
    app.get(&case.path("/consents"), Some(&police(&app)))
        .await
        .assert_problem(403, "forbidden");
}

async fn another_social_services_agency_needs_consent_too(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    app.post_json(
        "/api/v1/agencies",
        Some(&app.admin()),
        &json!({"slug": "socialtjanst-karlskoga", "name": "Karlskoga", "kind": "social_services"}),
    )
    .await;
    let karl = app.token(
        "ss-karl",
        "socialtjanst-karlskoga",
        &[Role::SocialSecretary],
    );
    let case = create_case(&app, 19).await;
    app.get(&case.path(""), Some(&karl))
        .await
        .assert_problem(403, "consent_required");
    record_consent(&app, &case, &["socialtjanst-karlskoga"], &["identity"]).await;
    assert_eq!(app.get(&case.path(""), Some(&karl)).await.status, 200);
    let body = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 30);
    app.post_json(&case.path("/consents"), Some(&karl), &body)
        .await
        .assert_problem(403, "forbidden");
}

async fn revocation_rules(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut body = case_body(&app, 16);
    body["guardians"] = json!([
        {"given_name": "A", "family_name": "B", "has_custody": true},
        {"given_name": "E", "family_name": "F", "has_custody": false},
    ]);
    let case = create_case_with(&app, body).await;
    let ids = case.guardian_ids();
    let consent = record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    let path = case.path(&format!(
        "/consents/{}/revoke",
        consent["id"].as_str().expect("id")
    ));
    let token = owner(&app);
    let response = app
        .post_json(
            &path,
            Some(&token),
            &json!({"party": "guardian", "guardian_id": ids[1]}),
        )
        .await;
    response.assert_problem(422, "validation_failed");
    app.post_json(&path, Some(&police(&app)), &json!({"party": "youth"}))
        .await
        .assert_problem(403, "forbidden");
    let revoked = app
        .post_json(
            &path,
            Some(&token),
            &json!({"party": "guardian", "guardian_id": ids[0], "reason": "Ångrat sig"}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    app.post_json(&path, Some(&token), &json!({"party": "youth"}))
        .await
        .assert_problem(409, "conflict");
    let unknown = case.path(&format!("/consents/{}/revoke", uuid::Uuid::now_v7()));
    app.post_json(&unknown, Some(&token), &json!({"party": "youth"}))
        .await
        .assert_problem(404, "not_found");
}

async fn protected_identity_never_leaves_the_owner(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut body = case_body(&app, 16);
    body["youth"]["protected_identity"] = json!(true);
    let case = create_case_with(&app, body.clone()).await;
    assert_eq!(
        case.view["youth"]["address"], body["youth"]["address"],
        "the owner sees it"
    );
    record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    let view = app.get(&case.path(""), Some(&police(&app))).await.json();
    assert_eq!(view["youth"]["given_name"], body["youth"]["given_name"]);
    assert!(
        view["youth"]["address"].is_null() && view["youth"]["phone"].is_null(),
        "{view}"
    );
    assert_eq!(
        view["guardians"][0]["phone"], body["guardians"][0]["phone"],
        "the guardian is not protected"
    );
}

async fn access_explains_who_can_read_now(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    let consent = record_consent(
        &app,
        &case,
        &[POLICE_AGENCY, SCHOOL_AGENCY],
        &["identity", "plan"],
    )
    .await;
    let body = app
        .get(&case.path("/access"), Some(&owner(&app)))
        .await
        .json();
    let grants = body["grants"].as_array().expect("grants");
    let by_agency = |slug: &str| grants.iter().find(|g| g["agency"] == slug).cloned();
    let owner_grant = by_agency(OWNER_AGENCY).expect("owner");
    assert_eq!(owner_grant["basis"], "owner");
    assert_eq!(owner_grant["categories"].as_array().expect("c").len(), 6);
    let police_grant = by_agency(POLICE_AGENCY).expect("police");
    assert_eq!(police_grant["basis"], "consent");
    assert_eq!(police_grant["categories"], json!(["identity", "plan"]));
    assert_eq!(police_grant["consent_id"], consent["id"]);
    assert!(by_agency("fritid-orebro").is_none());
    assert_eq!(grants.len(), 3);
    assert_eq!(
        app.get(&case.path("/access"), Some(&auditor(&app)))
            .await
            .status,
        200
    );
    app.get(&case.path("/access"), Some(&police(&app)))
        .await
        .assert_problem(403, "forbidden");
}

async fn the_access_log_shows_who_saw_the_data(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    app.get(&case.path(""), Some(&police(&app))).await;
    let consent = record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    app.get(&case.path(""), Some(&police(&app))).await;
    let log = app
        .get(&case.path("/access-log"), Some(&auditor(&app)))
        .await;
    assert_eq!(log.status, 200, "{}", log.text());
    let items = log.json()["items"].as_array().expect("items").clone();
    let rows: Vec<(String, String, String)> = items
        .iter()
        .map(|i| {
            (
                i["agency"].as_str().unwrap_or("").to_owned(),
                i["action"].as_str().unwrap_or("").to_owned(),
                i["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(rows.contains(&(
        POLICE_AGENCY.to_owned(),
        "case.read".to_owned(),
        "denied".to_owned()
    )));
    assert!(rows.contains(&(
        POLICE_AGENCY.to_owned(),
        "case.read".to_owned(),
        "allowed".to_owned()
    )));
    assert!(rows.contains(&(
        OWNER_AGENCY.to_owned(),
        "case.create".to_owned(),
        "allowed".to_owned()
    )));
    assert!(items
        .iter()
        .all(|i| i["at"].is_string() && i["role"].is_string()));
    assert_eq!(
        app.get(&case.path("/access-log"), Some(&owner(&app)))
            .await
            .status,
        200
    );
    app.get(&case.path("/access-log"), Some(&police(&app)))
        .await
        .assert_problem(403, "forbidden");
    // The police read is recorded with its case, categories and consent.
    let events = crate::audit::events(&app);
    let read = events
        .iter()
        .rev()
        .find(|e| e.event.action == "case.read" && e.event.outcome == "allowed")
        .expect("a read");
    assert_eq!(read.event.case_ids, std::slice::from_ref(&case.id));
    assert_eq!(read.event.categories, ["identity"]);
    assert_eq!(read.event.consent_id.as_deref(), consent["id"].as_str());
}

on_both_backends!(
    a_minors_consent_needs_the_youth_and_every_custodial_guardian,
    an_adult_needs_only_their_own_decision,
    consent_rules_give_422,
    every_consent_state,
    consent_expires_with_the_clock,
    police_read_only_consented_categories_until_revoked,
    a_consent_without_identity_hides_the_youth,
    roles_that_may_never_read_case_content,
    another_social_services_agency_needs_consent_too,
    revocation_rules,
    protected_identity_never_leaves_the_owner,
    access_explains_who_can_read_now,
    the_access_log_shows_who_saw_the_data,
);
