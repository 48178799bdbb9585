//! API.md §3: every error is problem+json with the contract's `code`, actix's own included,
//! and no SQL, file path or internal message reaches a client.

use actix_web::test::TestRequest;
use serde_json::json;

use sig_register::auth::Role;

use crate::on_both_backends;
use crate::support::{with_token, Backend, TestApp};

const AGENCIES: &str = "/api/v1/agencies";

async fn malformed_json_is_400(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    for body in [
        &b"{\"slug\": \"x\", \"name\": "[..],
        b"{slug: 'x'}",
        b"",
        b"[1,2",
        b"{\"slug\":\"ab\",\"name\":\"A\",\"kind\":\"partner\"} trailing",
    ] {
        let request = with_token(TestRequest::post().uri(AGENCIES), Some(&admin))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_vec());
        app.call(request).await.assert_problem(400, "bad_request");
    }
}

async fn well_formed_json_of_the_wrong_shape_is_422_naming_the_field(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    let response = app
        .post_json(AGENCIES, Some(&admin), &json!({"slug": "abc", "name": "A"}))
        .await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["kind"]);
    let response = app
        .post_json(
            AGENCIES,
            Some(&admin),
            &json!({"slug": 1234567890, "name": "A", "kind": "partner"}),
        )
        .await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["slug"]);
    assert!(
        !response.text().contains("1234567890"),
        "the sent value must not be echoed"
    );
}

async fn non_json_content_type_is_415(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = with_token(TestRequest::post().uri(AGENCIES), Some(&admin))
            .set_payload("slug=abc&kind=partner");
        if let Some(content_type) = content_type {
            request = request.insert_header(("Content-Type", content_type));
        }
        app.call(request)
            .await
            .assert_problem(415, "unsupported_media_type");
    }
    // A charset parameter is fine.
    let request = with_token(TestRequest::post().uri(AGENCIES), Some(&admin))
        .insert_header(("Content-Type", "application/json; charset=utf-8"))
        .set_payload(json!({"slug": "charset-ok", "name": "A", "kind": "partner"}).to_string());
    assert_eq!(app.call(request).await.status, 201);
}

async fn body_over_256_kib_is_413_and_under_is_read(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let admin = app.admin();
    let big = json!({"slug": "big", "name": "x".repeat(300 * 1024), "kind": "partner"});
    app.post_json(AGENCIES, Some(&admin), &big)
        .await
        .assert_problem(413, "payload_too_large");
    // Without a Content-Length the limit holds while streaming.
    let request = with_token(TestRequest::post().uri(AGENCIES), Some(&admin))
        .insert_header(("Content-Type", "application/json"))
        .set_payload(big.to_string());
    app.call(request)
        .await
        .assert_problem(413, "payload_too_large");
    let under = json!({"slug": "under", "name": "y".repeat(200 * 1024), "kind": "partner"});
    let response = app.post_json(AGENCIES, Some(&admin), &under).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(
        response.error_fields(),
        ["name"],
        "a 200 KiB body is read and judged on its content"
    );
}

async fn unknown_route_is_404_and_wrong_method_is_405(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    for path in ["/api/v1/nothing-here", "/nowhere", "/api/v2/areas"] {
        app.get(path, Some(&token))
            .await
            .assert_problem(404, "not_found");
    }
    let response = app
        .call(with_token(
            TestRequest::delete().uri("/api/v1/areas"),
            Some(&token),
        ))
        .await;
    response.assert_problem(405, "method_not_allowed");
    assert_eq!(response.header("allow").as_deref(), Some("GET"));
    let response = app
        .call(with_token(TestRequest::put().uri(AGENCIES), Some(&token)))
        .await;
    response.assert_problem(405, "method_not_allowed");
    assert_eq!(response.header("allow").as_deref(), Some("GET, POST"));
    app.call(TestRequest::post().uri("/healthz"))
        .await
        .assert_problem(405, "method_not_allowed");
}

async fn database_gone_is_503_with_nothing_disclosed(backend: Backend) {
    if backend == Backend::Sqlite {
        // SQLite is a file inside the process: it cannot go away underneath it. The
        // PostgreSQL variant cuts the database off for real.
        return;
    }
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = app.admin();
    assert_eq!(app.get("/api/v1/areas", Some(&token)).await.status, 200);
    crate::support::pg::drop_database(&app.config.database_url);
    let response = app.get("/api/v1/areas", Some(&token)).await;
    let body = response.assert_problem(503, "unavailable");
    assert!(body.get("errors").is_none());
    app.get("/readyz", None)
        .await
        .assert_problem(503, "unavailable");
    let write = app
        .post_json(
            AGENCIES,
            Some(&token),
            &json!({"slug": "while-down", "name": "A", "kind": "partner"}),
        )
        .await;
    write.assert_problem(503, "unavailable");
}

