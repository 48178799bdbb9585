//! Everything a request needs, built once at start-up (outside `HttpServer::new`) and shared
//! by every worker.

use std::ops::Deref;
use std::sync::Arc;

use crate::audit::log::AuditLog;
use crate::auth::Authenticator;
use crate::authz::PolicyEngine;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::fields::FieldCrypto;
use crate::crypto::keys::KeyStore;
use crate::db::{self, DbError, Pool, PoolSettings};
use crate::limits::RateLimits;
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("keys: {0}")]
    Keys(#[from] crate::crypto::keys::KeyError),
    #[error("policies: {0}")]
    Policies(#[from] crate::authz::PolicyLoadError),
    #[error("authentication: {0}")]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error("starting the audit writer: {0}")]
    Thread(std::io::Error),
}

#[derive(Debug)]
pub struct StateInner {
    pub config: Config,
    pub pool: Pool,
    pub policies: PolicyEngine,
    pub auth: Authenticator,
    pub keys: KeyStore,
    pub crypto: FieldCrypto,
    pub clock: SharedClock,
    pub metrics: Metrics,
    /// The one door to the audit log (group commit of reads, the witness file, checkpoints).
    pub audit: AuditLog,
    /// Requests per user.
    pub rate_limits: RateLimits,
    /// The callers' agencies, as found in the database.
    pub agencies: crate::repo::reference::KnownAgencies,
    /// Turns for the work of reads (see [`crate::work::read`]).
    pub read_slots: tokio::sync::Semaphore,
}

/// Cheap to clone: one `Arc`.
#[derive(Clone, Debug)]
pub struct AppState(Arc<StateInner>);

impl Deref for AppState {
    type Target = StateInner;

    fn deref(&self) -> &StateInner {
        &self.0
    }
}

impl AppState {
    /// Loads keys, migrates the database, loads the policies and builds the pool. Any failure
    /// stops the start with a message that names what is wrong.
    pub fn build(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let keys = KeyStore::load_or_create(&config.data_dir)?;
        let policies = PolicyEngine::load(&config.policies_dir)?;
        let auth = Authenticator::new(
            &keys,
            config.jwks_file.as_deref(),
            &config.jwt_issuer,
            &config.jwt_audience,
        )?;
        let url = config.database()?;
        db::migrate(&url)?;
        let pool = db::build_pool(
            &url,
            PoolSettings {
                max_size: config.db_pool_size.max(1),
                ..PoolSettings::default()
            },
        )?;
        let audit = AuditLog::start(url.clone(), keys.audit.clone(), config.data_dir.clone())
            .map_err(StartError::Thread)?;
        let crypto = FieldCrypto::new(&keys.field_key, &keys.previous_field_keys, &keys.index_key);
        let rate_limits = RateLimits::new(config.rate_limit_per_second, config.rate_limit_burst);
        let read_slots = match config.read_concurrency {
            0 => crate::config::cores(),
            n => n as usize,
        };
        Ok(Self(Arc::new(StateInner {
            config,
            rate_limits,
            pool,
            policies,
            auth,
            keys,
            crypto,
            clock,
            metrics: Metrics::new(),
            audit,
            agencies: Default::default(),
            read_slots: tokio::sync::Semaphore::new(read_slots),
        })))
    }
}
