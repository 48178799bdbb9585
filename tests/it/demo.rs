//! `sig-register demo`: fictitious cases through the same units of work as the API, consents
//! in every state, a chained audit log; never on a database holding a real case, never outside
//! development mode.

use sig_register::clock::Clock;
use sig_register::jobs::demo;

use crate::audit::events;
use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{Backend, TestApp};

async fn the_demo_fills_an_empty_register_once(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let now = app.clock.now();
    let report = demo::fill(&app.data, &app.clock, now)
        .await
        .expect("the demo fills an empty register");
    assert_eq!(report.cases, 10);

    let list = app
        .get("/api/v1/cases?limit=50", Some(&owner(&app)))
        .await
        .json();
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 10);
    let mut areas: Vec<&str> = items.iter().filter_map(|c| c["area"].as_str()).collect();
    areas.sort_unstable();
    areas.dedup();
    assert_eq!(areas.len(), 5, "all five areas");
    let mut states: Vec<String> = Vec::new();
    for case in items {
        let id = case["id"].as_str().expect("id");
        let consents = app
            .get(&format!("/api/v1/cases/{id}/consents"), Some(&owner(&app)))
            .await
            .json();
        for c in consents["items"].as_array().expect("consents") {
            states.push(c["state"].as_str().expect("state").to_owned());
        }
        if consents["items"].as_array().is_some_and(Vec::is_empty) {
            states.push("none".to_owned());
        }
    }
    for state in [
        "active",
        "scheduled",
        "refused",
        "expired",
        "revoked",
        "superseded",
        "none",
    ] {
        assert!(states.iter().any(|s| s == state), "{state} in {states:?}");
    }

    // Three weeks of real events: reads, refusals, plans, notes; in order, and chained.
    let log = events(&app);
    let first = log.first().expect("events");
    assert!(now.naive_utc() - first.event.at >= chrono::Duration::days(20));
    assert!(log.windows(2).all(|w| w[0].event.at <= w[1].event.at));
    for action in [
        "case.create",
        "consent.create",
        "consent.revoke",
        "plan.agree",
        "note.create",
    ] {
        assert!(log.iter().any(|e| e.event.action == action), "{action}");
    }
    assert!(log
        .iter()
        .any(|e| e.event.action == "case.read" && e.event.outcome == "denied"));
    let verified = app.get("/api/v1/audit/verify", Some(&auditor(&app))).await;
    assert_eq!(verified.status, 200, "{}", verified.text());
    assert_eq!(verified.json()["ok"], true);

    // Again: nothing added.
    let again = demo::fill(&app.data, &app.clock, app.clock.now())
        .await
        .expect("a second run");
    assert_eq!((again.cases, again.existing), (0, 10));
}

async fn the_demo_refuses_a_register_with_real_cases(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    create_case(&app, 16).await;
    let before = events(&app).len();
    let refused = demo::fill(&app.data, &app.clock, app.clock.now()).await;
    assert!(
        matches!(refused, Err(demo::DemoError::Refused(ref m)) if m.contains("1 case(s)")),
        "{refused:?}"
    );
    assert_eq!(events(&app).len(), before, "nothing written");
}

on_both_backends!(
    the_demo_fills_an_empty_register_once,
    the_demo_refuses_a_register_with_real_cases,
);
