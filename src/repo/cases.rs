//! Cases, guardians, consents and notes. Personal fields arrive here already sealed; these
//! functions never see plain text.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{
    cases, consent_agencies, consent_categories, consent_parties, consents, guardians, notes,
};
use crate::db::DbConn;

pub use super::rows::{CaseRow, Consent, ConsentRow, GuardianRow, NoteRow, PartyRow};

type Db = <DbConn as Connection>::Backend;

pub fn insert_case(
    conn: &mut DbConn,
    case: &CaseRow,
    guardian_rows: &[GuardianRow],
) -> QueryResult<()> {
    diesel::insert_into(cases::table)
        .values(case)
        .execute(conn)?;
    for guardian in guardian_rows {
        diesel::insert_into(guardians::table)
            .values(guardian)
            .execute(conn)?;
    }
    Ok(())
}

pub fn find_case(conn: &mut DbConn, id: &str) -> QueryResult<Option<CaseRow>> {
    cases::table
        .find(id)
        .select(CaseRow::as_select())
        // Not `first`: its bound LIMIT makes SQLite compile the statement again on every run.
        .get_result(conn)
        .optional()
}

/// A case as an access to it is decided on: its row and its current consent (the newest,
/// which supersedes all before it), with its guardians where the backend reads them in the
/// same statement.
#[derive(Clone, Debug)]
pub struct CaseRecord {
    pub case: CaseRow,
    pub consent: Option<Consent>,
    /// The guardians, when reading them with the case costs nothing extra (PostgreSQL's one
    /// statement); otherwise `None`, and [`guardians_of`] reads them when a view needs them
    /// (SQLite, whose statements cost no round trip). Callers see one shape on both backends:
    /// `work::access::CaseSlice::guardians`.
    pub guardians: Option<Vec<GuardianRow>>,
}

/// The case `id` with its current consent; `None` when there is no such case.
pub fn find_case_record(conn: &mut DbConn, id: &str) -> QueryResult<Option<CaseRecord>> {
    let rows: Vec<(CaseRow, Option<ConsentRow>)> = match &mut *conn {
        // One statement instead of four: PostgreSQL's cost is per statement.
        DbConn::Postgresql(c) => {
            return Ok(super::case_read_pg::CaseRead::new(id)
                .load(c)?
                .map(|read| CaseRecord {
                    case: read.case,
                    consent: read.consent.map(|row| {
                        consent_from_lists(row, read.parties, read.agencies, read.categories)
                    }),
                    guardians: Some(read.guardians),
                }))
        }
        DbConn::Sqlite(c) => cases::table
            .left_join(
                consents::table.on(consents::case_id
                    .eq(cases::id)
                    .and(consents::superseded_at.is_null())),
            )
            .filter(cases::id.eq(id))
            .order((consents::recorded_at.desc(), consents::id.desc()))
            .select((CaseRow::as_select(), Option::<ConsentRow>::as_select()))
            // Every other consent is superseded, so this is one row; no bound LIMIT (SQLite
            // would compile the statement again on every run).
            .load(c)?,
    };
    let Some((case, consent)) = rows.into_iter().next() else {
        return Ok(None);
    };
    let consent = match consent {
        Some(row) => load_consents(conn, vec![row])?.pop(),
        None => None,
    };
    Ok(Some(CaseRecord {
        case,
        consent,
        guardians: None,
    }))
}

pub fn guardians_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<GuardianRow>> {
    crate::on_backend!(conn, |c| guardians::table
        .filter(guardians::case_id.eq(case_id))
        .order(guardians::position.asc())
        .select(GuardianRow::as_select())
        .load(c))
}

/// The changes of a PATCH, applied only if the case is still at `expected_version`.
#[derive(Clone, Debug, AsChangeset)]
#[diesel(table_name = cases)]
pub struct CaseChanges {
    pub area: Option<String>,
    pub status: Option<String>,
    pub closure_reason: Option<Vec<u8>>,
    pub closed_at: Option<NaiveDateTime>,
    pub retention_hold: Option<bool>,
    pub retention_archive: Option<bool>,
    pub updated_at: NaiveDateTime,
    pub version: i64,
}

