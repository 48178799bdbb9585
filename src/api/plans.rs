//! The joint implementation plan (API.md §8): thin handlers over [`crate::usecase::plans`].
//! Every write takes the plan's ETag in `If-Match`.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};

use super::extract::{path_id, ApiJson, CaseId};
use super::{call, if_match, versioned};
use crate::auth::Actor;
use crate::error::UseCaseError;
use crate::usecase::plans::{
    self, FollowUpInput, MeasurePatch, PlanInput, PlanVersionSummary, PlanView,
};
use crate::work;

/// The case's plan (category `plan`), with its ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The current plan (version 0, draft, before the first write)", body = PlanView))
)]
#[get("/cases/{id}/plan")]
pub async fn read(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let plan = work::read(call(&req, actor)?, 200, move |unit| plans::read(unit, &id)).await?;
    Ok(versioned(StatusCode::OK, &plan))
}

/// Replaces the goals and measures (owner `social_secretary`, `If-Match`): a new draft version.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The plan's current ETag")),
    request_body = PlanInput,
    responses((status = 200, description = "The new plan version, with its ETag", body = PlanView))
)]
#[put("/cases/{id}/plan")]
pub async fn replace(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<PlanInput>,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let (expected, input) = (if_match(&req), body.into_inner());
    let plan = work::run(call(&req, actor)?, 200, move |unit| {
        plans::replace(unit, &id, expected, input)
    })
    .await?;
    Ok(versioned(StatusCode::OK, &plan))
}

/// Agrees the plan (owner, `If-Match`); needs an active consent.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The plan's current ETag")),
    responses((status = 200, description = "The agreed plan, with its new ETag", body = PlanView))
)]
#[post("/cases/{id}/plan/agree")]
pub async fn agree(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let (id, expected) = (id.0, if_match(&req));
    let plan = work::run(call(&req, actor)?, 200, move |unit| {
        plans::agree(unit, &id, expected)
    })
    .await?;
    Ok(versioned(StatusCode::OK, &plan))
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
    responses((status = 200, description = "The plan, with its new ETag", body = PlanView))
)]
#[patch("/cases/{id}/plan/measures/{measure_id}")]
pub async fn update_measure(
    req: HttpRequest,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: ApiJson<MeasurePatch>,
) -> Result<HttpResponse, UseCaseError> {
    let (id, measure_id) = path.into_inner();
    let (id, measure_id) = (path_id(&id, "case")?, path_id(&measure_id, "measure")?);
    let (expected, input) = (if_match(&req), body.into_inner());
    let plan = work::run(call(&req, actor)?, 200, move |unit| {
        plans::update_measure(unit, &id, &measure_id, expected, input)
    })
    .await?;
    Ok(versioned(StatusCode::OK, &plan))
}

/// Records a follow-up meeting (owner, `If-Match`).
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The plan's current ETag")),
    request_body = FollowUpInput,
    responses((status = 200, description = "The plan, with its new ETag", body = PlanView))
)]
#[post("/cases/{id}/plan/follow-ups")]
pub async fn follow_up(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<FollowUpInput>,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let (expected, input) = (if_match(&req), body.into_inner());
    let plan = work::run(call(&req, actor)?, 200, move |unit| {
        plans::follow_up(unit, &id, expected, input)
    })
    .await?;
    Ok(versioned(StatusCode::OK, &plan))
}

/// Every version of the plan, oldest first.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The plan's versions", body = Vec<PlanVersionSummary>))
)]
#[get("/cases/{id}/plan/versions")]
pub async fn list_versions(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let list = work::read(call(&req, actor)?, 200, move |unit| {
        plans::versions(unit, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One version of the plan (version 0 is the empty plan every case starts with).
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("version" = i64, Path, description = "Version number")),
    responses((status = 200, description = "That version of the plan", body = PlanView))
)]
#[get("/cases/{id}/plan/versions/{version}")]
pub async fn read_version(
    req: HttpRequest,
    actor: Actor,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, UseCaseError> {
    let (id, number) = path.into_inner();
    let id = path_id(&id, "case")?;
    let plan = work::read(call(&req, actor)?, 200, move |unit| {
        plans::version(unit, &id, number)
    })
    .await?;
    Ok(versioned(StatusCode::OK, &plan))
}
