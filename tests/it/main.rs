//! All integration tests in one binary (every extra test binary costs a slow link).

mod support;

mod audit;
mod auth;
mod backup;
mod cases;
mod cli;
mod closed;
mod consent;
mod demo;
mod errors;
mod faults;
mod hardening;
mod instances;
mod jwks_url;
mod jwt_cases;
mod keys;
mod ops;
mod plans;
mod policies;
mod proofs;
mod reference;
mod retention;
mod reviews;
mod schema_drift;
mod stats;
mod throttle;
mod transactions;
mod tree;
mod web;
mod web_audit;
mod web_plan;
mod web_stats;
mod witnesses;
