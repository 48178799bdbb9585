//! Who can read a case now and on what basis (API.md §7), and the access-log extract for the
//! young person and the family (API.md §10): who saw or changed their data.

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::extract::{VerifiableExtract, VerifiableItem, VERIFIABLE_FORMAT};
use crate::audit::{leaf, query, tree, Action};
use crate::authz::{AgencyFacts, Context};
use crate::clock::{rfc3339, rfc3339_naive};
use crate::crypto::keys::hex;
use crate::db::{self, DbConn};
use crate::domain::case::CaseStatus;
use crate::domain::consent::CATEGORIES;
use crate::error::UseCaseError;
use crate::repo::reference as reference_repo;
use crate::state::StateInner;
use crate::work::access;
use crate::work::Unit;

/// One agency that can read the case now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Grant {
    pub agency: String,
    /// The agency's kind (`social_services`, `police`, `school`, `partner`).
    pub kind: String,
    pub categories: Vec<&'static str>,
    /// `owner` or `consent`.
    pub basis: &'static str,
    pub consent_id: Option<String>,
    #[schema(format = Date)]
    pub valid_until: Option<String>,
}

/// An agency an active consent lists that nevertheless sees nothing now, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Withheld {
    pub agency: String,
    pub consent_id: String,
    /// `case_closed`: a closed case stays with its owner agency.
    pub reason: &'static str,
}

/// Who can read a case now, as the policy set decides it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessExplanation {
    pub case_id: String,
    #[schema(format = DateTime)]
    pub evaluated_at: String,
    pub grants: Vec<Grant>,
    /// Agencies the active consent lists that see nothing now (a closed case), with the reason.
    pub withheld: Vec<Withheld>,
}

/// One access to the case, as the family sees it: which organisation, when, and what.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    #[schema(format = DateTime)]
    pub at: String,
    pub agency: Option<String>,
    /// The actor's roles, as recorded.
    pub role: Option<String>,
    pub action: String,
    pub outcome: String,
}

/// The access-log extract of one case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLog {
    pub case_id: String,
    pub items: Vec<AccessEntry>,
}

/// Who can read case `id` now, and on what basis — asked of the same policy set.
pub fn explain(unit: &mut Unit<'_>, id: &str) -> Result<AccessExplanation, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::AccessRead, &slice, &Context::default())?;
    let resource = slice.resource();
    let consent = slice.active_consent();
    let mut grants = Vec::new();
    let mut withheld = Vec::new();
    for agency in reference_repo::agencies(unit.conn)? {
        let facts = AgencyFacts {
            slug: agency.slug.clone(),
            kind: agency.kind.clone(),
        };
        let categories: Vec<&'static str> = CATEGORIES
            .into_iter()
            .filter(|c| {
                unit.policies().agency_member_allowed(
                    &facts,
                    Action::CaseRead.as_str(),
                    &resource,
                    &Context::category(c),
                )
            })
            .collect();
        if categories.is_empty() {
            if let Some(consent) = consent.filter(|c| c.agencies.contains(&agency.slug)) {
                if CaseStatus::Closed.is(&slice.row.status) {
                    withheld.push(Withheld {
                        agency: agency.slug,
                        consent_id: consent.row.id.clone(),
                        reason: "case_closed",
                    });
                }
            }
            continue;
        }
        let by_consent = (agency.slug != slice.row.owner_agency)
            .then_some(consent)
            .flatten();
        grants.push(Grant {
            basis: if agency.slug == slice.row.owner_agency {
                "owner"
            } else {
                "consent"
            },
            consent_id: by_consent.map(|c| c.row.id.clone()),
            valid_until: by_consent.map(|c| c.row.valid_until.to_string()),
            agency: agency.slug,
            kind: agency.kind,
            categories,
        });
    }
    Ok(AccessExplanation {
        case_id: id.to_owned(),
        evaluated_at: rfc3339(&unit.now),
        grants,
        withheld,
    })
}

