//! The joint implementation plan (API.md §8): goals and measures divided among agencies,
//! immutable versions, agreement and follow-ups. Every write names the version it changes
//! (the client's `If-Match`) and makes a new version; of concurrent writers with the same
//! version exactly one wins.

use std::collections::HashSet;

use chrono::NaiveDate;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require_version, Versioned};
use crate::audit::Action;
use crate::authz::Context;
use crate::clock::{rfc3339, rfc3339_naive};
use crate::crypto::columns::Column;
use crate::domain::case::CaseStatus;
use crate::domain::retention::ERASED;
use crate::error::{FieldError, UseCaseError};
use crate::repo::plans::{self as repo, MeasureIndexRow, PlanVersionRow};
use crate::repo::reference as reference_repo;
use crate::work::access::{self, CaseSlice};
use crate::work::Unit;

const MEASURE_STATUSES: [&str; 4] = ["planned", "ongoing", "done", "cancelled"];
const MAX_GOALS: usize = 50;
const MAX_MEASURES: usize = 100;
const MAX_SHORT: usize = 200;
const MAX_LONG: usize = 4000;

/// One measure (*insats*) of the plan.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Measure {
    pub id: String,
    pub agency: String,
    pub responsible_name: String,
    pub description: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub starts_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    /// `planned`, `ongoing`, `done` or `cancelled`.
    pub status: String,
    pub progress_note: Option<String>,
    pub updated_at: String,
}

/// A follow-up meeting (*uppföljning*).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowUp {
    pub id: String,
    #[schema(value_type = String, format = Date)]
    pub held_on: NaiveDate,
    pub summary: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub next_follow_up_on: Option<NaiveDate>,
}

/// What a plan version holds (sealed at rest).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Content {
    goals: Vec<String>,
    measures: Vec<Measure>,
    follow_ups: Vec<FollowUp>,
}

/// A measure as sent in `PUT /plan`; a known `id` keeps the measure's identity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureInput {
    pub id: Option<String>,
    pub agency: String,
    pub responsible_name: String,
    pub description: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub starts_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    pub status: Option<String>,
    pub progress_note: Option<String>,
    /// Read-only, ignored: set by the server. Accepted so that a measure read from
    /// `GET /plan` can be sent back as it is.
    #[serde(default)]
    #[schema(read_only, value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<String>,
}

/// The plan's goals and measures, replacing the current ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub goals: Vec<String>,
    pub measures: Vec<MeasureInput>,
}

/// A progress report on one measure.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurePatch {
    pub status: Option<String>,
    pub progress_note: Option<String>,
}

/// A follow-up meeting held.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    #[schema(value_type = String, format = Date)]
    pub held_on: NaiveDate,
    pub summary: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub next_follow_up_on: Option<NaiveDate>,
}

/// A plan version, opened.
struct Plan {
    case_id: String,
    version: i64,
    status: String,
    agreed_on: Option<NaiveDate>,
    content: Content,
    updated_at: Option<String>,
}

fn content_key(case_id: &str, version: i64) -> String {
    format!("{case_id}:{version}")
}

fn open(unit: &Unit<'_>, row: PlanVersionRow) -> Result<Plan, UseCaseError> {
    let sealed = row
        .content
        .as_ref()
        .ok_or_else(|| UseCaseError::NotFound(ERASED.to_owned()))?;
    let key = content_key(&row.case_id, row.version);
    let bytes = unit.crypto().open_in(Column::PlanContent, &key, sealed)?;
    let content: Content =
        serde_json::from_slice(&bytes).map_err(|e| UseCaseError::Internal(e.to_string()))?;
    Ok(Plan {
        case_id: row.case_id,
        version: row.version,
        status: row.status,
        agreed_on: row.agreed_on,
        content,
        updated_at: Some(rfc3339_naive(&row.updated_at)),
    })
}

fn empty(case_id: &str) -> Plan {
    Plan {
        case_id: case_id.to_owned(),
        version: 0,
        status: "draft".to_owned(),
        agreed_on: None,
        content: Content::default(),
        updated_at: None,
    }
}

