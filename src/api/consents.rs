//! Consent (API.md §6): recorded, listed and revoked by the owner agency's social secretaries.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::api::extract::{path_id, ApiJson};
use crate::audit::Action;
use crate::auth::Actor;
use crate::authz::Context;
use crate::clock::rfc3339_naive;
use crate::domain::consent::{
    self, ConsentInput, ConsentState, Decision, GuardianFacts, Method, PartyInput,
};
use crate::domain::personal_number;
use crate::error::{ApiError, FieldError, Problem};
use crate::repo::cases::{self as repo, Consent, ConsentRow, PartyRow};
use crate::repo::reference as reference_repo;
use crate::work::access::{self, CaseSlice};
use crate::work::{self, Unit};

/// One party's decision.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PartyDecision {
    /// For guardians: the guardian's id from the case view.
    pub guardian_id: Option<String>,
    pub decision: Decision,
    pub method: Method,
    #[schema(value_type = String, format = Date)]
    pub decided_on: NaiveDate,
}

/// A consent as recorded from the signed (or documented oral) form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConsent {
    pub youth: Option<PartyDecision>,
    #[serde(default)]
    pub guardians: Vec<PartyDecision>,
    pub agencies: Vec<String>,
    pub categories: Vec<String>,
    pub purpose: String,
    #[schema(value_type = String, format = Date)]
    pub valid_from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
    pub evidence_ref: String,
}

/// Who revokes, and why.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Revocation {
    /// `youth` or `guardian`.
    pub party: String,
    pub guardian_id: Option<String>,
    pub reason: Option<String>,
}

fn method_str(method: Method) -> &'static str {
    match method {
        Method::Written => "written",
        Method::Oral => "oral",
    }
}

fn decision_str(decision: Decision) -> &'static str {
    match decision {
        Decision::Given => "given",
        Decision::Refused => "refused",
    }
}

/// The consent as API.md §6 shows it.
pub fn consent_view(consent: &Consent, today: NaiveDate) -> Value {
    let row = &consent.row;
    let at = rfc3339_naive;
    json!({
        "id": row.id,
        "case_id": row.case_id,
        "state": access::consent_state(consent, today).as_str(),
        "parties": consent.parties.iter().map(|p| json!({
            "party": p.party,
            "guardian_id": p.guardian_id,
            "decision": p.decision,
            "method": p.method,
            "decided_on": p.decided_on.to_string(),
            "required": p.required,
        })).collect::<Vec<_>>(),
        "agencies": consent.agencies,
        "categories": consent.categories,
        "purpose": row.purpose,
        "valid_from": row.valid_from.to_string(),
        "valid_until": row.valid_until.to_string(),
        "evidence_ref": row.evidence_ref,
        "recorded_by": {"sub": row.recorded_by_sub, "name": row.recorded_by_name},
        "recorded_at": at(&row.recorded_at),
        "revoked_at": row.revoked_at.as_ref().map(at),
        "revoked_by": row.revoked_by_party.as_ref().map(|party| json!({"party": party, "guardian_id": row.revoked_guardian_id})),
    })
}

