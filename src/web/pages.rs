//! The page handlers of the first part of the web interface: login (development), the case
//! list and the case page, the accessibility statement.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::future::LocalBoxFuture;

use super::session::Session;
use super::{call, html, read_case, words, Layout, PageError};
use crate::audit::Action;
use crate::auth::Role;
use crate::error::UseCaseError;
use crate::usecase::cases::{self, CaseActions, CasePage, CaseQuery, CaseView};
use crate::usecase::reference::{AgencyView, AreaView};
use crate::work::{self, Call};

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

/// The fields of a POST that is the session's own (its form token and its origin); otherwise
/// the denied event of `action` is written and the answer is the 403 page.
pub(super) async fn own_form(
    req: &HttpRequest,
    session: &Session,
    body: &[u8],
    action: Action,
) -> Result<HashMap<String, Vec<String>>, PageError> {
    let fields = form(body);
    if session.csrf_ok(field(&fields, "csrf")) && super::same_origin(req) {
        Ok(fields)
    } else {
        Err(refuse_forged(req, session, action).await)
    }
}

/// The fields of a POST body, by name.
pub(super) type Fields = HashMap<String, Vec<String>>;

/// A form posted on a case's pages, the one extractor of its handler: the session, the case
/// (the path's `{id}`; any other text is the 404 page) and the body, read in that order.
pub struct CaseForm {
    req: HttpRequest,
    session: Session,
    id: String,
    body: web::Bytes,
}

impl FromRequest for CaseForm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<CaseForm, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = Session::from_request(req, payload);
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let session = session.await?;
            let body = body.await?;
            let id = case_id(req.match_info().get("id").unwrap_or_default())?;
            Ok(CaseForm {
                req,
                session,
                id,
                body,
            })
        })
    }
}

/// A posted case form, opened for one action: the request, the session, the case id, the
/// form's fields, and the audited call of its write — with the action of the denied event a
/// foreign form leaves, so a handler names its action once.
pub(super) type Opened = (HttpRequest, Session, String, Fields, Call);

impl CaseForm {
    /// The form, once it is the session's own ([`own_form`]; otherwise the denied event of
    /// `action` and the 403 page).
    pub(super) async fn open(self, action: Action) -> Result<Opened, PageError> {
        let fields = own_form(&self.req, &self.session, &self.body, action).await?;
        let call = call(&self.req, &self.session, action)?;
        Ok((self.req, self.session, self.id, fields, call))
    }
}

/// The version a form was read at (its hidden `version`), as the `If-Match` of the API: a
/// form without one is 428, checked in the unit of work like the API's header.
pub(super) fn expected_version(fields: &Fields) -> Result<i64, UseCaseError> {
    field(fields, "version")
        .parse::<i64>()
        .map_err(|_| UseCaseError::PreconditionRequired)
}

/// A case id from a page's path; any other text is the 404 page.
pub(super) fn case_id(raw: &str) -> Result<String, PageError> {
    crate::domain::uuid_text(raw).ok_or_else(|| UseCaseError::NotFound(String::new()).into())
}

/// An agency's name from the registry (its slug when unknown).
pub(super) fn agency_name(agencies: &[AgencyView], slug: &str) -> String {
    agencies
        .iter()
        .find(|a| a.slug == slug)
        .map_or_else(|| slug.to_owned(), |a| a.name.clone())
}

/// Writes the denied event of a POST that is not the session's own (its form token or its
/// origin is wrong) and answers 403; nothing changes.
async fn refuse_forged(req: &HttpRequest, session: &Session, action: Action) -> PageError {
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

/// `/`: by role (UI.md §4) — the case list for those who work with cases, else the auditor's
/// console, else the agency registry.
pub async fn home(session: Session) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, start_page(&session.actor)))
        .finish()
}

/// Where `/` sends `actor`.
pub(super) fn start_page(actor: &crate::auth::Actor) -> &'static str {
    let case_work = [Role::SocialSecretary, Role::PoliceOfficer, Role::Partner];
    if case_work.iter().any(|r| actor.has_role(*r)) {
        "/arenden"
    } else if actor.has_role(Role::Auditor) {
        "/granskning"
    } else if actor.has_role(Role::Admin) {
        "/admin/verksamheter"
    } else {
        "/arenden"
    }
}

fn css(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .body(body)
}

/// The pages' own stylesheet.
pub async fn stylesheet() -> HttpResponse {
    css(super::STYLESHEET)
}

/// The plan editor's script.
pub async fn plan_script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .body(super::PLAN_SCRIPT)
}

/// FKUI's base, vendored.
pub async fn fkui() -> HttpResponse {
    css(super::FKUI)
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
    let page = work::read(call(&req, &session, Action::CaseList)?, 200, move |unit| {
        cases::list(unit, input)
    })
    .await?;
    let areas = super::reference_lists(&req).await?.0.clone();
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
    let fields = own_form(&req, &session, &body, Action::CaseList).await?;
    let input = CaseQuery {
        personal_number: Some(field(&fields, "personnummer").trim().to_owned()),
        ..CaseQuery::default()
    };
    let result = work::read(call(&req, &session, Action::CaseList)?, 200, move |unit| {
        Ok(cases::list(unit, input))
    })
    .await?;
    let areas = super::reference_lists(&req).await?.0.clone();
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
    /// What the policy set lets the user do with the case now: the buttons shown.
    actions: CaseActions,
}

impl CasePageView {
    /// The young person's personal number as people write it, or a dash.
    fn youth_number(&self) -> String {
        self.case
            .youth
            .as_ref()
            .and_then(|y| y.personal_number.as_deref())
            .map_or_else(|| "–".to_owned(), words::personal_number)
    }
}

/// `GET /arenden/{id}`: the case, cut to what the user may see now (the API's `case.read`).
pub async fn case(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let found = read_case(
        &req,
        &session,
        Action::CaseRead,
        &id,
        cases::read_with_actions,
    )
    .await?;
    let lists = super::reference_lists(&req).await?;
    render_case(&req, &session, found, &lists.0, &lists.1, StatusCode::OK)
}

/// The case page for a view a unit of work returned (a new case: with its warnings).
pub(super) async fn case_page(
    req: &HttpRequest,
    session: &Session,
    case: CaseView,
    status: StatusCode,
) -> Page {
    let lists = super::reference_lists(req).await?;
    // The unit that created the case allowed its owner everything a new case offers.
    let actions = CaseActions {
        consents: true,
        update: true,
        access: true,
        notes: true,
        plan: true,
        plan_edit: true,
    };
    render_case(req, session, (case, actions), &lists.0, &lists.1, status)
}

fn render_case(
    req: &HttpRequest,
    session: &Session,
    (case, actions): (CaseView, CaseActions),
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
        actions,
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
