//! Authentication (API.md §2): a bearer JWT becomes an [`Actor`].
//!
//! Only asymmetric algorithms are accepted (EdDSA, ES256, RS256), each key is bound to exactly
//! one algorithm, `kid` only selects among configured keys, and the claims are deserialised into
//! a typed struct, so a claim of the wrong JSON type is a rejection, not a skipped check.
//! Time is checked against [`crate::clock`] with at most 60 s of leeway.

mod jwks;
pub mod oidc;
pub mod provider_keys;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::crypto::keys::KeyStore;

use provider_keys::ProviderKeys;
pub use provider_keys::{Freshness, Refreshed, Standing, Trigger};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 60;
/// Upper bound for the length of `sub`, `name` and `agency`.
const MAX_CLAIM_LEN: usize = 256;

/// The roles of API.md §2.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Role {
    SocialSecretary,
    PoliceOfficer,
    Partner,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SocialSecretary,
        Role::PoliceOfficer,
        Role::Partner,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SocialSecretary => "social_secretary",
            Role::PoliceOfficer => "police_officer",
            Role::Partner => "partner",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub sub: String,
    pub name: String,
    pub agency: String,
    pub roles: BTreeSet<Role>,
}

impl Actor {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Why a token was refused. The client sees `unauthenticated` and, in `WWW-Authenticate`,
/// [`AuthError::description`]: which check failed, never the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    NotBearer,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is longer than 8 KiB")]
    TooLong,
    #[error("the token is encrypted (JWE); only signed tokens are accepted")]
    Encrypted,
    #[error("the token is a nested JWT (`cty`)")]
    Nested,
    #[error("the token's header names a key source (`jku`, `x5u`, `jwk`, `x5c`)")]
    KeySource,
    #[error("the token's header has `crit`")]
    Critical,
    #[error("the token's `typ` is not accepted")]
    Type,
    #[error("a name appears twice in the token's header or claims")]
    Duplicate,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token's kid names no configured key")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("a required claim is missing or has the wrong type")]
    Claims,
    #[error("the token's issuer is not the configured one")]
    Issuer,
    #[error("the token's audience is not the configured one")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued in the future")]
    IssuedInFuture,
    #[error("the token names an unknown role or no role")]
    Roles,
}

impl AuthError {
    /// The `error_description` of the 401's `WWW-Authenticate` (RFC 6750 §3): which check
    /// failed, in a few words; `None` when no credentials were sent (§3.1: no error code then).
    pub fn description(self) -> Option<&'static str> {
        Some(match self {
            Self::Missing => return None,
            Self::NotBearer => "not a bearer token",
            Self::Malformed => "malformed",
            Self::TooLong => "too long",
            Self::Encrypted => "encrypted tokens are not accepted",
            Self::Nested => "nested tokens are not accepted",
            Self::KeySource => "header names a key source",
            Self::Critical => "critical header parameter",
            Self::Type => "token type",
            Self::Duplicate => "duplicate names",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown key",
            Self::Signature => "signature",
            Self::Claims => "claims missing or of the wrong type",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not yet valid",
            Self::IssuedInFuture => "issued in the future",
            Self::Roles => "roles",
        })
    }
}

/// Tokens longer than this are refused unread (RFC 8725 §3.1: bound what is parsed).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Header parameters that point at keys: never followed, and a token carrying one is refused
/// (RFC 8725 §3.10) — only configured keys verify.
const KEY_SOURCES: [&str; 4] = ["jku", "x5u", "jwk", "x5c"];