fn current(unit: &mut Unit<'_>, case_id: &str) -> Result<Plan, UseCaseError> {
    match repo::current(unit.conn, case_id)? {
        Some(row) => open(unit, row),
        None => Ok(empty(case_id)),
    }
}

/// The joint implementation plan (gemensam genomförandeplan), one version of it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub case_id: String,
    /// 0 before the first write.
    pub version: i64,
    /// `draft` or `agreed`.
    pub status: String,
    #[schema(format = Date)]
    pub agreed_on: Option<String>,
    pub goals: Vec<String>,
    pub measures: Vec<Measure>,
    pub follow_ups: Vec<FollowUp>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl Versioned for PlanView {
    fn version(&self) -> i64 {
        self.version
    }
}

/// One version in the plan's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanVersionSummary {
    pub version: i64,
    pub status: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub updated_by_agency: String,
}

fn view(plan: Plan) -> PlanView {
    PlanView {
        case_id: plan.case_id,
        version: plan.version,
        status: plan.status,
        agreed_on: plan.agreed_on.map(|d| d.to_string()),
        goals: plan.content.goals,
        measures: plan.content.measures,
        follow_ups: plan.content.follow_ups,
        updated_at: plan.updated_at,
    }
}

/// Loads the case and requires that the caller may read its plan.
fn readable(unit: &mut Unit<'_>, id: &str) -> Result<CaseSlice, UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.require(Action::CaseRead, &slice, &Context::category("plan"))?;
    unit.audit.categories = vec!["plan".to_owned()];
    Ok(slice)
}

/// Loads the case and the current plan for a write: authorised, not closed, `If-Match` current.
fn writable(
    unit: &mut Unit<'_>,
    id: &str,
    expected: Result<i64, UseCaseError>,
    action: Action,
    context: impl FnOnce(&Plan) -> Result<Context, UseCaseError>,
) -> Result<(CaseSlice, Plan), UseCaseError> {
    let slice = access::load(unit, id)?;
    unit.audit.categories = vec!["plan".to_owned()];
    if slice.row.erased_at.is_some() {
        unit.require(action, &slice, &Context::default())?;
        return Err(UseCaseError::Conflict(ERASED.to_owned()));
    }
    let plan = current(unit, id)?;
    let context = context(&plan)?;
    unit.require(action, &slice, &context)?;
    require_version(expected, plan.version)?;
    if CaseStatus::Closed.is(&slice.row.status) {
        return Err(UseCaseError::Conflict("the case is closed".to_owned()));
    }
    Ok((slice, plan))
}

/// As [`writable`], for an action whose decision needs nothing of the plan.
fn writable_plan(
    unit: &mut Unit<'_>,
    id: &str,
    expected: Result<i64, UseCaseError>,
    action: Action,
) -> Result<(CaseSlice, Plan), UseCaseError> {
    writable(unit, id, expected, action, |_| Ok(Context::default()))
}

/// Stores `plan` as the next version; another writer that got there first makes this a 412.
fn save(unit: &mut Unit<'_>, mut plan: Plan) -> Result<PlanView, UseCaseError> {
    plan.version += 1;
    let now = crate::audit::to_micros(unit.now);
    let bytes =
        serde_json::to_vec(&plan.content).map_err(|e| UseCaseError::Internal(e.to_string()))?;
    let key = content_key(&plan.case_id, plan.version);
    let content = unit.crypto().seal_in(Column::PlanContent, &key, &bytes)?;
    let row = PlanVersionRow {
        case_id: plan.case_id.clone(),
        version: plan.version,
        status: plan.status.clone(),
        agreed_on: plan.agreed_on,
        content: Some(content),
        updated_at: now,
        updated_by_sub: unit.actor.sub.clone(),
        updated_by_agency: unit.actor.agency.clone(),
    };
    let index: Vec<MeasureIndexRow> = plan
        .content
        .measures
        .iter()
        .map(|m| MeasureIndexRow {
            case_id: plan.case_id.clone(),
            version: plan.version,
            measure_id: m.id.clone(),
            agency: m.agency.clone(),
            status: m.status.clone(),
        })
        .collect();
    // In a savepoint of its own: a writer that lost the race leaves the unit's transaction
    // usable (PostgreSQL aborts a transaction on an error), so a form can show the newer plan.
    match unit
        .conn
        .transaction(|conn: &mut crate::db::DbConn| repo::insert(conn, &row, &index))
    {
        Ok(()) => {}
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            return Err(UseCaseError::PreconditionFailed)
        }
        Err(other) => return Err(other.into()),
    }
    plan.updated_at = Some(rfc3339_naive(&now));
    Ok(view(plan))
}