/// Applies `changes` if the case still has `expected_version`; false when another writer won.
pub fn update_case(
    conn: &mut DbConn,
    id: &str,
    expected_version: i64,
    changes: &CaseChanges,
) -> QueryResult<bool> {
    let updated = diesel::update(
        cases::table
            .filter(cases::id.eq(id))
            .filter(cases::version.eq(expected_version)),
    )
    .set(changes)
    .execute(conn)?;
    Ok(updated == 1)
}

fn load_consents(conn: &mut DbConn, rows: Vec<ConsentRow>) -> QueryResult<Vec<Consent>> {
    use diesel::sql_types::Bool;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let parties = crate::on_backend!(&mut *conn, |c| consent_parties::table
            .filter(consent_parties::consent_id.eq(&row.id))
            .order(consent_parties::position.asc())
            .select(PartyRow::as_select())
            .load(c)?);
        // Agencies and categories in one round trip, each marked with the list it belongs to.
        let query = consent_agencies::table
            .filter(consent_agencies::consent_id.eq(&row.id))
            .select((true.into_sql::<Bool>(), consent_agencies::agency))
            .union_all(
                consent_categories::table
                    .filter(consent_categories::consent_id.eq(&row.id))
                    .select((false.into_sql::<Bool>(), consent_categories::category)),
            );
        // UNION needs the concrete connection (MultiConnection has none).
        let listed: Vec<(bool, String)> = crate::on_backend!(&mut *conn, |c| query.load(c)?);
        let (agencies, categories): (Vec<_>, Vec<_>) =
            listed.into_iter().partition(|(agency, _)| *agency);
        let values = |list: Vec<(bool, String)>| list.into_iter().map(|(_, value)| value).collect();
        out.push(consent_from_lists(
            row,
            parties,
            values(agencies),
            values(categories),
        ));
    }
    Ok(out)
}

/// A consent from its row and lists; the lists sorted, whatever order they were read in.
fn consent_from_lists(
    row: ConsentRow,
    parties: Vec<PartyRow>,
    mut agencies: Vec<String>,
    mut categories: Vec<String>,
) -> Consent {
    agencies.sort_unstable();
    categories.sort_unstable();
    Consent {
        row,
        parties,
        agencies,
        categories,
    }
}

/// Every consent of a case, newest first.
pub fn consents_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<Consent>> {
    let rows = consents::table
        .filter(consents::case_id.eq(case_id))
        .order((consents::recorded_at.desc(), consents::id.desc()))
        .select(ConsentRow::as_select())
        .load(conn)?;
    load_consents(conn, rows)
}

/// The case's current consent: the newest one, which supersedes all before it.
pub fn current_consent(conn: &mut DbConn, case_id: &str) -> QueryResult<Option<Consent>> {
    let rows = consents::table
        .filter(consents::case_id.eq(case_id))
        .filter(consents::superseded_at.is_null())
        .order((consents::recorded_at.desc(), consents::id.desc()))
        .select(ConsentRow::as_select())
        // Every other consent is superseded, so this is one row; no bound LIMIT (SQLite would
        // compile the statement again on every run).
        .load(conn)?;
    Ok(load_consents(conn, rows.into_iter().take(1).collect())?
        .into_iter()
        .next())
}

pub fn find_consent(
    conn: &mut DbConn,
    case_id: &str,
    consent_id: &str,
) -> QueryResult<Option<Consent>> {
    let rows = consents::table
        .filter(consents::case_id.eq(case_id))
        .filter(consents::id.eq(consent_id))
        .select(ConsentRow::as_select())
        .load(conn)?;
    Ok(load_consents(conn, rows)?.into_iter().next())
}

