//! Steering-group statistics (API.md §11): a thin handler over [`crate::usecase::stats`].

use actix_web::{get, HttpRequest, HttpResponse};

use super::call;
use crate::auth::Actor;
use crate::error::UseCaseError;
use crate::usecase::stats::{self, StatsView};
use crate::work;

/// Per area statistics (any authenticated role); counts from 1 to 4 are withheld.
#[utoipa::path(
    tag = "statistics",
    responses((status = 200, description = "Every area's figures", body = StatsView))
)]
#[get("/stats")]
pub async fn read(req: HttpRequest, actor: Actor) -> Result<HttpResponse, UseCaseError> {
    let body = work::read(call(&req, actor)?, 200, stats::read).await?;
    Ok(HttpResponse::Ok().json(body))
}
