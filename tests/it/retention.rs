//! Retention (gallring), DOMAIN.md: a closed case's personal data is erased once
//! `SIG_RETENTION_YEARS` have passed since its last entry; the skeleton the statistics count
//! stays, the audit log stays, and each erasure is one `case.erase` event. Files of people born
//! on the 5th, 15th or 25th, and cases marked "archive", are kept for the research archive; a
//! case on hold is kept until the hold is lifted. The clock is fixed and moved by the tests.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use sig_register::clock::{stockholm_date, Clock, SystemClock};
use sig_register::db::schema::{
    cases, consent_parties, consents, guardians, notes, plan_measures, plan_versions,
};
use sig_register::jobs::retention::{self, Disposition};

use crate::audit::{conn, events, verify};
use crate::on_both_backends;
use crate::plans::{planned_case, send};
use crate::support::fixtures::*;
use crate::support::http::cli;
use crate::support::{policies_dir, Backend, Resp, TestApp};

/// Noon UTC on `date` (the same date in Stockholm, whatever the season).
fn noon(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(12, 0, 0).expect("a time").and_utc()
}

fn years_before(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(12 * years))
        .expect("a date")
}

fn years_after(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_add_months(Months::new(12 * years))
        .expect("a date")
}

fn this_day() -> NaiveDate {
    stockholm_date(&SystemClock.now())
}

async fn close(app: &TestApp, case: &Case) {
    let etag = app
        .get(&case.path(""), Some(&owner(app)))
        .await
        .header("etag")
        .expect("etag");
    let response = send(
        app,
        "PATCH",
        &case.path(""),
        &owner(app),
        Some(&etag),
        Some(json!({"status": "closed", "closure_reason": "Målen uppnådda"})),
    )
    .await;
    assert_eq!(response.status, 200, "closing: {}", response.text());
}

async fn patch(app: &TestApp, case: &Case, body: Value) -> Resp {
    let etag = app
        .get(&case.path(""), Some(&owner(app)))
        .await
        .header("etag")
        .expect("etag");
    send(
        app,
        "PATCH",
        &case.path(""),
        &owner(app),
        Some(&etag),
        Some(body),
    )
    .await
}

