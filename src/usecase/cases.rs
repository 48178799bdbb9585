//! Cases (API.md §5): open, read (cut to the caller's categories), list, update.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{query_id, refuse_changes, require_version, Versioned};
use crate::audit::Action;
use crate::authz::{Context, Resource};
use crate::clock::rfc3339_naive;
use crate::crypto::columns::Column;
use crate::domain::case::{check_age, text_rule, CaseStatus};
use crate::domain::personal_number::{self, PersonalNumber};
use crate::error::{FieldError, UseCaseError};
use crate::jobs::retention;
use crate::repo::cases::{self as repo, CaseChanges, CaseFilter, CaseRow, GuardianRow};
use crate::repo::reference as reference_repo;
use crate::work::access::{self, CaseSlice, PROTECTED_CONTACT, REFERRAL};
use crate::work::Unit;

const MAX_NAME: usize = 100;
const MAX_CONTACT: usize = 300;
const MAX_REASON: usize = 2000;
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// The young person, as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewYouth {
    /// 10 or 12 digits with an optional `-`/`+` separator; a coordination number is accepted.
    #[schema(example = "200811122381")]
    pub personal_number: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// *Skyddade personuppgifter*: address and phone are then shown to the owner agency only.
    #[serde(default)]
    pub protected_identity: bool,
}

/// A guardian (*vårdnadshavare*), as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGuardian {
    pub given_name: String,
    pub family_name: String,
    pub personal_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub has_custody: bool,
    #[serde(default)]
    pub protected_identity: bool,
}

/// Where the case came from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReferral {
    pub source_agency: String,
    pub reason: Option<String>,
}

/// A new case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    #[schema(example = "vivalla")]
    pub area: String,
    pub youth: NewYouth,
    #[serde(default)]
    pub guardians: Vec<NewGuardian>,
    pub referral: Option<NewReferral>,
}

/// Changes to a case; `closure_reason` is required when closing. A closed case takes only
/// `retention` changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    /// `active` or `closed`.
    pub status: Option<String>,
    pub closure_reason: Option<String>,
    pub area: Option<String>,
    pub retention: Option<RetentionPatch>,
}

/// The owner's retention flags (see the README's "Retention").
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPatch {
    /// Keep the case past its retention time until the hold is lifted.
    pub hold: Option<bool>,
    /// Keep the case for the research archive instead of erasing it.
    pub archive: Option<bool>,
}

/// Filters of the case list.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CaseQuery {
    pub area: Option<String>,
    /// `open`, `active` or `closed`.
    pub status: Option<String>,
    /// Exact match on the normalised number, through the blind index.
    pub personal_number: Option<String>,
    /// 1–200 (default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The case's current consent, in short.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentSummary {
    /// `none`, or the consent's state today.
    pub state: &'static str,
    pub consent_id: Option<String>,
    /// Absent when there is no consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub valid_from: Option<String>,
    #[schema(format = Date)]
    pub valid_until: Option<String>,
    pub agencies: Vec<String>,
    pub categories: Vec<String>,
}

/// The young person (category `identity`); contact details are `null` when protected.
#[derive(Debug, Serialize, ToSchema)]
pub struct YouthView {
    pub personal_number: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub protected_identity: bool,
}

/// A guardian (category `identity`); contact details are `null` when protected.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuardianView {
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    pub personal_number: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub has_custody: bool,
    pub protected_identity: bool,
}

/// Where the case came from (the owner agency only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralView {
    pub source_agency: Option<String>,
    pub reason: Option<String>,
}

/// The owner's view of a case's retention: its flags, and when its personal data goes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionView {
    pub hold: bool,
    pub archive: bool,
    /// `birth_day` or `decision`.
    pub archive_basis: Option<&'static str>,
    #[schema(format = Date)]
    pub retained_until: Option<String>,
    #[schema(format = DateTime)]
    pub archived_at: Option<String>,
    #[schema(format = DateTime)]
    pub erased_at: Option<String>,
}

/// A case (API.md §5), cut to the categories the caller may see now: `youth` and `guardians`
/// with `identity`, `referral`, `closure_reason` and `retention` for the owner agency only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub area: String,
    /// `open`, `active` or `closed`.
    pub status: String,
    pub owner_agency: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub version: i64,
    pub consent: ConsentSummary,
    pub visible_categories: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub youth: Option<YouthView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardians: Option<Vec<GuardianView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral: Option<ReferralView>,
    /// Present (possibly `null`) on a closed case, for the owner agency.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub closure_reason: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionView>,
    /// On a new case whose young person is outside 15–25.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