on_both_backends!(
    malformed_json_is_400,
    well_formed_json_of_the_wrong_shape_is_422_naming_the_field,
    non_json_content_type_is_415,
    body_over_256_kib_is_413_and_under_is_read,
    unknown_route_is_404_and_wrong_method_is_405,
    database_gone_is_503_with_nothing_disclosed,
    unknown_fields_are_422_on_every_write,
);

/// A body with one misspelled or server-set field is 422 naming it, on every operation of the
/// OpenAPI document that takes a body, and changes nothing; the document says
/// `additionalProperties: false` for every request schema.
mod unknown_fields {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use crate::plans::{planned_case, send};
    use crate::support::fixtures::*;
    use crate::support::{Backend, TestApp};

    /// (method, documented path, concrete path, token, If-Match, body, the field named)
    type Attempt = (
        &'static str,
        &'static str,
        String,
        String,
        Option<String>,
        Value,
        &'static str,
    );

    fn with(mut body: Value, pointer: &str, name: &str) -> Value {
        let target = if pointer.is_empty() {
            &mut body
        } else {
            body.pointer_mut(pointer).expect("pointer")
        };
        target[name] = json!(true);
        body
    }

    fn body_operations(document: &Value) -> BTreeSet<(String, String)> {
        let mut found = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                if operation.get("requestBody").is_some() {
                    found.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        found
    }

    /// Every object schema reachable from a request body denies other properties.
    fn assert_closed(document: &Value, schema: &Value, seen: &mut BTreeSet<String>) {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().expect("name").to_owned();
            if seen.insert(name.clone()) {
                let target = &document["components"]["schemas"][&name];
                assert!(target.is_object(), "{reference} is not in the document");
                assert_closed(document, target, seen);
            }
            return;
        }
        if schema.get("properties").is_some() {
            assert_eq!(
                schema["additionalProperties"],
                json!(false),
                "a request schema must say additionalProperties: false: {schema}"
            );
        }
        for key in ["properties"] {
            if let Some(map) = schema.get(key).and_then(Value::as_object) {
                for value in map.values() {
                    assert_closed(document, value, seen);
                }
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(inner) = schema.get(key).filter(|v| v.is_object()) {
                assert_closed(document, inner, seen);
            }
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for inner in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert_closed(document, inner, seen);
            }
        }
    }

    pub async fn are_422_on_every_write(backend: Backend) {
        let Some(app) = TestApp::new(backend) else {
            return;
        };
        let document =
            serde_json::to_value(sig_register::openapi::openapi_document()).expect("json");
        let mut seen = BTreeSet::new();
        for (method, path) in body_operations(&document) {
            let operation = &document["paths"][&path][method.to_lowercase()];
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{method} {path} has no JSON body schema"
            );
            assert_closed(&document, schema, &mut seen);
        }

