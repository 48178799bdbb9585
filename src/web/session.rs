//! Web sessions (UI.md §2): a 256-bit random id in the `sig_session` cookie, stored only as its
//! SHA-256 in the database (so several instances share sessions), with a form token that every
//! POST of the session must carry. Idle and absolute timeouts end a session; the first page
//! view after either writes `session.expired` and asks for a new login.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::rand::{SecureRandom, SystemRandom};

use super::PageError;
use crate::audit::{self, Action, EventActor};
use crate::auth::{Actor, Role};
use crate::error::UseCaseError;
use crate::repo::sessions::{self, SessionRow};
use crate::state::AppState;
use crate::work::{self, AuditFacts, RequestMeta};

/// The session cookie's name: `__Host-` bound to this host and https when the service is
/// reached over https (`SIG_PUBLIC_URL`).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-sig_session"
    } else {
        "sig_session"
    }
}
/// A session used within this long is not written back on every page view.
const TOUCH_AFTER_SECS: i64 = 60;

/// The signed-in user of a page request.
#[derive(Clone, Debug)]
pub struct Session {
    pub actor: Actor,
    /// The form token every POST of this session carries.
    pub csrf: String,
    id_hash: Vec<u8>,
}

impl Session {
    pub fn id_hash(&self) -> &[u8] {
        &self.id_hash
    }

    /// Whether `token` is this session's form token (compared in constant time).
    pub fn csrf_ok(&self, token: &str) -> bool {
        same_secret(&self.csrf, token)
    }
}

/// Whether two secrets are equal, compared in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    #[allow(deprecated)]
    ring::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// 32 random bytes, base64url.
pub fn random_token() -> Result<String, UseCaseError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| UseCaseError::Internal("the system random number generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub fn hash_id(id: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, id.as_bytes())
        .as_ref()
        .to_vec()
}

/// The session cookie for `id` (an empty value with max-age 0 ends it).
pub fn cookie(id: &str, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(secure), id.to_owned())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    if id.is_empty() {
        cookie.make_removal();
    }
    cookie
}

/// The actor a session row stands for; `None` when a stored role is not one any more.
fn actor_of(row: &SessionRow) -> Option<Actor> {
    let roles: Vec<String> = serde_json::from_str(&row.roles).ok()?;
    let roles = roles
        .iter()
        .map(|r| r.parse::<Role>().ok())
        .collect::<Option<_>>()?;
    Some(Actor {
        sub: row.sub.clone(),
        name: row.name.clone(),
        agency: row.agency.clone(),
        roles,
    })
}

/// What the session cookie of a request leads to.
enum Lookup {
    Valid(Session),
    Expired,
    Unknown,
}

fn lookup(
    state: &AppState,
    id_hash: Vec<u8>,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Lookup, UseCaseError> {
    let mut conn = state.pool.get()?;
    let Some(row) = sessions::find(&mut conn, &id_hash)? else {
        return Ok(Lookup::Unknown);
    };
    let at = audit::to_micros(now);
    let idle = chrono::Duration::minutes(state.config.session_idle_minutes);
    let lifetime = chrono::Duration::hours(state.config.session_max_hours);
    let actor = actor_of(&row);
    let expired = at - row.last_seen_at > idle || at - row.created_at > lifetime;
    let Some(actor) = actor.filter(|_| !expired) else {
        let event_actor = EventActor {
            sub: Some(row.sub.clone()),
            name: Some(row.name.clone()),
            agency: Some(row.agency.clone()),
            roles: serde_json::from_str(&row.roles).ok(),
        };
        let facts = AuditFacts {
            reason: Some("session timed out".to_owned()),
            ..AuditFacts::default()
        };
        let event = work::event(
            Some(meta),
            event_actor,
            Action::SessionExpired,
            200,
            facts,
            None,
            now,
        );
        state.audit.write(&mut conn, |conn| {
            sessions::delete(conn, &id_hash)?;
            Ok::<_, UseCaseError>(((), Some(event)))
        })?;
        return Ok(Lookup::Expired);
    };
    if (at - row.last_seen_at).num_seconds() >= TOUCH_AFTER_SECS {
        sessions::touch(&mut conn, &id_hash, at)?;
    }
    Ok(Lookup::Valid(Session {
        actor,
        csrf: row.csrf_token,
        id_hash,
    }))
}

impl FromRequest for Session {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Session, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = crate::api::state(req);
        let secure = state.as_ref().is_ok_and(|s| s.config.secure_cookies());
        let cookie = req
            .cookie(cookie_name(secure))
            .map(|c| c.value().to_owned());
        let next = req.path().to_owned();
        let meta = crate::api::request_meta(req);
        Box::pin(async move {
            let state = state.map_err(PageError::Failed)?;
            let Some(id) = cookie.filter(|c| !c.is_empty()) else {
                return Err(PageError::Login {
                    next,
                    expired: false,
                });
            };
            let now = state.clock.now();
            let worker = state.clone();
            let found = actix_web::rt::task::spawn_blocking(move || {
                lookup(&worker, hash_id(&id), &meta, now)
            })
            .await
            .map_err(|_| {
                PageError::Failed(UseCaseError::Internal("a session lookup failed".into()))
            })?
            .map_err(PageError::Failed)?;
            match found {
                Lookup::Valid(session) => {
                    state
                        .rate_limits
                        .check(&session.actor.sub)
                        .map_err(PageError::Failed)?;
                    Ok(session)
                }
                Lookup::Expired => Err(PageError::Login {
                    next,
                    expired: true,
                }),
                Lookup::Unknown => Err(PageError::Login {
                    next,
                    expired: false,
                }),
            }
        })
    }
}
