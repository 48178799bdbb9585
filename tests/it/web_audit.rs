//! The auditor's console, the family's extract and the agency registry (UI.md §4, §5.3): each
//! page is the use case of its API operation — one event with that action — and no page an
//! auditor opens shows a young person's name.

use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::audit::{conn, drop_append_only_triggers, events};
use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{Backend, TestApp};
use crate::web::{assert_page_headers, login, login_to, page, post_form};

/// A case the police read twice under consent, then the youth revoked it and the police were
/// refused once; returns the case and the youth's names.
async fn case_seen_by_police(app: &TestApp) -> (Case, [String; 2]) {
    let case = create_case(app, 16).await;
    let consent = record_consent(app, &case, &[POLICE_AGENCY], &["identity", "plan"]).await;
    for _ in 0..2 {
        let read = app.get(&case.path(""), Some(&police(app))).await;
        assert_eq!(read.status, 200, "{}", read.text());
    }
    let revoked = app
        .post_json(
            &case.path(&format!(
                "/consents/{}/revoke",
                consent["id"].as_str().expect("id")
            )),
            Some(&owner(app)),
            &json!({"party": "youth"}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let refused = app.get(&case.path(""), Some(&police(app))).await;
    assert_eq!(refused.status, 403);
    let names = ["given_name", "family_name"]
        .map(|f| case.body["youth"][f].as_str().expect("name").to_owned());
    (case, names)
}

async fn auditor_cookie(app: &TestApp) -> String {
    login_to(
        app,
        "au-alva",
        "Alva",
        OWNER_AGENCY,
        "auditor",
        "/granskning",
    )
    .await
    .0
}

fn assert_no_name(html: &str, names: &[String; 2], path: &str) {
    for name in names {
        assert!(!html.contains(name.as_str()), "{path} shows {name}");
    }
}

/// The number in "Loggen är intakt: {n} händelser kontrollerade".
fn verified_count(html: &str) -> Option<usize> {
    let rest = html.split("Loggen är intakt: ").nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

async fn the_console_shows_the_chain_verified(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    case_seen_by_police(&app).await;
    let cookie = auditor_cookie(&app).await;
    let shown = page(&app, "/granskning", &cookie).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert_page_headers(&shown);
    let html = shown.text();
    let verified = verified_count(&html).expect("the chain's state");
    let total = events(&app).len();
    // The first view (at login) verified the log up to its own event; this one shows that result.
    assert!(
        verified >= total - 3 && verified < total,
        "{verified} of {total}"
    );
    assert!(
        html.contains("Senaste signerade kontrollpunkt") || html.contains("Ingen kontrollpunkt")
    );
    for link in [
        "/granskning/logg",
        "/granskning/avvikelser",
        "/granskning/genomgangar",
    ] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link}");
    }
    let last = events(&app).pop().expect("an event");
    assert_eq!(
        (last.event.action.as_str(), last.event.outcome.as_str()),
        ("audit.verify", "allowed")
    );
    // Nobody else opens it.
    let (police_cookie, _) = login(&app, "po-per", "Per", POLICE_AGENCY, "police_officer").await;
    let refused = page(&app, "/granskning", &police_cookie).await;
    assert_eq!(refused.status, 403);
    assert!(!refused.text().contains("Loggen är intakt"));
}

async fn a_broken_chain_is_shown_in_an_alert(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    case_seen_by_police(&app).await;
    drop_append_only_triggers(&app);
    conn(&app)
        .batch_execute("UPDATE audit_events SET status = 500 WHERE seq = 3")
        .expect("tamper");
    let cookie = auditor_cookie(&app).await;
    let html = page(&app, "/granskning", &cookie).await.text();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("Loggen är inte intakt"), "{html}");
    assert!(html.contains("Första felaktiga händelse: nr 3."), "{html}");
    assert!(!html.contains("Loggen är intakt"));
}

