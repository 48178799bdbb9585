//! Login and logout (UI.md §2). With an OpenID Provider configured (`SIG_OIDC_ISSUER`):
//! `/logga-in` sends the browser to the provider (authorization code + PKCE, `state`, `nonce`),
//! `/auth/callback` checks the answer and opens a session. Without one, in development, a form
//! says who the user is. Either way the session is the same, and `session.login` records the
//! login — allowed, or denied with the reason — before anything is shown.

use std::collections::BTreeSet;

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::pages::{field, form, own_form};
use super::session::{self, Session};
use super::{development, html, Layout, PageError};
use crate::audit::{Action, EventActor};
use crate::auth::oidc::{Identity, LoginTransaction};
use crate::auth::{Actor, Role};
use crate::db::DbConn;
use crate::domain::FieldError;
use crate::error::UseCaseError;
use crate::repo::sessions::{self as repo, SessionRow};
use crate::state::AppState;
use crate::usecase::reference::{self, AgencyView};
use crate::work::{self, AuditFacts};

type Page = Result<HttpResponse, PageError>;

/// A login transaction older than this is refused at the callback.
const LOGIN_MINUTES: i64 = 10;
/// The associated data of a sealed login transaction.
const LOGIN_AAD: &str = "web.login_transaction";

/// Where to go after login: a path of this service only.
fn local_path(next: &str) -> String {
    let safe = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if safe && next != "/logga-in" && !next.starts_with("/auth/") {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    expired: bool,
    /// An OpenID Provider signs users in: a button to it instead of the development form.
    provider: bool,
    agencies: Vec<AgencyView>,
    roles: Vec<(&'static str, &'static str, bool)>,
    errors: Vec<FieldError>,
    sub: String,
    name: String,
    agency: String,
}

impl LoginPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

use super::words::ROLE_WORDS;

fn role_choices(chosen: &[String]) -> Vec<(&'static str, &'static str, bool)> {
    ROLE_WORDS
        .iter()
        .map(|(role, word)| {
            (
                role.as_str(),
                *word,
                chosen.iter().any(|c| c == role.as_str()),
            )
        })
        .collect()
}

async fn agencies(req: &HttpRequest) -> Result<Vec<AgencyView>, PageError> {
    Ok(super::reference_lists(req).await?.1.clone())
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    utloggad: Option<String>,
}

/// `GET /logga-in`: to the OpenID Provider (after an idle logout: first a page that says so),
/// or the development login form; 404 when neither is on.
pub async fn login_form(req: HttpRequest, query: web::Query<LoginQuery>) -> Page {
    let state = crate::api::state(&req)?;
    let next = local_path(query.next.as_deref().unwrap_or("/"));
    let expired = query.utloggad.is_some();
    let provider = state.oidc.is_some();
    if provider && !expired {
        return begin(&state, next).await;
    }
    if !provider && !development(&req)? {
        return Err(UseCaseError::NotFound(String::new()).into());
    }
    let page = LoginPage {
        layout: Layout::of(&req, None)?,
        next,
        expired,
        provider,
        agencies: if provider {
            Vec::new()
        } else {
            agencies(&req).await?
        },
        roles: role_choices(&[]),
        errors: Vec::new(),
        sub: String::new(),
        name: String::new(),
        agency: String::new(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// The login cookie: the sealed transaction, for the callback only, short-lived and `Lax` (the
/// provider's redirect back is a cross-site navigation).
fn login_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-sig_login"
    } else {
        "sig_login"
    }
}

fn login_cookie(value: String, secure: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(login_cookie_name(secure), value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::minutes(LOGIN_MINUTES))
        .finish();
    if cookie.value().is_empty() {
        cookie.make_removal();
    }
    cookie
}

/// Sends the browser to the provider with a new transaction in the login cookie.
async fn begin(state: &AppState, next: String) -> Page {
    let worker = state.clone();
    let now = state.clock.now();
    let started = actix_web::rt::task::spawn_blocking(move || {
        let provider = worker.oidc.as_ref().ok_or_else(not_configured)?;
        let (url, transaction) = provider.begin(&next, now).map_err(|error| {
            tracing::error!(%error, "the login could not begin");
            UseCaseError::Unavailable
        })?;
        let plain = serde_json::to_vec(&transaction)
            .map_err(|_| UseCaseError::Internal("a login transaction did not encode".into()))?;
        let sealed = worker
            .crypto
            .seal(&plain, LOGIN_AAD)
            .map_err(|_| UseCaseError::Internal("a login transaction did not seal".into()))?;
        Ok::<_, UseCaseError>((url, URL_SAFE_NO_PAD.encode(sealed)))
    })
    .await
    .map_err(|_| UseCaseError::Internal("the login did not begin".into()))?;
    let (url, cookie) = started?;
    Ok(HttpResponse::SeeOther()
        .cookie(login_cookie(cookie, state.config.secure_cookies()))
        .insert_header((header::LOCATION, url))
        .finish())
}

fn not_configured() -> UseCaseError {
    UseCaseError::NotFound(String::new())
}

/// `POST /logga-in`: checks the development form, opens a session and records `session.login`.
pub async fn login(req: HttpRequest, body: web::Bytes) -> Page {
    if !development(&req)? {
        return Err(UseCaseError::NotFound(String::new()).into());
    }
    if !super::same_origin(&req) {
        return Err(UseCaseError::Forbidden(String::new()).into());
    }
    let fields = form(&body);
    let (sub, name, agency) = (
        field(&fields, "sub").trim().to_owned(),
        field(&fields, "name").trim().to_owned(),
        field(&fields, "agency").to_owned(),
    );
    let chosen = fields.get("roles").cloned().unwrap_or_default();
    let known = agencies(&req).await?;
    let mut errors = Vec::new();
    if sub.is_empty() || sub.chars().count() > 100 {
        errors.push(FieldError::new(
            "sub",
            "Ange ett användar-id (högst 100 tecken).",
        ));
    }
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "Ange ett namn (högst 100 tecken)."));
    }
    if !known.iter().any(|a| a.slug == agency) {
        errors.push(FieldError::new("agency", "Välj en verksamhet."));
    }
    let roles: BTreeSet<Role> = chosen.iter().filter_map(|r| r.parse().ok()).collect();
    if roles.is_empty() || roles.len() != chosen.len() {
        errors.push(FieldError::new("roles", "Välj minst en roll."));
    }
    if !errors.is_empty() {
        let page = LoginPage {
            layout: Layout::of(&req, None)?,
            next: local_path(field(&fields, "next")),
            expired: false,
            provider: false,
            agencies: known,
            roles: role_choices(&chosen),
            errors,
            sub,
            name,
            agency,
        };
        return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let actor = Actor {
        sub,
        name,
        agency,
        roles,
    };
    let state = crate::api::state(&req)?;
    let id = open_session(&req, &actor, "development login").await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&id, state.config.secure_cookies()))
        .insert_header((header::LOCATION, local_path(field(&fields, "next"))))
        .finish())
}