/// The checks made before any signature is computed (the length, [`MAX_TOKEN_BYTES`], is checked
/// before the token is even hashed): the compact form (three base64url parts, nothing after the
/// signature), no JWE, no nested JWT, no key
/// source or `crit` in the header, an accepted `typ` and algorithm, and no name twice in the
/// header or the claims (RFC 7515 §4: a parser may otherwise take either).
fn inspect(token: &str, required_typ: Option<&str>) -> Result<(), AuthError> {
    use base64::Engine as _;
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => return Err(AuthError::Encrypted),
        _ => return Err(AuthError::Malformed),
    }
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    // An empty signature (`alg: none`) is well-formed here and refused for its algorithm.
    if parts[..2].iter().any(|part| part.is_empty()) || !parts.iter().all(|p| base64url(p)) {
        return Err(AuthError::Malformed);
    }
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| AuthError::Malformed)
    };
    let header_bytes = decode(parts[0])?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header_bytes).map_err(|_| AuthError::Malformed)?;
    unique_names(&header_bytes)?;
    unique_names(&decode(parts[1])?)?;
    if header.contains_key("enc") {
        return Err(AuthError::Encrypted);
    }
    if header.contains_key("cty") {
        return Err(AuthError::Nested);
    }
    if KEY_SOURCES.iter().any(|name| header.contains_key(*name)) {
        return Err(AuthError::KeySource);
    }
    if header.contains_key("crit") {
        return Err(AuthError::Critical);
    }
    let typ = match header.get("typ") {
        None => None,
        Some(serde_json::Value::String(typ)) => Some(typ.to_ascii_lowercase()),
        Some(_) => return Err(AuthError::Type),
    };
    let typ = typ
        .as_deref()
        .map(|t| t.strip_prefix("application/").unwrap_or(t));
    let accepted = match required_typ {
        Some(required) => typ == Some(required),
        None => matches!(typ, None | Some("jwt") | Some("at+jwt")),
    };
    if !accepted {
        return Err(AuthError::Type);
    }
    match header.get("alg").and_then(serde_json::Value::as_str) {
        Some("EdDSA" | "ES256" | "RS256") => Ok(()),
        _ => Err(AuthError::Algorithm),
    }
}

