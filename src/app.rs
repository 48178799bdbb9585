//! The actix application: used by `serve` and by the tests, so both run the same stack.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{self, Next};
use actix_web::{web, App, FromRequest, Handler, Resource, Responder};
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{self, ops};
use crate::error::UseCaseError;
use crate::openapi::{self, OPENAPI_PATH};
use crate::state::AppState;
use crate::telemetry;

/// Headers on every response the application makes: nothing is cached, sniffed, framed,
/// embedded by another origin or sent as a referrer; browsers keep to HTTPS once they have seen
/// it (behind the TLS proxy). The API's documents may load nothing at all; the Swagger UI pages
/// under `/docs` may load their own scripts, styles and inline images.
async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    const API_CSP: &str =
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    // UI.md §3: the pages load only the service's own script and style, and post only to it.
    const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    const FIXED: [(&str, &str); 7] = [
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-resource-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("strict-transport-security", "max-age=31536000"),
    ];
    let docs = req.path() == "/docs" || req.path().starts_with("/docs/");
    let mut response = next.call(req).await?;
    let page = !docs
        && response
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
    let csp = match (docs, page) {
        (true, _) => DOCS_CSP,
        (false, true) => PAGE_CSP,
        (false, false) => API_CSP,
    };
    let headers = response.headers_mut();
    for (name, value) in FIXED {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(csp),
    );
    if page {
        // Browsers send `Origin: null` on a form POST from a page whose policy is
        // `no-referrer`; the pages' own POSTs must name their origin for the CSRF check. Still
        // no referrer leaves the service.
        headers.insert(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    Ok(response)
}

/// A resource that answers GET alone; any other method gets the problem `unmatched` answers.
fn get_only<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(web::to(openapi::unmatched))
}

/// The whole application over `state`.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(web::PathConfig::default().error_handler(|_, _| {
            UseCaseError::BadRequest(
                "a path parameter is malformed (ids are UUIDs, versions are numbers)".to_owned(),
            )
            .into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|_, _| {
            UseCaseError::BadRequest("a query parameter is malformed or out of range".to_owned())
                .into()
        }))
        .wrap(middleware::from_fn(security_headers))
        .wrap(middleware::from_fn(telemetry::observe))
        .service(get_only("/healthz", ops::healthz))
        .service(get_only("/readyz", ops::readyz))
        .service(get_only("/metrics", ops::metrics))
        .service(get_only("/docs", ops::docs_redirect))
        .service(get_only(OPENAPI_PATH, openapi::serve))
        .service(
            SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::new([OPENAPI_PATH])),
        )
        .service(
            web::scope("/api/v1")
                .wrap(middleware::from_fn(crate::api::fallback::fallback))
                .configure(|cfg| {
                    api::configure(&mut utoipa_actix_web::service_config::ServiceConfig::new(
                        cfg,
                    ));
                })
                .default_service(web::to(openapi::unmatched)),
        )
        .configure(crate::web::configure)
        .default_service(web::to(openapi::unmatched))
}
