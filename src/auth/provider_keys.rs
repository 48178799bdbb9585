//! The identity provider's signing keys, fetched (`SIG_JWKS_URL`, or the `jwks_uri` that
//! OpenID discovery of `SIG_OIDC_ISSUER` names) rather than read from a file.
//!
//! - Over HTTPS only (plain HTTP only on the loopback interface, for a provider on the same
//!   host), following no redirects, giving up after [`HTTP_TIMEOUT`], reading at most
//!   [`MAX_DOCUMENT_BYTES`].
//! - Kept as long as the answer's `Cache-Control: max-age` says, within [`MIN_LIFETIME`] and
//!   [`MAX_LIFETIME`] ([`DEFAULT_LIFETIME`] without one); then fetched again.
//! - A token naming a `kid` the set does not hold makes the set be fetched at once — at most once
//!   per [`UNKNOWN_KID_INTERVAL`], so tokens with made-up `kid`s cannot make the service hammer
//!   the provider.
//! - A failed fetch keeps the last good keys (the provider may be down for a while; tokens it
//!   signed before go on verifying) and is retried after [`RETRY_AFTER_FAILURE`]; readiness says
//!   the keys are stale and why.
//!
//! The fetch itself blocks; callers on an async worker run it on a blocking thread.

use std::io::Read as _;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use openidconnect::url::Url;

use super::jwks;
use super::VerifierKey;

pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024;
pub const MIN_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
pub const MAX_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);
pub const DEFAULT_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
pub const UNKNOWN_KID_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
pub const RETRY_AFTER_FAILURE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Where the key set is found.
#[derive(Clone, Debug)]
enum Source {
    /// `SIG_JWKS_URL`.
    Jwks(Url),
    /// `{issuer}/.well-known/openid-configuration`, whose `jwks_uri` names the set.
    Discovery(Url),
}

/// A URL the service may fetch keys from: https, or http on the loopback interface.
pub fn checked_url(value: &str, what: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("{what} is not a URL: {e}"))?;
    let loopback = matches!(
        url.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "{what} must be an https URL (http only on the loopback interface)"
        )),
    }
}

/// The keys in use and what is known of their freshness.
#[derive(Clone)]
struct Held {
    keys: Arc<Vec<VerifierKey>>,
    json: Vec<serde_json::Value>,
    fetched_at: Option<DateTime<Utc>>,
    fresh_until: Option<DateTime<Utc>>,
    /// The last fetch that failed, and why; cleared by the next good one.
    failure: Option<(DateTime<Utc>, String)>,
}

/// The provider's keys as this instance holds them.
pub struct ProviderKeys {
    source: Source,
    http: openidconnect::ureq::Agent,
    held: RwLock<Held>,
    /// One fetch at a time; a caller that waited finds the new set and does not fetch again.
    fetching: Mutex<()>,
    /// When an unknown `kid` last made the set be fetched.
    unknown_kid_fetch: Mutex<Option<DateTime<Utc>>>,
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKeys")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// How the held keys stand, for readiness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Fetched and within their lifetime.
    Current,
    /// Kept past their lifetime or after a failed fetch: the last good keys.
    Stale,
    /// Never fetched: no token can verify.
    Missing,
}

/// Readiness' view of the keys.
#[derive(Clone, Debug)]
pub struct Standing {
    pub freshness: Freshness,
    pub keys: usize,
    pub fetched_at: Option<DateTime<Utc>>,
    pub fresh_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Why a fetch is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The set is missing or past its lifetime.
    Due,
    /// A token named a `kid` the set does not hold.
    UnknownKid,
}

/// What a fetch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// Not fetched: not due, or an unknown `kid` fetched within the last minute.
    Skipped,
    /// Fetched; the same keys.
    Unchanged,
    /// Fetched; the set changed (tokens verified before must be verified again).
    Changed,
    /// The fetch failed; the last good keys stay.
    Failed(String),
}

impl ProviderKeys {
    /// From `SIG_JWKS_URL`.
    pub fn from_jwks_url(url: &str) -> Result<Self, String> {
        Ok(Self::new(Source::Jwks(checked_url(url, "SIG_JWKS_URL")?)))
    }