/// Refuses a JSON object that names a member twice.
fn unique_names(json: &[u8]) -> Result<(), AuthError> {
    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(name) = map.next_key::<String>()? {
                if !seen.insert(name) {
                    return Err(serde::de::Error::custom("a name appears twice"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    deserializer
        .deserialize_map(Names)
        .map_err(|_| AuthError::Duplicate)
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("reading the JWKS file {path}: {source}")]
    JwksRead {
        path: String,
        source: std::io::Error,
    },
    #[error("the JWKS file {path} is not valid: {reason}")]
    JwksInvalid { path: String, reason: String },
    #[error("{0}")]
    JwksUrl(String),
    #[error("`token` mints development tokens only, and the identity provider's keys are configured: tokens come from the identity provider")]
    DevIssuerInactive,
    #[error("could not sign the token: {0}")]
    Sign(String),
}

/// One configured verification key, bound to one algorithm.
#[derive(Clone)]
pub(crate) struct VerifierKey {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// The claims every accepted token carries. Unknown claims are ignored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: Audience,
    pub sub: String,
    pub name: String,
    pub agency: String,
    pub roles: Vec<String>,
    pub exp: i64,
    pub nbf: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

/// `aud` may be one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Where the keys that verify tokens come from.
#[derive(Clone, Copy, Debug)]
pub enum KeyOrigin<'a> {
    /// The development issuer: the Ed25519 key in `SIG_DATA_DIR`, which also mints.
    Development,
    /// `SIG_JWKS_FILE`.
    File(&'a Path),
    /// `SIG_JWKS_URL`.
    Url(&'a str),
    /// The `jwks_uri` of the OpenID Provider `SIG_OIDC_ISSUER` names.
    Discovery(&'a str),
}

enum Keys {
    Fixed(Arc<Vec<VerifierKey>>),
    Provider(Box<ProviderKeys>),
}

impl Keys {
    fn current(&self) -> Arc<Vec<VerifierKey>> {
        match self {
            Keys::Fixed(keys) => keys.clone(),
            Keys::Provider(provider) => provider.keys(),
        }
    }
}

struct DevSigner {
    key: EncodingKey,
    kid: String,
}

/// Verifies tokens; mints development tokens while the development issuer is active.
pub struct Authenticator {
    keys: Keys,
    issuer: String,
    audience: String,
    dev: Option<DevSigner>,
    verified: VerifiedTokens,
    /// `SIG_JWT_TYP`: the one `typ` every token must carry (lower case, without
    /// `application/`); unset: `JWT`, `at+jwt` or none.
    required_typ: Option<String>,
}

/// What verifying a token's bytes gave — its claims, or why it was refused — by the SHA-256 of
/// the token (the bearer credential itself is not kept). A signature check is a fifth of a case
/// read's CPU, and a client sends the same token until it expires; a flood repeats the same bad
/// one. The same bytes verify the same way against the same keys, so a hit skips the signature
/// (and the checks before it); time claims are checked on every request. Accepted and refused
/// tokens are kept apart, so bad tokens cannot push out good ones. Bounded: emptied when full.
#[derive(Default)]
struct VerifiedTokens {
    accepted: std::sync::Mutex<HashMap<[u8; 32], Claims>>,
    refused: std::sync::Mutex<HashMap<[u8; 32], AuthError>>,
    /// Moves on when the keys change: an outcome reached under other keys is not kept.
    generation: AtomicU64,
}

const VERIFIED_TOKENS: usize = 4096;

impl VerifiedTokens {
    fn digest(token: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        out
    }

    fn get(&self, digest: &[u8; 32]) -> Option<Result<Claims, AuthError>> {
        if let Some(claims) = self.accepted.lock().ok()?.get(digest) {
            return Some(Ok(claims.clone()));
        }
        self.refused.lock().ok()?.get(digest).map(|e| Err(*e))
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `outcome` unless the keys changed since `generation` was read. An unknown `kid` is
    /// not kept: the next fetch of the provider's keys may know it.
    fn put(&self, digest: [u8; 32], outcome: &Result<Claims, AuthError>, generation: u64) {
        fn bounded<V>(map: &mut HashMap<[u8; 32], V>, digest: [u8; 32], value: V) {
            if map.len() >= VERIFIED_TOKENS {
                map.clear();
            }
            map.insert(digest, value);
        }
        // The generation is compared under the map's lock, which `clear` takes after moving it
        // on: an outcome reached under the old keys is either refused here or cleared there.
        match outcome {
            Ok(claims) => {
                if let Ok(mut map) = self.accepted.lock() {
                    if self.generation() == generation {
                        bounded(&mut map, digest, claims.clone());
                    }
                }
            }
            Err(AuthError::UnknownKey) => {}
            Err(reason) => {
                if let Ok(mut map) = self.refused.lock() {
                    if self.generation() == generation {
                        bounded(&mut map, digest, *reason);
                    }
                }
            }
        }
    }

    /// Forgets every outcome (the keys changed: a token of a withdrawn key must not stay
    /// accepted, one of a new key must not stay refused).
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut map) = self.accepted.lock() {
            map.clear();
        }
        if let Ok(mut map) = self.refused.lock() {
            map.clear();
        }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys.current().len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("development_issuer", &self.dev.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Verifies with the keys of `origin`; only the development issuer mints.
    pub fn new(
        keys: &KeyStore,
        origin: KeyOrigin<'_>,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, AuthSetupError> {
        let (verifiers, dev) = match origin {
            KeyOrigin::File(path) => (Keys::Fixed(Arc::new(jwks::load(path)?)), None),
            KeyOrigin::Url(url) => (
                Keys::Provider(Box::new(
                    ProviderKeys::from_jwks_url(url).map_err(AuthSetupError::JwksUrl)?,
                )),
                None,
            ),
            KeyOrigin::Discovery(issuer) => (
                Keys::Provider(Box::new(
                    ProviderKeys::from_issuer(issuer).map_err(AuthSetupError::JwksUrl)?,
                )),
                None,
            ),
            KeyOrigin::Development => {
                let public = DecodingKey::from_ed_der(keys.jwt_dev.public_key());
                let verifier = VerifierKey {
                    kid: Some(keys.jwt_dev.key_id.clone()),
                    alg: Algorithm::EdDSA,
                    key: public,
                };
                let signer = DevSigner {
                    key: EncodingKey::from_ed_der(&keys.jwt_dev.pkcs8),
                    kid: keys.jwt_dev.key_id.clone(),
                };
                (Keys::Fixed(Arc::new(vec![verifier])), Some(signer))
            }
        };
        Ok(Self {
            keys: verifiers,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            dev,
            verified: VerifiedTokens::default(),
            required_typ: None,
        })
    }

    /// Whether the keys are fetched from the provider (and so may need fetching).
    pub fn fetches_keys(&self) -> bool {
        matches!(self.keys, Keys::Provider(_))
    }

    /// Whether the provider's keys should be fetched before verifying (missing or past their
    /// lifetime); never for keys from a file or the development issuer.
    pub fn keys_due(&self, now: DateTime<Utc>) -> bool {
        match &self.keys {
            Keys::Provider(provider) => provider.due(now),
            Keys::Fixed(_) => false,
        }
    }

    /// Whether a token refused for its unknown `kid` may make the keys be fetched now.
    pub fn may_fetch_for_unknown_kid(&self, now: DateTime<Utc>) -> bool {
        match &self.keys {
            Keys::Provider(provider) => provider.may_fetch_for_unknown_kid(now),
            Keys::Fixed(_) => false,
        }
    }

    /// Fetches the provider's keys if `trigger` calls for it (blocking: at most a few seconds).
    /// When the set changed, every remembered outcome is forgotten.
    pub fn refresh_keys(&self, now: DateTime<Utc>, trigger: Trigger) -> Refreshed {
        let Keys::Provider(provider) = &self.keys else {
            return Refreshed::Skipped;
        };
        let refreshed = provider.refresh(now, trigger);
        if refreshed == Refreshed::Changed {
            self.verified.clear();
        }
        refreshed
    }

    /// Where the keys come from and how they stand, for readiness.
    pub fn key_standing(&self, now: DateTime<Utc>) -> (&'static str, Standing) {
        match &self.keys {
            Keys::Provider(provider) => ("provider", provider.standing(now)),
            Keys::Fixed(keys) => (
                if self.dev.is_some() {
                    "development"
                } else {
                    "file"
                },
                Standing {
                    freshness: Freshness::Current,
                    keys: keys.len(),
                    fetched_at: None,
                    fresh_until: None,
                    last_error: None,
                },
            ),
        }
    }

    /// Requires every token's `typ` to be `typ` (RFC 9068 §2.1: `at+jwt`); case and an
    /// `application/` prefix do not matter. An empty value requires nothing more than the default.
    pub fn with_required_type(mut self, typ: Option<&str>) -> Self {
        self.required_typ = typ
            .map(|t| t.trim().to_ascii_lowercase())
            .map(|t| t.strip_prefix("application/").unwrap_or(&t).to_owned())
            .filter(|t| !t.is_empty());
        self
    }

    pub fn development_issuer_active(&self) -> bool {
        self.dev.is_some()
    }

    /// Mints a development token for `sig-register token`.
    pub fn mint_dev(
        &self,
        sub: &str,
        name: &str,
        agency: &str,
        roles: &[Role],
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> Result<String, AuthSetupError> {
        let dev = self.dev.as_ref().ok_or(AuthSetupError::DevIssuerInactive)?;
        let issued = now.timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            sub: sub.to_owned(),
            name: name.to_owned(),
            agency: agency.to_owned(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            exp: issued + ttl_secs,
            nbf: issued,
            iat: Some(issued),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(dev.kid.clone());
        if let Some(typ) = &self.required_typ {
            header.typ = Some(typ.clone());
        }
        jsonwebtoken::encode(&header, &claims, &dev.key)
            .map_err(|e| AuthSetupError::Sign(e.to_string()))
    }

    /// Verifies the value of an `Authorization` header.
    pub fn authenticate_header(
        &self,
        header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Actor, AuthError> {
        let value = header.ok_or(AuthError::Missing)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        self.verify(token.trim(), now)
    }

    /// Verifies one compact JWT.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Actor, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::TooLong);
        }
        let digest = VerifiedTokens::digest(token);
        let outcome = match self.verified.get(&digest) {
            Some(outcome) => outcome,
            None => {
                let generation = self.verified.generation();
                let outcome = self.verify_signed(token);
                self.verified.put(digest, &outcome, generation);
                outcome
            }
        };
        self.check_claims(outcome?, now)
    }

    /// Everything about a token that depends only on its bytes and the configured keys: its
    /// form and header, the signature, and the issuer, audience and types of its claims.
    fn verify_signed(&self, token: &str) -> Result<Claims, AuthError> {
        inspect(token, self.required_typ.as_deref())?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !matches!(
            header.alg,
            Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256
        ) {
            return Err(AuthError::Algorithm);
        }
        let keys = self.keys.current();
        if keys.is_empty() {
            // The provider's keys are not fetched yet.
            return Err(AuthError::UnknownKey);
        }
        let candidates: Vec<&VerifierKey> = match &header.kid {
            Some(kid) => {
                let named: Vec<_> = keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                    .collect();
                if named.is_empty() {
                    return Err(AuthError::UnknownKey);
                }
                named
            }
            None => keys.iter().collect(),
        };
        let mut outcome = Err(AuthError::Algorithm);
        for key in candidates.into_iter().filter(|k| k.alg == header.alg) {
            outcome = self.verify_with(token, key);
            if !matches!(outcome, Err(AuthError::Signature)) {
                break;
            }
        }
        outcome
    }

    fn verify_with(&self, token: &str, key: &VerifierKey) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(key.alg);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        // Time is checked below against the service clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => AuthError::Signature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::Algorithm
                }
                ErrorKind::InvalidIssuer => AuthError::Issuer,
                ErrorKind::InvalidAudience => AuthError::Audience,
                ErrorKind::MissingRequiredClaim(_)
                | ErrorKind::InvalidClaimFormat(_)
                | ErrorKind::Json(_) => AuthError::Claims,
                _ => AuthError::Malformed,
            })
    }

    fn check_claims(&self, claims: Claims, now: DateTime<Utc>) -> Result<Actor, AuthError> {
        let now = now.timestamp();
        if claims.exp.saturating_add(LEEWAY_SECS) <= now {
            return Err(AuthError::Expired);
        }
        if claims.nbf.saturating_sub(LEEWAY_SECS) > now {
            return Err(AuthError::NotYetValid);
        }
        if claims
            .iat
            .is_some_and(|iat| iat.saturating_sub(LEEWAY_SECS) > now)
        {
            return Err(AuthError::IssuedInFuture);
        }
        // Belt and braces: jsonwebtoken checked these too.
        if claims.iss != self.issuer {
            return Err(AuthError::Issuer);
        }
        let audience_ok = match &claims.aud {
            Audience::One(aud) => *aud == self.audience,
            Audience::Many(list) => list.contains(&self.audience),
        };
        if !audience_ok {
            return Err(AuthError::Audience);
        }
        for value in [&claims.sub, &claims.name, &claims.agency] {
            if value.trim().is_empty() || value.len() > MAX_CLAIM_LEN {
                return Err(AuthError::Claims);
            }
        }
        if claims.roles.is_empty() {
            return Err(AuthError::Roles);
        }
        let roles = claims
            .roles
            .iter()
            .map(|r| Role::from_str(r))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|()| AuthError::Roles)?;
        Ok(Actor {
            sub: claims.sub,
            name: claims.name,
            agency: claims.agency,
            roles,
        })
    }
}
