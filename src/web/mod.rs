//! The web interface (UI.md): server-rendered pages in Swedish from the same binary, a second
//! face of the same units of work as the API. A page handler turns the session into an actor,
//! calls the use case of the API operation it mirrors through `work::read` / `work::run` (one
//! audit event with that operation's action), and renders what the use case returned —
//! nothing more. No page reads the database or decides access on its own.

pub mod access;
pub mod admin;
pub mod audit;
pub mod case_status;
pub mod consents;
pub mod login;
pub mod new_case;
pub mod notes;
pub mod pages;
pub mod plan;
pub mod plan_edit;
pub mod plan_versions;
pub mod session;
pub mod statistics;
pub mod words;

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::error::UseCaseError;
use crate::usecase::reference::{self, AgencyView, AreaView};
use crate::work::{Call, Unit};

/// The stylesheets, embedded: no CDN, no request leaves the service. FKUI's base (a subset of
/// `@fkui/design`, built by `scripts/fkui.sh`), then the pages' own layout.
pub const FKUI: &str = include_str!("../../assets/fkui/fkui.css");
pub const STYLESHEET: &str = include_str!("../../assets/sig.css");
/// The one script: "Redigera plan"'s row buttons without a full reload (every flow works
/// without it).
pub const PLAN_SCRIPT: &str = include_str!("../../assets/plan.js");

/// What every page's frame shows: who is signed in, the form token for "Logga ut", and the
/// development banner.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub user: Option<String>,
    pub agency: Option<String>,
    pub csrf: String,
    pub development: bool,
    /// Now, in Stockholm: the printed page's footer says when it was printed.
    pub printed_at: String,
    /// The main menu for the user's roles: (path, words).
    pub nav: Vec<(&'static str, &'static str)>,
}

/// The main menu of a user in `actor`'s roles: the pages those roles work with.
fn menu(actor: &crate::auth::Actor) -> Vec<(&'static str, &'static str)> {
    use crate::auth::Role;
    let mut nav = Vec::new();
    if [Role::SocialSecretary, Role::PoliceOfficer, Role::Partner]
        .iter()
        .any(|r| actor.has_role(*r))
    {
        nav.push(("/arenden", "Ärenden"));
    }
    if actor.has_role(Role::Auditor) {
        nav.push(("/granskning", "Granskning"));
    }
    if actor.has_role(Role::Admin) {
        nav.push(("/admin/verksamheter", "Verksamheter"));
    }
    nav.push(("/statistik", "Statistik"));
    nav
}

impl Layout {
    /// The frame of a page of `req`, for `session` if someone is signed in.
    pub fn of(req: &HttpRequest, session: Option<&session::Session>) -> Result<Self, PageError> {
        Ok(Self {
            user: session.map(|s| s.actor.name.clone()),
            agency: session.map(|s| agency_shown(req, &s.actor.agency)),
            csrf: session.map(|s| s.csrf.clone()).unwrap_or_default(),
            development: development(req)?,
            printed_at: words::local_time(&crate::clock::rfc3339(
                &crate::api::state(req)?.clock.now(),
            )),
            nav: session.map(|s| menu(&s.actor)).unwrap_or_default(),
        })
    }
}

/// The user's agency as the frame names it: its name from the cached registry, its slug until
/// the registry has been read.
fn agency_shown(req: &HttpRequest, slug: &str) -> String {
    req.app_data::<web::Data<ReferenceCache>>()
        .and_then(|cache| {
            let guard = cache.0.lock().ok()?;
            let (_, lists) = guard.as_ref()?;
            lists
                .1
                .iter()
                .find(|a| a.slug == slug)
                .map(|a| a.name.clone())
        })
        .unwrap_or_else(|| slug.to_owned())
}

/// Whether the development login (and its banner) is on: while the development token issuer is.
pub fn development(req: &HttpRequest) -> Result<bool, PageError> {
    Ok(crate::api::state(req)?.auth.development_issuer_active())
}

/// An error page (UI.md §4): the status's heading and what to do, never case data.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    title: &'a str,
    message: &'a str,
}

/// Why a page is not shown.
#[derive(Debug)]
pub enum PageError {
    /// No valid session: to the login page, and back to `next` after it.
    Login { next: String, expired: bool },
    /// The unit of work refused or failed.
    Failed(UseCaseError),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Login { .. } => f.write_str("login needed"),
            PageError::Failed(error) => write!(f, "{error}"),
        }
    }
}

