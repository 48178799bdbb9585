//! Consent (API.md §6): thin handlers over [`crate::usecase::consents`].

use actix_web::{get, post, web, HttpRequest, HttpResponse};

use super::call;
use super::extract::{path_id, ApiJson, CaseId};
use crate::auth::Actor;
use crate::error::UseCaseError;
use crate::usecase::consents::{self, ConsentView, NewConsent, Revocation};
use crate::usecase::Items;
use crate::work;

/// Records a consent; it supersedes the case's earlier consents.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewConsent,
    responses((status = 201, description = "The recorded consent", body = ConsentView))
)]
#[post("/cases/{id}/consents")]
pub async fn create(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<NewConsent>,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let (id, input) = (id.0, body.into_inner());
    let view = work::run(call(&req, actor)?, 201, move |unit| {
        consents::create(unit, &id, input)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Every consent of the case, newest first, with its state and parties.
#[utoipa::path(
    tag = "consent",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The case's consents", body = Items<ConsentView>))
)]
#[get("/cases/{id}/consents")]
pub async fn list(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let items = work::read(call(&req, actor)?, 200, move |unit| {
        consents::list(unit, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
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
    req: HttpRequest,
    actor: Actor,
    path: web::Path<(String, String)>,
    body: ApiJson<Revocation>,
) -> Result<HttpResponse, UseCaseError> {
    let (id, consent_id) = path.into_inner();
    let id = path_id(&id, "case")?;
    let consent_id = path_id(&consent_id, "consent")?;
    let input = body.into_inner();
    let view = work::run(call(&req, actor)?, 200, move |unit| {
        consents::revoke(unit, &id, &consent_id, input)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
