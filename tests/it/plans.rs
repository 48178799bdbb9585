//! API.md §8: the joint implementation plan — versions, ETags, agreement, measures reported by
//! their own agency, follow-ups, and exactly one winner among concurrent writers.

use actix_web::test::TestRequest;
use chrono::Duration;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{with_token, Backend, Resp, TestApp};

fn measure(app: &TestApp, agency: &str, description: &str) -> Value {
    json!({
        "agency": agency,
        "responsible_name": format!("Ansvarig {agency}"),
        "description": description,
        "starts_on": today(app).to_string(),
        "due_on": (today(app) + Duration::days(60)).to_string(),
    })
}

pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    etag: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut request = with_token(
        TestRequest::default()
            .method(method.parse().expect("method"))
            .uri(path),
        Some(token),
    );
    if let Some(etag) = etag {
        request = request.insert_header(("If-Match", etag.to_owned()));
    }
    if let Some(body) = body {
        request = request.set_json(body);
    }
    app.call(request).await
}

/// A case with an active consent for police and school covering identity and plan, and a plan
/// with one police, one school and one social services measure. Returns the case and the ETag.
pub async fn planned_case(app: &TestApp) -> (Case, String) {
    let case = create_case(app, 16).await;
    record_consent(
        app,
        &case,
        &[POLICE_AGENCY, SCHOOL_AGENCY],
        &["identity", "plan"],
    )
    .await;
    let body = json!({
        "goals": ["Fullföljd skolgång", "Ingen ny brottslighet"],
        "measures": [
            measure(app, POLICE_AGENCY, "Kontaktperson hos polisen"),
            measure(app, SCHOOL_AGENCY, "Anpassad studiegång"),
            measure(app, OWNER_AGENCY, "Stödsamtal varannan vecka"),
        ],
    });
    let response = send(
        app,
        "PUT",
        &case.path("/plan"),
        &owner(app),
        Some("\"0\""),
        Some(body),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let etag = response.header("etag").expect("etag");
    (case, etag)
}

async fn a_new_case_has_an_empty_draft_plan(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    let response = app.get(&case.path("/plan"), Some(&owner(&app))).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("etag").as_deref(), Some("\"0\""));
    let plan = response.json();
    assert_eq!(
        (plan["version"].as_i64(), plan["status"].as_str()),
        (Some(0), Some("draft"))
    );
    assert_eq!(plan["goals"], json!([]));
    assert_eq!(plan["measures"], json!([]));
}

async fn plan_writes_need_the_current_etag_and_make_versions(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    let body = json!({"goals": ["Mål"], "measures": [measure(&app, POLICE_AGENCY, "Insats")]});
    send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        None,
        Some(body.clone()),
    )
    .await
    .assert_problem(428, "precondition_required");
    send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        Some("\"7\""),
        Some(body.clone()),
    )
    .await
    .assert_problem(412, "precondition_failed");
    let first = send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        Some("\"0\""),
        Some(body),
    )
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("etag").as_deref(), Some("\"1\""));
    let first = first.json();
    let measure_id = first["measures"][0]["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&measure_id).is_ok());
    // Keeping the id keeps the measure; a new one gets its own id.
    let mut kept = measure(&app, POLICE_AGENCY, "Insats, ändrad");
    kept["id"] = json!(measure_id);
    let body =
        json!({"goals": ["Mål"], "measures": [kept, measure(&app, SCHOOL_AGENCY, "Ny insats")]});
    let second = send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        Some("\"1\""),
        Some(body),
    )
    .await
    .json();
    assert_eq!(second["version"], 2);
    assert_eq!(second["measures"][0]["id"], measure_id.as_str());
    assert_ne!(second["measures"][1]["id"], measure_id.as_str());
    let versions = app
        .get(&case.path("/plan/versions"), Some(&owner(&app)))
        .await
        .json();
    assert_eq!(versions.as_array().expect("list").len(), 2);
    assert_eq!(versions[0]["updated_by_agency"], OWNER_AGENCY);
    let old = app
        .get(&case.path("/plan/versions/1"), Some(&owner(&app)))
        .await;
    assert_eq!(old.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(
        old.json()["measures"][0]["description"],
        "Insats",
        "versions are immutable"
    );
    app.get(&case.path("/plan/versions/9"), Some(&owner(&app)))
        .await
        .assert_problem(404, "not_found");
    app.get(&case.path("/plan/versions/abc"), Some(&owner(&app)))
        .await
        .assert_problem(400, "bad_request");
}

