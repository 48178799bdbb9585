//! Retention (*gallring*), DOMAIN.md: a closed case's personal data is erased once
//! `SIG_RETENTION_YEARS` (default 5, old SoL 12 kap. 1 §) have passed since its last entry —
//! its closure, or a note written after it. Files of people born on the 5th, 15th or 25th of a
//! month, and cases marked "archive", are kept for the research archive instead; a case on
//! "hold" is kept until the hold is lifted.
//!
//! Erasure keeps the skeleton the steering group's statistics count and leaves the audit log
//! untouched (it holds no personal data). Each erasure or archiving is one transaction with one
//! audit event (`case.erase`, `case.archive`), so a case is never erased unrecorded.

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::audit::{self, Action, EventActor};
use crate::clock::stockholm_date;
use crate::crypto::columns::Column;
use crate::crypto::fields::FieldCrypto;
use crate::db::{self, DbConn};
use crate::domain::case::CaseStatus;
use crate::domain::personal_number;
pub use crate::domain::retention::{
    born_on_archive_day, retained_until, ArchiveBasis, Disposition, ERASED,
};
use crate::error::UseCaseError;
use crate::repo::cases::CaseRow;
use crate::repo::retention as repo;
use crate::state::StateInner;
use crate::work::{self, AuditFacts};

/// The audit actor of the retention job. `system` is no token role, so no user can pose as it.
pub const ACTOR_SUB: &str = "sig-register:retention";
const ACTOR_NAME: &str = "Retention job";
const ACTOR_ROLE: &str = "system";

/// A case's last entry: its closure, or a later note. `None` while it is not closed.
pub fn last_entry(conn: &mut DbConn, row: &CaseRow) -> Result<Option<NaiveDate>, UseCaseError> {
    let Some(closed_at) = row.closed_at else {
        return Ok(None);
    };
    let last = repo::last_note_at(conn, &row.id)?.map_or(closed_at, |note| note.max(closed_at));
    Ok(Some(date_of(last)))
}

fn date_of(at: NaiveDateTime) -> NaiveDate {
    stockholm_date(&DateTime::<Utc>::from_naive_utc_and_offset(at, Utc))
}

/// Whether, and why, the case is kept for the research archive. Reads the sealed personal
/// number for the birth-day rule (an erased case has none, and was never archived).
pub fn archive_basis(
    crypto: &FieldCrypto,
    row: &CaseRow,
    today: NaiveDate,
) -> Result<Option<ArchiveBasis>, UseCaseError> {
    if row.retention_archive {
        return Ok(Some(ArchiveBasis::Decision));
    }
    let Some(sealed) = &row.youth_personal_number else {
        return Ok(None);
    };
    let number = crypto.open_text(Column::YouthPersonalNumber, &row.id, sealed)?;
    Ok(personal_number::parse(&number, today)
        .ok()
        .filter(|n| born_on_archive_day(n.birth_date))
        .map(|_| ArchiveBasis::BirthDay))
}

/// A case whose retention time has passed, and what happens to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Due {
    pub case_id: String,
    pub area: String,
    pub owner_agency: String,
    #[serde(skip)]
    pub version: i64,
    pub last_entry_on: NaiveDate,
    pub retained_until: NaiveDate,
    pub disposition: Disposition,
    pub archive_basis: Option<ArchiveBasis>,
}

/// The case's fate today, or `None` when it is not closed, already erased or archived, or
/// still inside its retention time.
pub fn assess(
    conn: &mut DbConn,
    crypto: &FieldCrypto,
    row: &CaseRow,
    today: NaiveDate,
    years: u32,
) -> Result<Option<Due>, UseCaseError> {
    if !CaseStatus::Closed.is(&row.status) || row.erased_at.is_some() || row.archived_at.is_some() {
        return Ok(None);
    }
    let Some(last_entry_on) = last_entry(conn, row)? else {
        return Ok(None);
    };
    let until = retained_until(last_entry_on, years);
    if today <= until {
        return Ok(None);
    }
    let archive_basis = archive_basis(crypto, row, today)?;
    let disposition = if row.retention_hold {
        Disposition::Hold
    } else if archive_basis.is_some() {
        Disposition::Archive
    } else {
        Disposition::Erase
    };
    Ok(Some(Due {
        case_id: row.id.clone(),
        area: row.area.clone(),
        owner_agency: row.owner_agency.clone(),
        version: row.version,
        last_entry_on,
        retained_until: until,
        disposition,
        archive_basis,
    }))
}

