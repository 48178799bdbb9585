//! "Genomförandeplan" (UI.md §4, API.md §8): the plan page, "Markera som överenskommen",
//! "Registrera uppföljning" and the form "Insats" through which a measure's own agency reports
//! progress — the same units of work as `GET /plan`, `POST /plan/agree`, `POST
//! /plan/follow-ups` and `PATCH /plan/measures/{id}`. Every write names the version the page was
//! drawn from; a change in between is never overwritten.

use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDate;

use super::pages::{agency_name, case_id, expected_version, field, CaseForm};
use super::session::Session;
use super::words::date;
use super::{html, read_case, see_other, words, Layout, PageError};
use crate::audit::Action;
use crate::error::{FieldError, UseCaseError};
use crate::usecase::plans::{self, FollowUpInput, Measure, MeasurePatch, PlanActions, PlanView};
use crate::usecase::reference::AgencyView;
use crate::work;

type Page = Result<HttpResponse, PageError>;

/// One measure as the pages show it.
pub(super) struct MeasureRow {
    pub id: String,
    pub agency: String,
    pub responsible: String,
    pub description: String,
    pub starts: String,
    pub due: String,
    pub status: &'static str,
    pub progress: String,
    /// The user may report on it ("Uppdatera").
    pub editable: bool,
}

/// One follow-up as the pages show it.
pub(super) struct FollowUpLine {
    pub held_on: String,
    pub summary: String,
    pub next: String,
}

/// What a page shows of one plan version (the partial `plan_content.html`).
pub(super) struct Shown {
    pub goals: Vec<String>,
    pub measures: Vec<MeasureRow>,
    pub follow_ups: Vec<FollowUpLine>,
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map_or_else(|| "–".to_owned(), |d| d.to_string())
}

pub(super) fn measure_row(m: &Measure, agencies: &[AgencyView], editable: bool) -> MeasureRow {
    MeasureRow {
        id: m.id.clone(),
        agency: agency_name(agencies, &m.agency),
        responsible: m.responsible_name.clone(),
        description: m.description.clone(),
        starts: date_text(m.starts_on),
        due: date_text(m.due_on),
        status: words::measure_status(&m.status),
        progress: m.progress_note.clone().unwrap_or_default(),
        editable,
    }
}

/// What a page shows of `plan`; `editable` are the measures the user may report on.
pub(super) fn shown(plan: &PlanView, agencies: &[AgencyView], editable: &[String]) -> Shown {
    Shown {
        goals: plan.goals.clone(),
        measures: plan
            .measures
            .iter()
            .map(|m| measure_row(m, agencies, editable.contains(&m.id)))
            .collect(),
        follow_ups: plan
            .follow_ups
            .iter()
            .rev()
            .map(|f| FollowUpLine {
                held_on: f.held_on.to_string(),
                summary: f.summary.clone(),
                next: date_text(f.next_follow_up_on),
            })
            .collect(),
    }
}

/// The form "Registrera uppföljning", as typed.
#[derive(Default)]
pub(super) struct FollowUpForm {
    pub held_on: String,
    pub summary: String,
    pub next: String,
    pub errors: Vec<(String, &'static str)>,
}

impl FollowUpForm {
    pub fn error_of(&self, id: &str) -> Option<&'static str> {
        self.errors.iter().find(|(f, _)| f == id).map(|(_, m)| *m)
    }
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    layout: Layout,
    case_id: String,
    version: i64,
    status: String,
    draft: bool,
    shown: Shown,
    actions: PlanActions,
    follow_up: FollowUpForm,
}

/// `GET /arenden/{id}/plan`: the plan for who may read `plan` (`plan.read`).
pub async fn show(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let (plan, actions) = read_case(
        &req,
        &session,
        Action::PlanRead,
        &id,
        plans::read_with_actions,
    )
    .await?;
    let lists = super::reference_lists(&req).await?;
    let page = PlanPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        version: plan.version,
        status: words::plan_status(&plan.status, plan.agreed_on.as_deref()),
        draft: plan.status != "agreed" && plan.version > 0,
        shown: shown(&plan, &lists.1, &actions.measures),
        actions,
        follow_up: FollowUpForm {
            held_on: crate::clock::stockholm_date(&crate::api::state(&req)?.clock.now())
                .to_string(),
            ..FollowUpForm::default()
        },
    };
    Ok(html(StatusCode::OK, &page))
}

