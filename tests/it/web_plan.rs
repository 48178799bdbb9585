//! The plan pages (UI.md §4, issue 20): drafting with repeatable rows, agreeing, follow-ups,
//! versions, and the measure form of police and partners — the same units of work as API §8,
//! one audit event per page, and a save after someone else's never overwrites it unseen.

use crate::audit::events;
use crate::on_both_backends;
use crate::plans::{planned_case, send};
use crate::support::fixtures::*;
use crate::support::{Backend, TestApp};
use crate::web::{assert_page_headers, login, page, post_form};

fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The form body of "Redigera plan": goals, then measures as (id, status, agency, responsible,
/// description, start, due).
fn plan_form(
    token: &str,
    version: i64,
    action: &str,
    goals: &[&str],
    measures: &[[&str; 7]],
) -> String {
    let mut body = format!(
        "csrf={token}&version={version}&action={action}&goal_count={}&measure_count={}",
        goals.len(),
        measures.len()
    );
    for (n, g) in goals.iter().enumerate() {
        body.push_str(&format!("&goal_{n}={}", enc(g)));
    }
    for (n, m) in measures.iter().enumerate() {
        for (name, value) in [
            "id",
            "status",
            "agency",
            "responsible",
            "description",
            "starts",
            "due",
        ]
        .iter()
        .zip(m)
        {
            body.push_str(&format!("&m{n}_{name}={}", enc(value)));
        }
    }
    body
}

async fn plan_of(app: &TestApp, case: &Case) -> serde_json::Value {
    app.get(&case.path("/plan"), Some(&owner(app))).await.json()
}

async fn the_owner_drafts_agrees_and_follows_up_on_the_pages(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    let (cookie, token) = login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    let base = format!("/arenden/{}/plan", case.id);

    let empty = page(&app, &base, &cookie).await;
    assert_eq!(empty.status, 200, "{}", empty.text());
    assert_page_headers(&empty);
    assert!(empty.text().contains("Ingen plan är upprättad ännu."));
    assert!(empty.text().contains("Redigera plan"));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.categories.clone()),
        ("plan.read", vec!["plan".to_owned()])
    );

    let edit = format!("{base}/redigera");
    let form = page(&app, &edit, &cookie).await;
    assert_eq!(form.status, 200, "{}", form.text());
    assert!(form.text().contains("Mål 1") && form.text().contains("Insats 1"));

    // A row button gives the form back changed, with what was typed; nothing is read or saved.
    let before = events(&app).len();
    let blank = ["", "", "", "", "", "", ""];
    let added = post_form(
        &app,
        &edit,
        &cookie,
        &plan_form(&token, 0, "add_goal", &["Gå i skolan varje dag"], &[blank]),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text());
    assert!(added.text().contains("Mål 2") && added.text().contains("Gå i skolan varje dag"));
    assert_eq!(
        events(&app).len(),
        before,
        "a row button is no audited request"
    );

    // Broken rules come back beside their rows, in Swedish, with everything typed kept.
    let start = today(&app).to_string();
    let broken = post_form(
        &app,
        &edit,
        &cookie,
        &plan_form(
            &token,
            0,
            "save",
            &["Gå i skolan varje dag", ""],
            &[
                ["", "", "", "Per", "Samtal med polisen", &start, "i morgon"],
                blank,
            ],
        ),
    )
    .await;
    assert_eq!(broken.status, 422, "{}", broken.text());
    let text = broken.text();
    assert!(text.contains("Välj en verksamhet."), "{text}");
    assert!(text.contains("Ange klar senast som ett datum (ÅÅÅÅ-MM-DD)."));
    assert!(text.contains("Samtal med polisen") && text.contains("i morgon"));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.status),
        ("plan.update", 422)
    );
    assert_eq!(plan_of(&app, &case).await["version"], 0);

    let measures = [
        [
            "",
            "",
            OWNER_AGENCY,
            "Anna",
            "Stödsamtal",
            start.as_str(),
            "",
        ],
        [
            "",
            "",
            POLICE_AGENCY,
            "Per",
            "Samtal med polisen",
            start.as_str(),
            "",
        ],
        ["", "", SCHOOL_AGENCY, "Sara", "Anpassad studiegång", "", ""],
    ];
    let saved = post_form(
        &app,
        &edit,
        &cookie,
        &plan_form(
            &token,
            0,
            "save",
            &["Gå i skolan", "Ingen ny brottslighet"],
            &measures,
        ),
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    assert_eq!(saved.header("location").as_deref(), Some(base.as_str()));
    let plan = plan_of(&app, &case).await;
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["goals"].as_array().map(Vec::len), Some(2));
    assert_eq!(plan["measures"][1]["agency"], POLICE_AGENCY);

    // Agreeing needs an active consent: the page explains it; nothing changes.
    let agree = format!("{base}/overenskommen");
    let refused = post_form(&app, &agree, &cookie, &format!("csrf={token}&version=1")).await;
    assert_eq!(refused.status, 409);
    assert!(refused
        .text()
        .contains("Det behövs ett aktivt samtycke först."));
    record_consent(
        &app,
        &case,
        &[POLICE_AGENCY, SCHOOL_AGENCY],
        &["identity", "plan"],
    )
    .await;
    let agreed = post_form(&app, &agree, &cookie, &format!("csrf={token}&version=1")).await;
    assert_eq!(agreed.status, 303, "{}", agreed.text());
    assert_eq!(plan_of(&app, &case).await["status"], "agreed");
    let shown = page(&app, &base, &cookie).await.text();
    assert!(
        shown.contains(&format!("Överenskommen {}", today(&app))),
        "{shown}"
    );
    assert!(!shown.contains("Markera som överenskommen"));

    let follow = format!("{base}/uppfoljningar");
    let tomorrow = (today(&app) + chrono::Duration::days(1)).to_string();
    let early = post_form(
        &app,
        &follow,
        &cookie,
        &format!("csrf={token}&version=2&held_on={tomorrow}&summary=Bra+start&next_follow_up_on="),
    )
    .await;
    assert_eq!(early.status, 422);
    assert!(early.text().contains("i dag eller tidigare") && early.text().contains("Bra start"));
    let held = post_form(
        &app,
        &follow,
        &cookie,
        &format!(
            "csrf={token}&version=2&held_on={}&summary=Bra+start&next_follow_up_on={tomorrow}",
            today(&app)
        ),
    )
    .await;
    assert_eq!(held.status, 303, "{}", held.text());
    let plan = plan_of(&app, &case).await;
    assert_eq!(plan["follow_ups"][0]["summary"], "Bra start");

    // The versions, and what version 2 changed from version 1.
    let versions = page(&app, &format!("{base}/versioner"), &cookie).await;
    assert_eq!(versions.status, 200);
    assert!(versions.text().contains("Version 3") && versions.text().contains("Version 1"));
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "plan.versions.read");
    let second = page(&app, &format!("{base}/versioner/2"), &cookie).await;
    assert_eq!(second.status, 200, "{}", second.text());
    let text = second.text();
    assert!(text.contains("Ändringar från version 1"), "{text}");
    assert!(text.contains("Överenskommen"));
    let first = page(&app, &format!("{base}/versioner/1"), &cookie)
        .await
        .text();
    assert!(first.contains("Tillagda insatser") && first.contains("Samtal med polisen"));
    assert_eq!(
        page(&app, &format!("{base}/versioner/9"), &cookie)
            .await
            .status,
        404
    );
}