async fn the_log_page_filters_pages_and_exports_the_same_events(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, names) = case_seen_by_police(&app).await;
    let cookie = auditor_cookie(&app).await;
    let path = "/granskning/logg?anvandare=po-per&handelse=case.read";
    let shown = page(&app, path, &cookie).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    let html = shown.text().replace("&#38;", "&amp;");
    assert_no_name(&html, &names, path);
    let search = events(&app).pop().expect("event");
    assert_eq!(search.event.action, "audit.search");
    let expected: Vec<i64> = events(&app)
        .iter()
        .filter(|e| e.event.action == "case.read" && e.event.actor.sub.as_deref() == Some("po-per"))
        .map(|e| e.seq)
        .collect();
    assert_eq!(expected.len(), 3, "two reads and the refusal");
    let rows: Vec<i64> = html
        .split("<td data-label=\"Nr\">")
        .skip(1)
        .filter_map(|r| r.split('<').next()?.parse().ok())
        .collect();
    assert_eq!(rows, expected);
    assert!(html.contains("Läste ärende") && html.contains("Nekad") && html.contains("Tillåten"));
    assert!(html.contains(&format!("href=\"/arenden/{}/atkomst\"", case.id)));
    assert!(
        !html.contains(&format!("href=\"/arenden/{}\"", case.id)),
        "no link to content"
    );
    // The export links carry the same filters and stream the same events.
    for format in ["ndjson", "csv"] {
        let link = format!(
            "/granskning/logg/export?format={format}&amp;anvandare=po-per&amp;handelse=case.read"
        );
        assert!(html.contains(&link), "{link}");
        let export = page(
            &app,
            &format!("/granskning/logg/export?format={format}&anvandare=po-per&handelse=case.read"),
            &cookie,
        )
        .await;
        assert_eq!(export.status, 200, "{}", export.text());
        assert!(export
            .header("content-disposition")
            .unwrap_or_default()
            .starts_with("attachment"));
        let body = export.text();
        let seqs: Vec<i64> = match format {
            "ndjson" => body
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).expect("json")["seq"]
                        .as_i64()
                        .expect("seq")
                })
                .collect(),
            _ => body
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().expect("seq").parse().expect("a number"))
                .collect(),
        };
        assert_eq!(seqs, expected, "{format}");
        assert_eq!(
            events(&app).pop().expect("event").event.action,
            "audit.export"
        );
    }
    // Paging: one row a page is not offered, but the cursor walks on with the same filters.
    let next = page(
        &app,
        &format!("/granskning/logg?anvandare=po-per&efter={}", expected[1]),
        &cookie,
    )
    .await
    .text();
    assert!(next.contains(&format!("<td data-label=\"Nr\">{}<", expected[2])));
    assert!(!next.contains(&format!("<td data-label=\"Nr\">{}<", expected[0])));
    // A filter that is not a date is refused, and says so.
    let bad = page(&app, "/granskning/logg?fran=yesterday", &cookie).await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("ÅÅÅÅ-MM-DD"));
    let refused = events(&app).pop().expect("event");
    assert_eq!(
        (
            refused.event.action.as_str(),
            refused.event.outcome.as_str()
        ),
        ("audit.search", "denied")
    );
}

async fn anomalies_link_each_user_to_the_log(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    case_seen_by_police(&app).await;
    let cookie = auditor_cookie(&app).await;
    let shown = page(&app, "/granskning/avvikelser", &cookie).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    let html = shown.text().replace("&#38;", "&amp;");
    let denied = &html
        [html.find("Nekade försök").expect("list")..html.find("Utanför kontorstid").expect("list")];
    let today = today(&app);
    let from = today - chrono::Duration::days(30);
    assert!(
        denied.contains(&format!(
            "href=\"/granskning/logg?anvandare=po-per&amp;utfall=denied&amp;fran={from}&amp;till={today}\""
        )),
        "{denied}"
    );
    assert_eq!(
        events(&app).pop().expect("event").event.action,
        "audit.anomalies"
    );
    let earlier = page(
        &app,
        "/granskning/avvikelser?fran=2020-01-01&till=2020-01-31",
        &cookie,
    )
    .await
    .text();
    assert!(!earlier.contains("anvandare=po-per"));
}

