//! Notes (API.md §9), who can read a case now (§7) and the access-log extract (§10).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::api::extract::{path_id, ApiJson};
use crate::audit::{query, Action};
use crate::auth::{Actor, Role};
use crate::authz::{AgencyFacts, Context};
use crate::clock::{rfc3339, rfc3339_naive};
use crate::domain::consent::{note_category, CATEGORIES};
use crate::error::{ApiError, Problem};
use crate::repo::cases::{self as repo, NoteRow};
use crate::repo::reference as reference_repo;
use crate::work::access;
use crate::work::{self, Unit};

pub const MAX_NOTE_CHARS: usize = 20_000;

/// A new note.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewNote {
    /// At most 20,000 characters.
    pub text: String,
}

fn note_view(unit: &Unit<'_>, note: &NoteRow) -> Result<Value, ApiError> {
    let text = unit
        .crypto()
        .open_str(&note.text, &format!("notes.text:{}", note.id))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json!({
        "id": note.id,
        "case_id": note.case_id,
        "category": note.category,
        "agency": note.agency,
        "author_name": note.author_name,
        "created_at": rfc3339_naive(&note.created_at),
        "text": text,
    }))
}

/// Writes a note; its category follows the author's agency kind.
#[utoipa::path(
    tag = "notes",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewNote,
    responses(
        (status = 201, description = "The note", body = Object),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` or `consent_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or over 20,000 characters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/cases/{id}/notes")]
pub async fn create(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
    body: ApiJson<NewNote>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let input = body.into_inner();
    let view = work::run(super::call(&req, actor)?, 201, move |unit| {
        let slice = access::load(unit, &id)?;
        unit.require(Action::NoteCreate, &slice, &Context::default())?;
        crate::jobs::retention::refuse_changes(&slice.row)?;
        let length = input.text.chars().count();
        if input.text.trim().is_empty() || length > MAX_NOTE_CHARS {
            return Err(ApiError::validation(
                "text",
                format!("must be 1–{MAX_NOTE_CHARS} characters (is {length})"),
            ));
        }
        let category = note_category(&unit.agency.kind);
        let note_id = uuid::Uuid::now_v7().to_string();
        let note = NoteRow {
            id: note_id.clone(),
            case_id: id.clone(),
            category: category.to_owned(),
            agency: unit.actor.agency.clone(),
            author_sub: unit.actor.sub.clone(),
            author_name: unit.actor.name.clone(),
            created_at: crate::audit::to_micros(unit.now),
            text: unit
                .crypto()
                .seal_str(&input.text, &format!("notes.text:{note_id}"))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        };
        repo::insert_note(unit.conn, &note)?;
        unit.audit.categories = vec![category.to_owned()];
        note_view(unit, &note)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The notes the caller may read (API.md §7), newest first.
#[utoipa::path(
    tag = "notes",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "`{items: [note]}`", body = Object),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` or `consent_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing disclosed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}/notes")]
pub async fn list(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let items = work::read(super::call(&req, actor)?, 200, move |unit| {
        let slice = access::load(unit, &id)?;
        // May the caller read the notes of this case at all (their own agency's, at least)?
        let own = note_category(&unit.agency.kind);
        unit.require(
            Action::NoteRead,
            &slice,
            &Context {
                category: Some(own.to_owned()),
                own_agency: Some(true),
                ..Context::default()
            },
        )?;
        let mut items = Vec::new();
        let mut categories = std::collections::BTreeSet::new();
        for note in repo::notes_of(unit.conn, &id)? {
            let context = Context {
                category: Some(note.category.clone()),
                own_agency: Some(note.agency == unit.actor.agency),
                ..Context::default()
            };
            if unit.allows(Action::NoteRead, &slice, &context) {
                categories.insert(note.category.clone());
                items.push(note_view(unit, &note)?);
            }
        }
        unit.audit.categories = categories.into_iter().collect();
        Ok(items)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// The role a member of an agency of `kind` reads cases in.
fn reading_role(kind: &str) -> Role {
    match kind {
        "social_services" => Role::SocialSecretary,
        "police" => Role::PoliceOfficer,
        _ => Role::Partner,
    }
}

/// Who can read the case now, and on what basis — asked of the same policy set.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "`{case_id, evaluated_at, grants: [{agency, kind, categories, basis, consent_id, valid_until}]}`", body = Object),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither the owner's social secretary nor an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}/access")]
pub async fn access_explained(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let body = work::read(super::call(&req, actor)?, 200, move |unit| {
        let slice = access::load(unit, &id)?;
        unit.require(Action::AccessRead, &slice, &Context::default())?;
        let resource = slice.resource();
        let consent = slice.active_consent();
        let mut grants = Vec::new();
        for agency in reference_repo::agencies(unit.conn)? {
            let member = Actor {
                sub: format!("any-member-of:{}", agency.slug),
                name: String::new(),
                agency: agency.slug.clone(),
                roles: [reading_role(&agency.kind)].into_iter().collect(),
            };
            let facts = AgencyFacts { slug: agency.slug.clone(), kind: agency.kind.clone() };
            let categories: Vec<&str> = CATEGORIES
                .into_iter()
                .filter(|c| {
                    unit.policies()
                        .decide_in(&member, &facts, Action::CaseRead.as_str(), &resource, &Context::category(c))
                        .allowed
                })
                .collect();
            if categories.is_empty() {
                continue;
            }
            let owner = agency.slug == slice.row.owner_agency;
            grants.push(json!({
                "agency": agency.slug,
                "kind": agency.kind,
                "categories": categories,
                "basis": if owner { "owner" } else { "consent" },
                "consent_id": if owner { None } else { consent.map(|c| c.row.id.clone()) },
                "valid_until": if owner { None } else { consent.map(|c| c.row.valid_until.to_string()) },
            }));
        }
        Ok(json!({
            "case_id": id,
            "evaluated_at": rfc3339(&unit.now),
            "grants": grants,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The register extract for the young person and family: who saw or changed their data.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "`{case_id, items: [{at, agency, role, action, outcome}]}`", body = Object),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither the owner's social secretary nor an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}/access-log")]
pub async fn access_log(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let body = work::read(super::call(&req, actor)?, 200, move |unit| {
        let slice = access::load(unit, &id)?;
        unit.require(Action::AccessLogRead, &slice, &Context::default())?;
        // The extract discloses who accessed the case, not the case's data.
        unit.audit.case_ids.clear();
        let items: Vec<Value> = query::access_log(unit.conn, &id)?
            .into_iter()
            .map(|entry| {
                json!({
                    "at": rfc3339_naive(&entry.at),
                    "agency": entry.agency,
                    "role": entry.roles,
                    "action": entry.action,
                    "outcome": entry.outcome,
                })
            })
            .collect();
        Ok(json!({ "case_id": id, "items": items }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
