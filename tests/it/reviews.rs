//! API.md §10, documented log reviews: auditors only, validated, append-only in the database,
//! their texts sealed at rest, each request one event.

use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use sig_register::auth::Role;

use crate::audit::{conn, events};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

fn auditor(app: &TestApp) -> String {
    app.token("au-7", "socialtjanst-orebro", &[Role::Auditor])
}

fn today(app: &TestApp) -> chrono::NaiveDate {
    use sig_register::clock::Clock;
    sig_register::clock::stockholm_date(&app.clock.now())
}

fn review(from: &str, to: &str, scope: &str) -> Value {
    json!({"period_from": from, "period_to": to, "scope": scope,
           "findings": "Inga obehöriga läsningar; två nekade försök förklarade.",
           "actions": "Samtal med berörd enhetschef."})
}

async fn reviews_are_recorded_and_listed_newest_first(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = auditor(&app);
    let last = today(&app).pred_opt().expect("yesterday");
    let first = last - chrono::Duration::days(30);
    let (a, b) = (first.to_string(), last.to_string());
    let mut body = review(&a, &b, "Polisens läsningar i Vivalla");
    body["sampled_users"] = json!(["po-2", "po-1", "po-1"]);
    let created = app
        .post_json("/api/v1/audit/reviews", Some(&token), &body)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let one = created.json();
    assert_eq!(one["period_from"], a);
    assert_eq!(one["period_to"], b);
    assert_eq!(one["scope"], "Polisens läsningar i Vivalla");
    assert_eq!(one["actions"], "Samtal med berörd enhetschef.");
    assert_eq!(one["sampled_users"], json!(["po-1", "po-2"]));
    assert_eq!(
        one["reviewed_by"],
        json!({"sub": "au-7", "name": "Test au-7", "agency": "socialtjanst-orebro"})
    );
    assert!(one["id"].is_string() && one["created_at"].is_string());
    {
        use sig_register::clock::Clock;
        app.clock
            .set(app.clock.now() + chrono::Duration::seconds(5));
    }
    let older = (first - chrono::Duration::days(40)).to_string();
    let older_to = (first - chrono::Duration::days(35)).to_string();
    let second = app
        .post_json(
            "/api/v1/audit/reviews",
            Some(&token),
            &review(&older, &older_to, "Skolans läsningar"),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text());
    let listed = app.get("/api/v1/audit/reviews", Some(&token)).await.json();
    let scopes: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["scope"].as_str().expect("scope"))
        .collect();
    assert_eq!(
        scopes,
        ["Skolans läsningar", "Polisens läsningar i Vivalla"]
    );
    // `from`/`to` keep the reviews whose period meets theirs.
    let only = app
        .get(&format!("/api/v1/audit/reviews?from={a}"), Some(&token))
        .await
        .json();
    assert_eq!(only["items"].as_array().expect("items").len(), 1);
    assert_eq!(only["items"][0]["id"], one["id"]);
    let before = app
        .get(
            &format!("/api/v1/audit/reviews?to={older_to}"),
            Some(&token),
        )
        .await
        .json();
    assert_eq!(before["items"][0]["scope"], "Skolans läsningar");
    assert_eq!(before["items"].as_array().expect("items").len(), 1);
    app.get("/api/v1/audit/reviews?from=yesterday", Some(&token))
        .await
        .assert_problem(400, "bad_request");
    // One event per request, none naming a text.
    let log = events(&app);
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.event.action.as_str(), e.event.outcome.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("audit.review.create", "allowed"),
            ("audit.review.create", "allowed"),
            ("audit.review.list", "allowed"),
            ("audit.review.list", "allowed"),
            ("audit.review.list", "allowed"),
            ("audit.review.list", "denied"),
        ]
    );
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains("Vivalla") && !text.contains("enhetschef"));
}

async fn a_review_breaking_a_rule_is_refused_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let token = auditor(&app);
    let today = today(&app);
    let (yesterday, tomorrow) = (
        today.pred_opt().expect("day").to_string(),
        today.succ_opt().expect("day").to_string(),
    );
    let long = "x".repeat(20_001);
    let cases: Vec<(Value, &str)> = vec![
        (
            review(&today.to_string(), &yesterday, "Omfång"),
            "period_to",
        ),
        (review(&yesterday, &tomorrow, "Omfång"), "period_to"),
        (review(&yesterday, &yesterday, "  "), "scope"),
        (review(&yesterday, &yesterday, &long), "scope"),
        (
            {
                let mut body = review(&yesterday, &yesterday, "Omfång");
                body["findings"] = json!("");
                body
            },
            "findings",
        ),
        (
            {
                let mut body = review(&yesterday, &yesterday, "Omfång");
                body["sampled_users"] = json!([""]);
                body
            },
            "sampled_users",
        ),
    ];
    for (body, field) in cases {
        let refused = app
            .post_json("/api/v1/audit/reviews", Some(&token), &body)
            .await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), [field], "{body}");
    }
    let mut bad_date = review(&yesterday, &yesterday, "Omfång");
    bad_date["period_from"] = json!("2026-13-01");
    let refused = app
        .post_json("/api/v1/audit/reviews", Some(&token), &bad_date)
        .await;
    assert!(refused.status.is_client_error(), "{}", refused.status);
    // Exactly today is allowed: a review of the day so far.
    let today_only = app
        .post_json(
            "/api/v1/audit/reviews",
            Some(&token),
            &review(&today.to_string(), &today.to_string(), "Dagens"),
        )
        .await;
    assert_eq!(today_only.status, 201, "{}", today_only.text());
    let listed = app.get("/api/v1/audit/reviews", Some(&token)).await.json();
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
}

