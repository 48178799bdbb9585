//! "Verksamheter" (UI.md §4): the agency registry and the form "Ny verksamhet" for
//! administrators. The registry itself is reference data (not audited, API.md §10); a
//! registration is `agency.create`, as `POST /api/v1/agencies`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::pages::{field, own_form};
use super::session::Session;
use super::{call, html, see_other, Layout, PageError, ReferenceCache};
use crate::audit::Action;
use crate::authz::Resource;
use crate::error::UseCaseError;
use crate::usecase::reference::{self, AgencyView, NewAgency};
use crate::work;

type Page = Result<HttpResponse, PageError>;

/// The kinds of agency with their words, in the order the form offers them.
const KINDS: [(&str, &str); 4] = [
    ("social_services", "Socialtjänst"),
    ("police", "Polis"),
    ("school", "Skola"),
    ("partner", "Partner"),
];

fn kind_words(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("Okänd", |(_, words)| words)
}

/// The form as typed.
#[derive(Default)]
struct AgencyForm {
    name: String,
    slug: String,
    kind: String,
}

#[derive(Template)]
#[template(path = "agencies.html")]
struct AgenciesPage {
    layout: Layout,
    agencies: Vec<(AgencyView, &'static str)>,
    kinds: &'static [(&'static str, &'static str)],
    form: AgencyForm,
    errors: Vec<(String, String)>,
    added: Option<String>,
}

impl AgenciesPage {
    fn error_of(&self, id: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(field, _)| field == id)
            .map(|(_, message)| message.as_str())
    }
}

/// Only those who may register an agency see the page: the policy set decides, as it does
/// for the registration itself.
async fn require_admin(req: &HttpRequest, session: &Session) -> Result<(), PageError> {
    let allowed = work::may(
        crate::api::state(req)?,
        session.actor.clone(),
        Action::AgencyCreate,
        Resource::Registry,
    )
    .await?;
    if allowed {
        Ok(())
    } else {
        Err(UseCaseError::Forbidden(String::new()).into())
    }
}

async fn page(
    req: &HttpRequest,
    session: &Session,
    form: AgencyForm,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Page {
    let lists = super::reference_lists(req).await?;
    let added =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("ny").cloned())
            .and_then(|slug| {
                lists
                    .1
                    .iter()
                    .find(|a| a.slug == slug)
                    .map(|a| a.name.clone())
            });
    let page = AgenciesPage {
        layout: Layout::of(req, Some(session))?,
        agencies: lists
            .1
            .iter()
            .map(|a| (a.clone(), kind_words(&a.kind)))
            .collect(),
        kinds: &KINDS,
        form,
        errors,
        added,
    };
    Ok(html(status, &page))
}

/// `GET /admin/verksamheter`.
pub async fn agencies(req: HttpRequest, session: Session) -> Page {
    require_admin(&req, &session).await?;
    page(
        &req,
        &session,
        AgencyForm::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// What to fix, in Swedish, for an API field's error.
fn message(field: &str) -> (&'static str, &'static str) {
    match field {
        "slug" => (
            "f-slug",
            "Ange ett kortnamn med 2–63 tecken: små bokstäver a–z, siffror och bindestreck.",
        ),
        "name" => ("f-name", "Ange verksamhetens namn (högst 200 tecken)."),
        _ => ("f-kind", "Välj vilken sorts verksamhet det är."),
    }
}

/// `POST /admin/verksamheter`: "Registrera verksamhet" (`agency.create`), then the registry
/// with the new agency; or the form again with what to fix.
pub async fn register(req: HttpRequest, session: Session, body: web::Bytes) -> Page {
    let fields = own_form(&req, &session, &body, Action::AgencyCreate).await?;
    let form = AgencyForm {
        name: field(&fields, "name").to_owned(),
        slug: field(&fields, "slug").trim().to_owned(),
        kind: field(&fields, "kind").to_owned(),
    };
    let input = NewAgency {
        slug: form.slug.clone(),
        name: form.name.clone(),
        kind: form.kind.clone(),
    };
    let created = work::run(
        call(&req, &session, Action::AgencyCreate)?,
        201,
        move |unit| reference::create_agency(unit, input),
    )
    .await;
    let errors: Vec<(String, String)> = match created {
        Ok(agency) => {
            if let Some(cache) = req.app_data::<web::Data<ReferenceCache>>() {
                cache.forget();
            }
            return Ok(see_other(&format!(
                "/admin/verksamheter?ny={}",
                super::words::url_encode(&agency.slug)
            )));
        }
        Err(UseCaseError::Validation(found)) => found
            .iter()
            .map(|e| {
                let (id, text) = message(&e.field);
                (id.to_owned(), text.to_owned())
            })
            .collect(),
        Err(UseCaseError::Conflict(_)) => vec![(
            "f-slug".to_owned(),
            "Det finns redan en verksamhet med det kortnamnet.".to_owned(),
        )],
        Err(error) => return Err(error.into()),
    };
    let status = if errors.iter().any(|(_, m)| m.starts_with("Det finns redan")) {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(&req, &session, form, errors, status).await
}
