//! Closed means closed: once a case is closed, only its owner agency (and the auditors'
//! explanations and extracts) see it, whatever a consent still within its validity says; notes
//! on a closed case are refused; `/access` says why the consented agencies lost access.

use serde_json::json;

use crate::on_both_backends;
use crate::plans::{planned_case, send};
use crate::support::fixtures::*;
use crate::support::{Backend, TestApp};

async fn a_closed_case_stays_with_its_owner(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, _) = planned_case(&app).await;
    let police = police(&app);
    let owner = owner(&app);
    let note = app
        .post_json(
            &case.path("/notes"),
            Some(&police),
            &json!({"text": "Polisens anteckning"}),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.text());
    let plan = send(&app, "GET", &case.path("/plan"), &police, None, None).await;
    assert_eq!(
        plan.status, 200,
        "the consent shares the plan while the case is open"
    );
    let plan_etag = plan.header("etag").expect("etag");
    let measure = plan.json()["measures"]
        .as_array()
        .expect("measures")
        .iter()
        .find(|m| m["agency"] == POLICE_AGENCY)
        .expect("the police measure")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.get(&case.path(""), Some(&police)).await.status, 200);

    let etag = send(&app, "GET", &case.path(""), &owner, None, None)
        .await
        .header("etag")
        .expect("etag");
    let closed = send(
        &app,
        "PATCH",
        &case.path(""),
        &owner,
        Some(&etag),
        Some(json!({"status": "closed", "closure_reason": "Målen uppnådda"})),
    )
    .await;
    assert_eq!(closed.status, 200, "{}", closed.text());

    // The consent is still active, and still shares nothing.
    for path in [case.path(""), case.path("/plan"), case.path("/notes")] {
        let response = app.get(&path, Some(&police)).await;
        let problem = response.assert_problem(403, "forbidden");
        assert!(
            problem["detail"].as_str().unwrap_or("").contains("closed"),
            "{path}: {problem}"
        );
    }
    let listed = app
        .get("/api/v1/cases?limit=200", Some(&police))
        .await
        .json();
    assert!(
        !listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["id"] == case.id.as_str()),
        "a closed case is not listed to a consented agency"
    );
    let refused = app
        .post_json(
            &case.path("/notes"),
            Some(&police),
            &json!({"text": "Till"}),
        )
        .await;
    refused.assert_problem(403, "forbidden");
    let refused = send(
        &app,
        "PATCH",
        &case.path(&format!("/plan/measures/{measure}")),
        &police,
        Some(&plan_etag),
        Some(json!({"status": "done"})),
    )
    .await;
    refused.assert_problem(403, "forbidden");

    // The owner still reads all of it, and adds no notes.
    assert_eq!(app.get(&case.path(""), Some(&owner)).await.status, 200);
    assert_eq!(
        app.get(&case.path("/notes"), Some(&owner)).await.status,
        200
    );
    let refused = app
        .post_json(
            &case.path("/notes"),
            Some(&owner),
            &json!({"text": "Efteråt"}),
        )
        .await;
    refused.assert_problem(409, "conflict");

    // /access says who lost access and why; the auditor may ask too.
    for token in [owner.clone(), auditor(&app)] {
        let access = app.get(&case.path("/access"), Some(&token)).await;
        assert_eq!(access.status, 200, "{}", access.text());
        let access = access.json();
        let granted: Vec<&str> = access["grants"]
            .as_array()
            .expect("grants")
            .iter()
            .map(|g| g["agency"].as_str().expect("agency"))
            .collect();
        assert_eq!(granted, [OWNER_AGENCY]);
        let mut withheld: Vec<(String, String)> = access["withheld"]
            .as_array()
            .expect("withheld")
            .iter()
            .map(|w| {
                (
                    w["agency"].as_str().expect("agency").to_owned(),
                    w["reason"].as_str().expect("reason").to_owned(),
                )
            })
            .collect();
        withheld.sort();
        assert_eq!(
            withheld,
            [
                (POLICE_AGENCY.to_owned(), "case_closed".to_owned()),
                (SCHOOL_AGENCY.to_owned(), "case_closed".to_owned())
            ]
        );
    }

    // The pages say the same, in Swedish.
    let (cookie, _) =
        crate::web::login(&app, "po-per", "Per+Polis", POLICE_AGENCY, "police_officer").await;
    let refused = crate::web::page(&app, &format!("/arenden/{}", case.id), &cookie).await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.text().contains("Ärendet är avslutat"),
        "{}",
        refused.text()
    );
    let (cookie, _) =
        crate::web::login(&app, "ss-anna", "Anna", OWNER_AGENCY, "social_secretary").await;
    let own = crate::web::page(&app, &format!("/arenden/{}", case.id), &cookie).await;
    assert_eq!(own.status, 200);
    assert!(own
        .text()
        .contains("Ärendet är avslutat. Bara den ägande socialtjänsten"));
    let access = crate::web::page(&app, &format!("/arenden/{}/atkomst", case.id), &cookie).await;
    assert_eq!(access.status, 200);
    let text = access.text();
    assert!(
        text.contains("Har inte längre tillgång") && text.contains("Polisen"),
        "{text}"
    );
}

/// An open case shares what its consent covers and withholds nothing.
async fn an_open_case_withholds_nothing(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let (case, _) = planned_case(&app).await;
    let access = app
        .get(&case.path("/access"), Some(&owner(&app)))
        .await
        .json();
    assert_eq!(access["withheld"], json!([]));
    assert_eq!(access["grants"].as_array().map(Vec::len), Some(3));
}

on_both_backends!(
    a_closed_case_stays_with_its_owner,
    an_open_case_withholds_nothing
);
