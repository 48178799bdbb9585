//! Reference data (API.md §4): partnership areas and the agency registry.

use actix_web::{get, post, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::ApiJson;
use crate::audit::Action;
use crate::auth::Actor;
use crate::authz::Resource;
use crate::domain::agency;
use crate::error::{ApiError, Problem};
use crate::repo::reference::{self as repo, AgencyRow};
use crate::work;

/// A partnership area (partnerskapsområde).
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaView {
    #[schema(example = "vivalla")]
    pub slug: String,
    #[schema(example = "Vivalla")]
    pub name: String,
}

/// An agency (förvaltning, myndighet or partner) in the registry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyView {
    #[schema(example = "polisen-orebro")]
    pub slug: String,
    #[schema(example = "Polisen, lokalpolisområde Örebro")]
    pub name: String,
    /// `social_services`, `police`, `school` or `partner`.
    #[schema(example = "police")]
    pub kind: String,
}

impl From<AgencyRow> for AgencyView {
    fn from(row: AgencyRow) -> Self {
        Self {
            slug: row.slug,
            name: row.name,
            kind: row.kind,
        }
    }
}

/// A new agency. `slug` must match `^[a-z0-9][a-z0-9-]{1,62}$`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAgency {
    #[schema(example = "fritid-karlskoga")]
    pub slug: String,
    #[schema(example = "Fritid Karlskoga")]
    pub name: String,
    /// `social_services`, `police`, `school` or `partner`.
    #[schema(example = "partner")]
    pub kind: String,
}

/// The partnership areas.
#[utoipa::path(
    tag = "reference",
    responses(
        (status = 200, description = "Every area", body = [AreaView]),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token's agency is not registered", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/areas")]
pub async fn list_areas(req: HttpRequest, actor: Actor) -> Result<HttpResponse, ApiError> {
    let areas =
        work::run_unaudited(super::state(&req)?, actor, |conn| Ok(repo::areas(conn)?)).await?;
    let views: Vec<AreaView> = areas
        .into_iter()
        .map(|a| AreaView {
            slug: a.slug,
            name: a.name,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// The agency registry.
#[utoipa::path(
    tag = "reference",
    responses(
        (status = 200, description = "Every registered agency", body = [AgencyView]),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token's agency is not registered", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/agencies")]
pub async fn list_agencies(req: HttpRequest, actor: Actor) -> Result<HttpResponse, ApiError> {
    let agencies =
        work::run_unaudited(super::state(&req)?, actor, |conn| Ok(repo::agencies(conn)?)).await?;
    let views: Vec<AgencyView> = agencies.into_iter().map(AgencyView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Registers an agency (role `admin`).
#[utoipa::path(
    tag = "reference",
    request_body = NewAgency,
    responses(
        (status = 201, description = "Registered", body = AgencyView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator, or the token's agency is not registered", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/agencies")]
pub async fn create_agency(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<NewAgency>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let created = work::run(super::call(&req, actor)?, 201, move |unit| {
        unit.authorize(Action::AgencyCreate, Resource::Registry)?;
        let errors = agency::validate_new(&input.slug, &input.name, &input.kind);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        if repo::agency_exists(unit.conn, &input.slug)? {
            return Err(ApiError::Conflict(format!(
                "an agency with slug {} is already registered",
                input.slug
            )));
        }
        let row = AgencyRow {
            slug: input.slug,
            name: input.name.trim().to_owned(),
            kind: input.kind,
            created_at: unit.now.naive_utc(),
        };
        repo::insert_agency(unit.conn, &row)?;
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Created().json(AgencyView::from(created)))
}
