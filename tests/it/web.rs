//! The web interface's first pages (UI.md): development login and sessions, the case list and
//! the case page — the same units of work as the API, one audit event per page, forms guarded
//! by the session's form token.

use actix_web::test::TestRequest;
use sig_register::clock::Clock;

use crate::audit::events;
use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{Backend, Resp, TestApp};

/// Logs in through the development form; returns the session cookie's value and the page's
/// form token.
pub(crate) async fn login(
    app: &TestApp,
    sub: &str,
    name: &str,
    agency: &str,
    role: &str,
) -> (String, String) {
    login_to(app, sub, name, agency, role, "/arenden").await
}

/// As [`login`], landing on `next` (a page the role may open).
pub(crate) async fn login_to(
    app: &TestApp,
    sub: &str,
    name: &str,
    agency: &str,
    role: &str,
    next: &str,
) -> (String, String) {
    let body = format!(
        "sub={sub}&name={name}&agency={agency}&roles={role}&next={}",
        next.replace('/', "%2F")
    );
    let response = app
        .call(
            TestRequest::post()
                .uri("/logga-in")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(body),
        )
        .await;
    assert_eq!(response.status, 303, "login: {}", response.text());
    assert_eq!(response.header("location").as_deref(), Some(next));
    let set_cookie = response.header("set-cookie").expect("a session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("sig_session="))
        .expect("sig_session")
        .to_owned();
    let page = page(app, next, &cookie).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token on the page")
        .to_owned();
    (cookie, token)
}

pub(crate) async fn page(app: &TestApp, path: &str, cookie: &str) -> Resp {
    app.call(
        TestRequest::get()
            .uri(path)
            .insert_header(("cookie", format!("sig_session={cookie}"))),
    )
    .await
}

pub(crate) async fn post_form(app: &TestApp, path: &str, cookie: &str, body: &str) -> Resp {
    app.call(
        TestRequest::post()
            .uri(path)
            .insert_header(("cookie", format!("sig_session={cookie}")))
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body.to_owned()),
    )
    .await
}

pub(crate) fn assert_page_headers(response: &Resp) {
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("no-store")
    );
    let csp = response
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self'"),
        "{csp}"
    );
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(response
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
}

async fn the_case_page_shows_what_the_api_shows(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    record_consent(&app, &case, &[POLICE_AGENCY], &["identity", "plan"]).await;
    let given = case.body["youth"]["given_name"]
        .as_str()
        .expect("a name")
        .to_owned();
    let (cookie, _) = login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;

    let html = page(&app, &format!("/arenden/{}", case.id), &cookie).await;
    assert_eq!(html.status, 200, "{}", html.text());
    assert_page_headers(&html);
    let text = html.text();
    assert!(text.contains("<h1>Ärende"), "{text}");
    assert!(
        text.contains(&given),
        "the police see identity under the consent"
    );
    assert!(text.contains("Den unge") && text.contains("Samtycke"));
    assert!(text.contains("Du ser ärendet med stöd av samtycke som gäller till"));
    assert!(
        !text.contains("Orosanmälan"),
        "the referral is the owner's only"
    );

    // The API shows the same categories to the same user.
    let api = app.get(&case.path(""), Some(&police(&app))).await.json();
    assert_eq!(api["youth"]["given_name"], given.as_str());
    let page_event = events(&app)
        .into_iter()
        .rev()
        .find(|e| e.event.path.as_deref() == Some(&format!("/arenden/{}", case.id)))
        .expect("the page's event");
    let api_event = events(&app).into_iter().last().expect("the API's event");
    assert_eq!(page_event.event.action, "case.read");
    assert_eq!(page_event.event.outcome, "allowed");
    assert_eq!(page_event.event.actor.sub.as_deref(), Some("po-per"));
    assert_eq!(page_event.event.categories, api_event.event.categories);
    assert_eq!(page_event.event.case_ids, vec![case.id.clone()]);

    // Without a consent for the school: the page is the 403 page, as the API is 403.
    let (school_cookie, _) = login(&app, "sk-sara", "Sara+Skola", SCHOOL_AGENCY, "partner").await;
    let refused = page(&app, &format!("/arenden/{}", case.id), &school_cookie).await;
    assert_eq!(refused.status, 403);
    assert_page_headers(&refused);
    let text = refused.text();
    assert!(text.contains("Du har inte behörighet"), "{text}");
    assert!(
        !text.contains(&given),
        "nothing of the case on the error page"
    );
    let api = app.get(&case.path(""), Some(&school(&app))).await;
    assert_eq!(api.status, 403);
    let denied = events(&app)
        .into_iter()
        .rev()
        .find(|e| e.event.actor.sub.as_deref() == Some("sk-sara") && e.event.action == "case.read")
        .expect("the refused page's event");
    assert_eq!(denied.event.outcome, "denied");
}