fn text(errors: &mut Vec<FieldError>, field: String, value: &str, max: usize) {
    let length = value.trim().chars().count();
    if length == 0 || length > max {
        errors.push(FieldError::new(
            field,
            format!("must be 1–{max} characters"),
        ));
    }
}

fn status_rule(errors: &mut Vec<FieldError>, field: String, status: &str) {
    if !MEASURE_STATUSES.contains(&status) {
        errors.push(FieldError::new(
            field,
            format!("must be one of {}", MEASURE_STATUSES.join(", ")),
        ));
    }
}

/// The plan of case `id` (category `plan`).
pub fn read(unit: &mut Unit<'_>, id: &str) -> Result<PlanView, UseCaseError> {
    readable(unit, id)?;
    Ok(view(current(unit, id)?))
}

/// A write's input, with what a form found wrong in it before the rules ran (a date that is no
/// date): reported together with the rules' errors. From the API: nothing found.
pub struct Checked<T> {
    pub input: T,
    pub found: Vec<FieldError>,
}

impl<T> From<T> for Checked<T> {
    fn from(input: T) -> Self {
        Checked {
            input,
            found: Vec::new(),
        }
    }
}

/// After a write refused with 412, the plan saved in between into `newer` (the writer may read
/// it: the policy let them write it), for a form to show beside what was typed.
pub fn newer_after(
    unit: &mut Unit<'_>,
    id: &str,
    result: Result<PlanView, UseCaseError>,
    newer: &mut Option<PlanView>,
) -> Result<PlanView, UseCaseError> {
    if let Err(UseCaseError::PreconditionFailed) = result {
        *newer = Some(view(current(unit, id)?));
    }
    result
}

/// Replaces the goals and measures of case `id`'s plan (owner `social_secretary`): a new draft
/// version, unless nothing changed.
pub fn replace(
    unit: &mut Unit<'_>,
    id: &str,
    expected: Result<i64, UseCaseError>,
    input: impl Into<Checked<PlanInput>>,
) -> Result<PlanView, UseCaseError> {
    let Checked { input, found } = input.into();
    let (_, mut plan) = writable_plan(unit, id, expected, Action::PlanUpdate)?;
    let mut errors = found;
    if input.goals.len() > MAX_GOALS {
        errors.push(FieldError::new(
            "goals",
            format!("at most {MAX_GOALS} goals"),
        ));
    }
    for (i, goal) in input.goals.iter().enumerate() {
        text(&mut errors, format!("goals[{i}]"), goal, MAX_LONG);
    }
    if input.measures.len() > MAX_MEASURES {
        errors.push(FieldError::new(
            "measures",
            format!("at most {MAX_MEASURES} measures"),
        ));
    }
    let agencies: Vec<String> = reference_repo::agencies(unit.conn)?
        .into_iter()
        .map(|a| a.slug)
        .collect();
    let mut seen = HashSet::new();
    let now = rfc3339(&unit.now);
    let measures: Vec<Measure> = input
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let field = |name: &str| format!("measures[{i}].{name}");
            check_measure(&mut errors, &field, m, &agencies);
            let previous = previous_measure(&mut errors, &field, m, &plan, &mut seen);
            measure_from(m, previous, &now)
        })
        .collect();
    if !errors.is_empty() {
        return Err(UseCaseError::Validation(errors));
    }
    let goals: Vec<String> = input.goals.iter().map(|g| g.trim().to_owned()).collect();
    let changed = goals != plan.content.goals
        || measures.len() != plan.content.measures.len()
        || measures
            .iter()
            .zip(&plan.content.measures)
            .any(|(a, b)| !same_measure(a, b));
    if changed {
        plan.status = "draft".to_owned();
        plan.agreed_on = None;
    }
    plan.content.goals = goals;
    plan.content.measures = measures;
    save(unit, plan)
}

