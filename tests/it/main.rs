//! All integration tests in one binary (every extra test binary costs a slow link).

mod support;

mod audit;
mod auth;
mod cli;
mod errors;
mod keys;
mod ops;
mod policies;
mod reference;
mod schema_drift;