async fn the_list_shows_the_cases_a_user_may_read_and_searches_by_post(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let shared = create_case(&app, 16).await;
    let unshared = create_case(&app, 17).await;
    record_consent(&app, &shared, &[POLICE_AGENCY], &["identity"]).await;
    let (cookie, token) = login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;
    let list = page(&app, "/arenden", &cookie).await;
    assert_page_headers(&list);
    let text = list.text();
    assert!(text.contains(&format!("/arenden/{}", shared.id)));
    assert!(!text.contains(&unshared.id), "no case without consent");
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "case.list");
    assert_eq!(event.event.case_ids, vec![shared.id.clone()]);

    // The personal-number search is a POST: the number is in no URL, and it finds the case.
    let (owner_cookie, owner_token) =
        login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    let number = shared.body["youth"]["personal_number"]
        .as_str()
        .expect("pnr");
    let found = post_form(
        &app,
        "/arenden/sok",
        &owner_cookie,
        &format!("csrf={owner_token}&personnummer={number}"),
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.text());
    let text = found.text();
    assert!(text.contains(&format!("/arenden/{}", shared.id)));
    assert!(!text.contains(&format!("/arenden/{}", unshared.id)));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.path.as_deref(), Some("/arenden/sok"));
    assert!(events(&app)
        .iter()
        .all(|e| !e.event.path.as_deref().unwrap_or("").contains(number)));
    let _ = token;
}

async fn posts_without_the_form_token_change_nothing(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (cookie, token) = login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;
    // A forged logout (no token, then another token): 403, audited, the session lives on.
    for body in ["", "csrf=not-the-token"] {
        let forged = post_form(&app, "/logga-ut", &cookie, body).await;
        assert_eq!(forged.status, 403, "{}", forged.text());
        let event = events(&app).into_iter().last().expect("an event");
        assert_eq!(event.event.action, "session.logout");
        assert_eq!(event.event.outcome, "denied");
        assert_eq!(page(&app, "/arenden", &cookie).await.status, 200);
    }
    // From another origin, even with the token: refused.
    let foreign = app
        .call(
            TestRequest::post()
                .uri("/logga-ut")
                .insert_header(("cookie", format!("sig_session={cookie}")))
                .insert_header(("origin", "https://elsewhere.example"))
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(format!("csrf={token}")),
        )
        .await;
    assert_eq!(foreign.status, 403);
    // The real logout ends the session: the same cookie now leads to the login page.
    let out = post_form(&app, "/logga-ut", &cookie, &format!("csrf={token}")).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location").as_deref(), Some("/logga-in"));
    assert_eq!(
        out.header("clear-site-data").as_deref(),
        Some("\"cache\", \"storage\""),
        "the browser drops what it holds of the pages"
    );
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.outcome.as_str()),
        ("session.logout", "allowed")
    );
    let after = page(&app, "/arenden", &cookie).await;
    assert_eq!(after.status, 303);
    assert!(after
        .header("location")
        .unwrap_or_default()
        .starts_with("/logga-in"));
}

async fn an_idle_session_expires_and_says_so(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (cookie, _) = login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;
    let login_event = events(&app)
        .into_iter()
        .find(|e| e.event.action == "session.login")
        .expect("session.login");
    assert_eq!(login_event.event.actor.sub.as_deref(), Some("po-per"));
    app.clock
        .set(app.clock.now() + chrono::Duration::minutes(app.config.session_idle_minutes + 1));
    let after = page(&app, "/arenden", &cookie).await;
    assert_eq!(after.status, 303);
    let location = after.header("location").unwrap_or_default();
    assert!(location.contains("utloggad=1"), "{location}");
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "session.expired");
    let login_page = app.get(&location, None).await;
    assert!(login_page
        .text()
        .contains("Du har loggats ut eftersom du varit inaktiv."));
}