/// Every case whose retention time has passed, oldest closure first.
pub fn review(
    conn: &mut DbConn,
    crypto: &FieldCrypto,
    today: NaiveDate,
    years: u32,
) -> Result<Vec<Due>, UseCaseError> {
    // A case is due at the earliest the day after closure + years; two days of slack cover the
    // difference between the UTC timestamps and Stockholm dates.
    let cutoff = today
        .checked_sub_months(Months::new(years.saturating_mul(12)))
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.succ_opt())
        .unwrap_or(NaiveDate::MIN)
        .and_time(chrono::NaiveTime::MIN);
    let mut due = Vec::new();
    for row in repo::closed_before(conn, cutoff)? {
        if let Some(item) = assess(conn, crypto, &row, today, years)? {
            due.push(item);
        }
    }
    Ok(due)
}

/// What a run found and did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub today: Option<NaiveDate>,
    pub retention_years: u32,
    pub dry_run: bool,
    pub items: Vec<Due>,
    pub erased: usize,
    pub archived: usize,
    pub held: usize,
    /// Cases that changed between the review and their turn (a hold set, another instance
    /// first): left for the next run.
    pub skipped: usize,
}

/// Reviews every closed case and, unless `dry_run`, erases or archives each one that is due,
/// one transaction and one audit event per case.
pub fn run(state: &StateInner, dry_run: bool) -> Result<Report, UseCaseError> {
    let now = state.clock.now();
    let today = stockholm_date(&now);
    let years = state.config.retention_years;
    let mut conn = state.pool.get()?;
    let items = review(&mut conn, &state.crypto, today, years)?;
    let mut report = Report {
        today: Some(today),
        retention_years: years,
        dry_run,
        ..Report::default()
    };
    for item in &items {
        if item.disposition == Disposition::Hold {
            report.held += 1;
            continue;
        }
        if dry_run {
            continue;
        }
        match apply(state, &mut conn, item, now)? {
            Some(Disposition::Erase) => report.erased += 1,
            Some(Disposition::Archive) => report.archived += 1,
            _ => report.skipped += 1,
        }
    }
    report.items = items;
    if report.erased > 0 {
        db::reclaim_erased_space(&mut conn);
    }
    Ok(report)
}

/// Erases or archives one due case in its own transaction with its audit event. Re-assesses
/// the case inside the transaction; `None` when it is no longer what the review saw.
fn apply(
    state: &StateInner,
    conn: &mut DbConn,
    seen: &Due,
    now: DateTime<Utc>,
) -> Result<Option<Disposition>, UseCaseError> {
    let today = stockholm_date(&now);
    let at = audit::to_micros(now);
    state.audit.write(conn, |conn| {
        let Some(row) = crate::repo::cases::find_case(conn, &seen.case_id)? else {
            return Ok((None, None));
        };
        let current = assess(
            conn,
            &state.crypto,
            &row,
            today,
            state.config.retention_years,
        )?;
        let Some(due) = current.filter(|d| d.disposition == seen.disposition) else {
            return Ok((None, None));
        };
        let (action, categories, reason) = match due.disposition {
            Disposition::Erase => {
                let mut categories = vec!["identity".to_owned()];
                if repo::has_plan(conn, &due.case_id)? {
                    categories.push("plan".to_owned());
                }
                categories.extend(repo::note_categories(conn, &due.case_id)?);
                if !repo::erase(conn, &due.case_id, due.version, at)? {
                    return Ok((None, None));
                }
                (Action::CaseErase, categories, "retention: erased")
            }
            Disposition::Archive => {
                if !repo::archive(conn, &due.case_id, due.version, at)? {
                    return Ok((None, None));
                }
                (
                    Action::CaseArchive,
                    Vec::new(),
                    "retention: kept for the research archive",
                )
            }
            Disposition::Hold => return Ok((None, None)),
        };
        let actor = EventActor {
            sub: Some(ACTOR_SUB.to_owned()),
            name: Some(ACTOR_NAME.to_owned()),
            agency: Some(due.owner_agency.clone()),
            roles: Some(vec![ACTOR_ROLE.to_owned()]),
        };
        let facts = AuditFacts {
            case_ids: vec![due.case_id.clone()],
            categories,
            consent_id: None,
            reason: Some(reason.to_owned()),
        };
        let event = work::event(None, actor, action, 200, facts, None, now);
        Ok::<_, UseCaseError>((Some(due.disposition), Some(event)))
    })
}