impl Versioned for CaseView {
    fn version(&self) -> i64 {
        self.version
    }
}

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseView>,
    pub next_cursor: Option<String>,
}

fn open(unit: &Unit<'_>, column: Column, id: &str, sealed: &[u8]) -> Result<String, UseCaseError> {
    unit.crypto().open_text(column, id, sealed).map_err(|e| {
        tracing::error!(column = column.label(), error = %e, "a sealed field did not open");
        UseCaseError::Internal("a stored field could not be decrypted".to_owned())
    })
}

fn open_opt(
    unit: &Unit<'_>,
    column: Column,
    id: &str,
    sealed: Option<&Vec<u8>>,
) -> Result<Option<String>, UseCaseError> {
    sealed.map(|s| open(unit, column, id, s)).transpose()
}

fn seal(unit: &Unit<'_>, column: Column, id: &str, value: &str) -> Result<Vec<u8>, UseCaseError> {
    Ok(unit.crypto().seal_text(column, id, value.trim())?)
}

fn seal_opt(
    unit: &Unit<'_>,
    column: Column,
    id: &str,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>, UseCaseError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| seal(unit, column, id, v))
        .transpose()
}

fn consent_summary(slice: &CaseSlice) -> ConsentSummary {
    match &slice.consent {
        None => ConsentSummary {
            state: "none",
            consent_id: None,
            valid_from: None,
            valid_until: None,
            agencies: Vec::new(),
            categories: Vec::new(),
        },
        Some(c) => ConsentSummary {
            state: slice.consent_state.map_or("none", |s| s.as_str()),
            consent_id: Some(c.row.id.clone()),
            valid_from: Some(c.row.valid_from.to_string()),
            valid_until: Some(c.row.valid_until.to_string()),
            agencies: c.agencies.clone(),
            categories: c.categories.clone(),
        },
    }
}

fn youth_view(unit: &Unit<'_>, row: &CaseRow, contact: bool) -> Result<YouthView, UseCaseError> {
    let id = row.id.as_str();
    let contact_of = |column, sealed: Option<&Vec<u8>>| match contact {
        true => open_opt(unit, column, id, sealed),
        false => Ok(None),
    };
    Ok(YouthView {
        personal_number: open_opt(
            unit,
            Column::YouthPersonalNumber,
            id,
            row.youth_personal_number.as_ref(),
        )?,
        given_name: open_opt(
            unit,
            Column::YouthGivenName,
            id,
            row.youth_given_name.as_ref(),
        )?,
        family_name: open_opt(
            unit,
            Column::YouthFamilyName,
            id,
            row.youth_family_name.as_ref(),
        )?,
        phone: contact_of(Column::YouthPhone, row.youth_phone.as_ref())?,
        address: contact_of(Column::YouthAddress, row.youth_address.as_ref())?,
        protected_identity: row.youth_protected,
    })
}

fn guardian_view(
    unit: &Unit<'_>,
    g: &GuardianRow,
    contact: bool,
) -> Result<GuardianView, UseCaseError> {
    let id = g.id.as_str();
    let contact_of = |column, sealed: Option<&Vec<u8>>| match contact {
        true => open_opt(unit, column, id, sealed),
        false => Ok(None),
    };
    Ok(GuardianView {
        id: g.id.clone(),
        given_name: open(unit, Column::GuardianGivenName, id, &g.given_name)?,
        family_name: open(unit, Column::GuardianFamilyName, id, &g.family_name)?,
        personal_number: open_opt(
            unit,
            Column::GuardianPersonalNumber,
            id,
            g.personal_number.as_ref(),
        )?,
        phone: contact_of(Column::GuardianPhone, g.phone.as_ref())?,
        address: contact_of(Column::GuardianAddress, g.address.as_ref())?,
        has_custody: g.has_custody,
        protected_identity: g.protected_identity,
    })
}

