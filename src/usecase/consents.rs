//! Consent (API.md §6): recorded, listed and revoked by the owner agency's social secretaries.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Items;
use crate::audit::Action;
use crate::authz::Context;
use crate::clock::rfc3339_naive;
use crate::crypto::columns::Column;
use crate::domain::case::CaseStatus;
use crate::domain::consent::{
    self, ConsentInput, ConsentState, Decision, GuardianFacts, Method, PartyInput,
};
use crate::domain::personal_number;
use crate::domain::retention::ERASED;
use crate::error::{FieldError, UseCaseError};
use crate::repo::cases::{self as repo, Consent, ConsentRow, PartyRow};
use crate::repo::reference as reference_repo;
use crate::work::access::{self, CaseSlice};
use crate::work::Unit;

/// One party's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyDecision {
    /// For guardians: the guardian's id from the case view.
    pub guardian_id: Option<String>,
    pub decision: Decision,
    pub method: Method,
    #[schema(value_type = String, format = Date)]
    pub decided_on: NaiveDate,
}

/// A consent as recorded from the signed (or documented oral) form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    pub youth: Option<PartyDecision>,
    #[serde(default)]
    pub guardians: Vec<PartyDecision>,
    pub agencies: Vec<String>,
    pub categories: Vec<String>,
    pub purpose: String,
    #[schema(value_type = String, format = Date)]
    pub valid_from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub valid_until: NaiveDate,
    pub evidence_ref: String,
}

/// Who revokes, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// `youth` or `guardian`.
    pub party: String,
    pub guardian_id: Option<String>,
    pub reason: Option<String>,
}

fn method_str(method: Method) -> &'static str {
    match method {
        Method::Written => "written",
        Method::Oral => "oral",
    }
}

fn decision_str(decision: Decision) -> &'static str {
    match decision {
        Decision::Given => "given",
        Decision::Refused => "refused",
    }
}

/// One party's decision, as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// `youth` or `guardian`.
    pub party: String,
    pub guardian_id: Option<String>,
    /// `given` or `refused`.
    pub decision: String,
    /// `written` or `oral`.
    pub method: String,
    #[schema(format = Date)]
    pub decided_on: String,
    /// Whether this party's decision was needed for the consent to hold.
    pub required: bool,
}

/// Who recorded a consent.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedBy {
    pub sub: String,
    pub name: String,
}

/// Which party revoked a consent.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedBy {
    pub party: String,
    pub guardian_id: Option<String>,
}

/// A consent (samtycke) as API.md §6 shows it, with its state today.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub id: String,
    pub case_id: String,
    /// `active`, `scheduled`, `refused`, `expired`, `revoked` or `superseded`.
    pub state: &'static str,
    pub parties: Vec<PartyView>,
    pub agencies: Vec<String>,
    pub categories: Vec<String>,
    pub purpose: String,
    #[schema(format = Date)]
    pub valid_from: String,
    #[schema(format = Date)]
    pub valid_until: String,
    pub evidence_ref: String,
    pub recorded_by: RecordedBy,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    pub revoked_by: Option<RevokedBy>,
}

/// The consent as API.md §6 shows it.
pub fn consent_view(consent: &Consent, today: NaiveDate) -> ConsentView {
    let row = &consent.row;
    ConsentView {
        id: row.id.clone(),
        case_id: row.case_id.clone(),
        state: access::consent_state(consent, today).as_str(),
        parties: consent
            .parties
            .iter()
            .map(|p| PartyView {
                party: p.party.clone(),
                guardian_id: p.guardian_id.clone(),
                decision: p.decision.clone(),
                method: p.method.clone(),
                decided_on: p.decided_on.to_string(),
                required: p.required,
            })
            .collect(),
        agencies: consent.agencies.clone(),
        categories: consent.categories.clone(),
        purpose: row.purpose.clone(),
        valid_from: row.valid_from.to_string(),
        valid_until: row.valid_until.to_string(),
        evidence_ref: row.evidence_ref.clone(),
        recorded_by: RecordedBy {
            sub: row.recorded_by_sub.clone(),
            name: row.recorded_by_name.clone(),
        },
        recorded_at: rfc3339_naive(&row.recorded_at),
        revoked_at: row.revoked_at.as_ref().map(rfc3339_naive),
        revoked_by: row.revoked_by_party.as_ref().map(|party| RevokedBy {
            party: party.clone(),
            guardian_id: row.revoked_guardian_id.clone(),
        }),
    }
}

