//! API.md §1: health, readiness, metrics, the OpenAPI document and the docs page. None needs a
//! token.

use actix_web::test::TestRequest;
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{project_dir, Backend, TestApp};

async fn healthz_and_readyz_answer_without_a_token(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["database"], "ok");
}

async fn every_response_has_a_request_id_and_security_headers(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut ids = Vec::new();
    for path in ["/healthz", "/api/v1/areas", "/nowhere"] {
        let response = app.get(path, None).await;
        let id = response.header("x-request-id").expect("x-request-id");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        ids.push(id);
        assert_eq!(
            response.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(
            response.header("cache-control").as_deref(),
            Some("no-store")
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "request ids are unique");
}

async fn metrics_are_prometheus_text(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    app.get("/healthz", None).await;
    app.get("/api/v1/areas", None).await;
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/plain"));
    let text = response.text();
    assert!(
        text.contains("# TYPE sig_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains("route=\"/api/v1/areas\"") && text.contains("status=\"401\""),
        "{text}"
    );
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let value = line.rsplit(' ').next().expect("a value");
        assert!(value.parse::<f64>().is_ok(), "not a sample: {line}");
    }
}

async fn docs_page_is_served_offline(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let redirect = app.get("/docs", None).await;
    assert_eq!(redirect.status, 308);
    assert_eq!(redirect.header("location").as_deref(), Some("/docs/"));
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    let html = page.text().to_lowercase();
    assert!(html.contains("<html") || html.contains("<!doctype html"));
    // Every script and style the page loads is served by the service itself.
    for needle in ["src=\"http", "href=\"http", "cdn"] {
        assert!(
            !html.contains(needle),
            "the docs page must not load {needle}…"
        );
    }
    let script = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(script.status, 200, "the vendored Swagger UI bundle");
    assert!(script.body.len() > 100_000);
}

async fn openapi_document_is_3_1_and_served_without_a_token(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let response = app
        .call(TestRequest::get().uri("/api/v1/openapi.json"))
        .await;
    assert_eq!(response.status, 200);
    let document = response.json();
    assert!(document["openapi"]
        .as_str()
        .unwrap_or("")
        .starts_with("3.1"));
    for (path, method) in [
        ("/api/v1/areas", "get"),
        ("/api/v1/agencies", "get"),
        ("/api/v1/agencies", "post"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
}

on_both_backends!(
    healthz_and_readyz_answer_without_a_token,
    every_response_has_a_request_id_and_security_headers,
    metrics_are_prometheus_text,
    docs_page_is_served_offline,
    openapi_document_is_3_1_and_served_without_a_token,
);

/// The generated document is kept in `tests/snapshots/openapi.json`; a change to the API shows
/// up as a diff there. Regenerate with `UPDATE_SNAPSHOTS=1 cargo test openapi_snapshot`.
#[test]
fn openapi_snapshot() {
    let generated: Value =
        serde_json::to_value(sig_register::openapi::openapi_document()).expect("serialisable");
    let path = project_dir().join("tests/snapshots/openapi.json");
    let pretty = serde_json::to_string_pretty(&generated).expect("json") + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &pretty).expect("write the snapshot");
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == pretty,
        "the OpenAPI document changed; review and run `UPDATE_SNAPSHOTS=1 cargo test openapi_snapshot`"
    );
}