/// Records a consent; it supersedes the case's earlier consents.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewConsent,
    responses(
        (status = 201, description = "The recorded consent", body = Object),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner agency's social secretary", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rule is broken (a missing decision names the party)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/cases/{id}/consents")]
pub async fn create(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
    body: ApiJson<NewConsent>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let input = body.into_inner();
    let view = work::run(super::call(&req, actor)?, 201, move |unit| {
        let slice = access::load(unit, &id)?;
        unit.require(Action::ConsentCreate, &slice, &Context::default())?;
        record(unit, &slice, input)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

fn record(unit: &mut Unit<'_>, slice: &CaseSlice, input: NewConsent) -> Result<Value, ApiError> {
    if slice.row.status == "closed" {
        return Err(ApiError::Conflict("the case is closed".to_owned()));
    }
    let today = unit.today();
    let case_id = slice.row.id.clone();
    let sealed = slice
        .row
        .youth_personal_number
        .as_ref()
        .ok_or_else(|| ApiError::Conflict(crate::jobs::retention::ERASED.to_owned()))?;
    let number = unit
        .crypto()
        .open_str(sealed, &format!("cases.youth_personal_number:{case_id}"))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let birth = personal_number::parse(&number, today)
        .map(|n| n.birth_date)
        .map_err(|_| ApiError::Internal("a stored personal number does not parse".to_owned()))?;
    let guardians: Vec<GuardianFacts> = repo::guardians_of(unit.conn, &case_id)?
        .into_iter()
        .map(|g| GuardianFacts {
            id: g.id,
            has_custody: g.has_custody,
        })
        .collect();
    let to_input = |p: &PartyDecision| PartyInput {
        guardian_id: p.guardian_id.clone(),
        decision: p.decision,
        decided_on: p.decided_on,
    };
    let youth = input.youth.as_ref().map(to_input);
    let parties: Vec<PartyInput> = input.guardians.iter().map(to_input).collect();
    let known: Vec<String> = reference_repo::agencies(unit.conn)?
        .into_iter()
        .map(|a| a.slug)
        .collect();
    let checked = ConsentInput {
        youth: youth.as_ref(),
        guardians: parties.iter().collect(),
        agencies: &input.agencies,
        categories: &input.categories,
        purpose: &input.purpose,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        evidence_ref: &input.evidence_ref,
    };
    let errors: Vec<FieldError> = consent::validate(&checked, &guardians, birth, today, &|slug| {
        known.iter().any(|k| k == slug)
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let required = consent::required_guardians(&guardians, birth, input.valid_from);
    let consent_id = uuid::Uuid::now_v7().to_string();
    let mut party_rows = Vec::new();
    if let Some(youth) = &input.youth {
        party_rows.push(PartyRow {
            consent_id: consent_id.clone(),
            position: 0,
            party: "youth".to_owned(),
            required: true,
            guardian_id: None,
            decision: decision_str(youth.decision).to_owned(),
            method: method_str(youth.method).to_owned(),
            decided_on: youth.decided_on,
        });
    }
    for (index, g) in input.guardians.iter().enumerate() {
        party_rows.push(PartyRow {
            consent_id: consent_id.clone(),
            position: i32::try_from(index + 1).unwrap_or(i32::MAX),
            party: "guardian".to_owned(),
            required: g
                .guardian_id
                .as_ref()
                .is_some_and(|id| required.contains(id)),
            guardian_id: g.guardian_id.clone(),
            decision: decision_str(g.decision).to_owned(),
            method: method_str(g.method).to_owned(),
            decided_on: g.decided_on,
        });
    }
    let mut agencies = input.agencies.clone();
    agencies.sort();
    agencies.dedup();
    let mut categories = input.categories.clone();
    categories.sort();
    categories.dedup();
    let consent = Consent {
        row: ConsentRow {
            id: consent_id.clone(),
            case_id: case_id.clone(),
            purpose: input.purpose.trim().to_owned(),
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            evidence_ref: input.evidence_ref.trim().to_owned(),
            recorded_by_sub: unit.actor.sub.clone(),
            recorded_by_name: unit.actor.name.clone(),
            recorded_at: crate::audit::to_micros(unit.now),
            superseded_at: None,
            revoked_at: None,
            revoked_by_party: None,
            revoked_guardian_id: None,
            revoke_reason: None,
        },
        parties: party_rows,
        agencies,
        categories,
    };
    repo::insert_consent(unit.conn, &consent)?;
    unit.audit.consent_id = Some(consent_id);
    Ok(consent_view(&consent, today))
}

/// Every consent of the case, newest first, with its state and parties.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "`{items: [consent]}`", body = Object),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner agency's social secretary", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}/consents")]
pub async fn list(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let items = work::read(super::call(&req, actor)?, 200, move |unit| {
        let slice = access::load(unit, &id)?;
        unit.require(Action::ConsentList, &slice, &Context::default())?;
        let today = unit.today();
        Ok(repo::consents_of(unit.conn, &id)?
            .iter()
            .map(|c| consent_view(c, today))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Revokes a consent: any one required party may; it takes effect for the next request.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id"), ("consent_id" = String, Path, description = "Consent id")),
    request_body = Revocation,
    responses(
        (status = 200, description = "The consent, now `revoked`", body = Object),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner agency's social secretary", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or consent", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The consent is neither active nor scheduled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The party is not a required party of this consent", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/cases/{id}/consents/{consent_id}/revoke")]
pub async fn revoke(
    req: HttpRequest,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: ApiJson<Revocation>,
) -> Result<HttpResponse, ApiError> {
    let (id, consent_id) = path.into_inner();
    let id = path_id(&id, "case")?;
    let consent_id = path_id(&consent_id, "consent")?;
    let input = body.into_inner();
    let view = work::run(super::call(&req, actor)?, 200, move |unit| {
        let slice = access::load(unit, &id)?;
        unit.require(Action::ConsentRevoke, &slice, &Context::default())?;
        unit.audit.consent_id = Some(consent_id.clone());
        let consent = repo::find_consent(unit.conn, &id, &consent_id)?
            .ok_or_else(|| ApiError::NotFound("there is no such consent for this case".to_owned()))?;
        let today = unit.today();
        let state = access::consent_state(&consent, today);
        if !matches!(state, ConsentState::Active | ConsentState::Scheduled) {
            return Err(ApiError::Conflict(format!("the consent is {}; only an active or scheduled consent can be revoked", state.as_str())));
        }
        let party_ok = match input.party.as_str() {
            "youth" => true,
            "guardian" => input.guardian_id.as_ref().is_some_and(|gid| {
                consent.parties.iter().any(|p| p.required && p.guardian_id.as_ref() == Some(gid))
            }),
            _ => false,
        };
        if !party_ok {
            return Err(ApiError::validation(
                if input.party == "guardian" { "guardian_id" } else { "party" },
                "must name a party whose decision this consent required (youth, or a guardian with custody)",
            ));
        }
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| unit.crypto().seal_str(r, &format!("consents.revoke_reason:{consent_id}")))
            .transpose()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let guardian = if input.party == "guardian" { input.guardian_id.as_deref() } else { None };
        repo::revoke_consent(unit.conn, &consent_id, crate::audit::to_micros(unit.now), &input.party, guardian, reason)?;
        let consent = repo::find_consent(unit.conn, &id, &consent_id)?
            .ok_or_else(|| ApiError::Internal("the revoked consent vanished".to_owned()))?;
        Ok(consent_view(&consent, today))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