async fn agreement_needs_consent_and_content_changes_return_to_draft(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    let body = json!({"goals": ["Mål"], "measures": [measure(&app, POLICE_AGENCY, "Insats")]});
    let v1 = send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        Some("\"0\""),
        Some(body),
    )
    .await;
    assert_eq!(v1.status, 200);
    send(
        &app,
        "POST",
        &case.path("/plan/agree"),
        &owner(&app),
        Some("\"1\""),
        None,
    )
    .await
    .assert_problem(409, "conflict");
    record_consent(&app, &case, &[POLICE_AGENCY], &["plan"]).await;
    let agreed = send(
        &app,
        "POST",
        &case.path("/plan/agree"),
        &owner(&app),
        Some("\"1\""),
        None,
    )
    .await;
    assert_eq!(agreed.status, 200, "{}", agreed.text());
    let agreed = agreed.json();
    assert_eq!(
        (agreed["status"].as_str(), agreed["version"].as_i64()),
        (Some("agreed"), Some(2))
    );
    assert_eq!(agreed["agreed_on"], today(&app).to_string());
    send(
        &app,
        "POST",
        &case.path("/plan/agree"),
        &police(&app),
        Some("\"2\""),
        None,
    )
    .await
    .assert_problem(403, "forbidden");
    // Same content again: still agreed. Changed content: back to draft.
    let mut same = agreed["measures"][0].clone();
    same.as_object_mut().expect("object").remove("updated_at");
    let unchanged = send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        Some("\"2\""),
        Some(json!({"goals": ["Mål"], "measures": [same]})),
    )
    .await
    .json();
    assert_eq!(unchanged["status"], "agreed");
    let changed = send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        Some("\"3\""),
        Some(json!({"goals": ["Nytt mål"], "measures": []})),
    )
    .await
    .json();
    assert_eq!(changed["status"], "draft");
    assert!(changed["agreed_on"].is_null());
}

async fn each_agency_reports_on_its_own_measures(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, etag) = planned_case(&app).await;
    let plan = app.get(&case.path("/plan"), Some(&police(&app))).await;
    assert_eq!(
        plan.status,
        200,
        "police read the plan under consent: {}",
        plan.text()
    );
    let plan = plan.json();
    let id_of = |agency: &str| {
        plan["measures"]
            .as_array()
            .expect("m")
            .iter()
            .find(|m| m["agency"] == agency)
            .expect("measure")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let police_measure = case.path(&format!("/plan/measures/{}", id_of(POLICE_AGENCY)));
    let school_measure = case.path(&format!("/plan/measures/{}", id_of(SCHOOL_AGENCY)));
    let report = send(
        &app,
        "PATCH",
        &police_measure,
        &police(&app),
        Some(&etag),
        Some(json!({"status": "ongoing", "progress_note": "Första träffen hållen"})),
    )
    .await;
    assert_eq!(report.status, 200, "{}", report.text());
    let etag = report.header("etag").expect("etag");
    let measures = report.json()["measures"].clone();
    let updated = measures
        .as_array()
        .expect("m")
        .iter()
        .find(|m| m["agency"] == POLICE_AGENCY)
        .expect("m")
        .clone();
    assert_eq!(
        (
            updated["status"].as_str(),
            updated["progress_note"].as_str()
        ),
        (Some("ongoing"), Some("Första träffen hållen"))
    );
    // Police may not change the school's measure, whatever consent says.
    send(
        &app,
        "PATCH",
        &school_measure,
        &police(&app),
        Some(&etag),
        Some(json!({"status": "done"})),
    )
    .await
    .assert_problem(403, "forbidden");
    let reported = send(
        &app,
        "PATCH",
        &school_measure,
        &school(&app),
        Some(&etag),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(reported.status, 200);
    let etag = reported.header("etag").expect("etag");
    send(
        &app,
        "PATCH",
        &school_measure,
        &school(&app),
        Some(&etag),
        Some(json!({"status": "finished"})),
    )
    .await
    .assert_problem(422, "validation_failed");
    let missing = case.path(&format!("/plan/measures/{}", uuid::Uuid::now_v7()));
    send(
        &app,
        "PATCH",
        &missing,
        &owner(&app),
        Some(&etag),
        Some(json!({"status": "done"})),
    )
    .await
    .assert_problem(404, "not_found");
    send(
        &app,
        "PATCH",
        &case.path("/plan/measures/not-a-uuid"),
        &owner(&app),
        Some(&etag),
        Some(json!({"status": "done"})),
    )
    .await
    .assert_problem(400, "bad_request");
    // Without consent for the plan, the police may neither read nor report.
    let mut body = consent_body(&app, &case, &[POLICE_AGENCY], &["identity"], -1, 30);
    body["guardians"] = json!(case.guardian_ids().iter().map(|id| json!({"guardian_id": id, "decision": "given", "method": "written", "decided_on": today(&app).to_string()})).collect::<Vec<_>>());
    assert_eq!(
        app.post_json(&case.path("/consents"), Some(&owner(&app)), &body)
            .await
            .status,
        201
    );
    app.get(&case.path("/plan"), Some(&police(&app)))
        .await
        .assert_problem(403, "consent_required");
    send(
        &app,
        "PATCH",
        &police_measure,
        &police(&app),
        Some(&etag),
        Some(json!({"status": "done"})),
    )
    .await
    .assert_problem(403, "consent_required");
    app.get(&case.path("/plan"), Some(&auditor(&app)))
        .await
        .assert_problem(403, "forbidden");
}

async fn follow_ups_are_recorded_by_the_owner(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, etag) = planned_case(&app).await;
    let body = json!({"held_on": today(&app).to_string(), "summary": "Uppföljning med familjen", "next_follow_up_on": (today(&app) + Duration::days(30)).to_string()});
    send(
        &app,
        "POST",
        &case.path("/plan/follow-ups"),
        &police(&app),
        Some(&etag),
        Some(body.clone()),
    )
    .await
    .assert_problem(403, "forbidden");
    let plan = send(
        &app,
        "POST",
        &case.path("/plan/follow-ups"),
        &owner(&app),
        Some(&etag),
        Some(body),
    )
    .await;
    assert_eq!(plan.status, 200, "{}", plan.text());
    let etag = plan.header("etag").expect("etag");
    let plan = plan.json();
    assert_eq!(plan["follow_ups"][0]["summary"], "Uppföljning med familjen");
    assert!(plan["follow_ups"][0]["id"].is_string());
    let future = json!({"held_on": (today(&app) + Duration::days(3)).to_string(), "summary": "x"});
    let response = send(
        &app,
        "POST",
        &case.path("/plan/follow-ups"),
        &owner(&app),
        Some(&etag),
        Some(future),
    )
    .await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(fields(&response), ["held_on"]);
}