/// The case view of API.md §5, cut to what the caller may see.
pub fn case_view(
    unit: &mut Unit<'_>,
    slice: &CaseSlice,
    visible: &[&'static str],
) -> Result<CaseView, UseCaseError> {
    let row = &slice.row;
    let mut view = CaseView {
        id: row.id.clone(),
        area: row.area.clone(),
        status: row.status.clone(),
        owner_agency: row.owner_agency.clone(),
        created_at: rfc3339_naive(&row.created_at),
        updated_at: rfc3339_naive(&row.updated_at),
        version: row.version,
        consent: consent_summary(slice),
        visible_categories: visible.to_vec(),
        youth: None,
        guardians: None,
        referral: None,
        closure_reason: None,
        retention: None,
        warnings: None,
    };
    // An erased case has no youth or guardians left to show.
    if visible.contains(&"identity") && row.erased_at.is_none() {
        let protected_ok = unit.allows(
            Action::CaseRead,
            slice,
            &Context::category(PROTECTED_CONTACT),
        );
        view.youth = Some(youth_view(unit, row, !row.youth_protected || protected_ok)?);
        let guardians = slice
            .guardians(unit.conn)?
            .iter()
            .map(|g| guardian_view(unit, g, !g.protected_identity || protected_ok))
            .collect::<Result<_, _>>()?;
        view.guardians = Some(guardians);
    }
    if unit.allows(Action::CaseRead, slice, &Context::category(REFERRAL)) {
        view.referral = Some(ReferralView {
            source_agency: row.referral_source_agency.clone(),
            reason: open_opt(
                unit,
                Column::ReferralReason,
                &row.id,
                row.referral_reason.as_ref(),
            )?,
        });
        if CaseStatus::Closed.is(&row.status) {
            view.closure_reason = Some(open_opt(
                unit,
                Column::ClosureReason,
                &row.id,
                row.closure_reason.as_ref(),
            )?);
        }
        view.retention = Some(retention_view(unit, row)?);
    }
    Ok(view)
}

fn retention_view(unit: &mut Unit<'_>, row: &CaseRow) -> Result<RetentionView, UseCaseError> {
    let basis = retention::archive_basis(unit.crypto(), row, unit.today())?;
    let until = retention::last_entry(unit.conn, row)?
        .map(|last| retention::retained_until(last, unit.retention_years()));
    Ok(RetentionView {
        hold: row.retention_hold,
        archive: basis.is_some(),
        archive_basis: basis.map(retention::ArchiveBasis::as_str),
        retained_until: until.map(|d| d.to_string()),
        archived_at: row.archived_at.as_ref().map(rfc3339_naive),
        erased_at: row.erased_at.as_ref().map(rfc3339_naive),
    })
}

/// Loads the case and views what the caller may see of it, noting the categories for the
/// audit event; 403 when nothing of it is visible.
fn visible_view(unit: &mut Unit<'_>, id: &str) -> Result<CaseView, UseCaseError> {
    Ok(visible_slice(unit, id)?.0)
}

fn visible_slice(unit: &mut Unit<'_>, id: &str) -> Result<(CaseView, CaseSlice), UseCaseError> {
    let slice = access::load(unit, id)?;
    let visible = unit.require_some_category(&slice)?;
    unit.audit.categories = visible.iter().map(|c| c.to_string()).collect();
    Ok((case_view(unit, &slice, &visible)?, slice))
}

/// What the caller may do with a case now, as the policy set decides: the pages show a button
/// only for what the unit of work would allow.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaseActions {
    /// Record, list and revoke consents.
    pub consents: bool,
    /// Activate, close, change the area.
    pub update: bool,
    /// The access explanation.
    pub access: bool,
    /// The notes (at least the user's own agency's).
    pub notes: bool,
    /// The joint plan (category `plan`).
    pub plan: bool,
    /// Drafting the plan ("Redigera plan").
    pub plan_edit: bool,
}

/// [`read`], with what the caller may do with the case (the case page's buttons).
pub fn read_with_actions(
    unit: &mut Unit<'_>,
    id: &str,
) -> Result<(CaseView, CaseActions), UseCaseError> {
    let (view, slice) = visible_slice(unit, id)?;
    let none = Context::default();
    let actions = CaseActions {
        consents: unit.allows(Action::ConsentList, &slice, &none),
        update: unit.allows(Action::CaseUpdate, &slice, &none),
        access: unit.allows(Action::AccessRead, &slice, &none),
        notes: unit.allows(
            Action::NoteRead,
            &slice,
            &Context {
                category: Some(crate::domain::consent::note_category(&unit.agency.kind).to_owned()),
                own_agency: Some(true),
                ..Context::default()
            },
        ),
        plan: unit.allows(Action::CaseRead, &slice, &Context::category("plan")),
        plan_edit: unit.allows(Action::PlanUpdate, &slice, &none),
    };
    Ok((view, actions))
}