/// Runs a plan write from a form on case `id` as one audited unit; after a 412 also the plan
/// saved in between, read in that same unit (the request's one event).
pub(super) async fn write_plan<F>(
    call: work::Call,
    id: String,
    write: F,
) -> (Result<PlanView, UseCaseError>, Option<PlanView>)
where
    F: FnOnce(&mut work::Unit<'_>) -> Result<PlanView, UseCaseError> + Send + 'static,
{
    let newer: Arc<Mutex<Option<PlanView>>> = Arc::default();
    let slot = newer.clone();
    let saved = work::run(call, 200, move |unit| {
        let mut found = None;
        let result = write(unit);
        let result = plans::newer_after(unit, &id, result, &mut found);
        if let Ok(mut slot) = slot.lock() {
            *slot = found;
        }
        result
    })
    .await;
    let newer = newer.lock().ok().and_then(|mut n| n.take());
    (saved, newer)
}

/// `POST /arenden/{id}/plan/overenskommen`: "Markera som överenskommen" (`plan.agree`).
pub async fn agree(form: CaseForm) -> Page {
    let (_, _, id, fields, call) = form.open(Action::PlanAgree).await?;
    let expected = expected_version(&fields);
    let unit_id = id.clone();
    work::run(call, 200, move |unit| {
        plans::agree(unit, &unit_id, expected)
    })
    .await?;
    Ok(see_other(&format!("/arenden/{id}/plan")))
}

#[derive(Template)]
#[template(path = "follow_up.html")]
struct FollowUpPage {
    layout: Layout,
    case_id: String,
    version: i64,
    follow_up: FollowUpForm,
}

fn follow_up_error(field: &str) -> &'static str {
    match field {
        "held_on" => "Ange datum för uppföljningen (ÅÅÅÅ-MM-DD), i dag eller tidigare.",
        "summary" => "Skriv en sammanfattning (högst 4 000 tecken).",
        _ => "Ange nästa uppföljning som ett datum (ÅÅÅÅ-MM-DD), inte före uppföljningen.",
    }
}

/// `POST /arenden/{id}/plan/uppfoljningar`: "Registrera uppföljning" (`plan.follow_up.create`),
/// then the plan; or the form again with what to fix.
pub async fn follow_up(form: CaseForm) -> Page {
    let (req, session, id, fields, call) = form.open(Action::PlanFollowUpCreate).await?;
    let expected = expected_version(&fields);
    let version = expected.as_ref().copied().unwrap_or_default();
    let typed = FollowUpForm {
        held_on: field(&fields, "held_on").trim().to_owned(),
        summary: field(&fields, "summary").to_owned(),
        next: field(&fields, "next_follow_up_on").trim().to_owned(),
        errors: Vec::new(),
    };
    let held_on = date(&typed.held_on);
    let next = date(&typed.next);
    let mut page_errors = Vec::new();
    if held_on.is_none() {
        page_errors.push(FieldError::new("held_on", "not a date"));
    }
    if !typed.next.is_empty() && next.is_none() {
        page_errors.push(FieldError::new("next_follow_up_on", "not a date"));
    }
    let input = FollowUpInput {
        held_on: held_on.unwrap_or_default(),
        summary: typed.summary.clone(),
        next_follow_up_on: next,
    };
    let unit_id = id.clone();
    let recorded = work::run(call, 201, move |unit| {
        let input = plans::Checked {
            input,
            found: page_errors,
        };
        plans::follow_up(unit, &unit_id, expected, input)
    })
    .await;
    let broken = match recorded {
        Ok(_) => return Ok(see_other(&format!("/arenden/{id}/plan"))),
        Err(UseCaseError::Validation(broken)) => broken,
        Err(error) => return Err(error.into()),
    };
    let mut follow_up = typed;
    for e in &broken {
        let target = words::field_id(&e.field);
        if follow_up.error_of(&target).is_none() {
            follow_up.errors.push((target, follow_up_error(&e.field)));
        }
    }
    let page = FollowUpPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        version,
        follow_up,
    };
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Template)]
#[template(path = "measure.html")]
struct MeasurePage {
    layout: Layout,
    case_id: String,
    measure: MeasureRow,
    version: i64,
    status: String,
    progress: String,
    error: Option<&'static str>,
    /// Someone saved the plan since the form was drawn: the measure as it is now is shown, and
    /// what the user typed is kept.
    changed: bool,
}

impl MeasurePage {
    fn statuses(&self) -> &'static [(&'static str, &'static str)] {
        &words::MEASURE_STATUSES
    }
}

