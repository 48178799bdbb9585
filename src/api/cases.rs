//! Cases (API.md §5): open, read (cut to the caller's categories), list, update.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{path_id, ApiJson};
use crate::audit::Action;
use crate::auth::Actor;
use crate::authz::{Context, Resource};
use crate::clock::rfc3339_naive;
use crate::domain::personal_number::{self, age_on};
use crate::error::{ApiError, FieldError, Problem};
use crate::jobs::retention;
use crate::repo::cases::{self as repo, CaseChanges, CaseFilter, CaseRow, GuardianRow};
use crate::repo::reference as reference_repo;
use crate::work::access::{self, CaseSlice, PROTECTED_CONTACT, REFERRAL};
use crate::work::{self, Unit};

const MAX_NAME: usize = 100;
const MAX_CONTACT: usize = 300;
const MAX_REASON: usize = 2000;
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

/// The young person, as sent.
#[derive(Debug, Deserialize, ToSchema)]
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
pub struct NewReferral {
    pub source_agency: String,
    pub reason: Option<String>,
}

/// A new case.
#[derive(Debug, Deserialize, ToSchema)]
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
pub struct CasePatch {
    /// `active` or `closed`.
    pub status: Option<String>,
    pub closure_reason: Option<String>,
    pub area: Option<String>,
    pub retention: Option<RetentionPatch>,
}

/// The owner's retention flags (see the README's "Retention").
#[derive(Debug, Deserialize, ToSchema)]
pub struct RetentionPatch {
    /// Keep the case past its retention time until the hold is lifted.
    pub hold: Option<bool>,
    /// Keep the case for the research archive instead of erasing it.
    pub archive: Option<bool>,
}

/// Filters of the case list.
#[derive(Debug, Deserialize, IntoParams)]
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

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

fn text_rule(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize, required: bool) {
    let length = value.trim().chars().count();
    if (required && length == 0) || length > max {
        let need = if required {
            format!("1–{max}")
        } else {
            format!("at most {max}")
        };
        errors.push(FieldError::new(field, format!("must be {need} characters")));
    }
}

fn aad(column: &str, id: &str) -> String {
    format!("{column}:{id}")
}

fn seal(unit: &Unit<'_>, column: &str, id: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    unit.crypto()
        .seal_str(value.trim(), &aad(column, id))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn seal_opt(
    unit: &Unit<'_>,
    column: &str,
    id: &str,
    value: Option<&str>,
) -> Result<Option<Vec<u8>>, ApiError> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| seal(unit, column, id, v))
        .transpose()
}

fn open(unit: &Unit<'_>, column: &str, id: &str, sealed: &[u8]) -> Result<String, ApiError> {
    unit.crypto()
        .open_str(sealed, &aad(column, id))
        .map_err(|e| {
            tracing::error!(column, error = %e, "a sealed field did not open");
            ApiError::Internal("a stored field could not be decrypted".to_owned())
        })
}

fn open_opt(
    unit: &Unit<'_>,
    column: &str,
    id: &str,
    sealed: Option<&Vec<u8>>,
) -> Result<Option<String>, ApiError> {
    sealed.map(|s| open(unit, column, id, s)).transpose()
}

