//! Who can read a case now and on what basis (API.md §7), and the access-log extract for the
//! young person and the family (API.md §10): who saw or changed their data.

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{query, Action};
use crate::authz::{AgencyFacts, Context};
use crate::clock::{rfc3339, rfc3339_naive};
use crate::domain::consent::CATEGORIES;
use crate::error::UseCaseError;
use crate::repo::reference as reference_repo;
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

/// Who can read a case now, as the policy set decides it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessExplanation {
    pub case_id: String,
    #[schema(format = DateTime)]
    pub evaluated_at: String,
    pub grants: Vec<Grant>,
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
