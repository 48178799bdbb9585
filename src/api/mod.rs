//! The HTTP API under `/api/v1`, one module per resource.

pub mod audit;
pub mod cases;
pub mod consents;
pub mod extract;
pub mod fallback;
pub mod notes;
pub mod ops;
pub mod plans;
pub mod problem;
pub mod reference;
pub mod stats;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::audit::Action;
use crate::auth::Actor;
use crate::db::DbConn;
use crate::error::UseCaseError;
use crate::state::AppState;
use crate::telemetry::RequestId;
use crate::usecase::Versioned;
use crate::work::{self, Call, RequestMeta, Unit};

/// The version an `If-Match` header names: 428 without it, 412 when it is not a version.
pub fn if_match(req: &HttpRequest) -> Result<i64, UseCaseError> {
    let value = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or(UseCaseError::PreconditionRequired)?
        .to_str()
        .map_err(|_| UseCaseError::PreconditionFailed)?;
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| UseCaseError::PreconditionFailed)
}

/// A view as JSON with `ETag: "<version>"`.
pub fn versioned<V: Versioned + Serialize>(status: StatusCode, view: &V) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", view.version())) {
        response.insert_header((header::ETAG, value));
    }
    response.json(view)
}

/// Marks a request whose audit event was written (or attempted) by a unit of work, so the
/// [`fallback`] does not write a second one.
#[derive(Clone, Copy, Debug)]
pub struct AuditRecorded;

/// The request fields an event records: never the query string (it may hold a personal number).
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        request_id: req
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.to_string()),
        method: req.method().to_string(),
        path: req.path().to_owned(),
    }
}

/// The application a request runs in.
pub fn state(req: &HttpRequest) -> Result<AppState, UseCaseError> {
    req.app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref().clone())
        .ok_or_else(|| UseCaseError::Internal("application state is not registered".to_owned()))
}

/// The audited call a request makes, its action taken from the route
/// ([`crate::openapi::action_for`]). The request is marked as audited here: the unit of work
/// writes its event, the fallback does not.
pub fn call(req: &HttpRequest, actor: Actor) -> Result<Call, UseCaseError> {
    let action = Action::of_route(req.method().as_str(), req.match_pattern().as_deref());
    req.extensions_mut().insert(AuditRecorded);
    Ok(Call {
        state: state(req)?,
        actor,
        action,
        meta: request_meta(req),
    })
}

/// What a handler answers.
pub type Reply = Result<HttpResponse, UseCaseError>;

/// The caller of an operation, the first extractor of its handler: the verified actor and the
/// request. Its methods run the operation as one unit of work. The request becomes a [`call`] —
/// marked audited — only then, after every other extractor has succeeded, so a request refused
/// earlier (a bad body, say) is left to the [`fallback`] and still leaves its one event.
pub struct Caller {
    req: HttpRequest,
    actor: Actor,
}

impl FromRequest for Caller {
    type Error = UseCaseError;
    type Future = LocalBoxFuture<'static, Result<Caller, UseCaseError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let actor = Actor::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let actor = actor.await?;
            Ok(Caller { req, actor })
        })
    }
}

impl Caller {
    /// The request, for what a handler answers beyond the view (the export's stream).
    pub fn request(&self) -> &HttpRequest {
        &self.req
    }

    /// The audited call, for the handlers that shape their own unit (verification, extracts).
    pub fn call(self) -> Result<Call, UseCaseError> {
        call(&self.req, self.actor)
    }

    /// Runs `work` without an audit event and answers 200 with what it returns: only for the
    /// reference data API.md §10 exempts ([`work::run_unaudited`]).
    pub async fn unaudited<T, F>(self, work: F) -> Reply
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, UseCaseError> + Send + 'static,
    {
        ok(work::run_unaudited(state(&self.req)?, self.actor, work).await?)
    }
}

/// Runs `work` for `caller` as one audited unit that may change data ([`work::run`]) and
/// answers with `respond(view)`; `success` is the status its event records.
pub async fn run_unit<T, F>(
    caller: Caller,
    success: u16,
    respond: impl FnOnce(T) -> Reply,
    work: F,
) -> Reply
where
    T: Send + 'static,
    F: FnOnce(&mut Unit<'_>) -> Result<T, UseCaseError> + Send + 'static,
{
    respond(work::run(caller.call()?, success, work).await?)
}

/// Runs `work` for `caller` as one audited read ([`work::read`]) and answers with
/// `respond(view)`.
pub async fn read_unit<T, F>(caller: Caller, respond: impl FnOnce(T) -> Reply, work: F) -> Reply
where
    T: Send + 'static,
    F: FnOnce(&mut Unit<'_>) -> Result<T, UseCaseError> + Send + 'static,
{
    respond(work::read(caller.call()?, 200, work).await?)
}

/// 200 with the view as JSON.
pub fn ok<V: Serialize>(view: V) -> Reply {
    Ok(HttpResponse::Ok().json(view))
}

/// 201 with the new thing's view as JSON.
pub fn created<V: Serialize>(view: V) -> Reply {
    Ok(HttpResponse::Created().json(view))
}

/// 200 with the view as JSON and its version as the `ETag`.
pub fn tagged<V: Versioned + Serialize>(view: V) -> Reply {
    Ok(versioned(StatusCode::OK, &view))
}

/// The version an `If-Match` header names, as its check's outcome: the use case reports a
/// missing (428) or unreadable (412) header inside its unit of work, so it is audited there.
pub struct IfMatch(pub Result<i64, UseCaseError>);

impl FromRequest for IfMatch {
    type Error = UseCaseError;
    type Future = Ready<Result<IfMatch, UseCaseError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(IfMatch(if_match(req))))
    }
}

/// Registers every `/api/v1` handler. The same function feeds the running app and the OpenAPI
/// document, so a handler cannot be served without being documented.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(reference::list_areas)
        .service(reference::list_agencies)
        .service(reference::create_agency)
        .service(cases::list)
        .service(cases::create)
        .service(cases::read)
        .service(cases::update)
        .service(consents::list)
        .service(consents::create)
        .service(consents::revoke)
        .service(notes::list)
        .service(notes::create)
        .service(plans::read)
        .service(plans::replace)
        .service(plans::agree)
        .service(plans::update_measure)
        .service(plans::follow_up)
        .service(plans::list_versions)
        .service(plans::read_version)
        .service(stats::read)
        .service(notes::access_explained)
        .service(notes::access_log)
        .service(audit::search)
        .service(audit::export)
        .service(audit::verify)
        .service(audit::checkpoints)
        .service(audit::anomalies)
        .service(audit::inclusion)
        .service(audit::consistency)
        .service(audit::create_review)
        .service(audit::list_reviews);
}
