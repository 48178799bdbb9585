//! The actix application: used by `serve` and by the tests, so both run the same stack.

use std::sync::OnceLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{self, Next};
use actix_web::{web, App};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{self, ops};
use crate::error::{ApiError, FieldError, Problem};
use crate::state::AppState;
use crate::telemetry;

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sig-register",
        description = "Consent-gated case register for social intervention groups (sociala insatsgrupper, the Örebro model). Every /api/v1 endpoint except openapi.json needs a bearer JWT.",
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "reference", description = "Partnership areas and the agency registry"),
        (name = "cases", description = "Cases (ärenden): open, read, list, update; who can read them and who did"),
        (name = "consent", description = "Consent (samtycke) of the young person and the guardians"),
        (name = "plans", description = "The joint implementation plan (gemensam genomförandeplan): goals, measures, versions, agreement, follow-ups"),
        (name = "notes", description = "Notes (anteckningar), by category of the author's agency"),
        (name = "statistics", description = "Per-area counts for the steering group, small counts withheld"),
        (name = "audit", description = "The audit log: search, export, verification, checkpoints, anomalies"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document, generated once from the same handler registration the app uses.
pub fn openapi_document() -> &'static OpenApiDocument {
    static DOCUMENT: OnceLock<OpenApiDocument> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, mut document) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .service(utoipa_actix_web::scope("/api/v1").configure(api::configure))
            .split_for_parts();
        document.info.version = env!("CARGO_PKG_VERSION").to_owned();
        document
    })
}

/// Every route the service answers, with its methods (for 405 and `Allow`).
fn route_table() -> &'static [(ResourceDef, Vec<Method>)] {
    static TABLE: OnceLock<Vec<(ResourceDef, Vec<Method>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<(ResourceDef, Vec<Method>)> = [
            "/healthz",
            "/readyz",
            "/metrics",
            OPENAPI_PATH,
            "/docs",
            "/docs/{_:.*}",
        ]
        .into_iter()
        .map(|path| (ResourceDef::new(path), vec![Method::GET]))
        .collect();
        for (path, item) in &openapi_document().paths.paths {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::PATCH, item.patch.is_some()),
            ]
            .into_iter()
            .filter_map(|(method, present)| present.then_some(method))
            .collect();
            table.push((ResourceDef::new(path.as_str()), methods));
        }
        table
    })
}

/// The methods a path is served with; empty when no route has that path.
pub fn allowed_methods(path: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = route_table()
        .iter()
        .filter(|(definition, _)| definition.is_match(path))
        .flat_map(|(_, methods)| methods.iter().cloned())
        .collect();
    methods.dedup();
    methods
}

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
    let headers = response.headers_mut();
    for (name, value) in FIXED {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(if docs { DOCS_CSP } else { API_CSP }),
    );
    Ok(response)
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
            ApiError::BadRequest(
                "a path parameter is malformed (ids are UUIDs, versions are numbers)".to_owned(),
            )
            .into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|_, _| {
            ApiError::BadRequest("a query parameter is malformed or out of range".to_owned()).into()
        }))
        .wrap(middleware::from_fn(security_headers))
        .wrap(middleware::from_fn(telemetry::observe))
        .service(
            web::resource("/healthz")
                .route(web::get().to(ops::healthz))
                .default_service(web::to(ops::unmatched)),
        )
        .service(
            web::resource("/readyz")
                .route(web::get().to(ops::readyz))
                .default_service(web::to(ops::unmatched)),
        )
        .service(
            web::resource("/metrics")
                .route(web::get().to(ops::metrics))
                .default_service(web::to(ops::unmatched)),
        )
        .service(
            web::resource("/docs")
                .route(web::get().to(ops::docs_redirect))
                .default_service(web::to(ops::unmatched)),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").url(OPENAPI_PATH, openapi_document().clone()))
        .service(
            web::scope("/api/v1")
                .wrap(middleware::from_fn(crate::audit::middleware::fallback))
                .configure(|cfg| {
                    api::configure(&mut utoipa_actix_web::service_config::ServiceConfig::new(
                        cfg,
                    ));
                })
                .default_service(web::to(ops::unmatched)),
        )
        .default_service(web::to(ops::unmatched))
}
