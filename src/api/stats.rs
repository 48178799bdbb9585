//! Steering-group statistics (API.md §11): a thin handler over [`crate::usecase::stats`].

use actix_web::get;

use super::{ok, read_unit, Caller, Reply};
use crate::usecase::stats::{self, StatsView};

/// Per area statistics (any authenticated role); counts from 1 to 4 are withheld.
#[utoipa::path(
    tag = "statistics",
    responses((status = 200, description = "Every area's figures", body = StatsView))
)]
#[get("/stats")]
pub async fn read(caller: Caller) -> Reply {
    read_unit(caller, ok, stats::read).await
}