/// The rules of one measure as sent.
fn check_measure(
    errors: &mut Vec<FieldError>,
    field: &dyn Fn(&str) -> String,
    m: &MeasureInput,
    agencies: &[String],
) {
    if !agencies.contains(&m.agency) {
        errors.push(FieldError::new(
            field("agency"),
            "is not a registered agency",
        ));
    }
    text(
        errors,
        field("responsible_name"),
        &m.responsible_name,
        MAX_SHORT,
    );
    text(errors, field("description"), &m.description, MAX_LONG);
    if let (Some(starts), Some(due)) = (m.starts_on, m.due_on) {
        if due < starts {
            errors.push(FieldError::new(
                field("due_on"),
                "must not be before starts_on",
            ));
        }
    }
    let status = m.status.as_deref().unwrap_or("planned");
    status_rule(errors, field("status"), status);
    progress_note_rule(errors, field("progress_note"), m.progress_note.as_deref());
}

/// The plan's measure a sent measure keeps the identity of (by its `id`), if any.
fn previous_measure(
    errors: &mut Vec<FieldError>,
    field: &dyn Fn(&str) -> String,
    m: &MeasureInput,
    plan: &Plan,
    seen: &mut HashSet<String>,
) -> Option<Measure> {
    let id = m.id.as_ref()?;
    match plan.content.measures.iter().find(|p| &p.id == id) {
        Some(previous) if seen.insert(id.clone()) => Some(previous.clone()),
        Some(_) => {
            errors.push(FieldError::new(field("id"), "appears twice"));
            None
        }
        None => {
            errors.push(FieldError::new(
                field("id"),
                "is not a measure of this plan; leave it out for a new measure",
            ));
            None
        }
    }
}

/// The measure as stored: a new id unless it keeps `previous`'s, and `previous` itself when
/// nothing changed (an unchanged measure keeps its own timestamp).
fn measure_from(m: &MeasureInput, previous: Option<Measure>, now: &str) -> Measure {
    let measure = Measure {
        id: previous
            .as_ref()
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), |p| p.id.clone()),
        agency: m.agency.clone(),
        responsible_name: m.responsible_name.trim().to_owned(),
        description: m.description.trim().to_owned(),
        starts_on: m.starts_on,
        due_on: m.due_on,
        status: m.status.clone().unwrap_or_else(|| "planned".to_owned()),
        progress_note: m
            .progress_note
            .clone()
            .or_else(|| previous.as_ref().and_then(|p| p.progress_note.clone())),
        updated_at: now.to_owned(),
    };
    match previous {
        Some(p) if same_measure(&p, &measure) => p,
        _ => measure,
    }
}

/// A progress note (lägesbeskrivning) is at most [`MAX_LONG`] characters.
fn progress_note_rule(errors: &mut Vec<FieldError>, field: String, note: Option<&str>) {
    if note.is_some_and(|n| n.chars().count() > MAX_LONG) {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_LONG} characters"),
        ));
    }
}

/// Whether two measures say the same: every field but `updated_at` (when that last changed).
fn same_measure(a: &Measure, b: &Measure) -> bool {
    let said = |m: &Measure| {
        (
            m.id.clone(),
            m.agency.clone(),
            m.responsible_name.clone(),
            m.description.clone(),
            m.starts_on,
            m.due_on,
            m.status.clone(),
            m.progress_note.clone(),
        )
    };
    said(a) == said(b)
}

/// Agrees case `id`'s plan (owner); needs an active consent.
pub fn agree(
    unit: &mut Unit<'_>,
    id: &str,
    expected: Result<i64, UseCaseError>,
) -> Result<PlanView, UseCaseError> {
    let (slice, mut plan) = writable_plan(unit, id, expected, Action::PlanAgree)?;
    let Some(consent) = slice.active_consent() else {
        return Err(UseCaseError::Conflict(
            "a plan is agreed only under an active consent".to_owned(),
        ));
    };
    unit.audit.consent_id = Some(consent.row.id.clone());
    if plan.version == 0 {
        return Err(UseCaseError::Conflict(
            "there is no drafted plan to agree yet".to_owned(),
        ));
    }
    if plan.status == "agreed" {
        return Err(UseCaseError::Conflict(
            "this version of the plan is already agreed".to_owned(),
        ));
    }
    plan.status = "agreed".to_owned();
    plan.agreed_on = Some(unit.today());
    save(unit, plan)
}