/// Records a consent on case `id`; it supersedes the case's earlier consents.
pub fn create(
    unit: &mut Unit<'_>,
    id: &str,
    input: NewConsent,
) -> Result<ConsentView, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::ConsentCreate, &slice, &Context::default())?;
    record(unit, &slice, input)
}

fn record(
    unit: &mut Unit<'_>,
    slice: &CaseSlice,
    input: NewConsent,
) -> Result<ConsentView, UseCaseError> {
    if CaseStatus::Closed.is(&slice.row.status) {
        return Err(UseCaseError::Conflict("the case is closed".to_owned()));
    }
    let today = unit.today();
    let case_id = slice.row.id.clone();
    let sealed = slice
        .row
        .youth_personal_number
        .as_ref()
        .ok_or_else(|| UseCaseError::Conflict(ERASED.to_owned()))?;
    let number = unit
        .crypto()
        .open_text(Column::YouthPersonalNumber, &case_id, sealed)?;
    let birth = personal_number::parse(&number, today)
        .map(|n| n.birth_date)
        .map_err(|_| {
            UseCaseError::Internal("a stored personal number does not parse".to_owned())
        })?;
    let guardians: Vec<GuardianFacts> = repo::guardians_of(unit.conn, &case_id)?
        .into_iter()
        .map(|g| GuardianFacts {
            id: g.id,
            has_custody: g.has_custody,
        })
        .collect();
    let to_input = |p: &PartyDecision| PartyInput {
        guardian_id: p.guardian_id.clone(),
        decision: p.decision,
        decided_on: p.decided_on,
    };
    let youth = input.youth.as_ref().map(to_input);
    let parties: Vec<PartyInput> = input.guardians.iter().map(to_input).collect();
    let known: Vec<String> = reference_repo::agencies(unit.conn)?
        .into_iter()
        .map(|a| a.slug)
        .collect();
    let checked = ConsentInput {
        youth: youth.as_ref(),
        guardians: parties.iter().collect(),
        agencies: &input.agencies,
        categories: &input.categories,
        purpose: &input.purpose,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        evidence_ref: &input.evidence_ref,
    };
    let errors: Vec<FieldError> = consent::validate(&checked, &guardians, birth, today, &|slug| {
        known.iter().any(|k| k == slug)
    });
    if !errors.is_empty() {
        return Err(UseCaseError::Validation(errors));
    }
    let required = consent::required_guardians(&guardians, birth, input.valid_from);
    let consent_id = uuid::Uuid::now_v7().to_string();
    let mut party_rows = Vec::new();
    if let Some(youth) = &input.youth {
        party_rows.push(PartyRow {
            consent_id: consent_id.clone(),
            position: 0,
            party: "youth".to_owned(),
            required: true,
            guardian_id: None,
            decision: decision_str(youth.decision).to_owned(),
            method: method_str(youth.method).to_owned(),
            decided_on: youth.decided_on,
        });
    }
    for (index, g) in input.guardians.iter().enumerate() {
        party_rows.push(PartyRow {
            consent_id: consent_id.clone(),
            position: i32::try_from(index + 1).unwrap_or(i32::MAX),
            party: "guardian".to_owned(),
            required: g
                .guardian_id
                .as_ref()
                .is_some_and(|id| required.contains(id)),
            guardian_id: g.guardian_id.clone(),
            decision: decision_str(g.decision).to_owned(),
            method: method_str(g.method).to_owned(),
            decided_on: g.decided_on,
        });
    }
    let mut agencies = input.agencies.clone();
    agencies.sort();
    agencies.dedup();
    let mut categories = input.categories.clone();
    categories.sort();
    categories.dedup();
    let consent = Consent {
        row: ConsentRow {
            id: consent_id.clone(),
            case_id: case_id.clone(),
            purpose: input.purpose.trim().to_owned(),
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            evidence_ref: input.evidence_ref.trim().to_owned(),
            recorded_by_sub: unit.actor.sub.clone(),
            recorded_by_name: unit.actor.name.clone(),
            recorded_at: crate::audit::to_micros(unit.now),
            superseded_at: None,
            revoked_at: None,
            revoked_by_party: None,
            revoked_guardian_id: None,
            revoke_reason: None,
        },
        parties: party_rows,
        agencies,
        categories,
    };
    repo::insert_consent(unit.conn, &consent)?;
    unit.audit.consent_id = Some(consent_id);
    Ok(consent_view(&consent, today))
}

/// Every consent of case `id`, newest first, with its state and parties.
pub fn list(unit: &mut Unit<'_>, id: &str) -> Result<Items<ConsentView>, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::ConsentList, &slice, &Context::default())?;
    let today = unit.today();
    let items = repo::consents_of(unit.conn, id)?
        .iter()
        .map(|c| consent_view(c, today))
        .collect();
    Ok(Items { items })
}