async fn police_report_on_their_own_measures_only(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, _) = planned_case(&app).await;
    let plan = plan_of(&app, &case).await;
    let police_measure = plan["measures"][0]["id"].as_str().expect("id").to_owned();
    let school_measure = plan["measures"][1]["id"].as_str().expect("id").to_owned();
    let (cookie, token) = login(&app, "po-per", "Per", POLICE_AGENCY, "police_officer").await;
    let base = format!("/arenden/{}/plan", case.id);

    // The plan page discloses what the API discloses to the police: the plan, with an update
    // control on the police's own measure only, and no owner buttons.
    let shown = page(&app, &base, &cookie).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert_eq!(
        app.get(&case.path("/plan"), Some(&police(&app)))
            .await
            .status,
        200
    );
    let text = shown.text();
    assert!(text.contains(&format!("/plan/insatser/{police_measure}")));
    assert!(!text.contains(&format!("/plan/insatser/{school_measure}")));
    assert!(!text.contains("Redigera plan") && !text.contains("Registrera uppföljning"));
    assert_eq!(
        page(&app, &format!("{base}/redigera"), &cookie)
            .await
            .status,
        403
    );

    // Another agency's measure: the 403 page, and a forged POST changes nothing.
    let school = format!("{base}/insatser/{school_measure}");
    assert_eq!(page(&app, &school, &cookie).await.status, 403);
    let forged = post_form(
        &app,
        &school,
        &cookie,
        &format!("csrf={token}&version=1&status=done&progress_note=Klart"),
    )
    .await;
    assert_eq!(forged.status, 403);
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.outcome.as_str()),
        ("plan.measure.update", "denied")
    );
    assert_eq!(
        plan_of(&app, &case).await["measures"][1]["status"],
        "planned"
    );

    let own = format!("{base}/insatser/{police_measure}");
    let form = page(&app, &own, &cookie).await;
    assert_eq!(form.status, 200, "{}", form.text());
    assert!(form.text().contains("Lägesbeskrivning") && form.text().contains("Pågår"));
    let saved = post_form(
        &app,
        &own,
        &cookie,
        &format!("csrf={token}&version=1&status=ongoing&progress_note=F%C3%B6rsta+tr%C3%A4ffen+h%C3%A5llen"),
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let plan = plan_of(&app, &case).await;
    assert_eq!(plan["measures"][0]["status"], "ongoing");
    assert_eq!(
        plan["measures"][0]["progress_note"],
        "Första träffen hållen"
    );
    let text = page(&app, &base, &cookie).await.text();
    assert!(text.contains("Pågår") && text.contains("Första träffen hållen"));

    // A stale form: the measure as saved now is shown, what was typed is kept, nothing saved.
    let stale = post_form(
        &app,
        &own,
        &cookie,
        &format!("csrf={token}&version=1&status=done&progress_note=Avslutad"),
    )
    .await;
    assert_eq!(stale.status, 412, "{}", stale.text());
    let text = stale.text();
    assert!(text.contains("Planen har ändrats sedan du öppnade den."));
    assert!(text.contains("Avslutad") && text.contains("name=\"version\" value=\"2\""));
    assert_eq!(
        plan_of(&app, &case).await["measures"][0]["status"],
        "ongoing"
    );
}

