//! The HTTP API under `/api/v1`, one module per resource.

pub mod audit;
pub mod cases;
pub mod consents;
pub mod extract;
pub mod notes;
pub mod ops;
pub mod plans;
pub mod reference;
pub mod stats;

use utoipa_actix_web::service_config::ServiceConfig;

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
        .service(audit::anomalies);
}
