//! Abuse limits: per-user rate, body and idle time limits, and the security headers every
//! response carries.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use actix_web::test::TestRequest;
use serde_json::json;

use crate::audit::events;
use crate::cli::{base_env, mint_as};
use crate::on_both_backends;
use crate::support::fixtures::{case_body, create_case, owner, police};
use crate::support::http::{parse_reply, Server};
use crate::support::{with_token, Backend, Resp, TestApp};

fn assert_security_headers(response: &Resp, what: &str) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-resource-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("strict-transport-security", "max-age=31536000"),
    ] {
        assert_eq!(
            response.header(name).as_deref(),
            Some(value),
            "{name} on {what} ({})",
            response.status
        );
    }
    let csp = response
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("a Content-Security-Policy on {what}"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |config| {
        config.rate_limit_per_second = 1;
        config.rate_limit_burst = 2;
    }) else {
        return;
    };
    let owner = owner(&app);
    let case = create_case(&app, 16).await;
    let police = police(&app);
    let colleague = app.token(
        "ss-colleague",
        "socialtjanst-orebro",
        &[sig_register::auth::Role::SocialSecretary],
    );
    let big = "x".repeat(300 * 1024);
    let mut seen = Vec::new();
    let requests: Vec<(&str, TestRequest)> = vec![
        ("healthz", TestRequest::get().uri("/healthz")),
        ("readyz", TestRequest::get().uri("/readyz")),
        ("metrics", TestRequest::get().uri("/metrics")),
        ("openapi", TestRequest::get().uri("/api/v1/openapi.json")),
        ("docs", TestRequest::get().uri("/docs/")),
        ("401", TestRequest::get().uri("/api/v1/cases")),
        (
            "200 case",
            with_token(TestRequest::get().uri(&case.path("")), Some(&owner)),
        ),
        (
            "404 route",
            with_token(TestRequest::get().uri("/api/v1/nothing"), Some(&owner)),
        ),
        (
            "405",
            with_token(TestRequest::delete().uri("/api/v1/cases"), Some(&owner)),
        ),
        (
            "413",
            with_token(
                TestRequest::post()
                    .uri("/api/v1/cases")
                    .insert_header(("content-type", "application/json"))
                    .set_payload(big),
                Some(&colleague),
            ),
        ),
        (
            "415",
            with_token(
                TestRequest::post()
                    .uri("/api/v1/cases")
                    .insert_header(("content-type", "text/plain"))
                    .set_payload("{}"),
                Some(&colleague),
            ),
        ),
        (
            "403",
            with_token(TestRequest::get().uri(&case.path("")), Some(&police)),
        ),
        (
            "403 again",
            with_token(TestRequest::get().uri(&case.path("")), Some(&police)),
        ),
        (
            "429",
            with_token(TestRequest::get().uri(&case.path("")), Some(&police)),
        ),
    ];
    for (what, request) in requests {
        let response = app.call(request).await;
        assert_security_headers(&response, what);
        seen.push(response.status.as_u16());
        if what == "docs" {
            let csp = response
                .header("content-security-policy")
                .unwrap_or_default();
            assert!(csp.contains("default-src 'self'"), "docs: {csp}");
        } else {
            let csp = response
                .header("content-security-policy")
                .unwrap_or_default();
            assert!(csp.starts_with("default-src 'none'"), "{what}: {csp}");
        }
    }
    assert_eq!(
        seen,
        vec![200, 200, 200, 200, 200, 401, 200, 404, 405, 413, 415, 403, 403, 429]
    );
}

async fn one_user_over_the_rate_waits_and_others_do_not(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |config| {
        config.rate_limit_per_second = 1;
        config.rate_limit_burst = 3;
    }) else {
        return;
    };
    let case = create_case(&app, 16).await;
    let owner = app.token(
        "ss-rate",
        "socialtjanst-orebro",
        &[sig_register::auth::Role::SocialSecretary],
    );
    for _ in 0..3 {
        assert_eq!(app.get(&case.path(""), Some(&owner)).await.status, 200);
    }
    let refused = app.get(&case.path(""), Some(&owner)).await;
    let problem = refused.assert_problem(429, "rate_limited");
    assert!(
        !problem.to_string().contains(&case.id),
        "a refused request discloses nothing"
    );
    let wait: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    // Another user of the same agency has a bucket of their own.
    let colleague = app.token(
        "ss-other",
        "socialtjanst-orebro",
        &[sig_register::auth::Role::SocialSecretary],
    );
    assert_eq!(app.get(&case.path(""), Some(&colleague)).await.status, 200);
    // The refusal is audited like any other: the user, the case, the code.
    let refusal = events(&app)
        .into_iter()
        .find(|e| e.event.status == 429)
        .expect("an audit event for the 429");
    assert_eq!(refusal.event.actor.sub.as_deref(), Some("ss-rate"));
    assert_eq!(refusal.event.case_ids, vec![case.id.clone()]);
    assert_eq!(refusal.event.reason, "rate_limited");
    assert_eq!(refusal.event.outcome, "denied");
    std::thread::sleep(Duration::from_secs(wait));
    assert_eq!(
        app.get(&case.path(""), Some(&owner)).await.status,
        200,
        "after Retry-After the user is served again"
    );
}