/// The register extract of case `id`: every access to it, oldest first.
pub fn log(unit: &mut Unit<'_>, id: &str) -> Result<AccessLog, UseCaseError> {
    let slice = access::load(unit, id)?;
    log_of(unit, &slice)
}

fn log_of(unit: &mut Unit<'_>, slice: &access::CaseSlice) -> Result<AccessLog, UseCaseError> {
    let id = slice.row.id.as_str();
    unit.require(Action::AccessLogRead, slice, &Context::default())?;
    // The extract discloses who accessed the case, not the case's data.
    unit.audit.case_ids.clear();
    let items = query::access_log(unit.conn, id)?
        .into_iter()
        .map(|entry| AccessEntry {
            at: rfc3339_naive(&entry.at),
            agency: entry.agency,
            role: entry.roles,
            action: entry.action,
            outcome: entry.outcome,
        })
        .collect();
    Ok(AccessLog {
        case_id: id.to_owned(),
        items,
    })
}

/// May the caller have the register extract of case `id` (the verifiable one's
/// `access_log.read`)? Its event names no case: it discloses who accessed the case, not the
/// case's data.
pub fn may_read_log(unit: &mut Unit<'_>, id: &str) -> Result<String, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::AccessLogRead, &slice, &Context::default())?;
    unit.audit.case_ids.clear();
    Ok(slice.row.id)
}

/// The verifiable extract of case `id`, after [`may_read_log`]'s event is committed: signs a
/// checkpoint over the log's head (unless one covers it), then reads the case's events up to
/// it, each with the family's fields shown and its inclusion proof.
pub fn verifiable_log(
    conn: &mut DbConn,
    state: &StateInner,
    id: String,
) -> Result<VerifiableExtract, UseCaseError> {
    let now = state.clock.now().naive_utc();
    let checkpoint = state
        .audit
        .checkpoint(conn, now)
        .map_err(|e| UseCaseError::Internal(e.to_string()))?;
    let Some((checkpoint, note)) = checkpoint.and_then(|c| c.note.clone().map(|note| (c, note)))
    else {
        return Err(UseCaseError::Internal(
            "no signed tree head covers the log's head".to_owned(),
        ));
    };
    let size = u64::try_from(checkpoint.seq).unwrap_or(0);
    let keys = &state.keys.audit;
    db::read_tx(conn, |conn| {
        let rows = query::case_rows(conn, &id, checkpoint.seq)?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let seq = u64::try_from(row.seq).unwrap_or(0);
            let proof = tree::inclusion(conn, seq, size)?.ok_or_else(|| {
                UseCaseError::Internal("the audit tree lacks a node of a proof".to_owned())
            })?;
            let shown = leaf::disclose(&keys.leaf, &row.fields(), &leaf::FAMILY_FIELDS, Some(&id));
            items.push(VerifiableItem {
                seq: row.seq,
                leaf_index: seq - 1,
                fields: shown.fields,
                inclusion: proof.iter().map(|hash| hex(hash)).collect(),
            });
        }
        Ok(VerifiableExtract {
            format: VERIFIABLE_FORMAT.to_owned(),
            case_id: id.clone(),
            origin: keys.origin.clone(),
            tree_size: size,
            checkpoint: note.clone(),
            items,
        })
    })
}

/// The register extract as the family gets it on paper (UI.md §4 "Loggutdrag"): [`log`], and
/// the young person's name when the caller may see `identity` now — the owner's extract; the
/// auditor's has none. The event then says `identity` was disclosed.
pub fn log_for_family(
    unit: &mut Unit<'_>,
    id: &str,
) -> Result<(AccessLog, Option<String>), UseCaseError> {
    let slice = access::load(unit, id)?;
    let extract = log_of(unit, &slice)?;
    if !unit.allows(Action::CaseRead, &slice, &Context::category("identity")) {
        return Ok((extract, None));
    }
    unit.audit.case_ids = vec![id.to_owned()];
    unit.audit.categories = vec!["identity".to_owned()];
    Ok((extract, Some(super::youth_name(unit, &slice.row)?)))
}