impl From<UseCaseError> for PageError {
    fn from(error: UseCaseError) -> Self {
        PageError::Failed(error)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login { .. } => StatusCode::SEE_OTHER,
            PageError::Failed(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::Login { next, expired } => {
                let mut target = format!("/logga-in?next={}", words::url_encode(next));
                if *expired {
                    target.push_str("&utloggad=1");
                }
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, target))
                    .finish()
            }
            PageError::Failed(error) => {
                if let UseCaseError::Internal(message) = error {
                    tracing::error!(error = %message, "internal error on a page");
                }
                let (title, message) = words::error_text(error);
                let page = ErrorPage {
                    layout: Layout::default(),
                    title,
                    message,
                };
                html(self.status_code(), &page)
            }
        }
    }
}

/// A rendered page as `text/html`.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header(ContentType::html())
            .body(body),
        Err(error) => {
            tracing::error!(%error, "a page did not render");
            HttpResponse::InternalServerError()
                .insert_header(ContentType::plaintext())
                .body("Ett internt fel inträffade.")
        }
    }
}

/// 303 to `path`: where a page goes after a write that succeeded.
pub fn see_other(path: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, path.to_owned()))
        .finish()
}

/// The page "Sidan finns inte" for a path no page or API route answers.
pub fn not_found() -> HttpResponse {
    PageError::Failed(UseCaseError::NotFound(String::new())).error_response()
}

/// The audited call a page makes for `session`, with the action of the API operation it
/// mirrors, and its own method and path.
pub fn call(
    req: &HttpRequest,
    session: &session::Session,
    action: crate::audit::Action,
) -> Result<Call, PageError> {
    Ok(Call {
        state: crate::api::state(req)?,
        actor: session.actor.clone(),
        action,
        meta: crate::api::request_meta(req),
    })
}

/// A read of case `id` for `session` through the use case of the API operation it mirrors: one
/// unit of work and one audit event with `action`, as [`call`] makes it.
pub async fn read_case<T: Send + 'static>(
    req: &HttpRequest,
    session: &session::Session,
    action: crate::audit::Action,
    id: &str,
    read: impl FnOnce(&mut Unit<'_>, &str) -> Result<T, UseCaseError> + Send + 'static,
) -> Result<T, PageError> {
    let id = id.to_owned();
    let call = call(req, session, action)?;
    Ok(crate::work::read(call, 200, move |unit| read(unit, &id)).await?)
}

/// The partnership areas and the agency registry as the pages last read them. Reference data
/// (not audited, API.md §10) that changes only when an admin registers an agency: read again
/// after [`REFERENCE_SECONDS`], so a page view does not query it each time.
#[derive(Default)]
pub struct ReferenceCache(std::sync::Mutex<Option<(std::time::Instant, ReferenceLists)>>);

type ReferenceLists = std::sync::Arc<(Vec<AreaView>, Vec<AgencyView>)>;

const REFERENCE_SECONDS: u64 = 30;

impl ReferenceCache {
    /// Forgets the lists, so the next page reads them again (after the registry changed).
    pub fn forget(&self) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = None;
        }
    }
}

/// The partnership areas and the agency registry, for a page's choices and names.
pub async fn reference_lists(req: &HttpRequest) -> Result<ReferenceLists, PageError> {
    let cache = req.app_data::<web::Data<ReferenceCache>>().cloned();
    if let Some(found) = cache.as_ref().and_then(|c| {
        let guard = c.0.lock().ok()?;
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed().as_secs() < REFERENCE_SECONDS)
            .map(|(_, lists)| lists.clone())
    }) {
        return Ok(found);
    }
    let state = crate::api::state(req)?;
    let lists = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = state.pool.get()?;
        Ok::<_, UseCaseError>((
            reference::areas(&mut conn)?,
            reference::agencies(&mut conn)?,
        ))
    })
    .await
    .map_err(|_| UseCaseError::Internal("the reference lists could not be read".into()))??;
    let lists = std::sync::Arc::new(lists);
    if let Some(cache) = cache {
        if let Ok(mut guard) = cache.0.lock() {
            *guard = Some((std::time::Instant::now(), lists.clone()));
        }
    }
    Ok(lists)
}

