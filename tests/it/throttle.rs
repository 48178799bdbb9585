//! Limits before authentication: per client address, refused tokens past
//! `SIG_AUTH_FAILURES_PER_MINUTE` are 429 with `Retry-After` and counted — one `auth.throttled`
//! event per address and minute with the count — so a flood cannot flood the audit log and
//! nothing is hidden. Only a trusted proxy may name the client in `X-Forwarded-For`.

use std::net::SocketAddr;

use actix_web::test::TestRequest;
use chrono::Duration;

use sig_register::auth::Role;
use sig_register::clock::Clock;

use crate::audit::events;
use crate::on_both_backends;
use crate::support::{Backend, Resp, TestApp};

const AREAS: &str = "/api/v1/areas";
const PER_MINUTE: u32 = 5;

async fn from(app: &TestApp, peer: &str, forwarded: Option<&str>, token: &str) -> Resp {
    let mut request = TestRequest::get()
        .uri(AREAS)
        .peer_addr(peer.parse::<SocketAddr>().expect("address"))
        .insert_header(("Authorization", format!("Bearer {token}")));
    if let Some(forwarded) = forwarded {
        request = request.insert_header(("X-Forwarded-For", forwarded));
    }
    app.call(request).await
}

fn count(app: &TestApp, action: &str) -> usize {
    events(app)
        .iter()
        .filter(|e| e.event.action == action)
        .count()
}

async fn a_flood_of_bad_tokens_is_counted_not_logged(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| {
        c.auth_failures_per_minute = PER_MINUTE;
        c.auth_failures_burst = PER_MINUTE;
    }) else {
        return;
    };
    let attacker = "203.0.113.9:40000";
    let before = events(&app).len();
    let mut throttled = 0;
    for n in 0..200 {
        let response = from(&app, attacker, None, &format!("bad.token.{n}")).await;
        if n < PER_MINUTE as usize {
            response.assert_problem(401, "unauthenticated");
        } else {
            response.assert_problem(429, "rate_limited");
            let wait: u64 = response
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .expect("seconds");
            assert!((1..=60).contains(&wait), "{wait}");
            throttled += 1;
        }
    }
    assert_eq!(
        events(&app).len(),
        before + PER_MINUTE as usize,
        "one auth.failed each within the rate, nothing yet for the throttled"
    );
    // A valid token from the same address, and a bad one from another, are not throttled.
    let token = app.token("po-1", "polisen-orebro", &[Role::PoliceOfficer]);
    assert_eq!(from(&app, attacker, None, &token).await.status, 200);
    from(&app, "198.51.100.1:1", None, "bad.token.x")
        .await
        .assert_problem(401, "unauthenticated");

    // Once the minute has run, the next throttled request writes the minute's count.
    app.clock.set(app.clock.now() + Duration::seconds(61));
    from(&app, attacker, None, "bad.token.late")
        .await
        .assert_problem(429, "rate_limited");
    let counted: Vec<_> = events(&app)
        .into_iter()
        .filter(|e| e.event.action == "auth.throttled")
        .collect();
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[0].event.status, 429);
    assert!(
        counted[0].event.reason.starts_with(&format!(
            "rate_limited: {throttled} requests with a refused token from 203.0.113.9 since"
        )),
        "{}",
        counted[0].event.reason
    );
    // The rest is written by the housekeeping (here: as at shutdown).
    assert_eq!(sig_register::jobs::throttle::flush(app.state(), true), 1);
    let last = events(&app).pop().expect("an event");
    assert_eq!(last.event.action, "auth.throttled");
    assert!(
        last.event.reason.starts_with("rate_limited: 1 requests"),
        "{}",
        last.event.reason
    );
    assert_eq!(count(&app, "auth.failed"), PER_MINUTE as usize + 1);
    assert!(crate::audit::verify(&app).ok());
}

async fn only_a_trusted_proxy_names_the_client(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| {
        c.auth_failures_per_minute = PER_MINUTE;
        c.auth_failures_burst = PER_MINUTE;
        c.trusted_proxies = vec!["10.0.0.1".parse().expect("ip")];
    }) else {
        return;
    };
    let proxy = "10.0.0.1:443";
    for _ in 0..PER_MINUTE {
        from(&app, proxy, Some("198.51.100.7"), "bad.token.a")
            .await
            .assert_problem(401, "unauthenticated");
    }
    from(&app, proxy, Some("198.51.100.7"), "bad.token.a")
        .await
        .assert_problem(429, "rate_limited");
    // Another client behind the same proxy has its own limit.
    from(&app, proxy, Some("198.51.100.8"), "bad.token.b")
        .await
        .assert_problem(401, "unauthenticated");
    // A forged header prepended by the client does not help: the proxy appends the real one.
    from(&app, proxy, Some("192.0.2.1, 198.51.100.7"), "bad.token.c")
        .await
        .assert_problem(429, "rate_limited");
    // An untrusted peer cannot name another client to escape its limit.
    let direct = "203.0.113.50:1";
    for n in 0..PER_MINUTE {
        from(&app, direct, Some(&format!("192.0.2.{n}")), "bad.token.d")
            .await
            .assert_problem(401, "unauthenticated");
    }
    from(&app, direct, Some("192.0.2.99"), "bad.token.d")
        .await
        .assert_problem(429, "rate_limited");
}

on_both_backends!(
    a_flood_of_bad_tokens_is_counted_not_logged,
    only_a_trusted_proxy_names_the_client,
);