/// `GET /arenden/{id}/plan/insatser/{measure_id}`: "Insats", for who may report on it.
pub async fn measure(
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
) -> Page {
    let (id, measure_id) = path.into_inner();
    let id = case_id(&id)?;
    let measure_id = case_id(&measure_id)?;
    let (measure, version) = read_case(&req, &session, Action::PlanRead, &id, move |unit, id| {
        plans::read_measure(unit, id, &measure_id)
    })
    .await?;
    let lists = super::reference_lists(&req).await?;
    let page = MeasurePage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        status: measure.status.clone(),
        progress: measure.progress_note.clone().unwrap_or_default(),
        measure: measure_row(&measure, &lists.1, true),
        version,
        error: None,
        changed: false,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /arenden/{id}/plan/insatser/{measure_id}`: "Spara" (`plan.measure.update`), then the
/// plan; or the form again: with what to fix, or — when the plan changed in between — with the
/// measure as it is now and what the user typed.
pub async fn update_measure(form: CaseForm, path: web::Path<(String, String)>) -> Page {
    let measure_id = case_id(&path.1)?;
    let (req, session, id, fields, call) = form.open(Action::PlanMeasureUpdate).await?;
    let expected = expected_version(&fields);
    let status = field(&fields, "status").to_owned();
    let progress = field(&fields, "progress_note").to_owned();
    let input = MeasurePatch {
        status: Some(status.clone()),
        progress_note: Some(progress.clone()).filter(|p| !p.trim().is_empty()),
    };
    let (unit_id, unit_measure) = (id.clone(), measure_id.clone());
    let (saved, newer) = write_plan(call, id.clone(), move |unit| {
        plans::update_measure(unit, &unit_id, &unit_measure, expected, input)
    })
    .await;
    let lists = super::reference_lists(&req).await?;
    let (plan, error, changed, code) = match saved {
        Ok(_) => return Ok(see_other(&format!("/arenden/{id}/plan"))),
        Err(UseCaseError::Validation(_)) => {
            let plan = None;
            let message = "Välj en status. Lägesbeskrivningen får vara högst 4 000 tecken.";
            (plan, Some(message), false, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(UseCaseError::PreconditionFailed) => {
            (newer, None, true, StatusCode::PRECONDITION_FAILED)
        }
        Err(error) => return Err(error.into()),
    };
    // After a 412 the measure as saved now (if it is still in the plan); after a 422 the form
    // shows what was typed over the measure as the form had it.
    let now = plan
        .as_ref()
        .and_then(|p| p.measures.iter().find(|m| m.id == measure_id).cloned());
    if changed && now.is_none() {
        return Err(UseCaseError::NotFound("the measure was removed".into()).into());
    }
    let measure = match &now {
        Some(m) => measure_row(m, &lists.1, true),
        None => MeasureRow {
            id: measure_id,
            agency: field(&fields, "agency").to_owned(),
            responsible: field(&fields, "responsible").to_owned(),
            description: field(&fields, "description").to_owned(),
            starts: field(&fields, "starts").to_owned(),
            due: field(&fields, "due").to_owned(),
            status: words::MEASURE_STATUSES
                .iter()
                .find(|(_, word)| *word == field(&fields, "was"))
                .map_or("–", |(_, word)| word),
            progress: String::new(),
            editable: true,
        },
    };
    let page = MeasurePage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        version: plan.as_ref().map_or_else(
            || field(&fields, "version").parse().unwrap_or(0),
            |p| p.version,
        ),
        status,
        progress,
        error,
        changed,
        measure,
    };
    Ok(html(code, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso() {
        assert_eq!(date(" 2026-12-04 "), NaiveDate::from_ymd_opt(2026, 12, 4));
        assert_eq!(date("4/12/2026"), None);
    }

    #[test]
    fn a_plan_is_shown_newest_follow_up_first() {
        let plan = PlanView {
            case_id: String::new(),
            version: 2,
            status: "draft".into(),
            agreed_on: None,
            goals: vec!["Gå i skolan".into()],
            measures: Vec::new(),
            follow_ups: ["2026-01-01", "2026-02-01"]
                .iter()
                .map(|d| crate::usecase::plans::FollowUp {
                    id: String::new(),
                    held_on: date(d).unwrap(),
                    summary: String::new(),
                    next_follow_up_on: None,
                })
                .collect(),
            updated_at: None,
        };
        let shown = shown(&plan, &[], &[]);
        assert_eq!(shown.follow_ups[0].held_on, "2026-02-01");
        assert_eq!(shown.follow_ups[0].next, "–");
    }
}
