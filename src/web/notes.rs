//! "Anteckningar" (UI.md §4, API.md §9): the notes of a case the user may read, newest first,
//! and the form "Ny anteckning" while the user may write one — `note.list` and `note.create`,
//! the same units as the API.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::pages::{agency_name, case_id, field, CaseForm};
use super::session::Session;
use super::{html, read_case, words, Layout, PageError};
use crate::audit::Action;
use crate::error::UseCaseError;
use crate::usecase::notes::{self, NewNote, MAX_NOTE_CHARS};
use crate::work;

/// One note as the page shows it.
struct NoteLine {
    author: String,
    agency: String,
    at: String,
    text: String,
}

#[derive(Template)]
#[template(path = "notes.html")]
struct NotesPage {
    layout: Layout,
    case_id: String,
    notes: Vec<NoteLine>,
    /// The form is shown only while the policy set lets the user write.
    may_write: bool,
    text: String,
    error: Option<String>,
}

/// `GET /arenden/{id}/anteckningar`.
pub async fn list(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let (found, may_write) = read_case(
        &req,
        &session,
        Action::NoteList,
        &id,
        notes::list_and_may_write,
    )
    .await?;
    let lists = super::reference_lists(&req).await?;
    let agencies = &lists.1;
    let page = NotesPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        notes: found
            .items
            .iter()
            .map(|n| NoteLine {
                author: n.author_name.clone(),
                agency: agency_name(agencies, &n.agency),
                at: words::local_time(&n.created_at),
                text: n.text.clone(),
            })
            .collect(),
        may_write,
        text: String::new(),
        error: None,
    };
    Ok(html(StatusCode::OK, &page))
}

type Page = Result<HttpResponse, PageError>;

/// `POST /arenden/{id}/anteckningar`: "Spara anteckning" (`note.create`), then the notes; or
/// the form again with what to fix (without the notes: the failed write is the request's one
/// audit event, and nothing else is read).
pub async fn create(form: CaseForm) -> Page {
    let (req, session, id, fields, call) = form.open(Action::NoteCreate).await?;
    let text = field(&fields, "text").to_owned();
    let input = NewNote { text: text.clone() };
    let unit_id = id.clone();
    let written = work::run(call, 201, move |unit| notes::create(unit, &unit_id, input)).await;
    match written {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/arenden/{id}/anteckningar")))
            .finish()),
        Err(UseCaseError::Validation(_)) => {
            let page = NotesPage {
                layout: Layout::of(&req, Some(&session))?,
                case_id: id,
                notes: Vec::new(),
                may_write: true,
                text,
                error: Some(format!(
                    "Skriv anteckningen (högst {} tecken).",
                    words::thousands(MAX_NOTE_CHARS)
                )),
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(error) => Err(error.into()),
    }
}