/// OWASP API3 (property level): fields the server sets are not taken from a body.
async fn server_set_fields_in_a_body_are_refused(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let before = app
        .get("/api/v1/cases?limit=200", Some(&owner(&app)))
        .await
        .json()["items"]
        .as_array()
        .map(Vec::len);
    for (name, value) in [
        ("id", json!("00000000-0000-7000-8000-000000000001")),
        ("owner_agency", json!("polisen-orebro")),
        ("status", json!("active")),
        ("version", json!(99)),
        ("created_at", json!("2001-01-01T00:00:00Z")),
    ] {
        let mut body = case_body(&app, 16);
        body.as_object_mut()
            .expect("object")
            .insert(name.into(), value);
        let refused = app
            .post_json("/api/v1/cases", Some(&owner(&app)), &body)
            .await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), [name]);
    }
    let after = app
        .get("/api/v1/cases?limit=200", Some(&owner(&app)))
        .await
        .json()["items"]
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after, "no case was created");
}

/// Reads take turns (`SIG_READ_CONCURRENCY`): with one turn held, a read waits, leaving its
/// event only once it ran; it runs as soon as the turn is free; and a turn held past the
/// pool's checkout time is not waited for.
async fn reads_take_turns(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |config| config.read_concurrency = 1) else {
        return;
    };
    let case = create_case(&app, 16).await;
    let token = owner(&app);
    let path = case.path("");
    let before = events(&app).len();
    let held = app.state().read_slots.acquire().await.expect("the turn");
    let mut read = Box::pin(app.get(&path, Some(&token)));
    let waited = actix_web::rt::time::timeout(Duration::from_millis(500), &mut read).await;
    assert!(waited.is_err(), "the read ran without its turn");
    assert_eq!(
        events(&app).len(),
        before,
        "nothing ran, so nothing is recorded yet"
    );
    drop(held);
    let response = actix_web::rt::time::timeout(Duration::from_secs(2), read)
        .await
        .expect("the read runs once the turn is free");
    assert_eq!(response.status, 200);
    assert_eq!(events(&app).len(), before + 1);

    let _held = app.state().read_slots.acquire().await.expect("the turn");
    let started = Instant::now();
    let response =
        actix_web::rt::time::timeout(Duration::from_secs(10), app.get(&path, Some(&token)))
            .await
            .expect("a read does not wait for a turn that never comes");
    assert_eq!(response.status, 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(6),
        "waited {waited:?} for a turn that never came"
    );
}

on_both_backends!(
    server_set_fields_in_a_body_are_refused,
    every_response_carries_the_security_headers,
    one_user_over_the_rate_waits_and_others_do_not,
    reads_take_turns,
);

/// A served binary with short time limits, and a token for it.
fn short_limits_server(root: &std::path::Path) -> (Server, u16, String) {
    let mut env = base_env(
        root,
        format!("sqlite://{}", root.join("limits.db").display()),
    );
    env.push(("SIG_REQUEST_TIMEOUT_SECS", "1".to_owned()));
    env.push(("SIG_KEEP_ALIVE_SECS", "1".to_owned()));
    let token = mint_as(
        root,
        &env,
        "ss-slow",
        "socialtjanst-orebro",
        "social_secretary",
    );
    let (mut server, port) = Server::spawn(root, &env);
    assert!(server.wait_ready(Duration::from_secs(30)), "serve starts");
    (server, port, token)
}

/// ASVS 5.0 4.2.1: a request that names its length twice (`Content-Length` and
/// `Transfer-Encoding: chunked`) is never framed by its `Content-Length`: here that length
/// would frame a valid new agency, so a server that used it would create one.
#[test]
fn a_request_with_two_lengths_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(
        root.path(),
        format!("sqlite://{}", root.path().join("frame.db").display()),
    );
    let admin = mint_as(root.path(), &env, "adm", "socialtjanst-orebro", "admin");
    let (mut server, port) = Server::spawn(root.path(), &env);
    assert!(server.wait_ready(Duration::from_secs(30)), "serve starts");
    let body = r#"{"slug":"smuggled-agency","name":"S","kind":"partner"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let head = format!(
        "POST /api/v1/agencies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    let (raw, _) = read_until_closed(&mut stream);
    let reply = parse_reply(&raw).expect("a response");
    assert_eq!(reply.status, 400, "{}", reply.body);
    let listed =
        crate::support::http::get(port, "/api/v1/agencies", Some(&admin)).expect("the agencies");
    assert!(
        !listed.1.contains("smuggled-agency"),
        "created by its Content-Length"
    );
    server.stop();
}

/// Reads until the server closes the connection; what it sent, and how long that took.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) => panic!("the server kept the connection open: {error}"),
        }
    }
    (raw, started.elapsed())
}

#[test]
fn slow_bodies_and_idle_connections_are_cut() {
    let root = tempfile::tempdir().expect("tempdir");
    let (server, port, token) = short_limits_server(root.path());

    // A body that never finishes: 408 request_timeout after the limit, nothing stored.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let head = format!(
        "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"area\":"
    );
    stream.write_all(head.as_bytes()).expect("write");
    let (raw, took) = read_until_closed(&mut stream);
    let reply = parse_reply(&raw).expect("a whole response");
    assert_eq!(reply.status, 408, "{}", reply.body);
    assert_eq!(reply.json()["code"], "request_timeout");
    assert!(took < Duration::from_secs(5), "cut after {took:?}");

    // A connection that never sends a request head is closed.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (_, took) = read_until_closed(&mut idle);
    assert!(
        took < Duration::from_secs(5),
        "idle connection kept {took:?}"
    );

    // A keep-alive connection left idle after a response is closed too.
    let mut kept = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let (raw, took) = read_until_closed(&mut kept);
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"),
        "the request was answered"
    );
    assert!(took < Duration::from_secs(5), "keep-alive kept {took:?}");

    let listed =
        crate::support::http::request(port, "GET", "/api/v1/cases", Some(&token), &[], None)
            .expect("list");
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.json()["items"],
        json!([]),
        "the cut write stored nothing"
    );
    drop(server);
}