    /// From the `jwks_uri` of the OpenID Provider at `issuer`.
    pub fn from_issuer(issuer: &str) -> Result<Self, String> {
        let mut url = checked_url(issuer, "SIG_OIDC_ISSUER")?;
        let path = format!(
            "{}/.well-known/openid-configuration",
            url.path().trim_end_matches('/')
        );
        url.set_path(&path);
        Ok(Self::new(Source::Discovery(url)))
    }

    fn new(source: Source) -> Self {
        let http = openidconnect::ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(HTTP_TIMEOUT)
            .build();
        Self {
            source,
            http,
            held: RwLock::new(Held {
                keys: Arc::new(Vec::new()),
                json: Vec::new(),
                fetched_at: None,
                fresh_until: None,
                failure: None,
            }),
            fetching: Mutex::new(()),
            unknown_kid_fetch: Mutex::new(None),
        }
    }

    fn held(&self) -> Held {
        self.held.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The keys to verify with now.
    pub(crate) fn keys(&self) -> Arc<Vec<VerifierKey>> {
        self.held
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .clone()
    }

    /// Whether the set should be fetched (missing or past its lifetime, and no failed fetch
    /// within [`RETRY_AFTER_FAILURE`]).
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        let held = self.held.read().unwrap_or_else(|e| e.into_inner());
        let expired = held.fresh_until.is_none_or(|until| now >= until);
        let resting = held
            .failure
            .as_ref()
            .is_some_and(|(at, _)| now < *at + RETRY_AFTER_FAILURE);
        expired && !resting
    }

    /// Whether a token with an unknown `kid` may make the set be fetched now — or should wait
    /// for the fetch under way, which may bring its key (the first tokens of a new key arrive
    /// together).
    pub fn may_fetch_for_unknown_kid(&self, now: DateTime<Utc>) -> bool {
        if matches!(
            self.fetching.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        ) {
            return true;
        }
        let last = *self
            .unknown_kid_fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        last.is_none_or(|at| now >= at + UNKNOWN_KID_INTERVAL || now < at)
    }

    /// Fetches the set if `trigger` still calls for it once this caller's turn comes.
    pub fn refresh(&self, now: DateTime<Utc>, trigger: Trigger) -> Refreshed {
        let _turn = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        match trigger {
            Trigger::Due if !self.due(now) => return Refreshed::Skipped,
            Trigger::UnknownKid => {
                let mut last = self
                    .unknown_kid_fetch
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if last.is_some_and(|at| now < at + UNKNOWN_KID_INTERVAL && now >= at) {
                    return Refreshed::Skipped;
                }
                *last = Some(now);
            }
            Trigger::Due => {}
        }
        let fetched = self.fetch();
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        match fetched {
            Ok((set, lifetime)) => {
                for reason in &set.skipped {
                    tracing::warn!(%reason, "a key of the identity provider's set is not used");
                }
                let changed = held.json != set.json;
                held.keys = Arc::new(set.keys);
                held.json = set.json;
                held.fetched_at = Some(now);
                held.fresh_until = Some(now + lifetime);
                held.failure = None;
                if changed {
                    let kids: Vec<&str> =
                        held.keys.iter().filter_map(|k| k.kid.as_deref()).collect();
                    tracing::info!(?kids, ?trigger, "signing keys from the identity provider");
                    Refreshed::Changed
                } else {
                    Refreshed::Unchanged
                }
            }
            Err(reason) => {
                tracing::warn!(%reason, kept = held.keys.len(), "the identity provider's keys were not fetched");
                held.failure = Some((now, reason.clone()));
                Refreshed::Failed(reason)
            }
        }
    }

    /// How the keys stand at `now`.
    pub fn standing(&self, now: DateTime<Utc>) -> Standing {
        let held = self.held();
        let freshness = if held.keys.is_empty() {
            Freshness::Missing
        } else if held.failure.is_some() || held.fresh_until.is_none_or(|until| now >= until) {
            Freshness::Stale
        } else {
            Freshness::Current
        };
        Standing {
            freshness,
            keys: held.keys.len(),
            fetched_at: held.fetched_at,
            fresh_until: held.fresh_until,
            last_error: held.failure.map(|(_, reason)| reason),
        }
    }

