//! Notes (API.md §9): written under the category of the author's agency, read by category.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{refuse_changes, Items};
use crate::audit::Action;
use crate::authz::Context;
use crate::clock::rfc3339_naive;
use crate::crypto::columns::Column;
use crate::domain::case::CaseStatus;
use crate::domain::consent::note_category;
use crate::error::UseCaseError;
use crate::repo::cases::{self as repo, NoteRow};
use crate::work::access;
use crate::work::Unit;

pub const MAX_NOTE_CHARS: usize = 20_000;

/// A new note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// At most 20,000 characters.
    pub text: String,
}

/// A note (anteckning).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: String,
    pub case_id: String,
    /// The consent category it belongs to (`social`, `police`, `school` or `partner`).
    pub category: String,
    pub agency: String,
    pub author_name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub text: String,
}

fn note_view(unit: &Unit<'_>, note: &NoteRow) -> Result<NoteView, UseCaseError> {
    Ok(NoteView {
        id: note.id.clone(),
        case_id: note.case_id.clone(),
        category: note.category.clone(),
        agency: note.agency.clone(),
        author_name: note.author_name.clone(),
        created_at: rfc3339_naive(&note.created_at),
        text: unit
            .crypto()
            .open_text(Column::NoteText, &note.id, &note.text)?,
    })
}

/// Writes a note on case `id`; its category follows the author's agency kind.
pub fn create(unit: &mut Unit<'_>, id: &str, input: NewNote) -> Result<NoteView, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::NoteCreate, &slice, &Context::default())?;
    takes_notes(&slice.row)?;
    let length = input.text.chars().count();
    if input.text.trim().is_empty() || length > MAX_NOTE_CHARS {
        return Err(UseCaseError::validation(
            "text",
            format!("must be 1–{MAX_NOTE_CHARS} characters (is {length})"),
        ));
    }
    let category = note_category(&unit.agency.kind);
    let note_id = uuid::Uuid::now_v7().to_string();
    let note = NoteRow {
        id: note_id.clone(),
        case_id: id.to_owned(),
        category: category.to_owned(),
        agency: unit.actor.agency.clone(),
        author_sub: unit.actor.sub.clone(),
        author_name: unit.actor.name.clone(),
        created_at: crate::audit::to_micros(unit.now),
        text: unit
            .crypto()
            .seal_text(Column::NoteText, &note_id, &input.text)?,
    };
    repo::insert_note(unit.conn, &note)?;
    unit.audit.categories = vec![category.to_owned()];
    note_view(unit, &note)
}

/// The notes of case `id` the caller may read (API.md §7), newest first.
pub fn list(unit: &mut Unit<'_>, id: &str) -> Result<Items<NoteView>, UseCaseError> {
    let slice = access::load(unit, id)?;
    list_of(unit, &slice)
}

/// [`list`], and whether the caller may write a note on the case now (the notes page's form).
pub fn list_and_may_write(
    unit: &mut Unit<'_>,
    id: &str,
) -> Result<(Items<NoteView>, bool), UseCaseError> {
    let slice = access::load(unit, id)?;
    let notes = list_of(unit, &slice)?;
    let may_write = unit.allows(Action::NoteCreate, &slice, &Context::default())
        && takes_notes(&slice.row).is_ok();
    Ok((notes, may_write))
}

/// A case takes notes unless it is erased, archived or closed (closed means closed).
fn takes_notes(row: &repo::CaseRow) -> Result<(), UseCaseError> {
    refuse_changes(row)?;
    if CaseStatus::Closed.is(&row.status) {
        return Err(UseCaseError::Conflict(
            "the case is closed: no notes are added to it".to_owned(),
        ));
    }
    Ok(())
}

fn list_of(
    unit: &mut Unit<'_>,
    slice: &access::CaseSlice,
) -> Result<Items<NoteView>, UseCaseError> {
    let id = slice.row.id.as_str();
    // May the caller read the notes of this case at all (their own agency's, at least)?
    let own = note_category(&unit.agency.kind);
    unit.require(
        Action::NoteRead,
        slice,
        &Context {
            category: Some(own.to_owned()),
            own_agency: Some(true),
            ..Context::default()
        },
    )?;
    let mut items = Vec::new();
    let mut categories = BTreeSet::new();
    for note in repo::notes_of(unit.conn, id)? {
        let context = Context {
            category: Some(note.category.clone()),
            own_agency: Some(note.agency == unit.actor.agency),
            ..Context::default()
        };
        if unit.allows(Action::NoteRead, slice, &context) {
            categories.insert(note.category.clone());
            items.push(note_view(unit, &note)?);
        }
    }
    unit.audit.categories = categories.into_iter().collect();
    Ok(Items { items })
}
