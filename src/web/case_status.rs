//! "Aktivera ärende" and "Avsluta ärende" (UI.md §4): the owner's buttons on the case page post
//! here, to the same use case as `PATCH /api/v1/cases/{id}` (`case.update`), with the version
//! the page was drawn from (a change in between is the 412 page).

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use super::pages::{expected_version, field, CaseForm};
use super::{html, Layout, PageError};
use crate::audit::Action;
use crate::error::UseCaseError;
use crate::usecase::cases::{self, CasePatch};
use crate::work;

#[derive(Template)]
#[template(path = "close_case.html")]
struct ClosePage {
    layout: Layout,
    case_id: String,
    version: String,
    reason: String,
}

/// `POST /arenden/{id}/status`: `status` is `active` or `closed` (then with `closure_reason`).
pub async fn change(form: CaseForm) -> Result<HttpResponse, PageError> {
    let (req, session, id, fields, call) = form.open(Action::CaseUpdate).await?;
    let status = field(&fields, "status").to_owned();
    let reason = field(&fields, "closure_reason").trim().to_owned();
    let version = field(&fields, "version").to_owned();
    let expected = expected_version(&fields);
    let input = CasePatch {
        status: Some(status.clone()),
        closure_reason: Some(reason.clone()).filter(|r| !r.is_empty()),
        area: None,
        retention: None,
    };
    let unit_id = id.clone();
    let changed = work::run(call, 200, move |unit| {
        cases::update(unit, &unit_id, expected, input)
    })
    .await;
    match changed {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/arenden/{id}")))
            .finish()),
        // Closing needs a reason: the form again, with what was typed.
        Err(UseCaseError::Validation(_)) if status == "closed" => {
            let page = ClosePage {
                layout: Layout::of(&req, Some(&session))?,
                case_id: id,
                version,
                reason,
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(error) => Err(error.into()),
    }
}
