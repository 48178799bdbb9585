//! Consent (API.md §6): thin handlers over [`crate::usecase::consents`].

use actix_web::{get, post, web};

use super::extract::{path_id, ApiJson, CaseId};
use super::{created, ok, read_unit, run_unit, Caller, Reply};
use crate::usecase::consents::{self, ConsentView, NewConsent, Revocation};
use crate::usecase::Items;

/// Records a consent; it supersedes the case's earlier consents.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewConsent,
    responses((status = 201, description = "The recorded consent", body = ConsentView))
)]
#[post("/cases/{id}/consents")]
pub async fn create(caller: Caller, body: ApiJson<NewConsent>, id: CaseId) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 201, created, move |unit| {
        consents::create(unit, &id.0, input)
    })
    .await
}

/// Every consent of the case, newest first, with its state and parties.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The case's consents", body = Items<ConsentView>))
)]
#[get("/cases/{id}/consents")]
pub async fn list(caller: Caller, id: CaseId) -> Reply {
    read_unit(caller, ok, move |unit| consents::list(unit, &id.0)).await
}

/// Revokes a consent: any one required party may; it takes effect for the next request.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id"), ("consent_id" = String, Path, description = "Consent id")),
    request_body = Revocation,
    responses((status = 200, description = "The consent, now `revoked`", body = ConsentView))
)]
#[post("/cases/{id}/consents/{consent_id}/revoke")]
pub async fn revoke(
    caller: Caller,
    path: web::Path<(String, String)>,
    body: ApiJson<Revocation>,
) -> Reply {
    let (id, consent_id) = path.into_inner();
    let (id, consent_id) = (path_id(&id, "case")?, path_id(&consent_id, "consent")?);
    let input = body.into_inner();
    run_unit(caller, 200, ok, move |unit| {
        consents::revoke(unit, &id, &consent_id, input)
    })
    .await
}