/// Reports on one measure of case `id`'s plan: the owner, or the measure's own agency under a
/// consent covering that agency and `plan`.
pub fn update_measure(
    unit: &mut Unit<'_>,
    id: &str,
    measure_id: &str,
    expected: Result<i64, UseCaseError>,
    input: MeasurePatch,
) -> Result<PlanView, UseCaseError> {
    let (_, mut plan) = writable(unit, id, expected, Action::PlanMeasureUpdate, |plan| {
        let measure = plan
            .content
            .measures
            .iter()
            .find(|m| m.id == measure_id)
            .ok_or_else(|| {
                UseCaseError::NotFound("there is no such measure in the plan".to_owned())
            })?;
        Ok(Context {
            measure_agency: Some(measure.agency.clone()),
            ..Context::default()
        })
    })?;
    let mut errors = Vec::new();
    if let Some(status) = &input.status {
        status_rule(&mut errors, "status".to_owned(), status);
    }
    progress_note_rule(
        &mut errors,
        "progress_note".to_owned(),
        input.progress_note.as_deref(),
    );
    if input.status.is_none() && input.progress_note.is_none() {
        errors.push(FieldError::new(
            "status",
            "send a status, a progress_note or both",
        ));
    }
    if !errors.is_empty() {
        return Err(UseCaseError::Validation(errors));
    }
    let now = rfc3339(&unit.now);
    if let Some(measure) = plan
        .content
        .measures
        .iter_mut()
        .find(|m| m.id == measure_id)
    {
        if let Some(status) = input.status {
            measure.status = status;
        }
        if let Some(note) = input.progress_note {
            measure.progress_note = Some(note.trim().to_owned());
        }
        measure.updated_at = now;
    }
    save(unit, plan)
}

/// What the caller may do with a plan now, as the policy set decides (the plan page's buttons).
#[derive(Debug, Default, Clone)]
pub struct PlanActions {
    /// "Redigera plan" and "Registrera uppföljning" (the owner, while the case is not closed).
    pub edit: bool,
    /// "Markera som överenskommen".
    pub agree: bool,
    /// The measures whose progress the caller may report.
    pub measures: Vec<String>,
}

/// [`read`], with what the caller may do with the plan.
pub fn read_with_actions(
    unit: &mut Unit<'_>,
    id: &str,
) -> Result<(PlanView, PlanActions), UseCaseError> {
    let slice = readable(unit, id)?;
    let plan = current(unit, id)?;
    let mut actions = PlanActions::default();
    let open = !CaseStatus::Closed.is(&slice.row.status) && slice.row.erased_at.is_none();
    if open {
        let none = Context::default();
        actions.edit = unit.allows(Action::PlanUpdate, &slice, &none);
        actions.agree = unit.allows(Action::PlanAgree, &slice, &none);
        actions.measures = plan
            .content
            .measures
            .iter()
            .filter(|m| {
                let context = Context {
                    measure_agency: Some(m.agency.clone()),
                    ..Context::default()
                };
                unit.allows(Action::PlanMeasureUpdate, &slice, &context)
            })
            .map(|m| m.id.clone())
            .collect();
    }
    Ok((view(plan), actions))
}

/// The plan of case `id` for its edit form: only for who may draft it (else 403), while the
/// case takes changes (else 409).
pub fn read_for_edit(unit: &mut Unit<'_>, id: &str) -> Result<PlanView, UseCaseError> {
    let slice = readable(unit, id)?;
    unit.require(Action::PlanUpdate, &slice, &Context::default())?;
    if CaseStatus::Closed.is(&slice.row.status) || slice.row.erased_at.is_some() {
        return Err(UseCaseError::Conflict("the case is closed".to_owned()));
    }
    Ok(view(current(unit, id)?))
}

