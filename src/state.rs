//! Everything a request needs, built once at start-up (outside `HttpServer::new`) and shared
//! by every worker.

use std::ops::Deref;
use std::sync::Arc;

use crate::audit::log::AuditLog;
use crate::auth::oidc::{OidcProvider, OidcSettings};
use crate::auth::{AuthSetupError, Authenticator, KeyOrigin};
use crate::authz::PolicyEngine;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::fields::FieldCrypto;
use crate::crypto::keys::KeyStore;
use crate::db::{self, DbError, Pool, PoolSettings};
use crate::limits::{AuthFailures, RateLimits};
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
    #[error("OpenID Connect: {0}")]
    Oidc(String),
    #[error("starting the audit writer: {0}")]
    Thread(std::io::Error),
    #[error("bringing the audit tree up to the log: {0}")]
    AuditTree(String),
    #[error("SIG_AUDIT_WITNESSES: {0}")]
    Witnesses(String),
}

#[derive(Debug)]
pub struct StateInner {
    pub config: Config,
    pub pool: Pool,
    pub policies: PolicyEngine,
    pub auth: Authenticator,
    /// The web interface's OpenID Provider, when one is configured.
    pub oidc: Option<OidcProvider>,
    pub keys: KeyStore,
    pub crypto: FieldCrypto,
    pub clock: SharedClock,
    pub metrics: Metrics,
    /// The one door to the audit log (group commit of reads, the witness file, checkpoints).
    pub audit: AuditLog,
    /// Requests per user.
    pub rate_limits: RateLimits,
    /// Refused tokens per client address.
    pub auth_failures: AuthFailures,
    /// The callers' agencies, as found in the database.
    pub agencies: crate::repo::reference::KnownAgencies,
    /// Turns for the work of reads (see [`crate::work::read`]).
    pub read_slots: tokio::sync::Semaphore,
    /// The auditor's console's newest verification of the chain.
    pub verifications: crate::audit::latest::LatestVerification,
    /// The outside witnesses the signed tree heads are submitted to.
    pub witnesses: Vec<crate::audit::cosign::WitnessTarget>,
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
        // The settings first, then what they point at (files, then the database).
        let url = config.database()?;
        let keys =
            KeyStore::load_or_create(&config.data_dir)?.with_audit_origin(&config.audit_origin);
        let policies = PolicyEngine::load(&config.policies_dir)?;
        let witnesses = crate::audit::cosign::parse_targets(&config.audit_witnesses)
            .map_err(StartError::Witnesses)?;
        let auth = Authenticator::new(
            &keys,
            key_origin(&config)?,
            &config.jwt_issuer,
            &config.jwt_audience,
        )?
        .with_required_type(config.jwt_typ.as_deref());
        let oidc = match oidc_settings(&config).map_err(StartError::Oidc)? {
            Some(settings) => {
                Some(OidcProvider::new(settings).map_err(|e| StartError::Oidc(e.to_string()))?)
            }
            None => None,
        };
        db::migrate(&url)?;
        let pool = db::build_pool(
            &url,
            PoolSettings {
                max_size: config.db_pool_size.max(1),
                ..PoolSettings::default()
            },
        )?;
        {
            let mut conn = pool
                .get()
                .map_err(|e| StartError::AuditTree(e.to_string()))?;
            db::write_tx(&mut conn, |conn| {
                crate::audit::chain::catch_up_tree(conn, &keys.audit)
            })
            .map_err(|e: diesel::result::Error| StartError::AuditTree(e.to_string()))?;
        }
        let audit = AuditLog::start(url.clone(), keys.audit.clone(), config.data_dir.clone())
            .map_err(StartError::Thread)?;
        let crypto = FieldCrypto::new(&keys.field_key, &keys.previous_field_keys, &keys.index_key);
        let rate_limits = RateLimits::new(config.rate_limit_per_second, config.rate_limit_burst);
        let read_slots = match config.read_concurrency {
            0 => crate::config::cores(),
            n => n as usize,
        };
        Ok(Self(Arc::new(StateInner {
            auth_failures: AuthFailures::new(
                config.auth_failures_per_minute,
                config.auth_failures_burst,
            ),
            config,
            rate_limits,
            pool,
            policies,
            auth,
            oidc,
            keys,
            crypto,
            clock,
            metrics: Metrics::new(),
            audit,
            agencies: Default::default(),
            read_slots: tokio::sync::Semaphore::new(read_slots),
            verifications: Default::default(),
            witnesses,
        })))
    }
}

/// Where the keys that verify API tokens come from: `SIG_JWKS_FILE` or `SIG_JWKS_URL` (not
/// both); else the OpenID Provider's `jwks_uri` when `SIG_OIDC_ISSUER` is set; else the
/// development issuer.
fn key_origin(config: &Config) -> Result<KeyOrigin<'_>, StartError> {
    let url = config.jwks_url.as_deref().filter(|u| !u.is_empty());
    let issuer = config.oidc_issuer.as_deref().filter(|i| !i.is_empty());
    match (config.jwks_file.as_deref(), url, issuer) {
        (Some(_), Some(_), _) => Err(StartError::Auth(AuthSetupError::JwksUrl(
            "SIG_JWKS_FILE and SIG_JWKS_URL are both set: keep one".to_owned(),
        ))),
        (Some(path), None, _) => Ok(KeyOrigin::File(path)),
        (None, Some(url), _) => Ok(KeyOrigin::Url(url)),
        (None, None, Some(issuer)) => Ok(KeyOrigin::Discovery(issuer)),
        (None, None, None) => Ok(KeyOrigin::Development),
    }
}

/// The OpenID Provider's settings, when one is configured; an error names what is missing.
fn oidc_settings(config: &Config) -> Result<Option<OidcSettings>, String> {
    let Some(issuer) = config.oidc_issuer.clone().filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let client_id = config
        .oidc_client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or("SIG_OIDC_ISSUER is set but SIG_OIDC_CLIENT_ID is not")?;
    let public = config
        .public_url()
        .ok_or("SIG_OIDC_ISSUER is set but SIG_PUBLIC_URL is not")?;
    Ok(Some(OidcSettings {
        issuer,
        client_id,
        client_secret: config.oidc_client_secret.clone().filter(|s| !s.is_empty()),
        redirect_uri: format!("{public}/auth/callback"),
        scopes: config
            .oidc_scopes
            .split_whitespace()
            .filter(|s| *s != "openid")
            .map(str::to_owned)
            .collect(),
        agency_claim: config.oidc_agency_claim.clone(),
        roles_claim: config.oidc_roles_claim.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_needs_a_client_id_and_the_public_address() {
        let mut config = Config::defaults();
        assert!(matches!(oidc_settings(&config), Ok(None)));
        config.oidc_issuer = Some("https://idp.example.se".into());
        let missing = oidc_settings(&config).err().unwrap_or_default();
        assert!(missing.contains("SIG_OIDC_CLIENT_ID"), "{missing}");
        config.oidc_client_id = Some("sig".into());
        let missing = oidc_settings(&config).err().unwrap_or_default();
        assert!(missing.contains("SIG_PUBLIC_URL"), "{missing}");
        config.public_url = Some("https://sig.kommun.se/".into());
        config.oidc_scopes = "openid profile groups".into();
        let settings = oidc_settings(&config)
            .ok()
            .flatten()
            .expect("complete settings");
        assert_eq!(settings.redirect_uri, "https://sig.kommun.se/auth/callback");
        assert_eq!(settings.scopes, ["profile", "groups"]);
        assert!(config.secure_cookies());
    }
}