#[derive(serde::Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The issuer, from providers that name it in the answer (RFC 9207): must be ours.
    iss: Option<String>,
}

/// A page that forwards the browser at once (a meta refresh, with a link for those without):
/// after login, so the `Strict` session cookie is sent; at logout, to the provider, which the
/// pages' `form-action 'self'` would not let a redirect after a form reach.
#[derive(Template)]
#[template(path = "forward.html")]
struct ForwardPage<'a> {
    layout: Layout,
    heading: &'a str,
    link: &'a str,
    target: String,
}

#[derive(Template)]
#[template(path = "login_refused.html")]
struct RefusedPage {
    layout: Layout,
    message: &'static str,
}

/// Why a login through the provider is refused: the audit reason (no token, code or claim
/// value in it) and what the page tells the user.
struct Refusal {
    reason: &'static str,
    message: &'static str,
    actor: Box<EventActor>,
}

impl Refusal {
    fn new(reason: &'static str, message: &'static str) -> Self {
        Self {
            reason,
            message,
            actor: Box::default(),
        }
    }
}

const TRY_AGAIN: &str = "Inloggningen kunde inte slutföras. Försök igen.";

/// `GET /auth/callback`: the provider's answer. The transaction must match (`state`), the code
/// is exchanged with the PKCE verifier, the ID token is checked, and the claimed agency and roles
/// must be the register's. Answers 200 with a page that forwards to the page asked for: a
/// `SameSite=Strict` cookie set inside the provider's cross-site redirect chain would not be sent.
pub async fn callback(req: HttpRequest, query: web::Query<CallbackQuery>) -> Page {
    let state = crate::api::state(&req)?;
    if state.oidc.is_none() {
        return Err(not_configured().into());
    }
    let secure = state.config.secure_cookies();
    let sealed = req
        .cookie(login_cookie_name(secure))
        .map(|c| c.value().to_owned());
    let query = query.into_inner();
    let worker = state.clone();
    let now = state.clock.now();
    let checked = actix_web::rt::task::spawn_blocking(move || -> Result<_, Refusal> {
        let transaction = sealed
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .and_then(|bytes| worker.crypto.open(&bytes, LOGIN_AAD).ok())
            .and_then(|plain| serde_json::from_slice::<LoginTransaction>(&plain).ok())
            .ok_or_else(|| Refusal::new("no login transaction", TRY_AGAIN))?;
        if now.timestamp() - transaction.began > LOGIN_MINUTES * 60 {
            return Err(Refusal::new("login transaction too old", TRY_AGAIN));
        }
        let state_ok = query
            .state
            .as_deref()
            .is_some_and(|s| session::same_secret(s, &transaction.state));
        if !state_ok {
            return Err(Refusal::new("state does not match", TRY_AGAIN));
        }
        let issuer = worker
            .oidc
            .as_ref()
            .map(|p| p.settings().issuer.trim_end_matches('/'));
        if query
            .iss
            .as_deref()
            .is_some_and(|iss| Some(iss.trim_end_matches('/')) != issuer)
        {
            return Err(Refusal::new("the answer names another issuer", TRY_AGAIN));
        }
        if query.error.is_some() {
            return Err(Refusal::new(
                "the provider refused the login",
                "Inloggningstjänsten godkände inte inloggningen.",
            ));
        }
        let code = query
            .code
            .ok_or_else(|| Refusal::new("no code", TRY_AGAIN))?;
        let provider = worker
            .oidc
            .as_ref()
            .ok_or_else(|| Refusal::new("no provider", TRY_AGAIN))?;
        let identity = provider.finish(&code, &transaction, now).map_err(|error| {
            tracing::warn!(%error, "an OpenID Connect login was refused");
            Refusal::new("ID token or code exchange refused", TRY_AGAIN)
        })?;
        let mut conn = worker
            .pool
            .get()
            .map_err(|_| Refusal::new("database unavailable", TRY_AGAIN))?;
        let known = reference::agencies(&mut conn)
            .map_err(|_| Refusal::new("database unavailable", TRY_AGAIN))?;
        let actor = actor_of(identity, &known)?;
        Ok((actor, transaction.next))
    })
    .await
    .map_err(|_| UseCaseError::Internal("the login did not finish".into()))?;
    let clear = login_cookie(String::new(), secure);
    match checked {
        Ok((actor, next)) => {
            let id = open_session(&req, &actor, "OpenID Connect login").await?;
            let page = ForwardPage {
                layout: Layout::of(&req, None)?,
                heading: "Du är inloggad",
                link: "Fortsätt",
                target: local_path(&next),
            };
            let mut response = html(StatusCode::OK, &page);
            response.add_cookie(&clear).ok();
            response.add_cookie(&session::cookie(&id, secure)).ok();
            Ok(response)
        }
        Err(refusal) => {
            record(
                &req,
                *refusal.actor,
                Action::SessionLogin,
                403,
                refusal.reason,
                |_| Ok(()),
            )
            .await?;
            let page = RefusedPage {
                layout: Layout::of(&req, None)?,
                message: refusal.message,
            };
            let mut response = html(StatusCode::FORBIDDEN, &page);
            response.add_cookie(&clear).ok();
            Ok(response)
        }
    }
}