/// One measure of case `id`'s plan and the plan's version, for the form that reports on it:
/// only for who may report on that measure (else 403).
pub fn read_measure(
    unit: &mut Unit<'_>,
    id: &str,
    measure_id: &str,
) -> Result<(Measure, i64), UseCaseError> {
    let slice = readable(unit, id)?;
    let plan = current(unit, id)?;
    let measure = plan
        .content
        .measures
        .iter()
        .find(|m| m.id == measure_id)
        .cloned()
        .ok_or_else(|| UseCaseError::NotFound("there is no such measure in the plan".to_owned()))?;
    let context = Context {
        measure_agency: Some(measure.agency.clone()),
        ..Context::default()
    };
    unit.require(Action::PlanMeasureUpdate, &slice, &context)?;
    if CaseStatus::Closed.is(&slice.row.status) || slice.row.erased_at.is_some() {
        return Err(UseCaseError::Conflict("the case is closed".to_owned()));
    }
    Ok((measure, plan.version))
}

/// Records a follow-up meeting on case `id`'s plan (owner).
pub fn follow_up(
    unit: &mut Unit<'_>,
    id: &str,
    expected: Result<i64, UseCaseError>,
    input: impl Into<Checked<FollowUpInput>>,
) -> Result<PlanView, UseCaseError> {
    let Checked {
        input,
        found: typed,
    } = input.into();
    let (_, mut plan) = writable_plan(unit, id, expected, Action::PlanFollowUpCreate)?;
    let typed_held_on = typed.iter().any(|e| e.field == "held_on");
    let mut errors = typed;
    if !typed_held_on && input.held_on > unit.today() {
        errors.push(FieldError::new("held_on", "must not be in the future"));
    }
    text(&mut errors, "summary".to_owned(), &input.summary, MAX_LONG);
    if !typed_held_on
        && input
            .next_follow_up_on
            .is_some_and(|next| next < input.held_on)
    {
        errors.push(FieldError::new(
            "next_follow_up_on",
            "must not be before held_on",
        ));
    }
    if !errors.is_empty() {
        return Err(UseCaseError::Validation(errors));
    }
    plan.content.follow_ups.push(FollowUp {
        id: uuid::Uuid::now_v7().to_string(),
        held_on: input.held_on,
        summary: input.summary.trim().to_owned(),
        next_follow_up_on: input.next_follow_up_on,
    });
    save(unit, plan)
}

/// Every version of case `id`'s plan, oldest first.
pub fn versions(unit: &mut Unit<'_>, id: &str) -> Result<Vec<PlanVersionSummary>, UseCaseError> {
    readable(unit, id)?;
    Ok(repo::versions(unit.conn, id)?
        .into_iter()
        .map(|v| PlanVersionSummary {
            version: v.version,
            status: v.status,
            updated_at: rfc3339_naive(&v.updated_at),
            updated_by_agency: v.updated_by_agency,
        })
        .collect())
}

/// Version `number` of case `id`'s plan (version 0 is the empty plan every case starts with).
pub fn version(unit: &mut Unit<'_>, id: &str, number: i64) -> Result<PlanView, UseCaseError> {
    readable(unit, id)?;
    version_of(unit, id, number)
}

fn version_of(unit: &mut Unit<'_>, id: &str, number: i64) -> Result<PlanView, UseCaseError> {
    if number == 0 {
        return Ok(view(empty(id)));
    }
    let row = repo::version(unit.conn, id, number)?
        .ok_or_else(|| UseCaseError::NotFound("there is no such version of the plan".to_owned()))?;
    Ok(view(open(unit, row)?))
}

/// Version `number` of case `id`'s plan and the one before it (what the version changed), with
/// the agency that saved it.
pub fn version_with_previous(
    unit: &mut Unit<'_>,
    id: &str,
    number: i64,
) -> Result<(PlanView, PlanView, String), UseCaseError> {
    readable(unit, id)?;
    let no_such = || UseCaseError::NotFound("there is no such version of the plan".to_owned());
    if number < 1 {
        return Err(no_such());
    }
    let row = repo::version(unit.conn, id, number)?.ok_or_else(no_such)?;
    let agency = row.updated_by_agency.clone();
    let this = view(open(unit, row)?);
    let before = version_of(unit, id, number - 1)?;
    Ok((this, before, agency))
}