/// Revokes consent `consent_id` of case `id`: any one required party may; it takes effect for
/// the next request.
pub fn revoke(
    unit: &mut Unit<'_>,
    id: &str,
    consent_id: &str,
    input: Revocation,
) -> Result<ConsentView, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::ConsentRevoke, &slice, &Context::default())?;
    unit.audit.consent_id = Some(consent_id.to_owned());
    let consent = repo::find_consent(unit.conn, id, consent_id)?.ok_or_else(|| {
        UseCaseError::NotFound("there is no such consent for this case".to_owned())
    })?;
    let today = unit.today();
    let state = access::consent_state(&consent, today);
    if !matches!(state, ConsentState::Active | ConsentState::Scheduled) {
        return Err(UseCaseError::Conflict(format!(
            "the consent is {}; only an active or scheduled consent can be revoked",
            state.as_str()
        )));
    }
    let party_ok = match input.party.as_str() {
        "youth" => true,
        "guardian" => input.guardian_id.as_ref().is_some_and(|gid| {
            consent
                .parties
                .iter()
                .any(|p| p.required && p.guardian_id.as_ref() == Some(gid))
        }),
        _ => false,
    };
    if !party_ok {
        return Err(UseCaseError::validation(
        if input.party == "guardian" { "guardian_id" } else { "party" },
        "must name a party whose decision this consent required (youth, or a guardian with custody)",
        ));
    }
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| unit.crypto().seal_text(Column::RevokeReason, consent_id, r))
        .transpose()?;
    let guardian = if input.party == "guardian" {
        input.guardian_id.as_deref()
    } else {
        None
    };
    repo::revoke_consent(
        unit.conn,
        consent_id,
        crate::audit::to_micros(unit.now),
        &input.party,
        guardian,
        reason,
    )?;
    let consent = repo::find_consent(unit.conn, id, consent_id)?
        .ok_or_else(|| UseCaseError::Internal("the revoked consent vanished".to_owned()))?;
    Ok(consent_view(&consent, today))
}

/// A guardian as the consent pages name them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamedGuardian {
    pub id: String,
    pub name: String,
    pub has_custody: bool,
}

/// What the consent pages show of a case: its consents, newest first, and the parties by name
/// (category `identity`), with the young person's birth date for the under-18 rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentPages {
    pub case_status: String,
    #[schema(value_type = String, format = Date)]
    pub youth_birth: NaiveDate,
    pub youth_name: String,
    pub guardians: Vec<NamedGuardian>,
    pub consents: Vec<ConsentView>,
}

/// The consents and the parties of case `id` (the owner, as `consent.list`; the names are
/// category `identity`, noted for the audit event).
pub fn pages(unit: &mut Unit<'_>, id: &str) -> Result<ConsentPages, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::ConsentList, &slice, &Context::default())?;
    unit.require(Action::CaseRead, &slice, &Context::category("identity"))?;
    unit.audit.categories = vec!["identity".to_owned()];
    let case_id = slice.row.id.clone();
    let open = |unit: &Unit<'_>, column, row_id: &str, sealed: Option<&Vec<u8>>| {
        sealed
            .map(|s| unit.crypto().open_text(column, row_id, s))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let row = &slice.row;
    let number = open(
        unit,
        Column::YouthPersonalNumber,
        &case_id,
        row.youth_personal_number.as_ref(),
    )?;
    let youth_birth = personal_number::parse(&number, unit.today())
        .map(|n| n.birth_date)
        .map_err(|_| UseCaseError::Conflict(ERASED.to_owned()))?;
    let youth_name = super::youth_name(unit, row)?;
    let mut guardians = Vec::new();
    for g in slice.guardians(unit.conn)?.iter() {
        let given = unit
            .crypto()
            .open_text(Column::GuardianGivenName, &g.id, &g.given_name)?;
        let family = unit
            .crypto()
            .open_text(Column::GuardianFamilyName, &g.id, &g.family_name)?;
        guardians.push(NamedGuardian {
            id: g.id.clone(),
            name: format!("{given} {family}"),
            has_custody: g.has_custody,
        });
    }
    let today = unit.today();
    let consents = repo::consents_of(unit.conn, id)?
        .iter()
        .map(|c| consent_view(c, today))
        .collect();
    Ok(ConsentPages {
        case_status: row.status.clone(),
        youth_birth,
        youth_name,
        guardians,
        consents,
    })
}
