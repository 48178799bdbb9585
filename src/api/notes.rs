//! Notes (API.md §9), who can read a case now (§7) and the access-log extract (§10): thin
//! handlers over [`crate::usecase::notes`] and [`crate::usecase::access`].

use actix_web::{get, post, web, HttpResponse};

use super::extract::{ApiJson, CaseId};
use super::{created, ok, read_unit, run_unit, Caller, Reply};
use crate::audit::extract::VerifiableExtract;
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
pub async fn create(caller: Caller, body: ApiJson<NewNote>, id: CaseId) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 201, created, move |unit| {
        notes::create(unit, &id.0, input)
    })
    .await
}

/// The notes the caller may read (API.md §7), newest first.
#[utoipa::path(
    tag = "notes",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The notes the caller may read", body = Items<NoteView>))
)]
#[get("/cases/{id}/notes")]
pub async fn list(caller: Caller, id: CaseId) -> Reply {
    read_unit(caller, ok, move |unit| notes::list(unit, &id.0)).await
}

/// Who can read the case now, and on what basis — asked of the same policy set.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, description = "The agencies that can read the case now", body = AccessExplanation))
)]
#[get("/cases/{id}/access")]
pub async fn access_explained(caller: Caller, id: CaseId) -> Reply {
    read_unit(caller, ok, move |unit| access::explain(unit, &id.0)).await
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
pub async fn access_log(caller: Caller, id: CaseId, query: web::Query<AccessLogQuery>) -> Reply {
    let id = id.0;
    match query.into_inner().format.as_deref() {
        None | Some("") | Some("plain") => {
            read_unit(caller, ok, move |unit| access::log(unit, &id)).await
        }
        Some("verifiable") => {
            let body = work::read_then(
                caller.call()?,
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