/// The register's actor for what the provider said, or why not.
fn actor_of(identity: Identity, known: &[AgencyView]) -> Result<Actor, Refusal> {
    let event_actor = EventActor {
        sub: Some(identity.sub.clone()),
        name: identity.name.clone(),
        agency: identity.agency.clone(),
        roles: Some(identity.roles.clone()),
    };
    let refuse = |reason, message| Refusal {
        reason,
        message,
        actor: Box::new(event_actor.clone()),
    };
    let Some(agency) = identity
        .agency
        .filter(|a| known.iter().any(|k| &k.slug == a))
    else {
        return Err(refuse(
            "unknown agency",
            "Din verksamhet finns inte i SIG-registrets verksamhetsregister. Kontakta registrets förvaltare.",
        ));
    };
    let roles: Option<BTreeSet<Role>> = identity.roles.iter().map(|r| r.parse().ok()).collect();
    let Some(roles) = roles.filter(|r| !r.is_empty()) else {
        return Err(refuse(
            "unknown role",
            "Ditt konto har ingen roll som SIG-registret känner till. Kontakta registrets förvaltare.",
        ));
    };
    let name = identity
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| identity.sub.clone());
    if identity.sub.is_empty() || identity.sub.chars().count() > 255 {
        return Err(refuse("unusable subject", TRY_AGAIN));
    }
    Ok(Actor {
        sub: identity.sub,
        name: name.chars().take(100).collect(),
        agency,
        roles,
    })
}