async fn a_plan_page_needs_the_plan_category_as_the_api_does(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 16).await;
    record_consent(&app, &case, &[POLICE_AGENCY], &["identity"]).await;
    let (cookie, _) = login(&app, "po-per", "Per", POLICE_AGENCY, "police_officer").await;
    let api = app.get(&case.path("/plan"), Some(&police(&app))).await;
    let shown = page(&app, &format!("/arenden/{}/plan", case.id), &cookie).await;
    assert_eq!(shown.status, 403);
    assert_eq!(api.status, 403);
    assert!(shown
        .text()
        .contains("Det finns inget aktivt samtycke som ger din verksamhet tillgång till ärendet."));
    // The case page has no plan section for them either (absent, not hidden).
    let case_page = page(&app, &format!("/arenden/{}", case.id), &cookie)
        .await
        .text();
    assert!(!case_page.contains("Genomförandeplan") && !case_page.contains("/plan"));
}

async fn a_save_after_someone_elses_keeps_what_was_typed(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, _) = planned_case(&app).await;
    let plan = plan_of(&app, &case).await;
    let ids: Vec<String> = plan["measures"]
        .as_array()
        .expect("measures")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect();
    let (cookie, token) = login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    let edit = format!("/arenden/{}/plan/redigera", case.id);
    assert_eq!(page(&app, &edit, &cookie).await.status, 200);

    // Meanwhile the police report progress (version 2).
    let reported = send(
        &app,
        "PATCH",
        &case.path(&format!("/plan/measures/{}", ids[0])),
        &police(&app),
        Some("\"1\""),
        Some(serde_json::json!({"status": "ongoing"})),
    )
    .await;
    assert_eq!(reported.status, 200, "{}", reported.text());

    // The owner keeps the police measure (changing its text) and swaps the rest for a new one.
    let start = today(&app).to_string();
    let typed = |version: i64, status: &str| {
        let kept = [
            ids[0].as_str(),
            status,
            POLICE_AGENCY,
            "Per",
            "Kontaktperson hos polisen, varje vecka",
            start.as_str(),
            "",
        ];
        let new = [
            "",
            "",
            SCHOOL_AGENCY,
            "Sara",
            "Läxhjälp två dagar i veckan",
            "",
            "",
        ];
        plan_form(
            &token,
            version,
            "save",
            &["Ett mål som inte får försvinna"],
            &[kept, new],
        )
    };
    let before = events(&app).len();
    let conflict = post_form(&app, &edit, &cookie, &typed(1, "planned")).await;
    assert_eq!(conflict.status, 412, "{}", conflict.text());
    assert_eq!(events(&app).len(), before + 1, "one event for the request");
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(
        (event.event.action.as_str(), event.event.status),
        ("plan.update", 412)
    );
    let text = conflict.text();
    assert!(text.contains("Planen har ändrats sedan du öppnade den"));
    assert!(text.contains("Ett mål som inte får försvinna"));
    assert!(text.contains("Läxhjälp två dagar i veckan"));
    assert!(text.contains("Pågår"), "the newer plan is shown");
    assert!(text.contains("name=\"version\" value=\"2\""));
    // The kept measure now carries the status saved in between, so saving again keeps it.
    assert!(text.contains(&format!("name=\"m0_id\" value=\"{}\"", ids[0])));
    assert!(text.contains("name=\"m0_status\" value=\"ongoing\""));
    assert_eq!(plan_of(&app, &case).await["version"], 2);

    let saved = post_form(&app, &edit, &cookie, &typed(2, "ongoing")).await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let plan = plan_of(&app, &case).await;
    assert_eq!(plan["version"], 3);
    assert_eq!(plan["measures"][0]["id"], ids[0].as_str());
    assert_eq!(plan["measures"][0]["status"], "ongoing");
    assert_eq!(plan["goals"][0], "Ett mål som inte får försvinna");

    // What version 3 changed: one measure added, two removed, one changed (field by field).
    let diff = page(
        &app,
        &format!("/arenden/{}/plan/versioner/3", case.id),
        &cookie,
    )
    .await;
    assert_eq!(diff.status, 200);
    let text = diff.text();
    let section = |heading: &str| -> String {
        let start = text
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} in {text}"));
        let rest = &text[start..];
        rest[..rest.find("</ul>").expect("a list")].to_owned()
    };
    assert!(section("Tillagda insatser").contains("Läxhjälp två dagar i veckan"));
    let removed = section("Borttagna insatser");
    assert!(
        removed.contains("Anpassad studiegång") && removed.contains("Stödsamtal varannan vecka")
    );
    let changed = section("Ändrade insatser");
    assert!(
        changed.contains("Insats: <del>Kontaktperson hos polisen</del>"),
        "{changed}"
    );
    assert!(changed.contains("<ins>Kontaktperson hos polisen, varje vecka</ins>"));
    assert!(
        !changed.contains("Status:"),
        "the status did not change in version 3"
    );
    let event = events(&app).into_iter().last().expect("an event");
    assert_eq!(event.event.action, "plan.versions.read");
}

