//! Case and consent fixtures: valid personal numbers of a given age, and request bodies.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Value};

use sig_register::auth::Role;
use sig_register::clock::Clock;
use sig_register::domain::personal_number::luhn_digit;

use super::{Resp, TestApp};

pub const OWNER_AGENCY: &str = "socialtjanst-orebro";
pub const POLICE_AGENCY: &str = "polisen-orebro";
pub const SCHOOL_AGENCY: &str = "skola-orebro";

static SERIAL: AtomicU32 = AtomicU32::new(100);

/// A valid 12-digit personal (or coordination) number of someone `age` years old on `today`
/// (born on the 20th–23rd of a month, so never on an archive birth day).
pub fn personal_number(today: NaiveDate, age: i32, coordination: bool) -> String {
    let born = NaiveDate::from_ymd_opt(today.year() - age, today.month(), 1).expect("date")
        - Duration::days(40);
    personal_number_born(born, coordination)
}

/// A valid 12-digit personal (or coordination) number of someone born on `born`.
pub fn personal_number_born(born: NaiveDate, coordination: bool) -> String {
    let serial = SERIAL.fetch_add(1, Ordering::SeqCst) % 900 + 100;
    let day = born.day() + if coordination { 60 } else { 0 };
    let nine = format!(
        "{:02}{:02}{:02}{serial:03}",
        born.year() % 100,
        born.month(),
        day
    );
    let digits: Vec<u8> = nine.bytes().map(|b| b - b'0').collect();
    format!(
        "{:04}{:02}{:02}{serial:03}{}",
        born.year(),
        born.month(),
        day,
        luhn_digit(&digits)
    )
}

pub fn today(app: &TestApp) -> NaiveDate {
    app.clock.today()
}

pub fn owner(app: &TestApp) -> String {
    app.token("ss-anna", OWNER_AGENCY, &[Role::SocialSecretary])
}

pub fn police(app: &TestApp) -> String {
    app.token("po-per", POLICE_AGENCY, &[Role::PoliceOfficer])
}

pub fn school(app: &TestApp) -> String {
    app.token("sk-sara", SCHOOL_AGENCY, &[Role::Partner])
}

pub fn auditor(app: &TestApp) -> String {
    app.token("au-alva", OWNER_AGENCY, &[Role::Auditor])
}

pub fn case_body(app: &TestApp, age: i32) -> Value {
    case_body_on(today(app), age)
}

/// A new case's body for a young person `age` years old on `today`.
pub fn case_body_on(today: NaiveDate, age: i32) -> Value {
    let marker = SERIAL.fetch_add(1, Ordering::SeqCst);
    let guardians = if age < 18 {
        json!([{"given_name": format!("Vardnad{marker}"), "family_name": format!("Foralder{marker}"),
                "personal_number": personal_number(today, 45, false), "phone": "073-111 22 33", "has_custody": true}])
    } else {
        json!([])
    };
    json!({
        "area": "vivalla",
        "youth": {"personal_number": personal_number(today, age, false),
                  "given_name": format!("Ungdom{marker}"), "family_name": format!("Efternamn{marker}"),
                  "phone": format!("070-{marker:03} 45 67"), "address": format!("Testgatan {marker}, 703 62 Örebro")},
        "guardians": guardians,
        "referral": {"source_agency": POLICE_AGENCY, "reason": "Orosanmälan"},
    })
}

/// A created case: its view and its ETag.
pub struct Case {
    pub id: String,
    pub view: Value,
    pub body: Value,
    pub etag: String,
}

impl Case {
    pub fn path(&self, suffix: &str) -> String {
        format!("/api/v1/cases/{}{suffix}", self.id)
    }

    pub fn guardian_ids(&self) -> Vec<String> {
        self.view["guardians"]
            .as_array()
            .map(|g| {
                g.iter()
                    .map(|g| g["id"].as_str().expect("id").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn create_case_with(app: &TestApp, body: Value) -> Case {
    let response = app
        .post_json("/api/v1/cases", Some(&owner(app)), &body)
        .await;
    assert_eq!(response.status, 201, "creating a case: {}", response.text());
    let view = response.json();
    Case {
        id: view["id"].as_str().expect("id").to_owned(),
        etag: response.header("etag").expect("etag"),
        view,
        body,
    }
}

pub async fn create_case(app: &TestApp, age: i32) -> Case {
    create_case_with(app, case_body(app, age)).await
}

/// A consent body with the youth's decision and one per guardian of `case`.
pub fn consent_body(
    app: &TestApp,
    case: &Case,
    agencies: &[&str],
    categories: &[&str],
    from_offset: i64,
    days: i64,
) -> Value {
    consent_body_on(
        today(app),
        &case.guardian_ids(),
        agencies,
        categories,
        from_offset,
        days,
    )
}

/// A consent body given by the youth and every guardian in `guardian_ids`, valid from
/// `today + from_offset` for `days` days.
pub fn consent_body_on(
    today: NaiveDate,
    guardian_ids: &[String],
    agencies: &[&str],
    categories: &[&str],
    from_offset: i64,
    days: i64,
) -> Value {
    let from = today + Duration::days(from_offset);
    let decided = (today - Duration::days(1)).min(from).to_string();
    let guardians: Vec<Value> = guardian_ids
        .iter()
        .map(|id| json!({"guardian_id": id, "decision": "given", "method": "written", "decided_on": decided}))
        .collect();
    json!({
        "youth": {"decision": "given", "method": "written", "decided_on": decided},
        "guardians": guardians,
        "agencies": agencies,
        "categories": categories,
        "purpose": "sig_joint_plan",
        "valid_from": from.to_string(),
        "valid_until": (from + Duration::days(days)).to_string(),
        "evidence_ref": "form-2026-001",
    })
}

pub async fn record_consent(
    app: &TestApp,
    case: &Case,
    agencies: &[&str],
    categories: &[&str],
) -> Value {
    let response = app
        .post_json(
            &case.path("/consents"),
            Some(&owner(app)),
            &consent_body(app, case, agencies, categories, -1, 180),
        )
        .await;
    assert_eq!(
        response.status,
        201,
        "recording a consent: {}",
        response.text()
    );
    response.json()
}

pub fn fields(response: &Resp) -> Vec<String> {
    response.error_fields()
}
