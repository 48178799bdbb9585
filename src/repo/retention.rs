//! What retention (gallring) reads and changes. Erasure keeps the case skeleton the statistics
//! count — area, status, owner, dates, consent states, the plan's measure index — and removes
//! every personal field: the youth's, the guardians', the notes, the plan texts and the free-text
//! reasons.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::cases::CaseRow;
use crate::db::schema::{cases, consent_parties, consents, guardians, notes, plan_versions};
use crate::db::DbConn;
use crate::domain::case::CaseStatus;

/// Closed cases not yet erased or archived, closed before `closed_before`, oldest first.
pub fn closed_before(conn: &mut DbConn, closed_before: NaiveDateTime) -> QueryResult<Vec<CaseRow>> {
    cases::table
        .filter(cases::status.eq(CaseStatus::Closed.as_str()))
        .filter(cases::erased_at.is_null())
        .filter(cases::archived_at.is_null())
        .filter(cases::closed_at.lt(closed_before))
        .order((cases::closed_at.asc(), cases::id.asc()))
        .select(CaseRow::as_select())
        .load(conn)
}

/// When the newest note of the case was written (an entry after closure extends retention).
pub fn last_note_at(conn: &mut DbConn, case_id: &str) -> QueryResult<Option<NaiveDateTime>> {
    notes::table
        .filter(notes::case_id.eq(case_id))
        .select(diesel::dsl::max(notes::created_at))
        .get_result(conn)
}

/// The note categories a case holds, for the erasure's audit event.
pub fn note_categories(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<String>> {
    notes::table
        .filter(notes::case_id.eq(case_id))
        .select(notes::category)
        .distinct()
        .order(notes::category.asc())
        .load(conn)
}

pub fn has_plan(conn: &mut DbConn, case_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        plan_versions::table.filter(plan_versions::case_id.eq(case_id)),
    ))
    .get_result(conn)
}

/// Erases the personal data of a case that is still at `version`; false when the case moved
/// on (a hold set meanwhile, another instance erasing it first) and nothing was changed.
pub fn erase(
    conn: &mut DbConn,
    case_id: &str,
    version: i64,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let claimed = diesel::update(
        cases::table
            .filter(cases::id.eq(case_id))
            .filter(cases::version.eq(version))
            .filter(cases::erased_at.is_null()),
    )
    .set((
        cases::youth_pn_index.eq(None::<Vec<u8>>),
        cases::youth_personal_number.eq(None::<Vec<u8>>),
        cases::youth_given_name.eq(None::<Vec<u8>>),
        cases::youth_family_name.eq(None::<Vec<u8>>),
        cases::youth_phone.eq(None::<Vec<u8>>),
        cases::youth_address.eq(None::<Vec<u8>>),
        cases::referral_reason.eq(None::<Vec<u8>>),
        cases::closure_reason.eq(None::<Vec<u8>>),
        cases::erased_at.eq(Some(at)),
        cases::updated_at.eq(at),
        cases::version.eq(version + 1),
    ))
    .execute(conn)?;
    if claimed != 1 {
        return Ok(false);
    }
    let case_consents = consents::table
        .filter(consents::case_id.eq(case_id))
        .select(consents::id);
    // Consent decisions stay (the statistics count consent states); who the guardian was goes.
    diesel::update(
        consent_parties::table.filter(consent_parties::consent_id.eq_any(case_consents)),
    )
    .set(consent_parties::guardian_id.eq(None::<String>))
    .execute(conn)?;
    diesel::update(consents::table.filter(consents::case_id.eq(case_id)))
        .set((
            consents::revoked_guardian_id.eq(None::<String>),
            consents::revoke_reason.eq(None::<Vec<u8>>),
        ))
        .execute(conn)?;
    diesel::delete(guardians::table.filter(guardians::case_id.eq(case_id))).execute(conn)?;
    diesel::delete(notes::table.filter(notes::case_id.eq(case_id))).execute(conn)?;
    diesel::update(plan_versions::table.filter(plan_versions::case_id.eq(case_id)))
        .set(plan_versions::content.eq(None::<Vec<u8>>))
        .execute(conn)?;
    Ok(true)
}

/// Marks a case that is still at `version` as kept for the research archive.
pub fn archive(
    conn: &mut DbConn,
    case_id: &str,
    version: i64,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        cases::table
            .filter(cases::id.eq(case_id))
            .filter(cases::version.eq(version))
            .filter(cases::archived_at.is_null()),
    )
    .set((
        cases::archived_at.eq(Some(at)),
        cases::updated_at.eq(at),
        cases::version.eq(version + 1),
    ))
    .execute(conn)
    .map(|n| n == 1)
}