async fn owner_view(app: &TestApp, case: &Case) -> Value {
    let response = app.get(&case.path(""), Some(&owner(app))).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

async fn note(app: &TestApp, case: &Case, token: &str, text: &str) -> u16 {
    app.post_json(&case.path("/notes"), Some(token), &json!({"text": text}))
        .await
        .status
        .as_u16()
}

async fn stats_without_time(app: &TestApp) -> Value {
    let response = app.get("/api/v1/stats", Some(&police(app))).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let mut stats = response.json();
    stats["generated_at"] = Value::Null;
    stats
}

/// Row counts of the skeleton that erasure must keep.
fn skeleton_counts(app: &TestApp) -> [i64; 5] {
    let mut c = conn(app);
    [
        cases::table.count().get_result(&mut c).expect("cases"),
        consents::table
            .count()
            .get_result(&mut c)
            .expect("consents"),
        consent_parties::table
            .count()
            .get_result(&mut c)
            .expect("parties"),
        plan_versions::table
            .count()
            .get_result(&mut c)
            .expect("versions"),
        plan_measures::table
            .count()
            .get_result(&mut c)
            .expect("measures"),
    ]
}

type PersonalColumns = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

fn personal_columns(app: &TestApp, case_id: &str) -> PersonalColumns {
    cases::table
        .find(case_id)
        .select((
            cases::youth_pn_index,
            cases::youth_personal_number,
            cases::youth_given_name,
            cases::youth_family_name,
            cases::youth_phone,
            cases::youth_address,
            cases::referral_reason,
            cases::closure_reason,
        ))
        .first(&mut conn(app))
        .expect("the case row")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn closed_cases_are_erased_after_the_retention_time(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let today = this_day();
    let closed_on = years_before(today, 6);
    app.clock.set(noon(closed_on));
    // A minor with a guardian, a consent for police and school, a plan with three measures,
    // notes from two agencies and a revocation with a reason.
    let (due, _) = planned_case(&app).await;
    assert_eq!(
        note(&app, &due, &owner(&app), "Samtal med familjen om skolan").await,
        201
    );
    assert_eq!(
        note(&app, &due, &police(&app), "Träffade ungdomen i centrum").await,
        201
    );
    let consent_id = app
        .get(&due.path("/consents"), Some(&owner(&app)))
        .await
        .json()["items"][0]["id"]
        .as_str()
        .expect("consent id")
        .to_owned();
    let revoke = app
        .post_json(
            &due.path(&format!("/consents/{consent_id}/revoke")),
            Some(&owner(&app)),
            &json!({"party": "youth", "reason": "Vill inte längre"}),
        )
        .await;
    assert_eq!(revoke.status, 200, "{}", revoke.text());
    close(&app, &due).await;
    let recent = create_case(&app, 19).await;
    let open = create_case(&app, 19).await;
    app.clock.set(noon(years_before(today, 4)));
    close(&app, &recent).await;
    app.clock.set(noon(today));

    let view = owner_view(&app, &due).await;
    assert_eq!(
        view["retention"],
        json!({"hold": false, "archive": false, "archive_basis": null,
               "retained_until": years_after(closed_on, 5).to_string(),
               "archived_at": null, "erased_at": null})
    );
    let sealed_name = personal_columns(&app, &due.id).2.expect("sealed name");
    let stats_before = stats_without_time(&app).await;
    let counts_before = skeleton_counts(&app);

    // A dry run lists the one case that is due and changes nothing.
    let events_before = events(&app).len();
    let report = retention::run(app.state(), true).expect("dry run");
    assert_eq!(report.items.len(), 1, "{report:?}");
    let item = &report.items[0];
    assert_eq!(item.case_id, due.id);
    assert_eq!(item.disposition, Disposition::Erase);
    assert_eq!(item.last_entry_on, closed_on);
    assert_eq!(item.retained_until, years_after(closed_on, 5));
    assert_eq!((report.erased, report.archived, report.held), (0, 0, 0));
    assert_eq!(
        events(&app).len(),
        events_before,
        "a dry run writes no event"
    );
    assert!(personal_columns(&app, &due.id).2.is_some());
    assert_eq!(skeleton_counts(&app), counts_before);

    // The run erases it, with exactly one event.
    let report = retention::run(app.state(), false).expect("run");
    assert_eq!((report.erased, report.archived, report.held), (1, 0, 0));
    let added = events(&app)[events_before..].to_vec();
    assert_eq!(added.len(), 1, "one event per erased case: {added:?}");
    let event = &added[0];
    assert_eq!(event.event.action, "case.erase");
    assert_eq!(event.event.outcome, "allowed");
    assert_eq!(event.event.case_ids, vec![due.id.clone()]);
    assert_eq!(event.event.actor.sub.as_deref(), Some(retention::ACTOR_SUB));
    assert_eq!(event.event.actor.agency.as_deref(), Some(OWNER_AGENCY));
    assert_eq!(
        (event.event.method.as_deref(), event.event.path.as_deref()),
        (None, None)
    );
    for category in ["identity", "plan", "social_notes", "police_notes"] {
        assert!(
            event.event.categories.iter().any(|c| c == category),
            "{event:?}"
        );
    }
    let youth = &due.body["youth"];
    let printed = format!("{event:?}");
    for secret in [&youth["given_name"], &youth["personal_number"]] {
        assert!(!printed.contains(secret.as_str().expect("text")));
    }
    let verification = verify(&app);
    assert!(verification.ok(), "{:?}", verification.failure);

    // In the database: no personal field, no guardian, no note, no plan text is left ...
    assert_eq!(
        personal_columns(&app, &due.id),
        (None, None, None, None, None, None, None, None)
    );
    let mut c = conn(&app);
    let left: i64 = guardians::table
        .filter(guardians::case_id.eq(&due.id))
        .count()
        .get_result(&mut c)
        .expect("guardians");
    assert_eq!(left, 0, "guardians erased");
    let left: i64 = notes::table
        .filter(notes::case_id.eq(&due.id))
        .count()
        .get_result(&mut c)
        .expect("notes");
    assert_eq!(left, 0, "notes erased");
    let contents: Vec<Option<Vec<u8>>> = plan_versions::table
        .filter(plan_versions::case_id.eq(&due.id))
        .select(plan_versions::content)
        .load(&mut c)
        .expect("versions");
    assert!(!contents.is_empty() && contents.iter().all(Option::is_none));
    let named: Vec<Option<String>> = consent_parties::table
        .inner_join(consents::table)
        .filter(consents::case_id.eq(&due.id))
        .select(consent_parties::guardian_id)
        .load(&mut c)
        .expect("parties");
    assert!(named.iter().all(Option::is_none), "{named:?}");
    let reasons: Vec<Option<Vec<u8>>> = consents::table
        .filter(consents::case_id.eq(&due.id))
        .select(consents::revoke_reason)
        .load(&mut c)
        .expect("consents");
    assert!(reasons.iter().all(Option::is_none));
    // ... and the skeleton the statistics count is whole.
    assert_eq!(skeleton_counts(&app), counts_before);
    assert_eq!(stats_without_time(&app).await, stats_before);

    // Through the API: the skeleton, nothing personal, and no more writes.
    let view = owner_view(&app, &due).await;
    assert!(view.get("youth").is_none() && view.get("guardians").is_none());
    assert_eq!(view["status"], "closed");
    assert_eq!(view["referral"]["reason"], Value::Null);
    assert!(view["retention"]["erased_at"].is_string());
    app.get(&due.path("/plan"), Some(&owner(&app)))
        .await
        .assert_problem(404, "not_found");
    let versions = app
        .get(&due.path("/plan/versions"), Some(&owner(&app)))
        .await;
    assert_eq!(versions.status, 200);
    assert!(!versions.json().as_array().expect("versions").is_empty());
    let notes = app.get(&due.path("/notes"), Some(&owner(&app))).await;
    assert_eq!(notes.json()["items"], json!([]));
    assert_eq!(note(&app, &due, &owner(&app), "Ny anteckning").await, 409);
    patch(&app, &due, json!({"retention": {"hold": true}}))
        .await
        .assert_problem(409, "conflict");
    let number = youth["personal_number"].as_str().expect("number");
    let found = app
        .get(
            &format!("/api/v1/cases?personal_number={number}"),
            Some(&owner(&app)),
        )
        .await;
    assert_eq!(found.json()["items"], json!([]), "the blind index is gone");

    // The other cases keep everything.
    for case in [&recent, &open] {
        let view = owner_view(&app, case).await;
        assert_eq!(
            view["youth"]["given_name"],
            case.body["youth"]["given_name"]
        );
    }
    assert_eq!(
        owner_view(&app, &recent).await["retention"]["retained_until"],
        years_after(years_before(today, 4), 5).to_string()
    );

    // A second run finds nothing to do.
    let before = events(&app).len();
    let report = retention::run(app.state(), false).expect("second run");
    assert!(report.items.is_empty(), "{report:?}");
    assert_eq!(events(&app).len(), before);

    // SQLite: secure_delete and the WAL truncation leave no copy of the sealed name in the files.
    if backend == Backend::Sqlite {
        let path = app
            .config
            .database_url
            .strip_prefix("sqlite://")
            .expect("a path")
            .to_owned();
        for file in [path.clone(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                assert!(!contains(&bytes, &sealed_name), "{file} still holds it");
            }
        }
    }
}

async fn archive_and_hold_keep_a_case(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let today = this_day();
    let closed_on = years_before(today, 6);
    app.clock.set(noon(closed_on));
    let adult_born_on = |day: u32, coordination: bool| {
        let mut body = case_body(&app, 19);
        let born = NaiveDate::from_ymd_opt(closed_on.year() - 20, 3, day).expect("date");
        body["youth"]["personal_number"] = json!(personal_number_born(born, coordination));
        body
    };
    let born_15th = create_case_with(&app, adult_born_on(15, false)).await;
    let coordination_25th = create_case_with(&app, adult_born_on(25, true)).await;
    let born_14th = create_case_with(&app, adult_born_on(14, false)).await;
    let decided = create_case(&app, 19).await;
    let held = create_case(&app, 19).await;
    for case in [&born_15th, &coordination_25th, &born_14th, &decided, &held] {
        close(&app, case).await;
    }
    // A closed case takes retention flags and nothing else.
    assert_eq!(
        patch(&app, &decided, json!({"retention": {"archive": true}}))
            .await
            .status,
        200
    );
    assert_eq!(
        patch(&app, &held, json!({"retention": {"hold": true}}))
            .await
            .status,
        200
    );
    patch(&app, &held, json!({"status": "active"}))
        .await
        .assert_problem(409, "conflict");
    patch(&app, &held, json!({}))
        .await
        .assert_problem(409, "conflict");
    patch(
        &app,
        &held,
        json!({"area": "oxhagen", "retention": {"hold": true}}),
    )
    .await
    .assert_problem(409, "conflict");
    app.clock.set(noon(today));

    let basis = |view: Value| {
        (
            view["retention"]["archive"].clone(),
            view["retention"]["archive_basis"].clone(),
        )
    };
    assert_eq!(
        basis(owner_view(&app, &born_15th).await),
        (json!(true), json!("birth_day"))
    );
    assert_eq!(
        basis(owner_view(&app, &coordination_25th).await),
        (json!(true), json!("birth_day"))
    );
    assert_eq!(
        basis(owner_view(&app, &born_14th).await),
        (json!(false), json!(null))
    );
    assert_eq!(
        basis(owner_view(&app, &decided).await),
        (json!(true), json!("decision"))
    );
    assert_eq!(owner_view(&app, &held).await["retention"]["hold"], true);

    let before = events(&app).len();
    let report = retention::run(app.state(), false).expect("run");
    let fate = |case: &Case| {
        report
            .items
            .iter()
            .find(|i| i.case_id == case.id)
            .map(|i| i.disposition)
    };
    assert_eq!(fate(&born_15th), Some(Disposition::Archive));
    assert_eq!(fate(&coordination_25th), Some(Disposition::Archive));
    assert_eq!(fate(&decided), Some(Disposition::Archive));
    assert_eq!(fate(&born_14th), Some(Disposition::Erase));
    assert_eq!(fate(&held), Some(Disposition::Hold));
    assert_eq!((report.erased, report.archived, report.held), (1, 3, 1));
    let mut actions: Vec<String> = events(&app)[before..]
        .iter()
        .map(|e| e.event.action.clone())
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        ["case.archive", "case.archive", "case.archive", "case.erase"]
    );

    // Archived and held cases keep their personal data.
    for case in [&born_15th, &coordination_25th, &decided, &held] {
        let view = owner_view(&app, case).await;
        assert_eq!(
            view["youth"]["given_name"],
            case.body["youth"]["given_name"]
        );
    }
    assert!(owner_view(&app, &decided).await["retention"]["archived_at"].is_string());
    patch(&app, &decided, json!({"retention": {"archive": false}}))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(
        note(&app, &decided, &owner(&app), "Efter arkivering").await,
        409
    );

    // The next run lists only the held case and does nothing.
    let before = events(&app).len();
    let report = retention::run(app.state(), false).expect("run");
    assert_eq!(report.items.len(), 1, "{report:?}");
    assert_eq!(report.items[0].case_id, held.id);
    assert_eq!(events(&app).len(), before);

    // Lifting the hold lets the next run erase it.
    assert_eq!(
        patch(&app, &held, json!({"retention": {"hold": false}}))
            .await
            .status,
        200
    );
    let report = retention::run(app.state(), false).expect("run");
    assert_eq!(report.erased, 1);
    assert!(owner_view(&app, &held).await.get("youth").is_none());
    assert!(verify(&app).ok());
}

/// A closed case takes no notes (closed means closed), so its last entry is its closure.
async fn a_note_after_closure_is_refused_and_retention_counts_from_closure(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let today = this_day();
    let closed_on = years_before(today, 8);
    app.clock.set(noon(closed_on));
    let case = create_case(&app, 19).await;
    close(&app, &case).await;
    app.clock.set(noon(years_before(today, 4)));
    assert_eq!(
        note(&app, &case, &owner(&app), "Uppföljning efter avslut").await,
        409
    );
    assert_eq!(
        owner_view(&app, &case).await["retention"]["retained_until"],
        years_after(closed_on, 5).to_string()
    );
    app.clock.set(noon(today));
    let report = retention::run(app.state(), false).expect("run");
    assert_eq!(report.erased, 1, "{report:?}");
    assert_eq!(report.items[0].last_entry_on, closed_on);
}

async fn the_retention_years_are_configurable(backend: Backend) {
    let Some(app) = TestApp::with_config(backend, |c| c.retention_years = 10) else {
        return;
    };
    let today = this_day();
    app.clock.set(noon(years_before(today, 6)));
    let case = create_case(&app, 19).await;
    close(&app, &case).await;
    app.clock.set(noon(today));
    let report = retention::run(app.state(), false).expect("run");
    assert!(report.items.is_empty(), "10 years keep it: {report:?}");
    assert_eq!(report.retention_years, 10);
    assert!(owner_view(&app, &case).await.get("youth").is_some());
}

/// `sig-register retention run [--dry-run]` as an operator runs it, on a database whose case
/// was closed six years ago.
async fn the_command_lists_then_erases_and_the_log_verifies(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let today = this_day();
    app.clock.set(noon(years_before(today, 6)));
    let case = create_case(&app, 19).await;
    close(&app, &case).await;
    app.clock.set(noon(today));
    let env = [
        ("SIG_DATABASE_URL", app.config.database_url.clone()),
        ("SIG_DATA_DIR", app.config.data_dir.display().to_string()),
        ("SIG_POLICIES_DIR", policies_dir().display().to_string()),
    ];
    let run = |args: &[&str]| {
        let output = cli(app.dir.path(), &env, args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{args:?}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let dry = run(&["retention", "run", "--dry-run"]);
    assert!(
        dry.contains("1 closed case(s) past their retention time"),
        "{dry}"
    );
    assert!(dry.contains(&format!("erase    {}", case.id)), "{dry}");
    assert!(dry.contains("dry run: nothing was changed"), "{dry}");
    assert!(owner_view(&app, &case).await.get("youth").is_some());

    let done = run(&["retention", "run"]);
    assert!(done.contains("erased 1, archived 0, on hold 0"), "{done}");
    assert!(done.contains("audit checkpoint signed at seq"), "{done}");
    assert!(owner_view(&app, &case).await.get("youth").is_none());
    let verified = run(&["audit", "verify"]);
    assert!(verified.contains("audit log intact"), "{verified}");
    let again = run(&["retention", "run"]);
    assert!(again.contains("0 closed case(s)"), "{again}");
}

on_both_backends!(
    closed_cases_are_erased_after_the_retention_time,
    archive_and_hold_keep_a_case,
    a_note_after_closure_is_refused_and_retention_counts_from_closure,
    the_retention_years_are_configurable,
    the_command_lists_then_erases_and_the_log_verifies,
);