/// A POST is the service's own: its `Origin`, when the browser sends one, names this host.
pub fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let info = req.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    origin.to_str().is_ok_and(|o| o == own)
}

/// The pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(ReferenceCache::default()))
        .route("/", web::get().to(pages::home))
        .route("/static/fkui.css", web::get().to(pages::fkui))
        .route("/static/sig.css", web::get().to(pages::stylesheet))
        .route("/static/plan.js", web::get().to(pages::plan_script))
        .route("/logga-in", web::get().to(login::login_form))
        .route("/logga-in", web::post().to(login::login))
        .route("/auth/callback", web::get().to(login::callback))
        .route("/logga-ut", web::post().to(login::logout))
        .route("/utloggad", web::get().to(login::signed_out))
        .route("/arenden", web::get().to(pages::cases))
        .route("/arenden/sok", web::post().to(pages::search))
        .route("/arenden/nytt", web::get().to(new_case::form_page))
        .route("/arenden/nytt", web::post().to(new_case::create))
        .route("/arenden/{id}", web::get().to(pages::case))
        .route("/arenden/{id}/status", web::post().to(case_status::change))
        .route("/arenden/{id}/anteckningar", web::get().to(notes::list))
        .route("/arenden/{id}/anteckningar", web::post().to(notes::create))
        .route("/arenden/{id}/atkomst", web::get().to(access::explain))
        .route("/arenden/{id}/plan", web::get().to(plan::show))
        .route(
            "/arenden/{id}/plan/redigera",
            web::get().to(plan_edit::form_page),
        )
        .route(
            "/arenden/{id}/plan/redigera",
            web::post().to(plan_edit::save),
        )
        .route(
            "/arenden/{id}/plan/overenskommen",
            web::post().to(plan::agree),
        )
        .route(
            "/arenden/{id}/plan/uppfoljningar",
            web::post().to(plan::follow_up),
        )
        .route(
            "/arenden/{id}/plan/insatser/{measure_id}",
            web::get().to(plan::measure),
        )
        .route(
            "/arenden/{id}/plan/insatser/{measure_id}",
            web::post().to(plan::update_measure),
        )
        .route(
            "/arenden/{id}/plan/versioner",
            web::get().to(plan_versions::list),
        )
        .route(
            "/arenden/{id}/plan/versioner/{n}",
            web::get().to(plan_versions::show),
        )
        .route("/arenden/{id}/samtycken", web::get().to(consents::list))
        .route(
            "/arenden/{id}/samtycken/nytt",
            web::get().to(consents::new_form),
        )
        .route(
            "/arenden/{id}/samtycken/nytt",
            web::post().to(consents::create),
        )
        .route(
            "/arenden/{id}/samtycken/{cid}/aterkalla",
            web::get().to(consents::revoke_form),
        )
        .route(
            "/arenden/{id}/samtycken/{cid}/aterkalla",
            web::post().to(consents::revoke),
        )
        .route("/arenden/{id}/loggutdrag", web::get().to(audit::extract))
        .route(
            "/arenden/{id}/loggutdrag/verifierbart",
            web::get().to(audit::extract_verifiable),
        )
        .route("/granskning", web::get().to(audit::console))
        .route("/granskning/logg", web::get().to(audit::log))
        .route("/granskning/logg/export", web::get().to(audit::export))
        .route("/granskning/avvikelser", web::get().to(audit::anomalies))
        .route("/granskning/genomgangar", web::get().to(audit::reviews))
        .route(
            "/granskning/genomgangar",
            web::post().to(audit::create_review),
        )
        .route("/admin/verksamheter", web::get().to(admin::agencies))
        .route("/admin/verksamheter", web::post().to(admin::register))
        .route("/statistik", web::get().to(statistics::show))
        .route("/tillganglighet", web::get().to(pages::accessibility));
}

#[cfg(test)]
mod tests {
    /// UI.md and the issue: everything the pages load (the CSS and the one script) stays
    /// under 60 KB.
    #[test]
    fn the_pages_assets_stay_under_60_kb() {
        let total = super::FKUI.len() + super::STYLESHEET.len() + super::PLAN_SCRIPT.len();
        assert!(total < 60 * 1024, "{total} bytes");
    }
}