    /// One round trip (two with discovery): the set and how long it may be kept.
    fn fetch(&self) -> Result<(jwks::KeySet, chrono::TimeDelta), String> {
        let jwks_url = match &self.source {
            Source::Jwks(url) => url.clone(),
            Source::Discovery(url) => {
                let (text, _) = self.get(url)?;
                let metadata: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| format!("{url}: the discovery document is not JSON: {e}"))?;
                let named = metadata
                    .get("jwks_uri")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| format!("{url}: the discovery document has no jwks_uri"))?;
                checked_url(named, "the provider's jwks_uri")?
            }
        };
        let (text, cache_control) = self.get(&jwks_url)?;
        let set = jwks::parse(&text).map_err(|reason| format!("{jwks_url}: {reason}"))?;
        Ok((set, lifetime(cache_control.as_deref())))
    }

    fn get(&self, url: &Url) -> Result<(String, Option<String>), String> {
        let response = self
            .http
            .get(url.as_str())
            .set("Accept", "application/json")
            .call()
            .map_err(|e| match e {
                openidconnect::ureq::Error::Status(code, _) => format!("{url}: HTTP {code}"),
                openidconnect::ureq::Error::Transport(t) => format!("{url}: {}", t.kind()),
            })?;
        if response.status() != 200 {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let cache_control = response.header("cache-control").map(str::to_owned);
        let mut text = String::new();
        response
            .into_reader()
            .take(MAX_DOCUMENT_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("{url}: {e}"))?;
        if text.len() as u64 > MAX_DOCUMENT_BYTES {
            return Err(format!("{url}: the answer is over 1 MiB"));
        }
        Ok((text, cache_control))
    }
}

/// How long a fetched set is kept: `max-age` of `Cache-Control` (`no-store`/`no-cache`: the
/// shortest), within [`MIN_LIFETIME`]..=[`MAX_LIFETIME`]; [`DEFAULT_LIFETIME`] without either.
pub fn lifetime(cache_control: Option<&str>) -> chrono::TimeDelta {
    let Some(value) = cache_control else {
        return DEFAULT_LIFETIME;
    };
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return MIN_LIFETIME;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            max_age = seconds.trim_matches('"').parse::<i64>().ok();
        }
    }
    match max_age {
        Some(seconds) => chrono::TimeDelta::seconds(seconds).clamp(MIN_LIFETIME, MAX_LIFETIME),
        None => DEFAULT_LIFETIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_follows_cache_control_within_bounds() {
        assert_eq!(lifetime(None), DEFAULT_LIFETIME);
        assert_eq!(lifetime(Some("public")), DEFAULT_LIFETIME);
        assert_eq!(
            lifetime(Some("public, max-age=3600")),
            chrono::TimeDelta::hours(1)
        );
        assert_eq!(
            lifetime(Some("Max-Age=600")),
            chrono::TimeDelta::minutes(10)
        );
        assert_eq!(lifetime(Some("max-age=5")), MIN_LIFETIME);
        assert_eq!(lifetime(Some("max-age=9999999")), MAX_LIFETIME);
        assert_eq!(lifetime(Some("no-store")), MIN_LIFETIME);
        assert_eq!(lifetime(Some("max-age=600, no-cache")), MIN_LIFETIME);
        assert_eq!(lifetime(Some("max-age=soon")), DEFAULT_LIFETIME);
    }

    #[test]
    fn keys_come_over_https_or_from_this_host() {
        assert!(checked_url("https://login.example.se/keys", "x").is_ok());
        assert!(checked_url("http://127.0.0.1:4010/jwks", "x").is_ok());
        assert!(checked_url("http://localhost/jwks", "x").is_ok());
        assert!(checked_url("http://[::1]:80/jwks", "x").is_ok());
        assert!(checked_url("http://idp.example.se/jwks", "x").is_err());
        assert!(checked_url("file:///etc/jwks.json", "x").is_err());
        assert!(checked_url("not a url", "x").is_err());
        let found = ProviderKeys::from_issuer("https://idp.example.se/realms/sig/")
            .map(|p| match p.source {
                Source::Discovery(url) => url.to_string(),
                Source::Jwks(_) => String::new(),
            })
            .unwrap_or_default();
        assert!(
            found == "https://idp.example.se/realms/sig/.well-known/openid-configuration",
            "{found}"
        );
    }
}