/// Reads a case, cut to the categories the caller may see now.
pub fn read(unit: &mut Unit<'_>, id: &str) -> Result<CaseView, UseCaseError> {
    visible_view(unit, id)
}

/// The checked parts of a new case: the youth's number, each guardian's normalised number,
/// and the warnings to answer with.
struct Checked {
    number: PersonalNumber,
    guardian_numbers: Vec<Option<String>>,
    warnings: Vec<String>,
}

fn check_new_case(unit: &mut Unit<'_>, input: &NewCase) -> Result<Checked, UseCaseError> {
    let today = unit.today();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if reference_repo::areas(unit.conn)?
        .iter()
        .all(|a| a.slug != input.area)
    {
        errors.push(FieldError::new(
            "area",
            "is not a partnership area (see GET /api/v1/areas)",
        ));
    }
    let youth = &input.youth;
    let number = match personal_number::parse(&youth.personal_number, today) {
        Ok(number) => Some(number),
        Err(error) => {
            errors.push(FieldError::new("youth.personal_number", error.to_string()));
            None
        }
    };
    let mut minor = false;
    if let Some(number) = &number {
        match check_age(number.birth_date, today) {
            Ok(age) => {
                minor = age.minor;
                warnings.extend(age.warning);
            }
            Err(message) => errors.push(FieldError::new("youth.personal_number", message)),
        }
    }
    person_texts(
        &mut errors,
        "youth",
        &youth.given_name,
        &youth.family_name,
        &youth.phone,
        &youth.address,
    );
    let mut guardian_numbers = Vec::new();
    for (index, g) in input.guardians.iter().enumerate() {
        let field = format!("guardians[{index}]");
        person_texts(
            &mut errors,
            &field,
            &g.given_name,
            &g.family_name,
            &g.phone,
            &g.address,
        );
        let given = g
            .personal_number
            .as_deref()
            .filter(|n| !n.trim().is_empty());
        guardian_numbers.push(
            given.and_then(|text| match personal_number::parse(text, today) {
                Ok(n) => Some(n.normalised),
                Err(error) => {
                    errors.push(FieldError::new(
                        format!("{field}.personal_number"),
                        error.to_string(),
                    ));
                    None
                }
            }),
        );
    }
    if minor && !input.guardians.iter().any(|g| g.has_custody) {
        errors.push(FieldError::new(
            "guardians",
            "a young person under 18 needs at least one guardian with has_custody: true",
        ));
    }
    if let Some(referral) = &input.referral {
        if !reference_repo::agency_exists(unit.conn, &referral.source_agency)? {
            errors.push(FieldError::new(
                "referral.source_agency",
                "is not a registered agency",
            ));
        }
        let reason = referral.reason.as_deref().unwrap_or("");
        text_rule(&mut errors, "referral.reason", reason, MAX_REASON, false);
    }
    match number {
        Some(number) if errors.is_empty() => Ok(Checked {
            number,
            guardian_numbers,
            warnings,
        }),
        _ => Err(UseCaseError::Validation(errors)),
    }
}

/// The name and contact rules of a person (the youth or a guardian) under `prefix`.
fn person_texts(
    errors: &mut Vec<FieldError>,
    prefix: &str,
    given: &str,
    family: &str,
    phone: &Option<String>,
    address: &Option<String>,
) {
    let field = |name: &str| format!("{prefix}.{name}");
    text_rule(errors, &field("given_name"), given, MAX_NAME, true);
    text_rule(errors, &field("family_name"), family, MAX_NAME, true);
    let phone = phone.as_deref().unwrap_or("");
    text_rule(errors, &field("phone"), phone, MAX_CONTACT, false);
    let address = address.as_deref().unwrap_or("");
    text_rule(errors, &field("address"), address, MAX_CONTACT, false);
}