async fn reviews_are_recorded_from_the_page_with_the_sample(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (_, names) = case_seen_by_police(&app).await;
    let (cookie, csrf) = login_to(
        &app,
        "au-alva",
        "Alva",
        OWNER_AGENCY,
        "auditor",
        "/granskning/genomgangar",
    )
    .await;
    let shown = page(&app, "/granskning/genomgangar", &cookie).await;
    assert_eq!(shown.status, 200);
    let html = shown.text();
    assert_no_name(&html, &names, "/granskning/genomgangar");
    assert!(html.contains("Ny logguppföljning") && html.contains("Inga logguppföljningar"));
    // Three people used the register: 10 % rounded up is one, proposed and checked.
    assert_eq!(html.matches("name=\"urval\"").count(), 1, "{html}");
    assert_eq!(
        events(&app).pop().expect("event").event.action,
        "audit.review.list"
    );
    let day = today(&app);
    let bad = post_form(
        &app,
        "/granskning/genomgangar",
        &cookie,
        &format!("csrf={csrf}&period_from={day}&period_to={}&scope=Polisens+l%C3%A4sningar&findings=Inget&actions=&urval=po-per", day - chrono::Duration::days(1)),
    )
    .await;
    assert_eq!(bad.status, 422);
    let text = bad.text();
    assert!(
        text.contains("Perioden kan inte sluta före den börjar."),
        "{text}"
    );
    assert!(
        text.contains("Polisens läsningar"),
        "the form keeps what was typed"
    );
    let refused = events(&app).into_iter().rev().nth(1).expect("event");
    assert_eq!(
        (
            refused.event.action.as_str(),
            refused.event.outcome.as_str()
        ),
        ("audit.review.create", "denied")
    );
    let saved = post_form(
        &app,
        "/granskning/genomgangar",
        &cookie,
        &format!("csrf={csrf}&period_from={}&period_to={day}&scope=Polisens+l%C3%A4sningar&findings=Tv%C3%A5+l%C3%A4sningar+under+samtycke&actions=Inga&urval=po-per", day - chrono::Duration::days(7)),
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let listed = page(&app, "/granskning/genomgangar?sparad=1", &cookie)
        .await
        .text();
    assert!(listed.contains("Logguppföljningen är sparad."));
    assert!(listed.contains("Två läsningar under samtycke"));
    assert!(listed.contains("po-per"));
    let api = app
        .get("/api/v1/audit/reviews", Some(&auditor(&app)))
        .await
        .json();
    assert_eq!(api["items"][0]["sampled_users"], json!(["po-per"]));
    // A forged POST (no form token) changes nothing.
    let forged = post_form(
        &app,
        "/granskning/genomgangar",
        &cookie,
        "period_from=2026-01-01",
    )
    .await;
    assert_eq!(forged.status, 403);
    let count = app
        .get("/api/v1/audit/reviews", Some(&auditor(&app)))
        .await
        .json()["items"]
        .as_array()
        .expect("items")
        .len();
    assert_eq!(count, 1);
}

async fn the_extract_names_the_youth_for_the_owner_only(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, names) = case_seen_by_police(&app).await;
    let path = format!("/arenden/{}/loggutdrag", case.id);
    let auditor_cookie = auditor_cookie(&app).await;
    let shown = page(&app, &path, &auditor_cookie).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    let html = shown.text();
    assert!(html.contains("<h1>Loggutdrag</h1>"));
    assert_no_name(&html, &names, &path);
    let police_rows = html.matches("Polisen").count();
    assert!(police_rows >= 3, "two reads and the refusal: {html}");
    assert!(html.contains("Nekad") && html.contains("<td data-label=\"Roll\">Polis</td>"));
    assert!(
        html.contains("Sekretess enligt OSL"),
        "the printed page's header"
    );
    let event = events(&app).pop().expect("event");
    assert_eq!(event.event.action, "access_log.read");
    assert!(
        event.event.case_ids.is_empty(),
        "the auditor's extract discloses no case data"
    );
    let (owner_cookie, _) = login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    let own = page(&app, &path, &owner_cookie).await.text();
    assert!(own.contains(&format!("{} {}", names[0], names[1])), "{own}");
    let event = events(&app).pop().expect("event");
    assert_eq!(event.event.case_ids, std::slice::from_ref(&case.id));
    assert_eq!(event.event.categories, ["identity"]);
    let (police_cookie, _) = login(&app, "po-per", "Per", POLICE_AGENCY, "police_officer").await;
    assert_eq!(page(&app, &path, &police_cookie).await.status, 403);

    // The verifiable extract, as a file, with the key to check it printed on the page.
    let keys = &app.state().keys.audit;
    let vkey = sig_register::audit::note::verifier_key(&keys.origin, keys.public_key());
    assert!(own.contains(&vkey), "the page prints the log's key");
    assert!(own.contains("Ladda ner verifierbart loggutdrag"));
    let file = page(&app, &format!("{path}/verifierbart"), &owner_cookie).await;
    assert_eq!(file.status, 200, "{}", file.text());
    assert!(file
        .header("content-disposition")
        .is_some_and(|d| d.contains(&format!("loggutdrag-{}.json", case.id))));
    let verified =
        sig_register::audit::extract::verify(file.text().as_bytes(), None, keys.public_key())
            .expect("the file verifies");
    assert!(verified.events.len() >= 3);
    assert_no_name(&file.text(), &names, "the verifiable extract");
    let event = events(&app).pop().expect("event");
    assert_eq!(event.event.action, "access_log.read");
    assert!(event.event.case_ids.is_empty());
    assert_eq!(
        page(&app, &format!("{path}/verifierbart"), &police_cookie)
            .await
            .status,
        403
    );
}

