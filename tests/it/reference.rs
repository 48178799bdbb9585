//! API.md §4: seeded areas and agencies, and the agency registry.

use serde_json::json;

use sig_register::auth::Role;
use sig_register::state::AppState;

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

const SEEDED_AREAS: [&str; 5] = [
    "baronbackarna",
    "brickebacken",
    "oxhagen",
    "varberga",
    "vivalla",
];
const SEEDED_AGENCIES: [(&str, &str); 6] = [
    ("arbetsmarknad-orebro", "partner"),
    ("fritid-orebro", "partner"),
    ("obo", "partner"),
    ("polisen-orebro", "police"),
    ("skola-orebro", "school"),
    ("socialtjanst-orebro", "social_services"),
];

async fn areas_are_seeded(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    let response = app.get("/api/v1/areas", Some(&token)).await;
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let areas = response.json();
    let slugs: Vec<&str> = areas
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs, SEEDED_AREAS);
    assert!(areas
        .as_array()
        .expect("array")
        .iter()
        .all(|a| a["name"].as_str().is_some_and(|n| !n.is_empty())));
}

async fn agencies_are_seeded_with_their_kinds(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = app.token("ss-1", "socialtjanst-orebro", &[Role::SocialSecretary]);
    let agencies = app.get("/api/v1/agencies", Some(&token)).await.json();
    let pairs: Vec<(String, String)> = agencies
        .as_array()
        .expect("array")
        .iter()
        .map(|a| {
            (
                a["slug"].as_str().expect("slug").to_owned(),
                a["kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = SEEDED_AGENCIES
        .iter()
        .map(|(s, k)| (s.to_string(), k.to_string()))
        .collect();
    assert_eq!(pairs, expected);
}

async fn admin_registers_an_agency(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    // Before it is registered, its staff are refused (and the refusal is not remembered).
    let token = app.token("fr-1", "fritid-karlskoga", &[Role::Partner]);
    app.get("/api/v1/areas", Some(&token))
        .await
        .assert_problem(403, "unknown_agency");
    app.get("/api/v1/cases", Some(&token))
        .await
        .assert_problem(403, "unknown_agency");
    let response = app
        .post_json(
            "/api/v1/agencies",
            Some(&admin),
            &json!({"slug": "fritid-karlskoga", "name": " Fritid Karlskoga ", "kind": "partner"}),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"slug": "fritid-karlskoga", "name": "Fritid Karlskoga", "kind": "partner"})
    );
    let long = format!("q{}", "z".repeat(62));
    let response = app
        .post_json(
            "/api/v1/agencies",
            Some(&admin),
            &json!({"slug": long, "name": "Lång", "kind": "school"}),
        )
        .await;
    assert_eq!(response.status, 201, "a 63-character slug is valid");
    let listed = app.get("/api/v1/agencies", Some(&admin)).await.json();
    let listed = listed.as_array().expect("array");
    assert!(listed
        .iter()
        .any(|a| a["slug"] == "fritid-karlskoga" && a["kind"] == "partner"));
    assert!(listed
        .iter()
        .any(|a| a["slug"] == long.as_str() && a["kind"] == "school"));
    // The same token is now accepted, on the unaudited and the audited path.
    assert_eq!(app.get("/api/v1/areas", Some(&token)).await.status, 200);
    assert_eq!(app.get("/api/v1/cases", Some(&token)).await.status, 200);
}

async fn slug_name_and_kind_rules_give_422(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    for slug in [
        "Versaler-ej",
        "x",
        "-inleds-med-streck",
        &"a".repeat(64),
        "med mellanslag",
        "åäö-slug",
        "under_score",
    ] {
        let response = app
            .post_json(
                "/api/v1/agencies",
                Some(&admin),
                &json!({"slug": slug, "name": "Ogiltig", "kind": "partner"}),
            )
            .await;
        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), ["slug"], "slug {slug:?}");
    }
    let response = app
        .post_json(
            "/api/v1/agencies",
            Some(&admin),
            &json!({"slug": "myndighet", "name": "X", "kind": "ministry"}),
        )
        .await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["kind"]);
    let response = app
        .post_json(
            "/api/v1/agencies",
            Some(&admin),
            &json!({"slug": "B", "name": "  ", "kind": "ministry"}),
        )
        .await;
    assert_eq!(
        response.error_fields(),
        ["slug", "name", "kind"],
        "one entry per broken field"
    );
    let listed = app.get("/api/v1/agencies", Some(&admin)).await.json();
    assert_eq!(
        listed.as_array().expect("array").len(),
        SEEDED_AGENCIES.len(),
        "refused requests change nothing"
    );
}

async fn only_admin_registers_agencies(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for role in [
        Role::SocialSecretary,
        Role::PoliceOfficer,
        Role::Partner,
        Role::Auditor,
    ] {
        let token = app.token("someone", "socialtjanst-orebro", &[role]);
        let response = app
            .post_json(
                "/api/v1/agencies",
                Some(&token),
                &json!({"slug": "obehorig", "name": "X", "kind": "partner"}),
            )
            .await;
        response.assert_problem(403, "forbidden");
    }
    // Invalid input from a non-admin is still a 403: the rules are not disclosed to them.
    let token = app.token("someone", "polisen-orebro", &[Role::PoliceOfficer]);
    app.post_json(
        "/api/v1/agencies",
        Some(&token),
        &json!({"slug": "X", "name": "", "kind": "?"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let admin = app.admin();
    let listed = app.get("/api/v1/agencies", Some(&admin)).await.json();
    assert_eq!(
        listed.as_array().expect("array").len(),
        SEEDED_AGENCIES.len()
    );
}

async fn a_taken_slug_is_409(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    app.post_json(
        "/api/v1/agencies",
        Some(&admin),
        &json!({"slug": "polisen-orebro", "name": "Dubblett", "kind": "police"}),
    )
    .await
    .assert_problem(409, "conflict");
    let listed = app.get("/api/v1/agencies", Some(&admin)).await.json();
    let police = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["slug"] == "polisen-orebro")
        .cloned();
    assert_ne!(
        police.expect("still listed")["name"],
        "Dubblett",
        "the seeded agency is unchanged"
    );
}

async fn seeding_happens_once(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    app.post_json(
        "/api/v1/agencies",
        Some(&admin),
        &json!({"slug": "kvar-efter-omstart", "name": "Kvar", "kind": "partner"}),
    )
    .await;
    // A second start of the same database migrates nothing and seeds nothing again.
    let again = AppState::build(app.config.clone(), app.clock.clone()).expect("restart");
    let again = TestApp {
        data: actix_web::web::Data::new(again),
        ..app
    };
    let agencies = again.get("/api/v1/agencies", Some(&admin)).await.json();
    assert_eq!(
        agencies.as_array().expect("array").len(),
        SEEDED_AGENCIES.len() + 1
    );
    let areas = again.get("/api/v1/areas", Some(&admin)).await.json();
    assert_eq!(areas.as_array().expect("array").len(), SEEDED_AREAS.len());
}

on_both_backends!(
    areas_are_seeded,
    agencies_are_seeded_with_their_kinds,
    admin_registers_an_agency,
    slug_name_and_kind_rules_give_422,
    only_admin_registers_agencies,
    a_taken_slug_is_409,
    seeding_happens_once,
);
