//! Authentication (API.md §2): a bearer JWT becomes an [`Actor`].
//!
//! Only asymmetric algorithms are accepted (EdDSA, ES256, RS256), each key is bound to exactly
//! one algorithm, `kid` only selects among configured keys, and the claims are deserialised into
//! a typed struct, so a claim of the wrong JSON type is a rejection, not a skipped check.
//! Time is checked against [`crate::clock`] with at most 60 s of leeway.

mod jwks;
pub mod oidc;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::crypto::keys::KeyStore;

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

/// Why a token was refused. Logged at debug level; the client only ever sees `unauthenticated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    NotBearer,
    #[error("the token is not a well-formed JWT")]
    Malformed,
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

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("reading the JWKS file {path}: {source}")]
    JwksRead {
        path: String,
        source: std::io::Error,
    },
    #[error("the JWKS file {path} is not valid: {reason}")]
    JwksInvalid { path: String, reason: String },
    #[error("`token` mints development tokens only, and SIG_JWKS_FILE is set: tokens come from the identity provider")]
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

struct DevSigner {
    key: EncodingKey,
    kid: String,
}

/// Verifies tokens; mints development tokens while the development issuer is active.
pub struct Authenticator {
    keys: Vec<VerifierKey>,
    issuer: String,
    audience: String,
    dev: Option<DevSigner>,
    verified: VerifiedTokens,
}

/// Tokens whose signature, issuer and audience were verified, by the SHA-256 of the token (the
/// bearer credential itself is not kept). A signature check is a fifth of a case read's CPU, and
/// a client sends the same token until it expires; the same bytes verify the same way, so a hit
/// skips only the signature. Time claims are checked on every request. Bounded: emptied when
/// full.
#[derive(Default)]
struct VerifiedTokens(std::sync::Mutex<HashMap<[u8; 32], Claims>>);

const VERIFIED_TOKENS: usize = 4096;

impl VerifiedTokens {
    fn digest(token: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
        out
    }

    fn get(&self, digest: &[u8; 32]) -> Option<Claims> {
        self.0.lock().ok()?.get(digest).cloned()
    }

    fn put(&self, digest: [u8; 32], claims: &Claims) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= VERIFIED_TOKENS {
                map.clear();
            }
            map.insert(digest, claims.clone());
        }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("development_issuer", &self.dev.is_some())
            .finish()
    }
}

impl Authenticator {
    /// The development issuer (the Ed25519 key in `SIG_DATA_DIR`) unless a JWKS file is given;
    /// then only the JWKS keys verify and nothing is minted.
    pub fn new(
        keys: &KeyStore,
        jwks_file: Option<&Path>,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, AuthSetupError> {
        let (verifiers, dev) = match jwks_file {
            Some(path) => (jwks::load(path)?, None),
            None => {
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
                (vec![verifier], Some(signer))
            }
        };
        Ok(Self {
            keys: verifiers,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            dev,
            verified: VerifiedTokens::default(),
        })
    }

    /// Turns the development issuer off (an OpenID Provider signs users in): no development
    /// token verifies and none is minted.
    pub fn without_development_issuer(mut self) -> Self {
        if self.dev.take().is_some() {
            self.keys.clear();
        }
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
        let digest = VerifiedTokens::digest(token);
        if let Some(claims) = self.verified.get(&digest) {
            return self.check_claims(claims, now);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !matches!(
            header.alg,
            Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256
        ) {
            return Err(AuthError::Algorithm);
        }
        let candidates: Vec<&VerifierKey> = match &header.kid {
            Some(kid) => {
                let named: Vec<_> = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                    .collect();
                if named.is_empty() {
                    return Err(AuthError::UnknownKey);
                }
                named
            }
            None => self.keys.iter().collect(),
        };
        let mut outcome = Err(AuthError::Algorithm);
        for key in candidates.into_iter().filter(|k| k.alg == header.alg) {
            outcome = self.verify_with(token, key);
            if !matches!(outcome, Err(AuthError::Signature)) {
                break;
            }
        }
        let claims = outcome?;
        self.verified.put(digest, &claims);
        self.check_claims(claims, now)
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