async fn admins_register_agencies_on_the_page(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (cookie, csrf) = login_to(
        &app,
        "adm-1",
        "Adam",
        OWNER_AGENCY,
        "admin",
        "/admin/verksamheter",
    )
    .await;
    let before = events(&app).len();
    let shown = page(&app, "/admin/verksamheter", &cookie).await;
    assert_eq!(shown.status, 200);
    assert!(shown.text().contains("Polisen"), "the registry");
    assert_eq!(
        events(&app).len(),
        before,
        "the registry is reference data, not audited"
    );
    let bad = post_form(
        &app,
        "/admin/verksamheter",
        &cookie,
        &format!("csrf={csrf}&name=Fritid&slug=Fritid+Karlskoga&kind=partner"),
    )
    .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("Ange ett kortnamn"));
    let made = post_form(
        &app,
        "/admin/verksamheter",
        &cookie,
        &format!("csrf={csrf}&name=Fritid+Karlskoga&slug=fritid-karlskoga&kind=partner"),
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.text());
    let event = events(&app).pop().expect("event");
    assert_eq!(
        (event.event.action.as_str(), event.event.status),
        ("agency.create", 201)
    );
    let listed = page(
        &app,
        made.header("location").as_deref().expect("location"),
        &cookie,
    )
    .await
    .text();
    assert!(
        listed.contains("Fritid Karlskoga är registrerad."),
        "{listed}"
    );
    let again = post_form(
        &app,
        "/admin/verksamheter",
        &cookie,
        &format!("csrf={csrf}&name=Igen&slug=fritid-karlskoga&kind=partner"),
    )
    .await;
    assert_eq!(again.status, 409);
    assert!(again
        .text()
        .contains("Det finns redan en verksamhet med det kortnamnet."));
    let (ss, ss_csrf) = login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    assert_eq!(page(&app, "/admin/verksamheter", &ss).await.status, 403);
    let refused = post_form(
        &app,
        "/admin/verksamheter",
        &ss,
        &format!("csrf={ss_csrf}&name=X&slug=xx&kind=partner"),
    )
    .await;
    assert_eq!(refused.status, 403);
    let agencies = app.get("/api/v1/agencies", Some(&owner(&app))).await.json();
    assert!(!agencies.to_string().contains("\"xx\""));
}

on_both_backends!(
    the_console_shows_the_chain_verified,
    a_broken_chain_is_shown_in_an_alert,
    the_log_page_filters_pages_and_exports_the_same_events,
    anomalies_link_each_user_to_the_log,
    reviews_are_recorded_from_the_page_with_the_sample,
    the_extract_names_the_youth_for_the_owner_only,
    admins_register_agencies_on_the_page,
);
