//! The joint implementation plan (API.md §8): goals and measures divided among agencies,
//! immutable versions, agreement and follow-ups. Every write takes the plan's ETag in
//! `If-Match` and makes a new version; of concurrent writers with the same ETag exactly one wins.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::api::cases::if_match;
use crate::api::extract::{path_id, ApiJson};
use crate::audit::Action;
use crate::auth::Actor;
use crate::authz::Context;
use crate::clock::{rfc3339, rfc3339_naive};
use crate::error::{ApiError, FieldError, Problem};
use crate::repo::plans::{self as repo, MeasureIndexRow, PlanVersionRow};
use crate::repo::reference as reference_repo;
use crate::work::access::{self, CaseSlice};
use crate::work::{self, Unit};

const MEASURE_STATUSES: [&str; 4] = ["planned", "ongoing", "done", "cancelled"];
const MAX_GOALS: usize = 50;
const MAX_MEASURES: usize = 100;
const MAX_SHORT: usize = 200;
const MAX_LONG: usize = 4000;

/// One measure (*insats*) of the plan.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Measure {
    pub id: String,
    pub agency: String,
    pub responsible_name: String,
    pub description: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub starts_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    /// `planned`, `ongoing`, `done` or `cancelled`.
    pub status: String,
    pub progress_note: Option<String>,
    pub updated_at: String,
}

/// A follow-up meeting (*uppföljning*).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowUp {
    pub id: String,
    #[schema(value_type = String, format = Date)]
    pub held_on: NaiveDate,
    pub summary: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub next_follow_up_on: Option<NaiveDate>,
}

/// What a plan version holds (sealed at rest).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Content {
    goals: Vec<String>,
    measures: Vec<Measure>,
    follow_ups: Vec<FollowUp>,
}

/// A measure as sent in `PUT /plan`; a known `id` keeps the measure's identity.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeasureInput {
    pub id: Option<String>,
    pub agency: String,
    pub responsible_name: String,
    pub description: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub starts_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    pub status: Option<String>,
    pub progress_note: Option<String>,
}

/// The plan's goals and measures, replacing the current ones.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PlanInput {
    pub goals: Vec<String>,
    pub measures: Vec<MeasureInput>,
}

/// A progress report on one measure.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeasurePatch {
    pub status: Option<String>,
    pub progress_note: Option<String>,
}

/// A follow-up meeting held.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FollowUpInput {
    #[schema(value_type = String, format = Date)]
    pub held_on: NaiveDate,
    pub summary: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub next_follow_up_on: Option<NaiveDate>,
}

/// A plan version, opened.
struct Plan {
    case_id: String,
    version: i64,
    status: String,
    agreed_on: Option<NaiveDate>,
    content: Content,
    updated_at: Option<String>,
}

fn aad(case_id: &str, version: i64) -> String {
    format!("plan_versions.content:{case_id}:{version}")
}

fn open(unit: &Unit<'_>, row: PlanVersionRow) -> Result<Plan, ApiError> {
    let sealed = row
        .content
        .as_ref()
        .ok_or_else(|| ApiError::NotFound(crate::jobs::retention::ERASED.to_owned()))?;
    let bytes = unit
        .crypto()
        .open(sealed, &aad(&row.case_id, row.version))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let content: Content =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Plan {
        case_id: row.case_id,
        version: row.version,
        status: row.status,
        agreed_on: row.agreed_on,
        content,
        updated_at: Some(rfc3339_naive(&row.updated_at)),
    })
}

fn empty(case_id: &str) -> Plan {
    Plan {
        case_id: case_id.to_owned(),
        version: 0,
        status: "draft".to_owned(),
        agreed_on: None,
        content: Content::default(),
        updated_at: None,
    }
}

fn current(unit: &mut Unit<'_>, case_id: &str) -> Result<Plan, ApiError> {
    match repo::current(unit.conn, case_id)? {
        Some(row) => open(unit, row),
        None => Ok(empty(case_id)),
    }
}