/// The case view of API.md §5, cut to what the caller may see.
pub fn case_view(
    unit: &mut Unit<'_>,
    slice: &CaseSlice,
    visible: &[&'static str],
) -> Result<Value, ApiError> {
    let row = &slice.row;
    let id = row.id.as_str();
    let consent = match &slice.consent {
        None => {
            json!({"state": "none", "consent_id": null, "valid_until": null, "agencies": [], "categories": []})
        }
        Some(c) => json!({
            "state": slice.consent_state.map_or("none", |s| s.as_str()),
            "consent_id": c.row.id,
            "valid_from": c.row.valid_from.to_string(),
            "valid_until": c.row.valid_until.to_string(),
            "agencies": c.agencies,
            "categories": c.categories,
        }),
    };
    let mut view = json!({
        "id": id,
        "area": row.area,
        "status": row.status,
        "owner_agency": row.owner_agency,
        "created_at": rfc3339_naive(&row.created_at),
        "updated_at": rfc3339_naive(&row.updated_at),
        "version": row.version,
        "consent": consent,
        "visible_categories": visible,
    });
    // An erased case has no youth or guardians left to show.
    if visible.contains(&"identity") && row.erased_at.is_none() {
        let protected_ok = unit.allows(
            Action::CaseRead,
            slice,
            &Context::category(PROTECTED_CONTACT),
        );
        let contact = |protected: bool| !protected || protected_ok;
        let show_youth_contact = contact(row.youth_protected);
        view["youth"] = json!({
            "personal_number": open_opt(unit, "cases.youth_personal_number", id, row.youth_personal_number.as_ref())?,
            "given_name": open_opt(unit, "cases.youth_given_name", id, row.youth_given_name.as_ref())?,
            "family_name": open_opt(unit, "cases.youth_family_name", id, row.youth_family_name.as_ref())?,
            "phone": if show_youth_contact { open_opt(unit, "cases.youth_phone", id, row.youth_phone.as_ref())? } else { None },
            "address": if show_youth_contact { open_opt(unit, "cases.youth_address", id, row.youth_address.as_ref())? } else { None },
            "protected_identity": row.youth_protected,
        });
        let mut guardians = Vec::new();
        let loaded;
        let guardian_rows = match &slice.guardians {
            Some(rows) => rows,
            None => {
                loaded = repo::guardians_of(unit.conn, id)?;
                &loaded
            }
        };
        for g in guardian_rows {
            let gid = g.id.as_str();
            let show = contact(g.protected_identity);
            guardians.push(json!({
                "id": gid,
                "given_name": open(unit, "guardians.given_name", gid, &g.given_name)?,
                "family_name": open(unit, "guardians.family_name", gid, &g.family_name)?,
                "personal_number": open_opt(unit, "guardians.personal_number", gid, g.personal_number.as_ref())?,
                "phone": if show { open_opt(unit, "guardians.phone", gid, g.phone.as_ref())? } else { None },
                "address": if show { open_opt(unit, "guardians.address", gid, g.address.as_ref())? } else { None },
                "has_custody": g.has_custody,
                "protected_identity": g.protected_identity,
            }));
        }
        view["guardians"] = Value::Array(guardians);
    }
    if unit.allows(Action::CaseRead, slice, &Context::category(REFERRAL)) {
        view["referral"] = json!({
            "source_agency": row.referral_source_agency,
            "reason": open_opt(unit, "cases.referral_reason", id, row.referral_reason.as_ref())?,
        });
        if row.status == "closed" {
            view["closure_reason"] = json!(open_opt(
                unit,
                "cases.closure_reason",
                id,
                row.closure_reason.as_ref()
            )?);
        }
        view["retention"] = retention_view(unit, row)?;
    }
    Ok(view)
}

/// The owner's view of a case's retention: its flags, and when its personal data goes.
fn retention_view(unit: &mut Unit<'_>, row: &CaseRow) -> Result<Value, ApiError> {
    let basis = retention::archive_basis(unit.crypto(), row, unit.today())?;
    let until = retention::last_entry(unit.conn, row)?
        .map(|last| retention::retained_until(last, unit.retention_years()));
    Ok(json!({
        "hold": row.retention_hold,
        "archive": basis.is_some(),
        "archive_basis": basis.map(retention::ArchiveBasis::as_str),
        "retained_until": until.map(|d| d.to_string()),
        "archived_at": row.archived_at.as_ref().map(rfc3339_naive),
        "erased_at": row.erased_at.as_ref().map(rfc3339_naive),
    }))
}

/// A case response: the view with `ETag: "<version>"`.
fn case_response(status: StatusCode, view: Value) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Some(version) = view.get("version").and_then(Value::as_i64) {
        if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
            response.insert_header((header::ETAG, value));
        }
    }
    if status == StatusCode::CREATED {
        if let Some(id) = view.get("id").and_then(Value::as_str) {
            response.insert_header((header::LOCATION, format!("/api/v1/cases/{id}")));
        }
    }
    response.json(view)
}

