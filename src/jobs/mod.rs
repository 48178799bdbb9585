//! Work the service does on its own, not for a request: retention and the audit log's
//! checkpoints. Each writes to the audit log through the same door as a request
//! ([`crate::audit::log::AuditLog`]).

pub mod checkpoints;
pub mod cosign;
pub mod demo;
pub mod retention;
