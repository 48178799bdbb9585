//! The OpenAPI document and the route table, built from the same handler registration the app
//! uses: which paths and methods exist (for 405 and `Allow`). A test here holds the route →
//! action map ([`crate::audit::ROUTE_ACTIONS`]) to exactly the documented operations.

use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::App;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::api;
use crate::error::{FieldError, Problem, UseCaseError};

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
        (name = "audit", description = "The audit log: search, export, verification, checkpoints, anomalies, documented reviews"),
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

/// The OpenAPI 3.1 document, generated from the same handler registration the app uses. Built
/// on each call: the server keeps only its serialised form ([`openapi_json`]) and the route
/// table, not the document (it is several megabytes of small allocations).
pub fn openapi_document() -> OpenApiDocument {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(api::configure))
        .split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    complete_operations(&mut document);
    document
}

/// The document as served at [`OPENAPI_PATH`], serialised once.
pub fn openapi_json() -> &'static [u8] {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_vec(&openapi_document()).unwrap_or_default())
}

/// What every operation under `/api/v1` may answer besides its own results, added to each so
/// that a client (or a fuzzer) finds every status it can meet in the document: ids in paths
/// are UUIDs, and any request may be refused for its token (401, 403 `unknown_agency`), its
/// pace (429), a malformed id or query (400) or an unavailable store (503); a request with a
/// body may also meet 408, 413, 415 and 422.
fn complete_operations(document: &mut OpenApiDocument) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};

    let problem = |description: &str| {
        ResponseBuilder::new().description(description).content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
    };
    let common = [
        (
            "400",
            problem("A path id or query parameter is malformed (bad_request)"),
        ),
        (
            "401",
            problem("No valid token (unauthenticated)").header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            ),
        ),
        (
            "403",
            problem(
                "The role or agency may not do this (forbidden, consent_required, unknown_agency)",
            ),
        ),
        (
            "429",
            problem("Too many requests from this user (rate_limited)").header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait"))
                    .build(),
            ),
        ),
        (
            "503",
            problem("Database or audit log unavailable; nothing disclosed or changed"),
        ),
    ];
    let with_body = [
        (
            "408",
            problem("The body did not arrive in time (request_timeout)"),
        ),
        (
            "413",
            problem("The body is over 256 KiB (payload_too_large)"),
        ),
        (
            "415",
            problem("The body is not application/json (unsupported_media_type)"),
        ),
        (
            "422",
            problem("Well-formed JSON that breaks a rule (validation_failed)"),
        ),
    ];
    let common = common.map(|(status, response)| (status, response.build()));
    let with_body = with_body.map(|(status, response)| (status, response.build()));
    let uuid = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .build()
    };
    for (path, item) in document.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") || path == OPENAPI_PATH {
            continue;
        }
        let operations: [(&str, &mut Option<Operation>); 5] = [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else {
                continue;
            };
            // Every operation under /api/v1 needs the bearer token.
            operation.security.get_or_insert_with(|| {
                vec![SecurityRequirement::new("bearer", Vec::<String>::new())]
            });
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter {
                    let is_id = parameter.parameter_in == ParameterIn::Path
                        && (parameter.name == "id" || parameter.name.ends_with("_id"));
                    if is_id {
                        parameter.schema = Some(uuid().into());
                    }
                }
            }
            let conditional = operation.parameters.iter().flatten().any(|p| {
                matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header && p.name == "If-Match")
            });
            let own = PARTICULAR
                .iter()
                .filter(|(m, p, ..)| *m == method && p == path)
                .map(|(_, _, status, description)| (*status, problem(description).build()));
            let derived = [
                (path.contains("{id}"), "404", "No such case"),
                (conditional, "412", "If-Match is not the current ETag"),
                (conditional, "428", "No If-Match"),
            ]
            .into_iter()
            .filter(|(applies, ..)| *applies)
            .map(|(_, status, description)| (status, problem(description).build()));
            let with_body = with_body
                .iter()
                .filter(|_| operation.request_body.is_some())
                .cloned();
            let extra = own
                .chain(derived)
                .chain(common.iter().cloned())
                .chain(with_body);
            for (status, response) in extra {
                operation
                    .responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| RefOr::T(response));
            }
        }
    }
}

