//! Login through an OpenID Provider (UI.md §2): the authorization code flow with PKCE (S256),
//! `state` and `nonce`, the provider found by discovery from its issuer. The ID token is checked
//! as strictly as an API token: signature from the provider's JWKS, `iss`, `aud` (and `azp`),
//! `exp`, `nonce`. This module speaks to the provider (discovery, JWKS, the code exchange) and
//! returns the signed-in person's claims; who they are in the register (agency, roles) is decided
//! by the caller against the registry.
//!
//! These are the only outbound requests the service makes. They go to the configured issuer's
//! endpoints only, follow no redirects, and give up after ten seconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

/// How long discovered metadata and keys are used before they are fetched again (sooner when
/// an ID token names a key the cached set does not hold).
const METADATA_TTL: Duration = Duration::from_secs(3600);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// What the service needs to know of its provider.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// `{SIG_PUBLIC_URL}/auth/callback`.
    pub redirect_uri: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    pub agency_claim: String,
    pub roles_claim: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the OpenID Provider's settings are not usable: {0}")]
    Settings(String),
    #[error("the OpenID Provider could not be reached or answered wrongly: {0}")]
    Provider(String),
    #[error("the provider's answer was refused: {0}")]
    Refused(String),
}

/// Every claim of the ID token besides the standard ones, so the agency and role claims can be
/// named in the configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OtherClaims(serde_json::Map<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

/// The one provider-metadata field beyond the core ones that the service uses.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LogoutMetadata {
    #[serde(default)]
    end_session_endpoint: Option<String>,
}

impl AdditionalProviderMetadata for LogoutMetadata {}

type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type TokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type ProviderClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<TokenFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Discovered {
    client: ProviderClient,
    end_session: Option<String>,
    at: Instant,
}

/// A login under way: what the callback must find again. It travels sealed in the browser's
/// short-lived login cookie.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct LoginTransaction {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The page to show after login (a path of this service).
    pub next: String,
    /// Unix seconds when the login began.
    pub began: i64,
}

/// Who the provider says signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub name: Option<String>,
    /// The agency claim, when present and a string.
    pub agency: Option<String>,
    /// The roles claim: an array of strings or one space-separated string.
    pub roles: Vec<String>,
}

/// The configured OpenID Provider, discovered on first use and cached.
pub struct OidcProvider {
    settings: OidcSettings,
    http: openidconnect::ureq::Agent,
    discovered: Mutex<Option<Arc<Discovered>>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

/// An issuer must be https, except on the loopback interface (a provider on the same host):
/// the rule of every URL the service fetches from ([`super::provider_keys::checked_url`]).
fn check_issuer(issuer: &str) -> Result<IssuerUrl, OidcError> {
    super::provider_keys::checked_url(issuer, "SIG_OIDC_ISSUER").map_err(OidcError::Settings)?;
    IssuerUrl::new(issuer.to_owned())
        .map_err(|e| OidcError::Settings(format!("SIG_OIDC_ISSUER is not a URL: {e}")))
}

impl OidcProvider {
    /// Checks the settings; the provider itself is asked on the first login.
    pub fn new(settings: OidcSettings) -> Result<Self, OidcError> {
        check_issuer(&settings.issuer)?;
        RedirectUrl::new(settings.redirect_uri.clone())
            .map_err(|e| OidcError::Settings(format!("the redirect URI is not a URL: {e}")))?;
        let http = openidconnect::ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(HTTP_TIMEOUT)
            .build();
        Ok(Self {
            settings,
            http,
            discovered: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's metadata and keys, fetched when missing, stale, or `refresh` is asked.
    fn discovered(&self, refresh: bool) -> Result<Arc<Discovered>, OidcError> {
        if !refresh {
            if let Ok(guard) = self.discovered.lock() {
                if let Some(found) = guard.as_ref().filter(|d| d.at.elapsed() < METADATA_TTL) {
                    return Ok(found.clone());
                }
            }
        }
        let issuer = check_issuer(&self.settings.issuer)?;
        let metadata = Metadata::discover(&issuer, &self.http)
            .map_err(|e| OidcError::Provider(format!("discovery: {e}")))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let client = ProviderClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(
            RedirectUrl::new(self.settings.redirect_uri.clone())
                .map_err(|e| OidcError::Settings(e.to_string()))?,
        );
        let found = Arc::new(Discovered {
            client,
            end_session,
            at: Instant::now(),
        });
        if let Ok(mut guard) = self.discovered.lock() {
            *guard = Some(found.clone());
        }
        Ok(found)
    }

    /// Starts a login: the provider's authorization URL, and the transaction the callback needs.
    pub fn begin(
        &self,
        next: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, LoginTransaction), OidcError> {
        let discovered = self.discovered(false)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = discovered.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            LoginTransaction {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                next: next.to_owned(),
                began: now.timestamp(),
            },
        ))
    }

    /// Finishes a login: exchanges `code` (with the PKCE verifier) and checks the ID token.
    /// The caller has already matched `state`.
    pub fn finish(
        &self,
        code: &str,
        transaction: &LoginTransaction,
        now: DateTime<Utc>,
    ) -> Result<Identity, OidcError> {
        let discovered = self.discovered(false)?;
        let response = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Settings(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(transaction.verifier.clone()))
            .request(&self.http)
            .map_err(|e| OidcError::Provider(format!("code exchange: {e}")))?;
        let token = response
            .id_token()
            .ok_or_else(|| OidcError::Refused("no ID token in the token response".into()))?;
        let nonce = Nonce::new(transaction.nonce.clone());
        let check = |client: &ProviderClient| {
            let verifier = client.id_token_verifier().set_time_fn(move || now);
            token.claims(&verifier, &nonce).cloned()
        };
        let claims = match check(&discovered.client) {
            Ok(claims) => claims,
            // A key the cached set does not hold: the provider may have rotated its keys.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                check(&self.discovered(true)?.client)
                    .map_err(|e| OidcError::Refused(format!("ID token: {e}")))?
            }
            Err(e) => return Err(OidcError::Refused(format!("ID token: {e}"))),
        };
        let other = &claims.additional_claims().0;
        let agency = other
            .get(&self.settings.agency_claim)
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let roles = match other.get(&self.settings.roles_claim) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(text)) => {
                text.split_whitespace().map(str::to_owned).collect()
            }
            _ => Vec::new(),
        };
        Ok(Identity {
            sub: claims.subject().as_str().to_owned(),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            agency,
            roles,
        })
    }

    /// Where to send the browser to end the session at the provider too (RP-initiated logout),
    /// coming back to `after`; `None` when the provider offers no such endpoint.
    pub fn logout_url(&self, after: &str) -> Option<String> {
        let discovered = self.discovered(false).ok()?;
        let mut url = openidconnect::url::Url::parse(discovered.end_session.as_deref()?).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("post_logout_redirect_uri", after);
        Some(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_must_be_https_except_on_loopback() {
        assert!(check_issuer("https://login.example.se/tenant/v2.0").is_ok());
        assert!(check_issuer("http://127.0.0.1:4010").is_ok());
        assert!(check_issuer("http://localhost:4010").is_ok());
        assert!(check_issuer("http://idp.example.se").is_err());
        assert!(check_issuer("not a url").is_err());
    }
}
