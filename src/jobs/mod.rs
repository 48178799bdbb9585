//! Work the service does on its own, not for a request: retention, the audit log's
//! checkpoints, the counts of throttled requests. Each writes to the audit log through the same door as a request
//! ([`crate::audit::log::AuditLog`]). Also the operator's backups ([`backup`]), which write nothing.

pub mod backup;
pub mod checkpoints;
pub mod cosign;
pub mod demo;
pub mod instances;
pub mod keys;
pub mod retention;
pub mod throttle;