/// The answers particular to one operation, beside those every operation may give (above),
/// 404 on a path with a case id, and 412/428 on an operation that takes `If-Match`.
const PARTICULAR: [(&str, &str, &str, &str); 13] = [
    ("POST", "/api/v1/agencies", "409", "The slug is taken"),
    ("PATCH", "/api/v1/cases/{id}", "409", "Activation without active consent; the case is closed (only retention flags change), erased or archived"),
    ("POST", "/api/v1/cases/{id}/consents", "409", "The case is closed"),
    ("POST", "/api/v1/cases/{id}/consents/{consent_id}/revoke", "404", "No such case or consent"),
    ("POST", "/api/v1/cases/{id}/consents/{consent_id}/revoke", "409", "The consent is neither active nor scheduled"),
    ("POST", "/api/v1/cases/{id}/notes", "409", "The case's personal data was erased or it is archived"),
    ("PUT", "/api/v1/cases/{id}/plan", "409", "The case is closed"),
    ("POST", "/api/v1/cases/{id}/plan/agree", "409", "No active consent, nothing drafted yet, already agreed, or the case is closed"),
    ("PATCH", "/api/v1/cases/{id}/plan/measures/{measure_id}", "404", "No such case or measure"),
    ("PATCH", "/api/v1/cases/{id}/plan/measures/{measure_id}", "409", "The case is closed"),
    ("POST", "/api/v1/cases/{id}/plan/follow-ups", "409", "The case is closed"),
    ("GET", "/api/v1/cases/{id}/plan/versions/{version}", "404", "No such case or version"),
    ("GET", "/api/v1/cases/{id}/plan/versions/{version}", "400", "The id or version is malformed"),
];

/// Every route the service answers, with its methods (for 405 and `Allow`).
fn route_table() -> &'static [(ResourceDef, Vec<&'static str>)] {
    static TABLE: OnceLock<Vec<(ResourceDef, Vec<&'static str>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<(ResourceDef, Vec<&'static str>)> = [
            "/healthz",
            "/readyz",
            "/metrics",
            OPENAPI_PATH,
            "/docs",
            "/docs/{_:.*}",
        ]
        .into_iter()
        .map(|path| (ResourceDef::new(path), vec!["GET"]))
        .collect();
        for (path, item) in &openapi_document().paths.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
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
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = route_table()
        .iter()
        .filter(|(definition, _)| definition.is_match(path))
        .flat_map(|(_, methods)| methods.iter().copied())
        .collect();
    methods.dedup();
    methods
}

/// Unknown routes: 405 with `Allow` when the path exists with other methods, else 404.
pub async fn unmatched(
    req: actix_web::HttpRequest,
) -> Result<actix_web::HttpResponse, UseCaseError> {
    let allowed = allowed_methods(req.path());
    let api = req.path().starts_with("/api/") || req.path().starts_with("/docs");
    let browser = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if allowed.is_empty() && !api && browser {
        // A browser asking for a page that does not exist gets the page that says so.
        return Ok(crate::web::not_found());
    }
    Err(if allowed.is_empty() {
        UseCaseError::NotFound("there is no such resource".to_owned())
    } else {
        UseCaseError::MethodNotAllowed(allowed)
    })
}

/// The document, serialised once.
pub async fn serve() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(actix_web::web::Bytes::from_static(openapi_json()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, ROUTE_ACTIONS};

    /// Every documented operation has its action, and every action names a documented route:
    /// a new route cannot be served with the wrong event, or with none.
    #[test]
    fn every_documented_operation_has_one_action() {
        let document = openapi_document();
        let mut documented = Vec::new();
        for (path, item) in &document.paths.paths {
            for (method, present) in [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("PATCH", item.patch.is_some()),
            ] {
                if present && path != OPENAPI_PATH {
                    documented.push((method, path.clone()));
                }
            }
        }
        for (method, path) in &documented {
            let exempt =
                *method == "GET" && ["/api/v1/areas", "/api/v1/agencies"].contains(&path.as_str());
            let action = Action::of_route(method, Some(path));
            assert_eq!(
                action == Action::RequestUnmatched,
                exempt,
                "{method} {path} -> {action:?}"
            );
        }
        for (method, path, _) in ROUTE_ACTIONS {
            assert!(
                documented.iter().any(|(m, p)| *m == method && p == path),
                "{method} {path} is in the action table but not served"
            );
        }
    }
}
