//! The joint implementation plan (API.md §8): thin handlers over [`crate::usecase::plans`].
//! Every write takes the plan's ETag in `If-Match`.

use actix_web::{get, patch, post, put, web};

use super::extract::{path_id, ApiJson, CaseId};
use super::{ok, read_unit, run_unit, tagged, Caller, IfMatch, Reply};
use crate::usecase::plans::{
    self, FollowUpInput, MeasurePatch, PlanInput, PlanVersionSummary, PlanView,
};

/// The case's plan (category `plan`), with its ETag.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The current plan (version 0, draft, before the first write)", body = PlanView))
)]
#[get("/cases/{id}/plan")]
pub async fn read(caller: Caller, id: CaseId) -> Reply {
    read_unit(caller, tagged, move |unit| plans::read(unit, &id.0)).await
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
    caller: Caller,
    body: ApiJson<PlanInput>,
    id: CaseId,
    expected: IfMatch,
) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 200, tagged, move |unit| {
        plans::replace(unit, &id.0, expected.0, input)
    })
    .await
}

/// Agrees the plan (owner, `If-Match`); needs an active consent.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The plan's current ETag")),
    responses((status = 200, description = "The agreed plan, with its new ETag", body = PlanView))
)]
#[post("/cases/{id}/plan/agree")]
pub async fn agree(caller: Caller, id: CaseId, expected: IfMatch) -> Reply {
    run_unit(caller, 200, tagged, move |unit| {
        plans::agree(unit, &id.0, expected.0)
    })
    .await
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
    caller: Caller,
    path: web::Path<(String, String)>,
    body: ApiJson<MeasurePatch>,
    expected: IfMatch,
) -> Reply {
    let (id, measure_id) = path.into_inner();
    let (id, measure_id) = (path_id(&id, "case")?, path_id(&measure_id, "measure")?);
    let input = body.into_inner();
    run_unit(caller, 200, tagged, move |unit| {
        plans::update_measure(unit, &id, &measure_id, expected.0, input)
    })
    .await
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
    caller: Caller,
    body: ApiJson<FollowUpInput>,
    id: CaseId,
    expected: IfMatch,
) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 200, tagged, move |unit| {
        plans::follow_up(unit, &id.0, expected.0, input)
    })
    .await
}

/// Every version of the plan, oldest first.
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The plan's versions", body = Vec<PlanVersionSummary>))
)]
#[get("/cases/{id}/plan/versions")]
pub async fn list_versions(caller: Caller, id: CaseId) -> Reply {
    read_unit(caller, ok, move |unit| plans::versions(unit, &id.0)).await
}

/// One version of the plan (version 0 is the empty plan every case starts with).
#[utoipa::path(
    tag = "plans",
    params(("id" = String, Path, description = "Case id"), ("version" = i64, Path, description = "Version number")),
    responses((status = 200, description = "That version of the plan", body = PlanView))
)]
#[get("/cases/{id}/plan/versions/{version}")]
pub async fn read_version(caller: Caller, path: web::Path<(String, i64)>) -> Reply {
    let (id, number) = path.into_inner();
    let id = path_id(&id, "case")?;
    read_unit(caller, tagged, move |unit| {
        plans::version(unit, &id, number)
    })
    .await
}