/// Writes one `session.*` event with the change it records, in one transaction.
async fn record(
    req: &HttpRequest,
    actor: EventActor,
    action: Action,
    status: u16,
    reason: &str,
    change: impl FnOnce(&mut DbConn) -> Result<(), UseCaseError> + Send + 'static,
) -> Result<(), PageError> {
    let state = crate::api::state(req)?;
    let meta = crate::api::request_meta(req);
    let facts = AuditFacts {
        reason: Some(reason.to_owned()),
        ..AuditFacts::default()
    };
    actix_web::rt::task::spawn_blocking(move || {
        let event = work::event(
            Some(&meta),
            actor,
            action,
            status,
            facts,
            None,
            state.clock.now(),
        );
        let mut conn = state.pool.get()?;
        state.audit.write(&mut conn, |conn| {
            change(conn)?;
            Ok::<_, UseCaseError>(((), Some(event)))
        })
    })
    .await
    .map_err(|_| UseCaseError::Internal("a session change did not finish".into()))??;
    Ok(())
}

/// Stores a new session for `actor` with its `session.login` event; returns the session id.
async fn open_session(req: &HttpRequest, actor: &Actor, how: &str) -> Result<String, PageError> {
    let state: AppState = crate::api::state(req)?;
    let (id, csrf) = (session::random_token()?, session::random_token()?);
    let now = crate::audit::to_micros(state.clock.now());
    let row = SessionRow {
        id_hash: session::hash_id(&id),
        sub: actor.sub.clone(),
        name: actor.name.clone(),
        agency: actor.agency.clone(),
        roles: serde_json::to_string(&actor.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".to_owned()),
        csrf_token: csrf,
        created_at: now,
        last_seen_at: now,
    };
    record(
        req,
        EventActor::from(actor),
        Action::SessionLogin,
        200,
        how,
        move |conn| repo::insert(conn, &row).map_err(UseCaseError::from),
    )
    .await?;
    Ok(id)
}

/// `POST /logga-ut`: ends the session, records `session.logout`, and with a provider ends the
/// session there too.
pub async fn logout(req: HttpRequest, session: Session, body: web::Bytes) -> Page {
    own_form(&req, &session, &body, Action::SessionLogout).await?;
    let state = crate::api::state(&req)?;
    let id_hash = session.id_hash().to_vec();
    record(
        &req,
        EventActor::from(&session.actor),
        Action::SessionLogout,
        200,
        "allowed",
        move |conn| {
            repo::delete(conn, &id_hash)
                .map(|_| ())
                .map_err(UseCaseError::from)
        },
    )
    .await?;
    let cookie = session::cookie("", state.config.secure_cookies());
    // The browser drops what it may still hold of the pages (ASVS 5.0 14.3.1). Not
    // "cookies": that would clear every cookie of the registrable domain (other services of
    // the municipality, the provider's own session); the session cookie is deleted above.
    let clear = ("Clear-Site-Data", "\"cache\", \"storage\"");
    let (Some(_), Some(public)) = (&state.oidc, state.config.public_url()) else {
        return Ok(HttpResponse::SeeOther()
            .cookie(cookie)
            .insert_header(clear)
            .insert_header((header::LOCATION, "/logga-in"))
            .finish());
    };
    let worker = state.clone();
    let after = format!("{public}/utloggad");
    let target = actix_web::rt::task::spawn_blocking(move || {
        worker.oidc.as_ref().and_then(|p| p.logout_url(&after))
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| "/utloggad".to_owned());
    let page = ForwardPage {
        layout: Layout::of(&req, None)?,
        heading: "Du loggas ut",
        link: "Fortsätt till inloggningstjänsten",
        target,
    };
    let mut response = html(StatusCode::OK, &page);
    response.add_cookie(&cookie).ok();
    if let (Ok(name), Ok(value)) = (
        header::HeaderName::try_from(clear.0),
        header::HeaderValue::from_str(clear.1),
    ) {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage {
    layout: Layout,
}

/// `GET /utloggad`: where the provider sends the browser back after logout.
pub async fn signed_out(req: HttpRequest) -> Page {
    let page = SignedOutPage {
        layout: Layout::of(&req, None)?,
    };
    Ok(html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(agency: Option<&str>, roles: &[&str]) -> Identity {
        Identity {
            sub: "u-1".into(),
            name: Some("Anna Berg".into()),
            agency: agency.map(str::to_owned),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn registry() -> Vec<AgencyView> {
        vec![AgencyView {
            slug: "soc-orebro".into(),
            name: "Socialtjänsten".into(),
            kind: "social_services".into(),
        }]
    }

    #[test]
    fn claims_map_to_the_registers_actor_or_are_refused() {
        let actor = actor_of(
            identity(Some("soc-orebro"), &["social_secretary"]),
            &registry(),
        )
        .ok()
        .expect("a known agency and role sign in");
        assert_eq!(actor.agency, "soc-orebro");
        assert!(actor.has_role(Role::SocialSecretary));
        let unknown_agency = actor_of(
            identity(Some("elsewhere"), &["social_secretary"]),
            &registry(),
        );
        assert_eq!(
            unknown_agency.err().map(|r| r.reason),
            Some("unknown agency")
        );
        let no_agency = actor_of(identity(None, &["social_secretary"]), &registry());
        assert_eq!(no_agency.err().map(|r| r.reason), Some("unknown agency"));
        let unknown_role = actor_of(identity(Some("soc-orebro"), &["superuser"]), &registry());
        assert_eq!(unknown_role.err().map(|r| r.reason), Some("unknown role"));
        let no_role = actor_of(identity(Some("soc-orebro"), &[]), &registry());
        assert_eq!(no_role.err().map(|r| r.reason), Some("unknown role"));
    }

    #[test]
    fn after_login_only_own_paths() {
        assert_eq!(local_path("/arenden/abc"), "/arenden/abc");
        assert_eq!(local_path("//evil.example"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path("/auth/callback"), "/");
        assert_eq!(local_path("/\\evil"), "/");
    }
}