async fn plan_validation_names_each_field(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let case = create_case(&app, 19).await;
    let mut late = measure(&app, POLICE_AGENCY, "Insats");
    late["due_on"] = json!((today(&app) - Duration::days(10)).to_string());
    let unknown = measure(&app, "okand", "Insats");
    let mut bad_status = measure(&app, SCHOOL_AGENCY, "");
    bad_status["status"] = json!("later");
    let mut foreign_id = measure(&app, SCHOOL_AGENCY, "Insats");
    foreign_id["id"] = json!(uuid::Uuid::now_v7().to_string());
    let body = json!({"goals": [""], "measures": [late, unknown, bad_status, foreign_id]});
    let response = send(
        &app,
        "PUT",
        &case.path("/plan"),
        &owner(&app),
        Some("\"0\""),
        Some(body),
    )
    .await;
    response.assert_problem(422, "validation_failed");
    let mut got = fields(&response);
    got.sort();
    assert_eq!(
        got,
        [
            "goals[0]",
            "measures[0].due_on",
            "measures[1].agency",
            "measures[2].description",
            "measures[2].status",
            "measures[3].id"
        ]
    );
    assert_eq!(
        app.get(&case.path("/plan"), Some(&owner(&app)))
            .await
            .json()["version"],
        0,
        "nothing changed"
    );
}

async fn of_sixteen_concurrent_writers_exactly_one_wins(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, etag) = planned_case(&app).await;
    let writers = (0..16).map(|n| {
        let app = &app;
        let path = case.path("/plan");
        let etag = etag.clone();
        let token = app.token(
            &format!("ss-{n}"),
            OWNER_AGENCY,
            &[sig_register::auth::Role::SocialSecretary],
        );
        async move {
            let body = json!({"goals": [format!("Mål från skribent {n}")], "measures": []});
            send(app, "PUT", &path, &token, Some(&etag), Some(body))
                .await
                .status
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(writers).await;
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        15,
        "{statuses:?}"
    );
    let versions = app
        .get(&case.path("/plan/versions"), Some(&owner(&app)))
        .await
        .json();
    assert_eq!(
        versions.as_array().expect("list").len(),
        2,
        "no lost or extra version"
    );
    let events = crate::audit::events(&app);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event.action == "plan.update")
            .count(),
        17,
        "every attempt audited"
    );
}

on_both_backends!(
    a_new_case_has_an_empty_draft_plan,
    plan_writes_need_the_current_etag_and_make_versions,
    agreement_needs_consent_and_content_changes_return_to_draft,
    each_agency_reports_on_its_own_measures,
    follow_ups_are_recorded_by_the_owner,
    plan_validation_names_each_field,
    of_sixteen_concurrent_writers_exactly_one_wins,
);
