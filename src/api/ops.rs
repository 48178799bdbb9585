//! Operational endpoints (API.md §1): no token, never audited.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::error::UseCaseError;
use crate::state::AppState;

/// 200 while the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when the database answers and the policy set is loaded (it always is once serving:
/// a policy set that does not load stops the start), else 503.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, UseCaseError> {
    let state = state.get_ref().clone();
    let instances = state.rate_limits.instances();
    let database = web::block(move || {
        let mut conn = state.pool.get_timeout(Duration::from_secs(2))?;
        diesel::sql_query("SELECT 1").execute(&mut *conn)?;
        Ok::<_, UseCaseError>(())
    })
    .await
    .map_err(UseCaseError::from)
    .and_then(|r| r);
    match database {
        Ok(()) => Ok(HttpResponse::Ok().json(
            json!({"status": "ready", "database": "ok", "policies": "loaded",
                         "instances": instances}),
        )),
        Err(_) => Err(UseCaseError::Unavailable),
    }
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