/// Opens a case (role `social_secretary` at a `social_services` agency).
pub fn create(unit: &mut Unit<'_>, input: NewCase) -> Result<CaseView, UseCaseError> {
    unit.authorize(Action::CaseCreate, Resource::Cases)?;
    let checked = check_new_case(unit, &input)?;
    let id = uuid::Uuid::now_v7().to_string();
    let now = crate::audit::to_micros(unit.now);
    let youth = &input.youth;
    let referral_reason = input.referral.as_ref().and_then(|r| r.reason.as_deref());
    let row = CaseRow {
        id: id.clone(),
        area: input.area.clone(),
        status: CaseStatus::Open.as_str().to_owned(),
        owner_agency: unit.actor.agency.clone(),
        created_by: unit.actor.sub.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
        youth_pn_index: Some(unit.crypto().blind_index(&checked.number.normalised)),
        youth_personal_number: Some(seal(
            unit,
            Column::YouthPersonalNumber,
            &id,
            &checked.number.normalised,
        )?),
        youth_given_name: Some(seal(unit, Column::YouthGivenName, &id, &youth.given_name)?),
        youth_family_name: Some(seal(
            unit,
            Column::YouthFamilyName,
            &id,
            &youth.family_name,
        )?),
        youth_phone: seal_opt(unit, Column::YouthPhone, &id, youth.phone.as_deref())?,
        youth_address: seal_opt(unit, Column::YouthAddress, &id, youth.address.as_deref())?,
        youth_protected: youth.protected_identity,
        referral_source_agency: input.referral.as_ref().map(|r| r.source_agency.clone()),
        referral_reason: seal_opt(unit, Column::ReferralReason, &id, referral_reason)?,
        closure_reason: None,
        closed_at: None,
        retention_hold: false,
        retention_archive: false,
        archived_at: None,
        erased_at: None,
    };
    let mut guardian_rows = Vec::new();
    for (position, (g, number)) in input
        .guardians
        .iter()
        .zip(&checked.guardian_numbers)
        .enumerate()
    {
        let gid = uuid::Uuid::now_v7().to_string();
        guardian_rows.push(GuardianRow {
            id: gid.clone(),
            case_id: id.clone(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            given_name: seal(unit, Column::GuardianGivenName, &gid, &g.given_name)?,
            family_name: seal(unit, Column::GuardianFamilyName, &gid, &g.family_name)?,
            personal_number: seal_opt(
                unit,
                Column::GuardianPersonalNumber,
                &gid,
                number.as_deref(),
            )?,
            phone: seal_opt(unit, Column::GuardianPhone, &gid, g.phone.as_deref())?,
            address: seal_opt(unit, Column::GuardianAddress, &gid, g.address.as_deref())?,
            has_custody: g.has_custody,
            protected_identity: g.protected_identity,
        });
    }
    repo::insert_case(unit.conn, &row, &guardian_rows)?;
    let mut view = visible_view(unit, &id)?;
    if !checked.warnings.is_empty() {
        view.warnings = Some(checked.warnings);
    }
    Ok(view)
}

/// Lists the cases the caller may read now, each cut to the caller's categories.
pub fn list(unit: &mut Unit<'_>, query: CaseQuery) -> Result<CasePage, UseCaseError> {
    unit.authorize(Action::CaseList, Resource::Cases)?;
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(l) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            return Err(UseCaseError::BadRequest(format!(
                "`limit` must be between 1 and {MAX_LIMIT}"
            )))
        }
    };
    if query
        .status
        .as_deref()
        .is_some_and(|s| CaseStatus::parse(s).is_none())
    {
        return Err(UseCaseError::BadRequest(
            "`status` must be open, active or closed".to_owned(),
        ));
    }
    let mut after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => Some(query_id(cursor, "`cursor` is not one this API gave out")?),
        None => None,
    };
    let pn_index = match query.personal_number.as_deref().filter(|p| !p.is_empty()) {
        Some(text) => Some(
            personal_number::parse(text, unit.today())
                .map(|n| unit.crypto().blind_index(&n.normalised))
                .map_err(|_| {
                    UseCaseError::BadRequest(
                        "`personal_number` is not a valid personal or coordination number"
                            .to_owned(),
                    )
                })?,
        ),
        None => None,
    };
    let filter = CaseFilter {
        area: query.area.filter(|a| !a.is_empty()),
        status: query.status,
        pn_index,
    };
    let today = unit.today();
    let agency = unit.actor.agency.clone();
    let mut items = Vec::new();
    let mut ids = Vec::new();
    let mut categories = BTreeSet::new();
    let mut more = false;
    'pages: loop {
        let batch = repo::candidate_cases(
            unit.conn,
            &agency,
            today,
            &filter,
            after.as_deref(),
            limit + 1,
        )?;
        let exhausted = (batch.len() as i64) < limit + 1;
        for row in batch {
            after = Some(row.id.clone());
            let consent = repo::current_consent(unit.conn, &row.id)?;
            let slice = CaseSlice::new(row, consent, today);
            let visible = unit.visible_categories(&slice);
            if visible.is_empty() {
                continue;
            }
            if items.len() as i64 == limit {
                more = true;
                break 'pages;
            }
            categories.extend(visible.iter().map(|c| c.to_string()));
            ids.push(slice.row.id.clone());
            items.push(case_view(unit, &slice, &visible)?);
        }
        if exhausted {
            break;
        }
    }
    unit.audit.case_ids = ids.clone();
    unit.audit.categories = categories.into_iter().collect();
    Ok(CasePage {
        items,
        next_cursor: if more { ids.last().cloned() } else { None },
    })
}