/// Records a consent and supersedes every earlier consent of the case.
pub fn insert_consent(conn: &mut DbConn, consent: &Consent) -> QueryResult<()> {
    diesel::update(
        consents::table
            .filter(consents::case_id.eq(&consent.row.case_id))
            .filter(consents::superseded_at.is_null()),
    )
    .set(consents::superseded_at.eq(consent.row.recorded_at))
    .execute(conn)?;
    diesel::insert_into(consents::table)
        .values(&consent.row)
        .execute(conn)?;
    for party in &consent.parties {
        diesel::insert_into(consent_parties::table)
            .values(party)
            .execute(conn)?;
    }
    for agency in &consent.agencies {
        diesel::insert_into(consent_agencies::table)
            .values((
                consent_agencies::consent_id.eq(&consent.row.id),
                consent_agencies::agency.eq(agency),
            ))
            .execute(conn)?;
    }
    for category in &consent.categories {
        diesel::insert_into(consent_categories::table)
            .values((
                consent_categories::consent_id.eq(&consent.row.id),
                consent_categories::category.eq(category),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn revoke_consent(
    conn: &mut DbConn,
    consent_id: &str,
    at: NaiveDateTime,
    party: &str,
    guardian_id: Option<&str>,
    reason: Option<Vec<u8>>,
) -> QueryResult<()> {
    diesel::update(
        consents::table
            .filter(consents::id.eq(consent_id))
            .filter(consents::revoked_at.is_null()),
    )
    .set((
        consents::revoked_at.eq(at),
        consents::revoked_by_party.eq(party),
        consents::revoked_guardian_id.eq(guardian_id),
        consents::revoke_reason.eq(reason),
    ))
    .execute(conn)
    .map(|_| ())
}

/// Filters of `GET /cases`.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    pub area: Option<String>,
    pub status: Option<String>,
    pub pn_index: Option<Vec<u8>>,
}

/// Cases the caller's agency could read now, by SQL alone: its own, and those whose current,
/// unrevoked consent lists the agency and is within its validity today. Each is then confirmed
/// by the policy set. Ordered by id (time-ordered UUIDs), after `after`.
pub fn candidate_cases(
    conn: &mut DbConn,
    agency: &str,
    today: NaiveDate,
    filter: &CaseFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    let consented = consents::table
        .inner_join(consent_agencies::table)
        .filter(consent_agencies::agency.eq(agency.to_owned()))
        .filter(consents::superseded_at.is_null())
        .filter(consents::revoked_at.is_null())
        .filter(consents::valid_from.le(today))
        .filter(consents::valid_until.ge(today))
        .select(consents::case_id);
    let mut query = cases::table
        .filter(
            cases::owner_agency
                .eq(agency.to_owned())
                .or(cases::id.eq_any(consented)),
        )
        .select(CaseRow::as_select())
        .into_boxed::<Db>();
    if let Some(area) = &filter.area {
        query = query.filter(cases::area.eq(area.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(cases::status.eq(status.clone()));
    }
    if let Some(index) = &filter.pn_index {
        query = query.filter(cases::youth_pn_index.eq(index.clone()));
    }
    if let Some(after) = after {
        query = query.filter(cases::id.gt(after.to_owned()));
    }
    query.order(cases::id.asc()).limit(limit).load(conn)
}

pub fn insert_note(conn: &mut DbConn, note: &NoteRow) -> QueryResult<()> {
    diesel::insert_into(notes::table)
        .values(note)
        .execute(conn)
        .map(|_| ())
}

/// Every note of a case, newest first.
pub fn notes_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<NoteRow>> {
    notes::table
        .filter(notes::case_id.eq(case_id))
        .order((notes::created_at.desc(), notes::id.desc()))
        .select(NoteRow::as_select())
        .load(conn)
}

/// How many cases the database holds, and how many of them `sig-register demo` made.
pub fn count_cases(conn: &mut DbConn) -> QueryResult<(i64, i64)> {
    use crate::db::schema::cases::dsl;
    let total = dsl::cases.count().get_result(conn)?;
    let demo = dsl::cases
        .filter(dsl::demo.eq(true))
        .count()
        .get_result(conn)?;
    Ok((total, demo))
}

/// Marks case `id` as made by `sig-register demo`.
pub fn mark_demo(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    use crate::db::schema::cases::dsl;
    diesel::update(dsl::cases.filter(dsl::id.eq(id)))
        .set(dsl::demo.eq(true))
        .execute(conn)
}