        let (case, plan_etag) = planned_case(&app).await;
        let plan = send(&app, "GET", &case.path("/plan"), &owner(&app), None, None).await;
        let plan = plan.json();
        let police_measure = plan["measures"]
            .as_array()
            .expect("measures")
            .iter()
            .find(|m| m["agency"] == POLICE_AGENCY)
            .expect("a police measure")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let consent_id = case_consent_id(&app, &case).await;
        let yesterday = (today(&app) - chrono::Duration::days(1)).to_string();
        let case_etag = send(&app, "GET", &case.path(""), &owner(&app), None, None)
            .await
            .header("etag")
            .expect("etag");
        let measure_path = format!("/plan/measures/{police_measure}");
        let revoke_path = format!("/consents/{consent_id}/revoke");
        let new_case = case_body(&app, 16);
        let new_consent = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 30);

        let cases: Vec<Attempt> = vec![
            (
                "POST",
                "/api/v1/cases",
                "/api/v1/cases".into(),
                owner(&app),
                None,
                with(new_case.clone(), "/youth", "protected_identiy"),
                "youth.protected_identiy",
            ),
            (
                "POST",
                "/api/v1/cases",
                "/api/v1/cases".into(),
                owner(&app),
                None,
                with(new_case.clone(), "", "owner_agency"),
                "owner_agency",
            ),
            (
                "POST",
                "/api/v1/cases",
                "/api/v1/cases".into(),
                owner(&app),
                None,
                with(new_case.clone(), "/guardians/0", "protected_identiy"),
                "guardians[0].protected_identiy",
            ),
            (
                "PATCH",
                "/api/v1/cases/{id}",
                case.path(""),
                owner(&app),
                Some(case_etag.clone()),
                json!({"area": "varberga", "version": 7}),
                "version",
            ),
            (
                "POST",
                "/api/v1/agencies",
                "/api/v1/agencies".into(),
                app.admin(),
                None,
                json!({"slug": "typo-agency", "name": "T", "kind": "partner", "id": "x"}),
                "id",
            ),
            (
                "PUT",
                "/api/v1/cases/{id}/plan",
                case.path("/plan"),
                owner(&app),
                Some(plan_etag.clone()),
                json!({"goals": ["Mål"], "measures": [], "status": "agreed"}),
                "status",
            ),
            (
                "PUT",
                "/api/v1/cases/{id}/plan",
                case.path("/plan"),
                owner(&app),
                Some(plan_etag.clone()),
                with(
                    json!({"goals": ["Mål"], "measures": [plan["measures"][0].clone()]}),
                    "/measures/0",
                    "agensy",
                ),
                "measures[0].agensy",
            ),
            (
                "PATCH",
                "/api/v1/cases/{id}/plan/measures/{measure_id}",
                case.path(&measure_path),
                police(&app),
                Some(plan_etag.clone()),
                json!({"status": "ongoing", "progres_note": "x"}),
                "progres_note",
            ),
            (
                "POST",
                "/api/v1/cases/{id}/plan/follow-ups",
                case.path("/plan/follow-ups"),
                owner(&app),
                Some(plan_etag.clone()),
                json!({"held_on": yesterday, "summary": "Möte", "next_followup_on": yesterday}),
                "next_followup_on",
            ),
            (
                "POST",
                "/api/v1/cases/{id}/consents",
                case.path("/consents"),
                owner(&app),
                None,
                with(new_consent.clone(), "/youth", "decided"),
                "youth.decided",
            ),
            (
                "POST",
                "/api/v1/cases/{id}/consents",
                case.path("/consents"),
                owner(&app),
                None,
                with(new_consent, "", "state"),
                "state",
            ),
            (
                "POST",
                "/api/v1/cases/{id}/consents/{consent_id}/revoke",
                case.path(&revoke_path),
                owner(&app),
                None,
                json!({"party": "youth", "reson": "Ångrat sig"}),
                "reson",
            ),
            (
                "POST",
                "/api/v1/cases/{id}/notes",
                case.path("/notes"),
                owner(&app),
                None,
                json!({"text": "En anteckning", "category": "police_notes"}),
                "category",
            ),
            (
                "POST",
                "/api/v1/audit/reviews",
                "/api/v1/audit/reviews".into(),
                auditor(&app),
                None,
                json!({"period_from": yesterday, "period_to": yesterday, "scope": "S", "findings": "F",
                    "actions": "", "finding": "x"}),
                "finding",
            ),
        ];
        let covered: BTreeSet<(String, String)> = cases
            .iter()
            .map(|c| (c.0.to_owned(), c.1.to_owned()))
            .collect();
        assert_eq!(
            covered,
            body_operations(&document),
            "every operation with a body is tried"
        );

        let before = snapshot(&app, &case).await;
        for (method, _, path, token, etag, body, field) in cases {
            let response = send(&app, method, &path, &token, etag.as_deref(), Some(body)).await;
            response.assert_problem(422, "validation_failed");
            assert_eq!(response.error_fields(), [field], "{method} {path}");
        }
        assert_eq!(snapshot(&app, &case).await, before, "nothing changed");

        // A measure read from GET /plan goes back as it is (its `updated_at` is read-only).
        let round_trip = json!({"goals": plan["goals"], "measures": plan["measures"]});
        let response = send(
            &app,
            "PUT",
            &case.path("/plan"),
            &owner(&app),
            Some(&plan_etag),
            Some(round_trip),
        )
        .await;
        assert_eq!(response.status, 200, "{}", response.text());
    }

    async fn case_consent_id(app: &TestApp, case: &crate::support::fixtures::Case) -> String {
        let view = send(app, "GET", &case.path(""), &owner(app), None, None)
            .await
            .json();
        view["consent"]["consent_id"]
            .as_str()
            .expect("consent id")
            .to_owned()
    }

    /// Cases listed, agencies, the case's version, plan and notes and consents.
    async fn snapshot(app: &TestApp, case: &crate::support::fixtures::Case) -> Vec<Value> {
        let mut out = Vec::new();
        for (path, token) in [
            ("/api/v1/cases?limit=200".to_owned(), owner(app)),
            ("/api/v1/agencies".to_owned(), app.admin()),
            (case.path(""), owner(app)),
            (case.path("/plan"), owner(app)),
            (case.path("/notes"), owner(app)),
            (case.path("/consents"), owner(app)),
            ("/api/v1/audit/reviews".to_owned(), auditor(app)),
        ] {
            let response = send(app, "GET", &path, &token, None, None).await;
            assert_eq!(response.status, 200, "{path}: {}", response.text());
            out.push(response.json());
        }
        out
    }
}

async fn unknown_fields_are_422_on_every_write(backend: Backend) {
    unknown_fields::are_422_on_every_write(backend).await;
}