/// Changes a case's status, area or retention flags (owner `social_secretary`); `expected` is
/// the version the client's `If-Match` names (or why it names none).
pub fn update(
    unit: &mut Unit<'_>,
    id: &str,
    expected: Result<i64, UseCaseError>,
    input: CasePatch,
) -> Result<CaseView, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::CaseUpdate, &slice, &Context::default())?;
    require_version(expected, slice.row.version)?;
    let row = &slice.row;
    refuse_changes(row)?;
    let changes_case =
        input.status.is_some() || input.area.is_some() || input.closure_reason.is_some();
    if CaseStatus::Closed.is(&row.status) && (changes_case || input.retention.is_none()) {
        return Err(UseCaseError::Conflict(
            "the case is closed; a closed case is final (only its retention flags change)"
                .to_owned(),
        ));
    }
    let closure = check_patch(unit, &input)?;
    if input.status.as_deref() == Some(CaseStatus::Active.as_str())
        && !CaseStatus::Active.is(&row.status)
        && slice.active_consent().is_none()
    {
        return Err(UseCaseError::Conflict(
            "a case becomes active only with an active consent".to_owned(),
        ));
    }
    let now = crate::audit::to_micros(unit.now);
    let changes = CaseChanges {
        area: input.area.clone(),
        status: input.status.clone(),
        closure_reason: closure
            .as_deref()
            .map(|r| seal(unit, Column::ClosureReason, &row.id, r))
            .transpose()?,
        closed_at: closure.as_ref().map(|_| now),
        retention_hold: input.retention.as_ref().and_then(|r| r.hold),
        retention_archive: input.retention.as_ref().and_then(|r| r.archive),
        updated_at: now,
        version: row.version + 1,
    };
    if !repo::update_case(unit.conn, &row.id, row.version, &changes)? {
        return Err(UseCaseError::PreconditionFailed);
    }
    visible_view(unit, &row.id)
}

/// The patch's rules; the closure reason when it closes the case.
fn check_patch(unit: &mut Unit<'_>, input: &CasePatch) -> Result<Option<String>, UseCaseError> {
    let mut errors = Vec::new();
    if let Some(area) = &input.area {
        if reference_repo::areas(unit.conn)?
            .iter()
            .all(|a| &a.slug != area)
        {
            errors.push(FieldError::new("area", "is not a partnership area"));
        }
    }
    let mut closure = None;
    match input.status.as_deref().map(|s| (s, CaseStatus::parse(s))) {
        None | Some((_, Some(CaseStatus::Active))) => {}
        Some((_, Some(CaseStatus::Closed))) => match input
            .closure_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(reason) if reason.chars().count() <= MAX_REASON => {
                closure = Some(reason.to_owned())
            }
            Some(_) => errors.push(FieldError::new(
                "closure_reason",
                format!("must be at most {MAX_REASON} characters"),
            )),
            None => errors.push(FieldError::new(
                "closure_reason",
                "is required to close a case",
            )),
        },
        Some(_) => errors.push(FieldError::new("status", "must be active or closed")),
    }
    if errors.is_empty() {
        Ok(closure)
    } else {
        Err(UseCaseError::Validation(errors))
    }
}
