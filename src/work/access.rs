//! What a caller may see of a case, decided by the policy set on facts loaded fresh in the
//! request's own transaction — so a revocation takes effect for the very next request.

use std::borrow::Cow;

use diesel::QueryResult;

use crate::audit::Action;
use crate::authz::{CaseFacts, Context, Resource};
use crate::db::DbConn;
use crate::domain::case::CaseStatus;
use crate::domain::consent::{self, ConsentState, StateFacts, CATEGORIES};
use crate::error::UseCaseError;
use crate::repo::cases::{self as repo, CaseRow, Consent, GuardianRow};
use crate::work::Unit;

/// Pseudo-categories no consent can cover: only the owner agency sees them.
pub const REFERRAL: &str = "referral";
pub const PROTECTED_CONTACT: &str = "protected_contact";

/// A case with its current consent and that consent's state today.
#[derive(Clone, Debug)]
pub struct CaseSlice {
    pub row: CaseRow,
    pub consent: Option<Consent>,
    pub consent_state: Option<ConsentState>,
    /// The case's guardians if they were read with it (see [`repo::CaseRecord`]); read them
    /// through [`CaseSlice::guardians`], which is the same on both backends.
    prefetched_guardians: Option<Vec<GuardianRow>>,
}

impl CaseSlice {
    /// A case and its current consent, as a list reads them (guardians on demand).
    pub fn new(row: CaseRow, consent: Option<Consent>, today: chrono::NaiveDate) -> Self {
        let consent_state = consent.as_ref().map(|c| consent_state(c, today));
        Self {
            row,
            consent,
            consent_state,
            prefetched_guardians: None,
        }
    }

    /// The case's guardians in their order: as read with the case, or read now.
    pub fn guardians(&self, conn: &mut DbConn) -> QueryResult<Cow<'_, [GuardianRow]>> {
        match &self.prefetched_guardians {
            Some(rows) => Ok(Cow::Borrowed(rows)),
            None => repo::guardians_of(conn, &self.row.id).map(Cow::Owned),
        }
    }

    pub fn resource(&self) -> Resource {
        let active = self.consent_state == Some(ConsentState::Active);
        let (agencies, categories) = match (&self.consent, active) {
            (Some(c), true) => (c.agencies.clone(), c.categories.clone()),
            _ => (Vec::new(), Vec::new()),
        };
        Resource::Case(CaseFacts {
            id: self.row.id.clone(),
            owner_agency: self.row.owner_agency.clone(),
            status: self.row.status.clone(),
            consent_active: active,
            consent_agencies: agencies,
            consent_categories: categories,
        })
    }

    pub fn active_consent(&self) -> Option<&Consent> {
        self.consent
            .as_ref()
            .filter(|_| self.consent_state == Some(ConsentState::Active))
    }
}

/// The state of `consent` on `today`.
pub fn consent_state(consent: &Consent, today: chrono::NaiveDate) -> ConsentState {
    consent::state(
        &StateFacts {
            valid_from: consent.row.valid_from,
            valid_until: consent.row.valid_until,
            revoked: consent.row.revoked_at.is_some(),
            superseded: consent.row.superseded_at.is_some(),
            refused: consent.refused(),
        },
        today,
    )
}

/// Loads a case (404 when there is none) and names it in the audit event.
pub fn load(unit: &mut Unit<'_>, case_id: &str) -> Result<CaseSlice, UseCaseError> {
    let record = repo::find_case_record(unit.conn, case_id)?
        .ok_or_else(|| UseCaseError::NotFound("there is no such case".to_owned()))?;
    unit.audit.case_ids = vec![record.case.id.clone()];
    let mut slice = CaseSlice::new(record.case, record.consent, unit.today());
    slice.prefetched_guardians = record.guardians;
    Ok(slice)
}

impl Unit<'_> {
    /// Whether the policy set allows `action` on `slice` in `context` (no error, no audit).
    pub fn allows(&self, action: Action, slice: &CaseSlice, context: &Context) -> bool {
        self.decide_in(action, &slice.resource(), context).allowed
    }

    /// Asks the policy set; a denial is `consent_required` when an active consent covering the
    /// caller's agency would allow it, else `forbidden`.
    pub fn require(
        &mut self,
        action: Action,
        slice: &CaseSlice,
        context: &Context,
    ) -> Result<(), UseCaseError> {
        let resource = slice.resource();
        let decision = self.decide_in(action, &resource, context);
        if decision.allowed {
            self.audit.reason = Some(decision.reason());
            if slice.row.owner_agency != self.actor.agency {
                self.audit.consent_id = slice.active_consent().map(|c| c.row.id.clone());
            }
            return Ok(());
        }
        let consented = slice
            .active_consent()
            .is_some_and(|c| c.agencies.contains(&self.actor.agency));
        if consented && CaseStatus::Closed.is(&slice.row.status) {
            return Err(UseCaseError::Forbidden(
                "the case is closed: only its owner agency sees it now".to_owned(),
            ));
        }
        Err(if self.consent_would_allow(action, &resource, context) {
            UseCaseError::ConsentRequired(format!(
                "no active consent covers your agency for this ({})",
                action.as_str()
            ))
        } else {
            UseCaseError::Forbidden(format!(
                "your role and agency may not do this ({})",
                action.as_str()
            ))
        })
    }

    /// The consent categories of `slice` the caller may read now.
    pub fn visible_categories(&self, slice: &CaseSlice) -> Vec<&'static str> {
        CATEGORIES
            .into_iter()
            .filter(|category| self.allows(Action::CaseRead, slice, &Context::category(category)))
            .collect()
    }

    /// Requires that the caller may read some of `slice`; returns the categories.
    pub fn require_some_category(
        &mut self,
        slice: &CaseSlice,
    ) -> Result<Vec<&'static str>, UseCaseError> {
        let visible = self.visible_categories(slice);
        if visible.is_empty() {
            // Ask once more, for one category, to get the right denial and its reason.
            self.require(Action::CaseRead, slice, &Context::category("identity"))?;
            return Err(UseCaseError::Forbidden(
                "nothing of this case is visible to you".to_owned(),
            ));
        }
        let decision = self.decide_in(
            Action::CaseRead,
            &slice.resource(),
            &Context::category(visible[0]),
        );
        self.audit.reason = Some(decision.reason());
        if slice.row.owner_agency != self.actor.agency {
            self.audit.consent_id = slice.active_consent().map(|c| c.row.id.clone());
        }
        Ok(visible)
    }
}
