//! sig-register: a consent-gated case register for social intervention groups (sociala
//! insatsgrupper, the Örebro model). See README.md and ../shared/spec/API.md.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cosigner;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod repo;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod usecase;
pub mod web;
pub mod work;

pub use app::build_app;