fn view(plan: &Plan) -> Value {
    json!({
        "case_id": plan.case_id,
        "version": plan.version,
        "status": plan.status,
        "agreed_on": plan.agreed_on.map(|d| d.to_string()),
        "goals": plan.content.goals,
        "measures": plan.content.measures,
        "follow_ups": plan.content.follow_ups,
        "updated_at": plan.updated_at,
    })
}

fn respond(plan: Value) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let Some(version) = plan.get("version").and_then(Value::as_i64) {
        if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
            response.insert_header((header::ETAG, value));
        }
    }
    response.json(plan)
}

/// Loads the case and requires that the caller may read its plan.
fn readable(unit: &mut Unit<'_>, id: &str) -> Result<CaseSlice, ApiError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::CaseRead, &slice, &Context::category("plan"))?;
    unit.audit.categories = vec!["plan".to_owned()];
    Ok(slice)
}

/// Loads the case and the current plan for a write: authorised, not closed, `If-Match` current.
fn writable(
    unit: &mut Unit<'_>,
    id: &str,
    expected: Result<i64, ApiError>,
    action: Action,
    context: impl FnOnce(&Plan) -> Result<Context, ApiError>,
) -> Result<(CaseSlice, Plan), ApiError> {
    let slice = access::load(unit, id)?;
    unit.audit.categories = vec!["plan".to_owned()];
    if slice.row.erased_at.is_some() {
        unit.require(action, &slice, &Context::default())?;
        return Err(ApiError::Conflict(
            crate::jobs::retention::ERASED.to_owned(),
        ));
    }
    let plan = current(unit, id)?;
    let context = context(&plan)?;
    unit.require(action, &slice, &context)?;
    let expected = expected?;
    if expected != plan.version {
        return Err(ApiError::PreconditionFailed);
    }
    if slice.row.status == "closed" {
        return Err(ApiError::Conflict("the case is closed".to_owned()));
    }
    Ok((slice, plan))
}

/// Stores `plan` as the next version; another writer that got there first makes this a 412.
fn save(unit: &mut Unit<'_>, mut plan: Plan) -> Result<Value, ApiError> {
    plan.version += 1;
    let now = crate::audit::to_micros(unit.now);
    let bytes = serde_json::to_vec(&plan.content).map_err(|e| ApiError::Internal(e.to_string()))?;
    let content = unit
        .crypto()
        .seal(&bytes, &aad(&plan.case_id, plan.version))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let row = PlanVersionRow {
        case_id: plan.case_id.clone(),
        version: plan.version,
        status: plan.status.clone(),
        agreed_on: plan.agreed_on,
        content: Some(content),
        updated_at: now,
        updated_by_sub: unit.actor.sub.clone(),
        updated_by_agency: unit.actor.agency.clone(),
    };
    let index: Vec<MeasureIndexRow> = plan
        .content
        .measures
        .iter()
        .map(|m| MeasureIndexRow {
            case_id: plan.case_id.clone(),
            version: plan.version,
            measure_id: m.id.clone(),
            agency: m.agency.clone(),
            status: m.status.clone(),
        })
        .collect();
    match repo::insert(unit.conn, &row, &index) {
        Ok(()) => {}
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            return Err(ApiError::PreconditionFailed)
        }
        Err(other) => return Err(other.into()),
    }
    plan.updated_at = Some(rfc3339_naive(&now));
    Ok(view(&plan))
}

fn text(errors: &mut Vec<FieldError>, field: String, value: &str, max: usize) {
    let length = value.trim().chars().count();
    if length == 0 || length > max {
        errors.push(FieldError::new(
            field,
            format!("must be 1–{max} characters"),
        ));
    }
}

fn status_rule(errors: &mut Vec<FieldError>, field: String, status: &str) {
    if !MEASURE_STATUSES.contains(&status) {
        errors.push(FieldError::new(
            field,
            format!("must be one of {}", MEASURE_STATUSES.join(", ")),
        ));
    }
}

