//! Cases (API.md §5): thin handlers over [`crate::usecase::cases`].

use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web};

use super::extract::{ApiJson, CaseId};
use super::{ok, read_unit, run_unit, tagged, versioned, Caller, IfMatch, Reply};
use crate::error::UseCaseError;
use crate::usecase::cases::{self, CasePage, CasePatch, CaseQuery, CaseView, NewCase};

/// Opens a case (role `social_secretary` at a `social_services` agency).
#[utoipa::path(
    tag = "cases",
    request_body = NewCase,
    responses((status = 201, description = "The new case (with `warnings` when the youth is outside 15–25)", body = CaseView))
)]
#[post("/cases")]
pub async fn create(caller: Caller, body: ApiJson<NewCase>) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 201, created_case, move |unit| {
        cases::create(unit, input)
    })
    .await
}

/// 201 with the new case, its ETag and its `Location`.
fn created_case(view: CaseView) -> Reply {
    let location = HeaderValue::from_str(&format!("/api/v1/cases/{}", view.id))
        .map_err(|_| UseCaseError::Internal("a case id is not a header value".to_owned()))?;
    let mut response = versioned(StatusCode::CREATED, &view);
    response.headers_mut().insert(LOCATION, location);
    Ok(response)
}

/// Reads a case, cut to the categories the caller may see now.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The case view, with ETag", body = CaseView))
)]
#[get("/cases/{id}")]
pub async fn read(caller: Caller, id: CaseId) -> Reply {
    read_unit(caller, tagged, move |unit| cases::read(unit, &id.0)).await
}

/// Lists the cases the caller may read now, each cut to the caller's categories.
#[utoipa::path(
    tag = "cases",
    params(CaseQuery),
    responses((status = 200, description = "A page of case views", body = CasePage))
)]
#[get("/cases")]
pub async fn list(caller: Caller, query: web::Query<CaseQuery>) -> Reply {
    let query = query.into_inner();
    read_unit(caller, ok, move |unit| cases::list(unit, query)).await
}

/// Changes a case's status or area (owner `social_secretary`, `If-Match`).
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The case's current ETag")),
    request_body = CasePatch,
    responses((status = 200, description = "The updated case, with its new ETag", body = CaseView))
)]
#[patch("/cases/{id}")]
pub async fn update(
    caller: Caller,
    body: ApiJson<CasePatch>,
    id: CaseId,
    expected: IfMatch,
) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 200, tagged, move |unit| {
        cases::update(unit, &id.0, expected.0, input)
    })
    .await
}
