//! API.md §11: per-area statistics with every count from 1 to 4 withheld.

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::fixtures::*;
use crate::support::{Backend, TestApp};

fn area<'a>(stats: &'a Value, slug: &str) -> &'a Value {
    stats["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["area"] == slug)
        .expect("area listed")
}

async fn statistics_withhold_small_counts_and_name_no_case(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut vivalla = Vec::new();
    for _ in 0..6 {
        vivalla.push(create_case(&app, 19).await);
    }
    for case in &vivalla[..5] {
        record_consent(&app, case, &[POLICE_AGENCY], &["plan"]).await;
    }
    let mut refused = consent_body(&app, &vivalla[5], &[POLICE_AGENCY], &["plan"], -1, 30);
    refused["youth"]["decision"] = json!("refused");
    assert_eq!(
        app.post_json(&vivalla[5].path("/consents"), Some(&owner(&app)), &refused)
            .await
            .status,
        201
    );
    let plan = json!({"goals": ["Mål"], "measures": [{"agency": POLICE_AGENCY, "responsible_name": "P", "description": "Insats"}]});
    let put = actix_web::test::TestRequest::put()
        .uri(&vivalla[0].path("/plan"))
        .insert_header(("Authorization", format!("Bearer {}", owner(&app))))
        .insert_header(("If-Match", "\"0\""))
        .set_json(plan);
    assert_eq!(app.call(put).await.status, 200);
    for _ in 0..2 {
        let mut body = case_body(&app, 19);
        body["area"] = json!("varberga");
        create_case_with(&app, body).await;
    }

    let before = crate::audit::events(&app).len();
    let response = app.get("/api/v1/stats", Some(&police(&app))).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let stats = response.json();
    let slugs: Vec<&str> = stats["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .map(|a| a["area"].as_str().expect("slug"))
        .collect();
    assert_eq!(slugs.len(), 5, "every area, also the empty ones");

    let v = area(&stats, "vivalla");
    assert_eq!(v["cases"], json!({"open": 6, "active": 0, "closed": 0}));
    assert_eq!(v["consents"]["active"], 5);
    assert!(
        v["consents"]["refused"].is_null(),
        "1 refused consent is withheld"
    );
    assert_eq!(
        v["measures"],
        json!([{"agency": POLICE_AGENCY, "status": "planned", "count": null}])
    );
    assert_eq!(v["suppressed"], true);
    let w = area(&stats, "varberga");
    assert!(w["cases"]["open"].is_null());
    assert_eq!(w["suppressed"], true);
    let o = area(&stats, "oxhagen");
    assert_eq!(o["cases"], json!({"open": 0, "active": 0, "closed": 0}));
    assert_eq!(o["suppressed"], false);
    for a in stats["areas"].as_array().expect("areas") {
        let mut keys: Vec<&String> = a.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["area", "cases", "consents", "measures", "suppressed"],
            "no totals or margins"
        );
    }

    let events = crate::audit::events(&app);
    assert_eq!(events.len(), before + 1);
    let event = events.last().expect("event");
    assert_eq!(
        (event.event.action.as_str(), event.event.outcome.as_str()),
        ("stats.read", "allowed")
    );
    assert!(event.event.case_ids.is_empty(), "statistics name no case");
    for token in [auditor(&app), app.admin(), school(&app), owner(&app)] {
        assert_eq!(app.get("/api/v1/stats", Some(&token)).await.status, 200);
    }
    app.get("/api/v1/stats", None)
        .await
        .assert_problem(401, "unauthenticated");
}

on_both_backends!(statistics_withhold_small_counts_and_name_no_case);
