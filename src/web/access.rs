//! "Vem kan se ärendet" (UI.md §4, API.md §7): the access explanation in words — one row per
//! agency that can read the case now, with the basis and the categories (`access.read`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::session::Session;
use super::{html, read_case, words, Layout, PageError};
use crate::audit::Action;
use crate::auth::Role;
use crate::usecase::access;

struct GrantRow {
    agency: String,
    basis: String,
    categories: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage {
    layout: Layout,
    case_id: String,
    evaluated_at: String,
    rows: Vec<GrantRow>,
    /// Agencies a consent lists that see nothing because the case is closed.
    closed_to: Vec<String>,
    /// Whether the user works with cases (an auditor reads who may see it, not the case).
    case_link: bool,
}

/// `GET /arenden/{id}/atkomst`.
pub async fn explain(
    req: HttpRequest,
    session: Session,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = super::pages::case_id(&id)?;
    let found = read_case(&req, &session, Action::AccessRead, &id, access::explain).await?;
    let lists = super::reference_lists(&req).await?;
    let agencies = &lists.1;
    let rows = found
        .grants
        .iter()
        .map(|g| GrantRow {
            agency: super::pages::agency_name(agencies, &g.agency),
            basis: match (g.basis, &g.valid_until) {
                ("owner", _) => "Ägare av ärendet".to_owned(),
                (_, Some(until)) => format!("Samtycke som gäller till {until}"),
                _ => "Samtycke".to_owned(),
            },
            categories: g.categories.iter().map(|c| words::category(c)).collect(),
        })
        .collect();
    let page = AccessPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        evaluated_at: words::local_time(&found.evaluated_at),
        rows,
        closed_to: found
            .withheld
            .iter()
            .map(|w| super::pages::agency_name(agencies, &w.agency))
            .collect(),
        case_link: [Role::SocialSecretary, Role::PoliceOfficer, Role::Partner]
            .iter()
            .any(|r| session.actor.has_role(*r)),
    };
    Ok(html(StatusCode::OK, &page))
}
