//! The fallback that makes "exactly one event per request" hold for requests that never reach
//! a unit of work: refused tokens (`auth.failed`), bodies or ids that do not parse, unknown
//! routes, wrong methods. It wraps the whole `/api/v1` scope; a request whose unit already wrote
//! its event carries [`AuditRecorded`] and passes untouched. If the fallback event cannot be
//! stored, the response becomes 503.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use chrono::{DateTime, Utc};

use super::extract::Throttled;
use super::{request_meta, AuditRecorded};
use crate::audit::{Action, EventActor, NewEvent};
use crate::auth::Actor;
use crate::error::UseCaseError;
use crate::jobs;
use crate::state::AppState;
use crate::work::{self, AuditFacts};

/// Authenticated reads of reference data are not audited (API.md §10).
fn exempt(method: &Method, pattern: Option<&str>) -> bool {
    method == Method::GET && matches!(pattern, Some("/api/v1/areas") | Some("/api/v1/agencies"))
}

pub async fn fallback(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    let request = response.request().clone();
    if request.extensions().contains::<AuditRecorded>() {
        return Ok(response.map_into_left_body());
    }
    let status = response.status();
    let pattern = request.match_pattern();
    let method = request.method().clone();
    let throttled = request.extensions().get::<Throttled>().copied();
    let refused_token = status == StatusCode::UNAUTHORIZED || throttled.is_some();
    if !refused_token && exempt(&method, pattern.as_deref()) {
        return Ok(response.map_into_left_body());
    }
    let Some(state) = request
        .app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
    else {
        return Ok(response.map_into_left_body());
    };
    if let Some(Throttled(address)) = throttled {
        // Counted; the address's minute is written once it has run.
        let now = state.clock.now();
        let Some(window) = state.auth_failures.count(address, now) else {
            return Ok(response.map_into_left_body());
        };
        let event = jobs::throttle::event(address, window, now);
        return finish(response, state, event).await;
    }
    let event = unrecorded_event(&response, state.clock.now());
    finish(response, state, event).await
}

/// The one event of a request no unit of work recorded: who sent it (if their token was good),
/// the route's action (`auth.failed` for a refused token), the status and its error code, and
/// the case a well-formed id in the path names.
fn unrecorded_event<B>(response: &ServiceResponse<B>, now: DateTime<Utc>) -> NewEvent {
    let (request, status) = (response.request(), response.status());
    let actor = request.extensions().get::<Actor>().map(EventActor::from);
    let action = if status == StatusCode::UNAUTHORIZED {
        Action::AuthFailed
    } else {
        Action::of_route(
            request.method().as_str(),
            request.match_pattern().as_deref(),
        )
    };
    let code = response
        .response()
        .error()
        .and_then(|error| error.as_error::<UseCaseError>())
        .map(|error| error.code().to_owned())
        .unwrap_or_else(|| status.as_str().to_owned());
    let facts = AuditFacts {
        case_ids: request
            .match_info()
            .get("id")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .map(|id| vec![id.to_string()])
            .unwrap_or_default(),
        ..AuditFacts::default()
    };
    let denial = (!status.is_success()).then_some(code.as_str());
    work::event(
        Some(&request_meta(request)),
        actor.unwrap_or_default(),
        action,
        status.as_u16(),
        facts,
        denial,
        now,
    )
}

/// Stores the fallback's event; 503 in place of the response if it cannot be stored.
async fn finish<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
    state: AppState,
    event: NewEvent,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let stored = web::block(move || work::record(&state, event))
        .await
        .map_err(UseCaseError::from)
        .and_then(|stored| stored);
    match stored {
        Ok(()) => Ok(response.map_into_left_body()),
        Err(error) => {
            tracing::error!(%error, "the audit event of a refused request could not be stored");
            let (request, _) = response.into_parts();
            let replaced = UseCaseError::Unavailable.error_response();
            Ok(ServiceResponse::new(request, replaced).map_into_right_body())
        }
    }
}