async fn a_bad_login_form_is_answered_in_swedish_beside_its_fields(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let form = app.get("/logga-in", None).await;
    assert_eq!(form.status, 200);
    assert_page_headers(&form);
    let text = form.text();
    assert!(text.contains("<html lang=\"sv\">"));
    assert!(text.contains("Logga in i utvecklingsläge"));
    assert!(text.contains("Utvecklingsläge – inte för riktiga uppgifter"));
    let refused = app
        .call(
            TestRequest::post()
                .uri("/logga-in")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload("sub=&name=Per&agency=nowhere"),
        )
        .await;
    assert_eq!(refused.status, 422);
    let text = refused.text();
    assert!(text.contains("Formuläret innehåller fel"));
    assert!(text.contains("aria-invalid=\"true\""));
    assert!(text.contains("value=\"Per\""), "what was typed is kept");
    assert!(refused.header("set-cookie").is_none());
}

fn new_case_form(token: &str, number: &str, given: &str, guardian_custody: bool) -> String {
    let custody = if guardian_custody {
        "&g0_has_custody=1"
    } else {
        ""
    };
    format!(
        "csrf={token}&guardian_count=1&youth_personal_number={number}&youth_given_name={given}\
         &youth_family_name=Exempelsson&youth_phone=070-1&g0_given_name=Maria\
         &g0_family_name=Exempelsson{custody}&area=vivalla&source_agency=polisen-orebro\
         &reason=Oro"
    )
}

async fn the_new_case_form_opens_a_case_or_says_what_to_fix(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (cookie, token) = login(
        &app,
        "ss-anna",
        "Anna+Lindqvist",
        OWNER_AGENCY,
        "social_secretary",
    )
    .await;
    let form = page(&app, "/arenden/nytt", &cookie).await;
    assert_eq!(form.status, 200);
    assert_page_headers(&form);
    assert!(form.text().contains("Vårdnadshavare 1"));
    // One more guardian, and what was typed stays; nothing is read or written for it.
    let before = events(&app).len();
    let more = post_form(
        &app,
        "/arenden/nytt",
        &cookie,
        &format!(
            "{}&action=add_guardian",
            new_case_form(&token, "x", "Elin", true)
        ),
    )
    .await;
    assert_eq!(more.status, 200);
    assert!(more.text().contains("Vårdnadshavare 2") && more.text().contains("value=\"Elin\""));
    assert_eq!(
        events(&app).len(),
        before,
        "adding a guardian field is no unit of work"
    );

    // Broken rules: 422 in Swedish beside the fields, nothing created, one denied event.
    let minor_without_custody = personal_number(today(&app), 16, false);
    let refused = post_form(
        &app,
        "/arenden/nytt",
        &cookie,
        &new_case_form(&token, &minor_without_custody, "", false),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    let text = refused.text();
    assert!(text.contains("Formuläret innehåller fel"));
    assert!(text.contains("Ange förnamn (högst 100 tecken)."));
    assert!(text.contains("minst en vårdnadshavare som har vårdnad"));
    assert!(
        text.contains("value=\"Exempelsson\""),
        "what was typed is kept"
    );
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.status),
        ("case.create", 422)
    );
    assert_eq!(event.event.path.as_deref(), Some("/arenden/nytt"));
    let listed = app.get("/api/v1/cases", Some(&owner(&app))).await.json();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));

    // A whole form opens the case and shows it.
    let number = personal_number(today(&app), 16, false);
    let created = post_form(
        &app,
        "/arenden/nytt",
        &cookie,
        &new_case_form(&token, &number, "Elin", true),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(created.text().contains("Elin Exempelsson"));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.outcome.as_str()),
        ("case.create", "allowed")
    );
    let listed = app.get("/api/v1/cases", Some(&owner(&app))).await.json();
    assert_eq!(listed["items"][0]["youth"]["given_name"], "Elin");
    assert_eq!(listed["items"][0]["guardians"][0]["has_custody"], true);

    // The police may not open cases: the same form is refused by the same policy.
    let (police_cookie, police_token) =
        login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;
    let forbidden = post_form(
        &app,
        "/arenden/nytt",
        &police_cookie,
        &new_case_form(&police_token, &number, "Elin", true),
    )
    .await;
    assert_eq!(forbidden.status, 403);
}

