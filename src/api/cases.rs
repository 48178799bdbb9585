//! Cases (API.md §5): thin handlers over [`crate::usecase::cases`].

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};

use super::extract::{ApiJson, CaseId};
use super::{call, if_match, versioned};
use crate::auth::Actor;
use crate::error::UseCaseError;
use crate::usecase::cases::{self, CasePage, CasePatch, CaseQuery, CaseView, NewCase};
use crate::work;

/// Opens a case (role `social_secretary` at a `social_services` agency).
#[utoipa::path(
    tag = "cases",
    request_body = NewCase,
    responses((status = 201, description = "The new case (with `warnings` when the youth is outside 15–25)", body = CaseView))
)]
#[post("/cases")]
pub async fn create(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<NewCase>,
) -> Result<HttpResponse, UseCaseError> {
    let input = body.into_inner();
    let view = work::run(call(&req, actor)?, 201, move |unit| {
        cases::create(unit, input)
    })
    .await?;
    let location = format!("/api/v1/cases/{}", view.id);
    let mut response = versioned(StatusCode::CREATED, &view);
    response.headers_mut().insert(
        actix_web::http::header::LOCATION,
        actix_web::http::header::HeaderValue::from_str(&location)
            .map_err(|_| UseCaseError::Internal("a case id is not a header value".to_owned()))?,
    );
    Ok(response)
}

/// Reads a case, cut to the categories the caller may see now.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The case view, with ETag", body = CaseView))
)]
#[get("/cases/{id}")]
pub async fn read(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let view = work::read(call(&req, actor)?, 200, move |unit| cases::read(unit, &id)).await?;
    Ok(versioned(StatusCode::OK, &view))
}

/// Lists the cases the caller may read now, each cut to the caller's categories.
#[utoipa::path(
    tag = "cases",
    params(CaseQuery),
    responses((status = 200, description = "A page of case views", body = CasePage))
)]
#[get("/cases")]
pub async fn list(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let query = query.into_inner();
    let page = work::read(call(&req, actor)?, 200, move |unit| {
        cases::list(unit, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
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
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<CasePatch>,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let (expected, input) = (if_match(&req), body.into_inner());
    let view = work::run(call(&req, actor)?, 200, move |unit| {
        cases::update(unit, &id, expected, input)
    })
    .await?;
    Ok(versioned(StatusCode::OK, &view))
}
