//! Operational endpoints (API.md §1): no token, never audited.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::auth::Freshness;
use crate::clock::rfc3339;
use crate::error::UseCaseError;
use crate::state::AppState;

/// 200 while the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when the database answers, the policy set is loaded (it always is once serving: a
/// policy set that does not load stops the start) and there are keys to verify tokens with,
/// else 503. `keys` says where they come from and, for the provider's, how fresh they are:
/// `stale` keys (past their lifetime, or the last fetch failed) still verify and the service
/// stays ready; `missing` (never fetched) is 503.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, UseCaseError> {
    let (keys, missing) = key_standing(&state);
    let state = state.get_ref().clone();
    let instances = state.rate_limits.instances();
    web::block(move || {
        let mut conn = state.pool.get_timeout(Duration::from_secs(2))?;
        diesel::sql_query("SELECT 1").execute(&mut *conn)?;
        Ok::<_, UseCaseError>(())
    })
    .await
    .map_err(UseCaseError::from)
    .and_then(|r| r)?;
    if missing {
        return Ok(HttpResponse::ServiceUnavailable()
            .content_type("application/problem+json")
            .json(json!({
                "type": "urn:sig-register:problem:unavailable",
                "title": "Service unavailable",
                "status": 503,
                "detail": "no signing keys from the identity provider yet: no token can be verified",
                "code": "unavailable",
                "keys": keys,
            })));
    }
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready", "database": "ok", "policies": "loaded",
        "instances": instances, "keys": keys,
    })))
}

/// Readiness's `keys`, and whether they are missing.
fn key_standing(state: &AppState) -> (serde_json::Value, bool) {
    let (source, standing) = state.auth.key_standing(state.clock.now());
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| rfc3339(&at));
    let keys = json!({
        "source": source,
        "status": match standing.freshness {
            Freshness::Current => "current",
            Freshness::Stale => "stale",
            Freshness::Missing => "missing",
        },
        "count": standing.keys,
        "fetched_at": time(standing.fetched_at),
        "fresh_until": time(standing.fresh_until),
        "last_error": standing.last_error,
    });
    (keys, standing.freshness == Freshness::Missing)
}

/// Prometheus text exposition.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

/// `/docs` → `/docs/` (the reference page lives under the folder).
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
