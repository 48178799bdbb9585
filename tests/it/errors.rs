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
);
