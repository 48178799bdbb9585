//! The page handlers of the first part of the web interface: login (development), the case
//! list and the case page, the accessibility statement.

use std::collections::{BTreeSet, HashMap};

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::session::{self, Session};
use super::{call, development, html, words, Layout, PageError};
use crate::audit::{Action, EventActor};
use crate::auth::{Actor, Role};
use crate::domain::FieldError;
use crate::error::UseCaseError;
use crate::repo::sessions::{self as repo, SessionRow};
use crate::state::AppState;
use crate::usecase::cases::{self, CasePage, CaseQuery, CaseView};
use crate::usecase::reference::{self, AgencyView, AreaView};
use crate::work::{self, AuditFacts};

type Page = Result<HttpResponse, PageError>;

/// The form fields of a POST body; repeated names (checkboxes) keep every value.
pub(super) fn form(body: &[u8]) -> HashMap<String, Vec<String>> {
    let mut fields: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        fields
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    fields
}

pub(super) fn field<'a>(fields: &'a HashMap<String, Vec<String>>, name: &str) -> &'a str {
    fields
        .get(name)
        .and_then(|values| values.first())
        .map_or("", String::as_str)
}

/// Where to go after login: a path of this service only.
fn local_path(next: &str) -> String {
    let safe = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if safe && next != "/logga-in" {
        next.to_owned()
    } else {
        "/arenden".to_owned()
    }
}

/// Writes the denied event of a POST that is not the session's own (its form token or its
/// origin is wrong) and answers 403; nothing changes.
pub(super) async fn refuse_forged(
    req: &HttpRequest,
    session: &Session,
    action: Action,
) -> PageError {
    let call = match call(req, session, action) {
        Ok(call) => call,
        Err(error) => return error,
    };
    let refused = work::run(call, 200, |_| {
        Err::<(), _>(UseCaseError::Forbidden(
            "the form token or origin of this POST is not the session's own".to_owned(),
        ))
    })
    .await;
    match refused {
        Err(error) => PageError::Failed(error),
        Ok(()) => PageError::Failed(UseCaseError::Forbidden(String::new())),
    }
}

/// `/`: to the case list.
pub async fn home(_session: Session) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/arenden"))
        .finish()
}

/// The embedded stylesheet.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .body(super::STYLESHEET)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    expired: bool,
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

const ROLE_WORDS: [(Role, &str); 5] = [
    (Role::SocialSecretary, "Socialsekreterare"),
    (Role::PoliceOfficer, "Polis"),
    (Role::Partner, "Partner"),
    (Role::Auditor, "Granskare"),
    (Role::Admin, "Administratör"),
];

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
    let state = crate::api::state(req)?;
    let found = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = state.pool.get()?;
        reference::agencies(&mut conn)
    })
    .await
    .map_err(|_| UseCaseError::Internal("the agency registry could not be read".into()))??;
    Ok(found)
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    utloggad: Option<String>,
}