async fn only_auditors_record_or_read_reviews(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let day = today(&app).to_string();
    for role in [
        Role::Admin,
        Role::SocialSecretary,
        Role::PoliceOfficer,
        Role::Partner,
    ] {
        let token = app.token("not-auditor", "socialtjanst-orebro", &[role]);
        app.post_json(
            "/api/v1/audit/reviews",
            Some(&token),
            &review(&day, &day, "Försök"),
        )
        .await
        .assert_problem(403, "forbidden");
        app.get("/api/v1/audit/reviews", Some(&token))
            .await
            .assert_problem(403, "forbidden");
    }
    let listed = app
        .get("/api/v1/audit/reviews", Some(&auditor(&app)))
        .await
        .json();
    assert_eq!(listed["items"], json!([]), "nothing was recorded");
    let denied = events(&app)
        .iter()
        .filter(|e| e.event.outcome == "denied" && e.event.action.starts_with("audit.review."))
        .count();
    assert_eq!(denied, 8);
}

async fn reviews_are_append_only_and_sealed_at_rest(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let day = today(&app).to_string();
    let mut body = review(&day, &day, "Granskat omfång quuxfrob");
    body["findings"] = json!("Iakttagelse wibblewobble");
    body["actions"] = json!("Åtgärd plughxyzzy");
    let created = app
        .post_json("/api/v1/audit/reviews", Some(&auditor(&app)), &body)
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    for sql in [
        "UPDATE audit_reviews SET reviewed_by_sub = 'someone-else'",
        "DELETE FROM audit_reviews",
    ] {
        assert!(
            conn(&app).batch_execute(sql).is_err(),
            "{sql} must be refused"
        );
    }
    if backend == Backend::Postgres {
        assert!(conn(&app).batch_execute("TRUNCATE audit_reviews").is_err());
    }
    let secrets = ["quuxfrob", "wibblewobble", "plughxyzzy"];
    let haystack: Vec<u8> = match backend {
        Backend::Sqlite => {
            let db = app.dir.path().join("sig-register.db");
            let mut bytes = std::fs::read(&db).expect("db");
            bytes.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
            bytes
        }
        Backend::Postgres => {
            use diesel::prelude::*;
            #[derive(diesel::QueryableByName)]
            struct Dump {
                #[diesel(sql_type = diesel::sql_types::Text)]
                row: String,
            }
            let rows: Vec<Dump> =
                diesel::sql_query("SELECT row_to_json(t)::text AS row FROM audit_reviews t")
                    .load(&mut conn(&app))
                    .expect("dump");
            assert_eq!(rows.len(), 1);
            rows.into_iter().flat_map(|r| r.row.into_bytes()).collect()
        }
    };
    for secret in secrets {
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        for needle in [secret.as_bytes(), hex.as_bytes()] {
            assert!(
                !haystack.windows(needle.len()).any(|w| w == needle),
                "{secret} is in the database"
            );
        }
    }
    // The service still reads them back.
    let listed = app
        .get("/api/v1/audit/reviews", Some(&auditor(&app)))
        .await
        .json();
    assert_eq!(listed["items"][0]["findings"], "Iakttagelse wibblewobble");
}

/// The sampling helper's users: people with a request in the period, each once, with their
/// newest agency and name; not the retention job, not those seen only before the period.
async fn active_users_are_the_people_of_the_period(backend: Backend) {
    use sig_register::audit::chain;
    use sig_register::audit::{EventActor, NewEvent};
    use sig_register::db;
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let now = {
        use sig_register::clock::Clock;
        app.clock.now().naive_utc()
    };
    let event =
        |sub: Option<&str>, agency: &str, name: &str, days_ago: i64, method: bool| NewEvent {
            id: uuid::Uuid::now_v7().to_string(),
            at: now - chrono::Duration::days(days_ago),
            actor: EventActor {
                sub: sub.map(str::to_owned),
                name: Some(name.to_owned()),
                agency: Some(agency.to_owned()),
                roles: Some(vec!["police_officer".to_owned()]),
            },
            action: "case.list".to_owned(),
            outcome: "allowed".to_owned(),
            status: 200,
            case_ids: vec![],
            categories: vec![],
            consent_id: None,
            reason: "test".to_owned(),
            request_id: None,
            method: method.then(|| "GET".to_owned()),
            path: method.then(|| "/api/v1/cases".to_owned()),
        };
    let events = [
        event(Some("po-old"), "polisen-orebro", "Olle", 400, true),
        event(Some("po-per"), "polisen-orebro", "Per", 200, true),
        event(Some("po-per"), "skola-orebro", "Per Bytt", 3, true),
        event(
            Some("retention"),
            "socialtjanst-orebro",
            "Gallring",
            1,
            false,
        ),
        event(None, "", "", 1, true),
        event(Some("ss-anna"), "socialtjanst-orebro", "Anna", 1, true),
    ];
    let signer = &app.state().keys.audit;
    db::write_tx(&mut conn(&app), |c| chain::append_all(c, &events, signer)).expect("events");
    let users = sig_register::repo::reviews::active_users(
        &mut conn(&app),
        now - chrono::Duration::days(365),
    )
    .expect("users");
    let found: Vec<(&str, Option<&str>, Option<&str>)> = users
        .iter()
        .map(|u| (u.sub.as_str(), u.agency.as_deref(), u.name.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            ("po-per", Some("skola-orebro"), Some("Per Bytt")),
            ("ss-anna", Some("socialtjanst-orebro"), Some("Anna")),
        ]
    );
}

on_both_backends!(
    active_users_are_the_people_of_the_period,
    reviews_are_recorded_and_listed_newest_first,
    a_review_breaking_a_rule_is_refused_and_stores_nothing,
    only_auditors_record_or_read_reviews,
    reviews_are_append_only_and_sealed_at_rest,
);