async fn consents_of(app: &TestApp, case: &Case) -> serde_json::Value {
    app.get(&case.path("/consents"), Some(&owner(app)))
        .await
        .json()
}

async fn the_consent_pages_record_and_revoke_through_the_same_units(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    let guardian = case.guardian_ids().first().expect("a guardian").clone();
    let guardian_name = case.body["guardians"][0]["given_name"]
        .as_str()
        .expect("a name")
        .to_owned();
    let number = case.body["youth"]["personal_number"]
        .as_str()
        .expect("pnr")
        .replace('-', "");
    let birth = format!("{}-{}-{}", &number[..4], &number[4..6], &number[6..8]);
    let (cookie, token) = login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;

    // The form names the guardian: one consent.list event with category identity.
    let form = page(
        &app,
        &format!("/arenden/{}/samtycken/nytt", case.id),
        &cookie,
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.text());
    assert_page_headers(&form);
    assert!(form
        .text()
        .contains(&format!("Vårdnadshavare: {guardian_name}")));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "consent.list");
    assert_eq!(event.event.categories, vec!["identity".to_owned()]);
    assert_eq!(event.event.case_ids, vec![case.id.clone()]);

    let today = app.clock.now().date_naive();
    let until = today + chrono::Duration::days(300);
    let body = |token: &str, guardian_decision: &str| {
        format!(
            "csrf={token}&youth_name=X&youth_birth={birth}&custody_count=1&c0_id={guardian}\
             &c0_name=M&youth_decision=given&youth_method=written&youth_decided_on={today}\
             &g0_decision={guardian_decision}&g0_method=oral&g0_decided_on={today}\
             &agencies={POLICE_AGENCY}&categories=identity&purpose=SIG&valid_from={today}\
             &valid_until={until}&evidence_ref=F-1"
        )
    };
    let path = format!("/arenden/{}/samtycken/nytt", case.id);
    // Forged (no form token): 403, audited, nothing recorded.
    let forged = post_form(&app, &path, &cookie, &body("wrong", "given")).await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        consents_of(&app, &case).await["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    // The guardian's decision missing: 422, the rule said in Swedish, nothing recorded.
    let missing = post_form(&app, &path, &cookie, &body(&token, "")).await;
    assert_eq!(missing.status, 422, "{}", missing.text());
    assert!(missing
        .text()
        .contains("varje vårdnadshavare med vårdnad måste ta ställning"));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.status),
        ("consent.create", 422)
    );
    assert_eq!(
        consents_of(&app, &case).await["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    // Complete: recorded, as the API shows it.
    let recorded = post_form(&app, &path, &cookie, &body(&token, "given")).await;
    assert_eq!(recorded.status, 303, "{}", recorded.text());
    let list = consents_of(&app, &case).await;
    let consent = &list["items"][0];
    assert_eq!(consent["state"], "active");
    assert_eq!(consent["parties"][1]["method"], "oral");
    assert_eq!(consent["agencies"], serde_json::json!([POLICE_AGENCY]));
    let consent_id = consent["id"].as_str().expect("id").to_owned();

    // The police may not reach the consent pages.
    let (police_cookie, _) =
        login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;
    let refused = page(
        &app,
        &format!("/arenden/{}/samtycken", case.id),
        &police_cookie,
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(!refused.text().contains(&guardian_name));
    assert_eq!(
        page(&app, &format!("/arenden/{}", case.id), &police_cookie)
            .await
            .status,
        200
    );

    // Activate with a stale version: 412; with the page's version: done.
    let status_path = format!("/arenden/{}/status", case.id);
    let case_now = app.get(&case.path(""), Some(&owner(&app))).await.json();
    let current = case_now["version"].as_i64().expect("version");
    let stale = post_form(
        &app,
        &status_path,
        &cookie,
        &format!("csrf={token}&status=active&version={}", current + 7),
    )
    .await;
    assert_eq!(stale.status, 412);
    let activated = post_form(
        &app,
        &status_path,
        &cookie,
        &format!("csrf={token}&status=active&version={current}"),
    )
    .await;
    assert_eq!(activated.status, 303, "{}", activated.text());
    let case_now = app.get(&case.path(""), Some(&owner(&app))).await.json();
    assert_eq!(case_now["status"], "active");

    // The young person revokes: the page names the agencies, the police's next page is 403.
    let revoke = format!("/arenden/{}/samtycken/{consent_id}/aterkalla", case.id);
    let revoked = post_form(
        &app,
        &revoke,
        &cookie,
        &format!("csrf={token}&party=youth&reason=Vill+inte"),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert!(revoked.text().contains("Åtkomsten upphörde för"));
    assert_eq!(
        consents_of(&app, &case).await["items"][0]["state"],
        "revoked"
    );
    let after = page(&app, &format!("/arenden/{}", case.id), &police_cookie).await;
    assert_eq!(after.status, 403);
    assert!(after
        .text()
        .contains("Det finns inget aktivt samtycke som ger din verksamhet tillgång till ärendet."));
}

async fn the_notes_and_access_pages_mirror_the_api(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    let (cookie, token) = login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;
    let notes = format!("/arenden/{}/anteckningar", case.id);
    let empty = post_form(&app, &notes, &cookie, &format!("csrf={token}&text=+")).await;
    assert_eq!(empty.status, 422);
    assert!(empty.text().contains("aria-invalid=\"true\""));
    let written = post_form(
        &app,
        &notes,
        &cookie,
        &format!("csrf={token}&text=Lugnt+samtal"),
    )
    .await;
    assert_eq!(written.status, 303, "{}", written.text());
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.outcome.as_str()),
        ("note.create", "allowed")
    );
    let list = page(&app, &notes, &cookie).await;
    assert_eq!(list.status, 200);
    assert_page_headers(&list);
    assert!(list.text().contains("Lugnt samtal"));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "note.list");
    assert_eq!(event.event.categories, vec!["police_notes".to_owned()]);
    let api = app
        .get(&case.path("/notes"), Some(&police(&app)))
        .await
        .json();
    assert_eq!(api["items"].as_array().map(Vec::len), Some(1));

    // "Vem kan se ärendet" is the owner's (and the auditor's); the police get the 403 page.
    assert_eq!(
        page(&app, &format!("/arenden/{}/atkomst", case.id), &cookie)
            .await
            .status,
        403
    );
    let (owner_cookie, _) = login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    let access = page(
        &app,
        &format!("/arenden/{}/atkomst", case.id),
        &owner_cookie,
    )
    .await;
    assert_eq!(access.status, 200, "{}", access.text());
    let text = access.text();
    assert!(text.contains("Polisen") && text.contains("Samtycke som gäller till"));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "access.read");
}