/// `GET /logga-in`: the development login form (404 when a real identity provider is used).
pub async fn login_form(req: HttpRequest, query: web::Query<LoginQuery>) -> Page {
    if !development(&req)? {
        return Err(UseCaseError::NotFound(String::new()).into());
    }
    let page = LoginPage {
        layout: Layout::of(&req, None)?,
        next: local_path(query.next.as_deref().unwrap_or("/arenden")),
        expired: query.utloggad.is_some(),
        agencies: agencies(&req).await?,
        roles: role_choices(&[]),
        errors: Vec::new(),
        sub: String::new(),
        name: String::new(),
        agency: String::new(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /logga-in`: checks the form, opens a session and records `session.login`.
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
    let id = open_session(&req, &actor).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&id))
        .insert_header((header::LOCATION, local_path(field(&fields, "next"))))
        .finish())
}

/// Stores a new session for `actor` with its `session.login` event; returns the session id.
async fn open_session(req: &HttpRequest, actor: &Actor) -> Result<String, PageError> {
    let state: AppState = crate::api::state(req)?;
    let meta = crate::api::request_meta(req);
    let (id, csrf) = (session::random_token()?, session::random_token()?);
    let row = SessionRow {
        id_hash: session::hash_id(&id),
        sub: actor.sub.clone(),
        name: actor.name.clone(),
        agency: actor.agency.clone(),
        roles: serde_json::to_string(&actor.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".to_owned()),
        csrf_token: csrf,
        created_at: crate::audit::to_micros(state.clock.now()),
        last_seen_at: crate::audit::to_micros(state.clock.now()),
    };
    let event_actor = EventActor::from(actor);
    actix_web::rt::task::spawn_blocking(move || {
        let now = state.clock.now();
        let facts = AuditFacts {
            reason: Some("development login".to_owned()),
            ..AuditFacts::default()
        };
        let event = work::event(
            Some(&meta),
            event_actor,
            Action::SessionLogin,
            200,
            facts,
            None,
            now,
        );
        let mut conn = state.pool.get()?;
        state.audit.write(&mut conn, |conn| {
            repo::insert(conn, &row)?;
            Ok::<_, UseCaseError>(((), Some(event)))
        })
    })
    .await
    .map_err(|_| UseCaseError::Internal("the login did not finish".into()))??;
    Ok(id)
}

/// `POST /logga-ut`: ends the session and records `session.logout`.
pub async fn logout(req: HttpRequest, session: Session, body: web::Bytes) -> Page {
    let fields = form(&body);
    if !session.csrf_ok(field(&fields, "csrf")) || !super::same_origin(&req) {
        return Err(refuse_forged(&req, &session, Action::SessionLogout).await);
    }
    let state = crate::api::state(&req)?;
    let meta = crate::api::request_meta(&req);
    let event_actor = EventActor::from(&session.actor);
    let id_hash = session.id_hash().to_vec();
    actix_web::rt::task::spawn_blocking(move || {
        let event = work::event(
            Some(&meta),
            event_actor,
            Action::SessionLogout,
            200,
            AuditFacts::default(),
            None,
            state.clock.now(),
        );
        let mut conn = state.pool.get()?;
        state.audit.write(&mut conn, |conn| {
            repo::delete(conn, &id_hash)?;
            Ok::<_, UseCaseError>(((), Some(event)))
        })
    })
    .await
    .map_err(|_| UseCaseError::Internal("the logout did not finish".into()))??;
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(""))
        .insert_header((header::LOCATION, "/logga-in"))
        .finish())
}

/// One row of the case list.
struct CaseRow {
    id: String,
    /// The young person's name where the user may see `identity`, else the case's short id.
    label: String,
    area: String,
    status: &'static str,
    consent: &'static str,
    updated: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    layout: Layout,
    rows: Vec<CaseRow>,
    areas: Vec<AreaView>,
    area: String,
    status: String,
    next_cursor: Option<String>,
    searched: bool,
    search_error: Option<&'static str>,
    /// Social secretaries see "Nytt ärende" (the unit decides when they use it).
    can_open: bool,
}

impl CasesPage {
    fn next_link(&self) -> Option<String> {
        let cursor = self.next_cursor.as_ref()?;
        Some(format!(
            "/arenden?omrade={}&status={}&efter={}",
            words::url_encode(&self.area),
            words::url_encode(&self.status),
            words::url_encode(cursor)
        ))
    }
}

fn area_name(areas: &[AreaView], slug: &str) -> String {
    areas
        .iter()
        .find(|a| a.slug == slug)
        .map_or_else(|| slug.to_owned(), |a| a.name.clone())
}

fn case_rows(page: &CasePage, areas: &[AreaView]) -> Vec<CaseRow> {
    page.items
        .iter()
        .map(|case| CaseRow {
            id: case.id.clone(),
            area: area_name(areas, &case.area),
            status: words::case_status(&case.status),
            consent: words::consent_state(case.consent.state),
            updated: words::local_time(&case.updated_at),
            label: case.youth.as_ref().map_or_else(
                || format!("Ärende {}", case.id.get(..8).unwrap_or(&case.id)),
                |y| {
                    format!(
                        "{} {}",
                        y.given_name.as_deref().unwrap_or(""),
                        y.family_name.as_deref().unwrap_or("")
                    )
                },
            ),
        })
        .collect()
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    omrade: Option<String>,
    status: Option<String>,
    efter: Option<String>,
}

/// `GET /arenden`: the cases the user may read now (the API's `case.list`).
pub async fn cases(req: HttpRequest, session: Session, query: web::Query<ListQuery>) -> Page {
    let query = query.into_inner();
    let (area, status) = (
        query.omrade.unwrap_or_default(),
        query.status.unwrap_or_default(),
    );
    let input = CaseQuery {
        area: Some(area.clone()),
        status: Some(status.clone()).filter(|s| !s.is_empty()),
        cursor: query.efter,
        ..CaseQuery::default()
    };
    let (page, areas) = work::read(call(&req, &session, Action::CaseList)?, 200, move |unit| {
        let page = cases::list(unit, input)?;
        Ok((page, reference::areas(unit.conn)?))
    })
    .await?;
    let rows = case_rows(&page, &areas);
    let page = CasesPage {
        layout: Layout::of(&req, Some(&session))?,
        rows,
        areas,
        area,
        status,
        next_cursor: page.next_cursor,
        searched: false,
        search_error: None,
        can_open: session.actor.has_role(Role::SocialSecretary),
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /arenden/sok`: the personal-number search, as a POST so the number is in no URL.
pub async fn search(req: HttpRequest, session: Session, body: web::Bytes) -> Page {
    let fields = form(&body);
    if !session.csrf_ok(field(&fields, "csrf")) || !super::same_origin(&req) {
        return Err(refuse_forged(&req, &session, Action::CaseList).await);
    }
    let input = CaseQuery {
        personal_number: Some(field(&fields, "personnummer").trim().to_owned()),
        ..CaseQuery::default()
    };
    let found = work::read(call(&req, &session, Action::CaseList)?, 200, move |unit| {
        let areas = reference::areas(unit.conn)?;
        Ok((cases::list(unit, input), areas))
    })
    .await?;
    let (result, areas) = found;
    let (rows, search_error) = match result {
        Ok(page) => (case_rows(&page, &areas), None),
        Err(UseCaseError::BadRequest(_)) => (Vec::new(), Some("Personnumret är inte giltigt.")),
        Err(error) => return Err(error.into()),
    };
    let page = CasesPage {
        layout: Layout::of(&req, Some(&session))?,
        rows,
        areas,
        area: String::new(),
        status: String::new(),
        next_cursor: None,
        searched: true,
        search_error,
        can_open: session.actor.has_role(Role::SocialSecretary),
    };
    Ok(html(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePageView {
    layout: Layout,
    case: CaseView,
    area: String,
    updated: String,
    status: &'static str,
    consent_state: &'static str,
    consent_agencies: Vec<String>,
    consent_categories: Vec<&'static str>,
    /// "Du ser ärendet med stöd av samtycke som gäller till …" for other agencies.
    consented_until: Option<String>,
}

/// `GET /arenden/{id}`: the case, cut to what the user may see now (the API's `case.read`).
pub async fn case(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let Some(id) = crate::domain::uuid_text(&id) else {
        return Err(UseCaseError::NotFound(String::new()).into());
    };
    let (case, areas, agencies) =
        work::read(call(&req, &session, Action::CaseRead)?, 200, move |unit| {
            let case = cases::read(unit, &id)?;
            Ok((
                case,
                reference::areas(unit.conn)?,
                reference::agencies(unit.conn)?,
            ))
        })
        .await?;
    render_case(&req, &session, case, &areas, &agencies, StatusCode::OK)
}

/// The case page for a view a unit of work returned (a new case: with its warnings).
pub(super) async fn case_page(
    req: &HttpRequest,
    session: &Session,
    case: CaseView,
    status: StatusCode,
) -> Page {
    let (areas, agencies) = super::reference_lists(req).await?;
    render_case(req, session, case, &areas, &agencies, status)
}

fn render_case(
    req: &HttpRequest,
    session: &Session,
    case: CaseView,
    areas: &[AreaView],
    agencies: &[AgencyView],
    status: StatusCode,
) -> Page {
    let agency_name = |slug: &String| {
        agencies
            .iter()
            .find(|a| &a.slug == slug)
            .map_or_else(|| slug.clone(), |a| a.name.clone())
    };
    let owner = case.owner_agency == session.actor.agency;
    let page = CasePageView {
        layout: Layout::of(req, Some(session))?,
        area: area_name(areas, &case.area),
        updated: words::local_time(&case.updated_at),
        status: words::case_status(&case.status),
        consent_state: words::consent_state(case.consent.state),
        consent_agencies: case.consent.agencies.iter().map(agency_name).collect(),
        consent_categories: case
            .consent
            .categories
            .iter()
            .map(|c| words::category(c))
            .collect(),
        consented_until: (!owner).then(|| case.consent.valid_until.clone()).flatten(),
        case,
    };
    Ok(html(status, &page))
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    layout: Layout,
}

/// `GET /tillganglighet`: the accessibility statement.
pub async fn accessibility(req: HttpRequest) -> Page {
    let page = AccessibilityPage {
        layout: Layout::of(&req, None)?,
    };
    Ok(html(StatusCode::OK, &page))
}
