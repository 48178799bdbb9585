//! Reference data (API.md §4): thin handlers over [`crate::usecase::reference`].

use actix_web::{get, post};

use super::extract::ApiJson;
use super::{created, run_unit, Caller, Reply};
use crate::usecase::reference::{self, AgencyView, AreaView, NewAgency};

/// The partnership areas.
#[utoipa::path(
    tag = "reference",
    responses((status = 200, description = "Every area", body = [AreaView]))
)]
#[get("/areas")]
pub async fn list_areas(caller: Caller) -> Reply {
    caller.unaudited(reference::areas).await
}

/// The agency registry.
#[utoipa::path(
    tag = "reference",
    responses((status = 200, description = "Every registered agency", body = [AgencyView]))
)]
#[get("/agencies")]
pub async fn list_agencies(caller: Caller) -> Reply {
    caller.unaudited(reference::agencies).await
}

/// Registers an agency (role `admin`).
#[utoipa::path(
    tag = "reference",
    request_body = NewAgency,
    responses((status = 201, description = "Registered", body = AgencyView))
)]
#[post("/agencies")]
pub async fn create_agency(caller: Caller, body: ApiJson<NewAgency>) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 201, created, move |unit| {
        reference::create_agency(unit, input)
    })
    .await
}