/// The case's plan (category `plan`), with its ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The current plan (version 0, draft, before the first write)", body = Object),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` or `consent_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing disclosed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}/plan")]
pub async fn read(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let plan = work::read(super::call(&req, actor)?, 200, move |unit| {
        readable(unit, &id)?;
        Ok(view(&current(unit, &id)?))
    })
    .await?;
    Ok(respond(plan))
}

/// Replaces the goals and measures (owner `social_secretary`, `If-Match`): a new draft version.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The plan's current ETag")),
    request_body = PlanInput,
    responses(
        (status = 200, description = "The new plan version, with its ETag", body = Object),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner agency's social secretary", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the current ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/cases/{id}/plan")]
pub async fn replace(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
    body: ApiJson<PlanInput>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let expected = if_match(&req);
    let input = body.into_inner();
    let plan = work::run(super::call(&req, actor)?, 200, move |unit| {
        let (_, mut plan) = writable(unit, &id, expected, Action::PlanUpdate, |_| {
            Ok(Context::default())
        })?;
        let mut errors = Vec::new();
        if input.goals.len() > MAX_GOALS {
            errors.push(FieldError::new(
                "goals",
                format!("at most {MAX_GOALS} goals"),
            ));
        }
        for (i, goal) in input.goals.iter().enumerate() {
            text(&mut errors, format!("goals[{i}]"), goal, MAX_LONG);
        }
        if input.measures.len() > MAX_MEASURES {
            errors.push(FieldError::new(
                "measures",
                format!("at most {MAX_MEASURES} measures"),
            ));
        }
        let agencies: Vec<String> = reference_repo::agencies(unit.conn)?
            .into_iter()
            .map(|a| a.slug)
            .collect();
        let now = rfc3339(&unit.now);
        let mut measures = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, m) in input.measures.iter().enumerate() {
            let field = |name: &str| format!("measures[{i}].{name}");
            if !agencies.contains(&m.agency) {
                errors.push(FieldError::new(
                    field("agency"),
                    "is not a registered agency",
                ));
            }
            text(
                &mut errors,
                field("responsible_name"),
                &m.responsible_name,
                MAX_SHORT,
            );
            text(&mut errors, field("description"), &m.description, MAX_LONG);
            if let (Some(starts), Some(due)) = (m.starts_on, m.due_on) {
                if due < starts {
                    errors.push(FieldError::new(
                        field("due_on"),
                        "must not be before starts_on",
                    ));
                }
            }
            let status = m.status.clone().unwrap_or_else(|| "planned".to_owned());
            status_rule(&mut errors, field("status"), &status);
            if m.progress_note
                .as_deref()
                .is_some_and(|n| n.chars().count() > MAX_LONG)
            {
                errors.push(FieldError::new(
                    field("progress_note"),
                    format!("must be at most {MAX_LONG} characters"),
                ));
            }
            let previous = match &m.id {
                Some(id) => match plan.content.measures.iter().find(|p| &p.id == id) {
                    Some(previous) if seen.insert(id.clone()) => Some(previous.clone()),
                    Some(_) => {
                        errors.push(FieldError::new(field("id"), "appears twice"));
                        None
                    }
                    None => {
                        errors.push(FieldError::new(
                            field("id"),
                            "is not a measure of this plan; leave it out for a new measure",
                        ));
                        None
                    }
                },
                None => None,
            };
            let measure = Measure {
                id: previous
                    .as_ref()
                    .map_or_else(|| uuid::Uuid::now_v7().to_string(), |p| p.id.clone()),
                agency: m.agency.clone(),
                responsible_name: m.responsible_name.trim().to_owned(),
                description: m.description.trim().to_owned(),
                starts_on: m.starts_on,
                due_on: m.due_on,
                status,
                progress_note: m
                    .progress_note
                    .clone()
                    .or_else(|| previous.as_ref().and_then(|p| p.progress_note.clone())),
                updated_at: now.clone(),
            };
            // An unchanged measure keeps its own timestamp.
            let measure = match previous {
                Some(p) if same_measure(&p, &measure) => p,
                _ => measure,
            };
            measures.push(measure);
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let goals: Vec<String> = input.goals.iter().map(|g| g.trim().to_owned()).collect();
        let changed = goals != plan.content.goals
            || measures.len() != plan.content.measures.len()
            || measures
                .iter()
                .zip(&plan.content.measures)
                .any(|(a, b)| !same_measure(a, b));
        if changed {
            plan.status = "draft".to_owned();
            plan.agreed_on = None;
        }
        plan.content.goals = goals;
        plan.content.measures = measures;
        save(unit, plan)
    })
    .await?;
    Ok(respond(plan))
}

fn same_measure(a: &Measure, b: &Measure) -> bool {
    (
        a.id.as_str(),
        a.agency.as_str(),
        a.responsible_name.as_str(),
        a.description.as_str(),
        a.starts_on,
        a.due_on,
        a.status.as_str(),
        &a.progress_note,
    ) == (
        b.id.as_str(),
        b.agency.as_str(),
        b.responsible_name.as_str(),
        b.description.as_str(),
        b.starts_on,
        b.due_on,
        b.status.as_str(),
        &b.progress_note,
    )
}

/// Agrees the plan (owner, `If-Match`); needs an active consent.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The plan's current ETag")),
    responses(
        (status = 200, description = "The agreed plan, with its new ETag", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner agency's social secretary", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No active consent, nothing drafted yet, already agreed, or the case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the current ETag", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/cases/{id}/plan/agree")]
pub async fn agree(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let expected = if_match(&req);
    let plan = work::run(super::call(&req, actor)?, 200, move |unit| {
        let (slice, mut plan) = writable(unit, &id, expected, Action::PlanAgree, |_| {
            Ok(Context::default())
        })?;
        let Some(consent) = slice.active_consent() else {
            return Err(ApiError::Conflict(
                "a plan is agreed only under an active consent".to_owned(),
            ));
        };
        unit.audit.consent_id = Some(consent.row.id.clone());
        if plan.version == 0 {
            return Err(ApiError::Conflict(
                "there is no drafted plan to agree yet".to_owned(),
            ));
        }
        if plan.status == "agreed" {
            return Err(ApiError::Conflict(
                "this version of the plan is already agreed".to_owned(),
            ));
        }
        plan.status = "agreed".to_owned();
        plan.agreed_on = Some(unit.today());
        save(unit, plan)
    })
    .await?;
    Ok(respond(plan))
}

/// Reports on one measure: the owner, or the measure's own agency under a consent covering
/// that agency and `plan` (`If-Match`).
#[utoipa::path(
    tag = "plans",
    params(
        ("id" = String, Path, description = "Case id"),
        ("measure_id" = String, Path, description = "Measure id"),
        ("If-Match" = String, Header, description = "The plan's current ETag"),
    ),
    request_body = MeasurePatch,
    responses(
        (status = 200, description = "The plan, with its new ETag", body = Object),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` (another agency's measure) or `consent_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or measure", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the current ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/cases/{id}/plan/measures/{measure_id}")]
pub async fn update_measure(
    req: HttpRequest,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: ApiJson<MeasurePatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, measure_id) = path.into_inner();
    let id = path_id(&id, "case")?;
    let measure_id = path_id(&measure_id, "measure")?;
    let expected = if_match(&req);
    let input = body.into_inner();
    let plan = work::run(super::call(&req, actor)?, 200, move |unit| {
        let target = measure_id.clone();
        let (_, mut plan) = writable(unit, &id, expected, Action::PlanMeasureUpdate, |plan| {
            let measure = plan
                .content
                .measures
                .iter()
                .find(|m| m.id == target)
                .ok_or_else(|| {
                    ApiError::NotFound("there is no such measure in the plan".to_owned())
                })?;
            Ok(Context {
                measure_agency: Some(measure.agency.clone()),
                ..Context::default()
            })
        })?;
        let mut errors = Vec::new();
        if let Some(status) = &input.status {
            status_rule(&mut errors, "status".to_owned(), status);
        }
        if input
            .progress_note
            .as_deref()
            .is_some_and(|n| n.chars().count() > MAX_LONG)
        {
            errors.push(FieldError::new(
                "progress_note",
                format!("must be at most {MAX_LONG} characters"),
            ));
        }
        if input.status.is_none() && input.progress_note.is_none() {
            errors.push(FieldError::new(
                "status",
                "send a status, a progress_note or both",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let now = rfc3339(&unit.now);
        if let Some(measure) = plan
            .content
            .measures
            .iter_mut()
            .find(|m| m.id == measure_id)
        {
            if let Some(status) = input.status {
                measure.status = status;
            }
            if let Some(note) = input.progress_note {
                measure.progress_note = Some(note.trim().to_owned());
            }
            measure.updated_at = now;
        }
        save(unit, plan)
    })
    .await?;
    Ok(respond(plan))
}

/// Records a follow-up meeting (owner, `If-Match`).
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The plan's current ETag")),
    request_body = FollowUpInput,
    responses(
        (status = 200, description = "The plan, with its new ETag", body = Object),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner agency's social secretary", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the current ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/cases/{id}/plan/follow-ups")]
pub async fn follow_up(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
    body: ApiJson<FollowUpInput>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let expected = if_match(&req);
    let input = body.into_inner();
    let plan = work::run(super::call(&req, actor)?, 200, move |unit| {
        let (_, mut plan) = writable(unit, &id, expected, Action::PlanFollowUpCreate, |_| {
            Ok(Context::default())
        })?;
        let mut errors = Vec::new();
        if input.held_on > unit.today() {
            errors.push(FieldError::new("held_on", "must not be in the future"));
        }
        text(&mut errors, "summary".to_owned(), &input.summary, MAX_LONG);
        if input
            .next_follow_up_on
            .is_some_and(|next| next < input.held_on)
        {
            errors.push(FieldError::new(
                "next_follow_up_on",
                "must not be before held_on",
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        plan.content.follow_ups.push(FollowUp {
            id: uuid::Uuid::now_v7().to_string(),
            held_on: input.held_on,
            summary: input.summary.trim().to_owned(),
            next_follow_up_on: input.next_follow_up_on,
        });
        save(unit, plan)
    })
    .await?;
    Ok(respond(plan))
}

/// Every version of the plan, oldest first.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "`[{version, status, updated_at, updated_by_agency}]`", body = Object),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` or `consent_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}/plan/versions")]
pub async fn list_versions(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let list = work::read(super::call(&req, actor)?, 200, move |unit| {
        readable(unit, &id)?;
        Ok(repo::versions(unit.conn, &id)?
            .into_iter()
            .map(|v| {
                json!({
                    "version": v.version,
                    "status": v.status,
                    "updated_at": rfc3339_naive(&v.updated_at),
                    "updated_by_agency": v.updated_by_agency,
                })
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One version of the plan (version 0 is the empty plan every case starts with).
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("version" = i64, Path, description = "Version number")),
    responses(
        (status = 200, description = "That version of the plan", body = Object),
        (status = 400, description = "The id or version is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` or `consent_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or version", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}/plan/versions/{version}")]
pub async fn read_version(
    req: HttpRequest,
    actor: Actor,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, number) = path.into_inner();
    let id = path_id(&id, "case")?;
    let plan = work::read(super::call(&req, actor)?, 200, move |unit| {
        readable(unit, &id)?;
        if number == 0 {
            return Ok(view(&empty(&id)));
        }
        let row = repo::version(unit.conn, &id, number)?
            .ok_or_else(|| ApiError::NotFound("there is no such version of the plan".to_owned()))?;
        Ok(view(&open(unit, row)?))
    })
    .await?;
    Ok(respond(plan))
}