/// The version an `If-Match` header names: 428 without it, 412 when it is not a version.
pub fn if_match(req: &HttpRequest) -> Result<i64, ApiError> {
    let value = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?
        .to_str()
        .map_err(|_| ApiError::PreconditionFailed)?;
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| ApiError::PreconditionFailed)
}

/// Opens a case (role `social_secretary` at a `social_services` agency).
#[utoipa::path(
    tag = "cases",
    request_body = NewCase,
    responses(
        (status = 201, description = "The new case (with `warnings` when the youth is outside 15–25)", body = Object),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a social secretary of social services", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "One entry per broken field", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/cases")]
pub async fn create(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<NewCase>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let view = work::run(super::call(&req, actor)?, 201, move |unit| {
        unit.authorize(Action::CaseCreate, Resource::Cases)?;
        create_case(unit, input)
    })
    .await?;
    Ok(case_response(StatusCode::CREATED, view))
}

fn create_case(unit: &mut Unit<'_>, input: NewCase) -> Result<Value, ApiError> {
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
        let age = age_on(number.birth_date, today);
        if !(12..=25).contains(&age) {
            errors.push(FieldError::new(
                "youth.personal_number",
                format!("the young person must be 12–25 years old (is {age})"),
            ));
        } else if age < 15 {
            warnings.push(format!(
                "the young person is {age}: SIG is meant for ages 15–25"
            ));
        }
        minor = age < 18;
    }
    text_rule(
        &mut errors,
        "youth.given_name",
        &youth.given_name,
        MAX_NAME,
        true,
    );
    text_rule(
        &mut errors,
        "youth.family_name",
        &youth.family_name,
        MAX_NAME,
        true,
    );
    text_rule(
        &mut errors,
        "youth.phone",
        youth.phone.as_deref().unwrap_or(""),
        MAX_CONTACT,
        false,
    );
    text_rule(
        &mut errors,
        "youth.address",
        youth.address.as_deref().unwrap_or(""),
        MAX_CONTACT,
        false,
    );
    let mut guardian_numbers = Vec::new();
    for (index, g) in input.guardians.iter().enumerate() {
        let field = format!("guardians[{index}]");
        text_rule(
            &mut errors,
            &format!("{field}.given_name"),
            &g.given_name,
            MAX_NAME,
            true,
        );
        text_rule(
            &mut errors,
            &format!("{field}.family_name"),
            &g.family_name,
            MAX_NAME,
            true,
        );
        text_rule(
            &mut errors,
            &format!("{field}.phone"),
            g.phone.as_deref().unwrap_or(""),
            MAX_CONTACT,
            false,
        );
        text_rule(
            &mut errors,
            &format!("{field}.address"),
            g.address.as_deref().unwrap_or(""),
            MAX_CONTACT,
            false,
        );
        let normalised = match g
            .personal_number
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            None => None,
            Some(text) => match personal_number::parse(text, today) {
                Ok(n) => Some(n.normalised),
                Err(error) => {
                    errors.push(FieldError::new(
                        format!("{field}.personal_number"),
                        error.to_string(),
                    ));
                    None
                }
            },
        };
        guardian_numbers.push(normalised);
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
        text_rule(
            &mut errors,
            "referral.reason",
            referral.reason.as_deref().unwrap_or(""),
            MAX_REASON,
            false,
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let Some(number) = number else {
        return Err(ApiError::Internal("validated number missing".to_owned()));
    };
    let id = uuid::Uuid::now_v7().to_string();
    let now = crate::audit::to_micros(unit.now);
    let row = CaseRow {
        id: id.clone(),
        area: input.area.clone(),
        status: "open".to_owned(),
        owner_agency: unit.actor.agency.clone(),
        created_by: unit.actor.sub.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
        youth_pn_index: Some(unit.crypto().blind_index(&number.normalised)),
        youth_personal_number: Some(seal(
            unit,
            "cases.youth_personal_number",
            &id,
            &number.normalised,
        )?),
        youth_given_name: Some(seal(
            unit,
            "cases.youth_given_name",
            &id,
            &youth.given_name,
        )?),
        youth_family_name: Some(seal(
            unit,
            "cases.youth_family_name",
            &id,
            &youth.family_name,
        )?),
        youth_phone: seal_opt(unit, "cases.youth_phone", &id, youth.phone.as_deref())?,
        youth_address: seal_opt(unit, "cases.youth_address", &id, youth.address.as_deref())?,
        youth_protected: youth.protected_identity,
        referral_source_agency: input.referral.as_ref().map(|r| r.source_agency.clone()),
        referral_reason: seal_opt(
            unit,
            "cases.referral_reason",
            &id,
            input.referral.as_ref().and_then(|r| r.reason.as_deref()),
        )?,
        closure_reason: None,
        closed_at: None,
        retention_hold: false,
        retention_archive: false,
        archived_at: None,
        erased_at: None,
    };
    let mut guardian_rows = Vec::new();
    for (position, (g, number)) in input.guardians.iter().zip(guardian_numbers).enumerate() {
        let gid = uuid::Uuid::now_v7().to_string();
        guardian_rows.push(GuardianRow {
            id: gid.clone(),
            case_id: id.clone(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            given_name: seal(unit, "guardians.given_name", &gid, &g.given_name)?,
            family_name: seal(unit, "guardians.family_name", &gid, &g.family_name)?,
            personal_number: seal_opt(unit, "guardians.personal_number", &gid, number.as_deref())?,
            phone: seal_opt(unit, "guardians.phone", &gid, g.phone.as_deref())?,
            address: seal_opt(unit, "guardians.address", &gid, g.address.as_deref())?,
            has_custody: g.has_custody,
            protected_identity: g.protected_identity,
        });
    }
    repo::insert_case(unit.conn, &row, &guardian_rows)?;
    let slice = access::load(unit, &id)?;
    let visible = unit.require_some_category(&slice)?;
    unit.audit.categories = visible.iter().map(|c| c.to_string()).collect();
    let mut view = case_view(unit, &slice, &visible)?;
    if !warnings.is_empty() {
        view["warnings"] = json!(warnings);
    }
    Ok(view)
}

/// Reads a case, cut to the categories the caller may see now.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case view, with ETag", body = Object),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden` or `consent_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing disclosed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases/{id}")]
pub async fn read(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let view = work::read(super::call(&req, actor)?, 200, move |unit| {
        let slice = access::load(unit, &id)?;
        let visible = unit.require_some_category(&slice)?;
        unit.audit.categories = visible.iter().map(|c| c.to_string()).collect();
        case_view(unit, &slice, &visible)
    })
    .await?;
    Ok(case_response(StatusCode::OK, view))
}

/// Lists the cases the caller may read now, each cut to the caller's categories.
#[utoipa::path(
    tag = "cases",
    params(CaseQuery),
    responses(
        (status = 200, description = "A page of case views", body = CasePage),
        (status = 400, description = "A malformed filter, cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no cases", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing disclosed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cases")]
pub async fn list(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = work::read(super::call(&req, actor)?, 200, move |unit| {
        unit.authorize(Action::CaseList, Resource::Cases)?;
        list_cases(unit, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

fn list_cases(unit: &mut Unit<'_>, query: CaseQuery) -> Result<CasePage, ApiError> {
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(l) if (1..=MAX_LIMIT).contains(&l) => l,
        Some(_) => {
            return Err(ApiError::BadRequest(format!(
                "`limit` must be between 1 and {MAX_LIMIT}"
            )))
        }
    };
    if let Some(status) = &query.status {
        if !["open", "active", "closed"].contains(&status.as_str()) {
            return Err(ApiError::BadRequest(
                "`status` must be open, active or closed".to_owned(),
            ));
        }
    }
    let mut after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => Some(path_id(cursor, "case").map_err(|_| {
            ApiError::BadRequest("`cursor` is not one this API gave out".to_owned())
        })?),
        None => None,
    };
    let pn_index = match query.personal_number.as_deref().filter(|p| !p.is_empty()) {
        Some(text) => Some(
            personal_number::parse(text, unit.today())
                .map(|n| unit.crypto().blind_index(&n.normalised))
                .map_err(|_| {
                    ApiError::BadRequest(
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
    let mut categories = std::collections::BTreeSet::new();
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
            let consent_state = consent.as_ref().map(|c| access::consent_state(c, today));
            let slice = CaseSlice {
                row,
                consent,
                consent_state,
                guardians: None,
            };
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

/// Changes a case's status or area (owner `social_secretary`, `If-Match`).
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "The case's current ETag")),
    request_body = CasePatch,
    responses(
        (status = 200, description = "The updated case, with its new ETag", body = Object),
        (status = 400, description = "Malformed JSON or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner agency's social secretary", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Activation without active consent; the case is closed (only retention flags change), erased or archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match is not the current ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable; nothing changed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[patch("/cases/{id}")]
pub async fn update(
    req: HttpRequest,
    actor: Actor,
    id: web::Path<String>,
    body: ApiJson<CasePatch>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id, "case")?;
    let expected = if_match(&req);
    let input = body.into_inner();
    let view = work::run(super::call(&req, actor)?, 200, move |unit| {
        let slice = access::load(unit, &id)?;
        unit.require(Action::CaseUpdate, &slice, &Context::default())?;
        let expected = expected?;
        if expected != slice.row.version {
            return Err(ApiError::PreconditionFailed);
        }
        update_case(unit, slice, input)
    })
    .await?;
    Ok(case_response(StatusCode::OK, view))
}

fn update_case(unit: &mut Unit<'_>, slice: CaseSlice, input: CasePatch) -> Result<Value, ApiError> {
    let row = &slice.row;
    retention::refuse_changes(row)?;
    let changes_case =
        input.status.is_some() || input.area.is_some() || input.closure_reason.is_some();
    if row.status == "closed" && (changes_case || input.retention.is_none()) {
        return Err(ApiError::Conflict(
            "the case is closed; a closed case is final (only its retention flags change)"
                .to_owned(),
        ));
    }
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
    match input.status.as_deref() {
        None => {}
        Some("closed") => match input
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
        Some("active") => {}
        Some(_) => errors.push(FieldError::new("status", "must be active or closed")),
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if input.status.as_deref() == Some("active")
        && row.status != "active"
        && slice.active_consent().is_none()
    {
        return Err(ApiError::Conflict(
            "a case becomes active only with an active consent".to_owned(),
        ));
    }
    let now = crate::audit::to_micros(unit.now);
    let changes = CaseChanges {
        area: input.area.clone(),
        status: input.status.clone(),
        closure_reason: closure
            .as_deref()
            .map(|r| seal(unit, "cases.closure_reason", &row.id, r))
            .transpose()?,
        closed_at: closure.as_ref().map(|_| now),
        retention_hold: input.retention.as_ref().and_then(|r| r.hold),
        retention_archive: input.retention.as_ref().and_then(|r| r.archive),
        updated_at: now,
        version: row.version + 1,
    };
    if !repo::update_case(unit.conn, &row.id, row.version, &changes)? {
        return Err(ApiError::PreconditionFailed);
    }
    let slice = access::load(unit, &row.id)?;
    let visible = unit.require_some_category(&slice)?;
    unit.audit.categories = visible.iter().map(|c| c.to_string()).collect();
    case_view(unit, &slice, &visible)
}