/// Every plan page appends exactly one audit event, with the action of the API operation it
/// mirrors; a row button of the editor appends none.
async fn each_plan_page_writes_one_event_with_its_operations_action(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, _) = planned_case(&app).await;
    let plan = plan_of(&app, &case).await;
    let measure = plan["measures"][2]["id"].as_str().expect("id").to_owned();
    let (cookie, token) = login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    let base = format!("/arenden/{}/plan", case.id);
    let reads = [
        (base.clone(), "plan.read"),
        (format!("{base}/redigera"), "plan.read"),
        (format!("{base}/insatser/{measure}"), "plan.read"),
        (format!("{base}/versioner"), "plan.versions.read"),
        (format!("{base}/versioner/1"), "plan.versions.read"),
    ];
    for (path, action) in reads {
        let before = events(&app).len();
        let shown = page(&app, &path, &cookie).await;
        assert_eq!(shown.status, 200, "{path}: {}", shown.text());
        let after = events(&app);
        assert_eq!(after.len(), before + 1, "{path}");
        assert_eq!(after[before].event.action, action, "{path}");
        assert_eq!(
            after[before].event.categories,
            vec!["plan".to_owned()],
            "{path}"
        );
    }
    let today = today(&app);
    let writes = [
        (
            format!("{base}/insatser/{measure}"),
            "version=1&status=ongoing&progress_note=".to_owned(),
            "plan.measure.update",
        ),
        (
            format!("{base}/overenskommen"),
            "version=2".to_owned(),
            "plan.agree",
        ),
        (
            format!("{base}/uppfoljningar"),
            format!("version=3&held_on={today}&summary=Bra&next_follow_up_on="),
            "plan.follow_up.create",
        ),
        (
            format!("{base}/redigera"),
            "version=4&action=add_goal&goal_count=1&goal_0=Skola&measure_count=0".to_owned(),
            "",
        ),
        (
            format!("{base}/redigera"),
            "version=4&action=save&goal_count=1&goal_0=Skola&measure_count=0".to_owned(),
            "plan.update",
        ),
    ];
    for (path, body, action) in writes {
        let before = events(&app).len();
        let posted = post_form(&app, &path, &cookie, &format!("csrf={token}&{body}")).await;
        let after = events(&app);
        if action.is_empty() {
            assert_eq!(posted.status, 200, "{path}");
            assert_eq!(after.len(), before, "a row button: {path}");
            continue;
        }
        assert_eq!(posted.status, 303, "{path}: {}", posted.text());
        assert_eq!(after.len(), before + 1, "{path}");
        assert_eq!(
            (
                after[before].event.action.as_str(),
                after[before].event.outcome.as_str()
            ),
            (action, "allowed"),
            "{path}"
        );
    }
    assert_eq!(plan_of(&app, &case).await["version"], 5);
}

on_both_backends!(
    each_plan_page_writes_one_event_with_its_operations_action,
    the_owner_drafts_agrees_and_follows_up_on_the_pages,
    police_report_on_their_own_measures_only,
    a_plan_page_needs_the_plan_category_as_the_api_does,
    a_save_after_someone_elses_keeps_what_was_typed,
);