/// `/` sends each role to its own start (UI.md §4), and a login without `next` goes there.
async fn the_start_page_depends_on_the_role(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    for (role, start) in [
        ("social_secretary", "/arenden"),
        ("police_officer", "/arenden"),
        ("auditor", "/granskning"),
        ("admin", "/admin/verksamheter"),
    ] {
        let signed_in = app
            .call(
                TestRequest::post()
                    .uri("/logga-in")
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .set_payload(format!(
                        "sub=u-{role}&name=U&agency={OWNER_AGENCY}&roles={role}"
                    )),
            )
            .await;
        assert_eq!(signed_in.status, 303, "{role}: {}", signed_in.text());
        assert_eq!(signed_in.header("location").as_deref(), Some("/"), "{role}");
        let cookie = signed_in
            .header("set-cookie")
            .and_then(|c| c.split(';').next().map(str::to_owned))
            .and_then(|pair| pair.strip_prefix("sig_session=").map(str::to_owned))
            .expect("a session cookie");
        let home = page(&app, "/", &cookie).await;
        assert_eq!(home.status, 303, "{role}");
        assert_eq!(home.header("location").as_deref(), Some(start), "{role}");
    }
}

on_both_backends!(
    the_start_page_depends_on_the_role,
    the_notes_and_access_pages_mirror_the_api,
    the_consent_pages_record_and_revoke_through_the_same_units,
    the_case_page_shows_what_the_api_shows,
    the_list_shows_the_cases_a_user_may_read_and_searches_by_post,
    posts_without_the_form_token_change_nothing,
    an_idle_session_expires_and_says_so,
    a_bad_login_form_is_answered_in_swedish_beside_its_fields,
    the_new_case_form_opens_a_case_or_says_what_to_fix,
);
