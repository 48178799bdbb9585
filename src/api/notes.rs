//! Notes (API.md §9), who can read a case now (§7) and the access-log extract (§10): thin
//! handlers over [`crate::usecase::notes`] and [`crate::usecase::access`].

use actix_web::{get, post, web, HttpRequest, HttpResponse};

use super::call;
use super::extract::{ApiJson, CaseId};
use crate::audit::extract::VerifiableExtract;
use crate::auth::Actor;
use crate::error::UseCaseError;
use crate::usecase::access::{self, AccessExplanation, AccessLog};
use crate::usecase::notes::{self, NewNote, NoteView};
use crate::usecase::Items;
use crate::work;

/// Writes a note; its category follows the author's agency kind.
#[utoipa::path(
    tag = "notes",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewNote,
    responses((status = 201, description = "The note", body = NoteView))
)]
#[post("/cases/{id}/notes")]
pub async fn create(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<NewNote>,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let (id, input) = (id.0, body.into_inner());
    let view = work::run(call(&req, actor)?, 201, move |unit| {
        notes::create(unit, &id, input)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The notes the caller may read (API.md §7), newest first.
#[utoipa::path(
    tag = "notes",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The notes the caller may read", body = Items<NoteView>))
)]
#[get("/cases/{id}/notes")]
pub async fn list(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let items = work::read(call(&req, actor)?, 200, move |unit| notes::list(unit, &id)).await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Who can read the case now, and on what basis — asked of the same policy set.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The agencies that can read the case now", body = AccessExplanation))
)]
#[get("/cases/{id}/access")]
pub async fn access_explained(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    let body = work::read(call(&req, actor)?, 200, move |unit| {
        access::explain(unit, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The extract's form.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct AccessLogQuery {
    /// `verifiable`: each event with what recomputes its Merkle leaf, its inclusion proof and
    /// the signed checkpoint, for `sig-register audit verify-extract`. Default: the plain
    /// extract.
    pub format: Option<String>,
}

/// The body of `GET /cases/{id}/access-log`, as the OpenAPI document describes it.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum AccessLogBody {
    Plain(AccessLog),
    Verifiable(VerifiableExtract),
}

/// The register extract for the young person and family: who saw or changed their data.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id"), AccessLogQuery),
    responses((status = 200, description = "Every access to the case, oldest first: the plain extract, or with `format=verifiable` the verifiable one", body = AccessLogBody))
)]
#[get("/cases/{id}/access-log")]
pub async fn access_log(
    req: HttpRequest,
    actor: Actor,
    id: CaseId,
    query: web::Query<AccessLogQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let id = id.0;
    match query.into_inner().format.as_deref() {
        None | Some("") | Some("plain") => {
            let body =
                work::read(call(&req, actor)?, 200, move |unit| access::log(unit, &id)).await?;
            Ok(HttpResponse::Ok().json(body))
        }
        Some("verifiable") => {
            let body = work::read_then_own(
                call(&req, actor)?,
                200,
                move |unit| access::may_read_log(unit, &id),
                access::verifiable_log,
            )
            .await?;
            Ok(HttpResponse::Ok().json(body))
        }
        Some(_) => Err(UseCaseError::BadRequest(
            "`format` must be `verifiable` or left out".to_owned(),
        )),
    }
}
