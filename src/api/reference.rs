//! Reference data (API.md §4): thin handlers over [`crate::usecase::reference`].

use actix_web::{get, post, HttpRequest, HttpResponse};

use super::extract::ApiJson;
use super::{call, state};
use crate::auth::Actor;
use crate::error::UseCaseError;
use crate::usecase::reference::{self, AgencyView, AreaView, NewAgency};
use crate::work;

/// The partnership areas.
#[utoipa::path(
    tag = "reference",
    responses((status = 200, description = "Every area", body = [AreaView]))
)]
#[get("/areas")]
pub async fn list_areas(req: HttpRequest, actor: Actor) -> Result<HttpResponse, UseCaseError> {
    let areas = work::run_unaudited(state(&req)?, actor, reference::areas).await?;
    Ok(HttpResponse::Ok().json(areas))
}

/// The agency registry.
#[utoipa::path(
    tag = "reference",
    responses((status = 200, description = "Every registered agency", body = [AgencyView]))
)]
#[get("/agencies")]
pub async fn list_agencies(req: HttpRequest, actor: Actor) -> Result<HttpResponse, UseCaseError> {
    let agencies = work::run_unaudited(state(&req)?, actor, reference::agencies).await?;
    Ok(HttpResponse::Ok().json(agencies))
}

/// Registers an agency (role `admin`).
#[utoipa::path(
    tag = "reference",
    request_body = NewAgency,
    responses((status = 201, description = "Registered", body = AgencyView))
)]
#[post("/agencies")]
pub async fn create_agency(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<NewAgency>,
) -> Result<HttpResponse, UseCaseError> {
    let input = body.into_inner();
    let created = work::run(call(&req, actor)?, 201, move |unit| {
        reference::create_agency(unit, input)
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}
