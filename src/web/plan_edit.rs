//! "Redigera plan" (UI.md §4): goals and measures as repeatable rows — added, removed and moved
//! without JavaScript (each such button posts the form back and gets it again, changed, with
//! nothing saved) — and "Spara plan" (`plan.update`, as `PUT /plan`) with the version the form
//! was drawn from. When someone saved in between, the page says so, shows the plan as it is now
//! and keeps everything the user typed: nothing is lost, and nothing is overwritten unseen.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDate;

use super::pages::{case_id, expected_version, field, CaseForm};
use super::plan::{shown, write_plan, Shown};
use super::session::Session;
use super::{html, read_case, see_other, Layout, PageError};
use crate::audit::Action;
use crate::error::{FieldError, UseCaseError};
use crate::usecase::plans::{self, MeasureInput, PlanInput, PlanView};
use crate::usecase::reference::AgencyView;

type Page = Result<HttpResponse, PageError>;

/// The most rows a form offers (the API's own limits: 50 goals, 100 measures).
const MAX_GOALS: usize = 50;
const MAX_MEASURES: usize = 100;

/// One goal row as typed.
#[derive(Clone, Debug, Default, PartialEq)]
struct GoalRow {
    text: String,
    error: Option<&'static str>,
}

/// One measure row as typed; `id` and `status` travel hidden (a kept measure keeps both).
#[derive(Clone, Debug, Default, PartialEq)]
struct MeasureRow {
    id: String,
    status: String,
    agency: String,
    responsible: String,
    description: String,
    starts: String,
    due: String,
    errors: Vec<(&'static str, &'static str)>,
}

impl MeasureRow {
    fn is_blank(&self) -> bool {
        self.id.is_empty()
            && [
                &self.agency,
                &self.responsible,
                &self.description,
                &self.starts,
                &self.due,
            ]
            .iter()
            .all(|t| t.trim().is_empty())
    }

    fn error_of(&self, name: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, m)| *m)
    }

    /// The two date fields: (name, label, value).
    fn dates(&self) -> [(&'static str, &'static str, &str); 2] {
        [
            ("starts", "Start", self.starts.as_str()),
            ("due", "Klar senast", self.due.as_str()),
        ]
    }
}

/// The form as typed.
#[derive(Clone, Debug, Default, PartialEq)]
struct Rows {
    goals: Vec<GoalRow>,
    measures: Vec<MeasureRow>,
}

impl Rows {
    fn of(plan: &PlanView) -> Self {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        Self {
            goals: plan
                .goals
                .iter()
                .map(|g| GoalRow {
                    text: g.clone(),
                    error: None,
                })
                .collect(),
            measures: plan
                .measures
                .iter()
                .map(|m| MeasureRow {
                    id: m.id.clone(),
                    status: m.status.clone(),
                    agency: m.agency.clone(),
                    responsible: m.responsible_name.clone(),
                    description: m.description.clone(),
                    starts: date(m.starts_on),
                    due: date(m.due_on),
                    errors: Vec::new(),
                })
                .collect(),
        }
    }

    fn read(fields: &HashMap<String, Vec<String>>) -> Self {
        let count =
            |name: &str, max: usize| field(fields, name).parse::<usize>().unwrap_or(0).min(max);
        Self {
            goals: (0..count("goal_count", MAX_GOALS))
                .map(|n| GoalRow {
                    text: field(fields, &format!("goal_{n}")).to_owned(),
                    error: None,
                })
                .collect(),
            measures: (0..count("measure_count", MAX_MEASURES))
                .map(|n| {
                    let f = |name: &str| field(fields, &format!("m{n}_{name}")).to_owned();
                    MeasureRow {
                        id: f("id"),
                        status: f("status"),
                        agency: f("agency"),
                        responsible: f("responsible"),
                        description: f("description"),
                        starts: f("starts").trim().to_owned(),
                        due: f("due").trim().to_owned(),
                        errors: Vec::new(),
                    }
                })
                .collect(),
        }
    }

    /// Where the keyboard's focus goes after row button `action`: the row added or moved, or
    /// the list a row was removed from.
    fn focus_after(&self, action: &str) -> Option<String> {
        let (verb, index) = action
            .split_once(':')
            .map_or((action, None), |(v, i)| (v, i.parse::<usize>().ok()));
        let last = |len: usize| len.checked_sub(1);
        let goal = |n: Option<usize>| n.map(|n| format!("f-goal-{n}"));
        let measure = |n: Option<usize>| n.map(|n| format!("f-m{n}-agency"));
        match (verb, index) {
            ("add_goal", _) => goal(last(self.goals.len())),
            ("add_measure", _) => measure(last(self.measures.len())),
            ("up_goal", Some(i)) => goal(i.checked_sub(1)),
            ("down_goal", Some(i)) => goal(Some(i + 1).filter(|&n| n < self.goals.len())),
            ("up_measure", Some(i)) => measure(i.checked_sub(1)),
            ("down_measure", Some(i)) => measure(Some(i + 1).filter(|&n| n < self.measures.len())),
            ("remove_goal", _) => Some("f-goals".to_owned()),
            ("remove_measure", _) => Some("f-measures".to_owned()),
            _ => None,
        }
    }

    /// Applies a row button ("Lägg till mål", "Ta bort", "Flytta upp" …); false for "Spara plan".
    fn apply(&mut self, action: &str) -> bool {
        let (verb, index) = action
            .split_once(':')
            .map_or((action, None), |(v, i)| (v, i.parse::<usize>().ok()));
        match (verb, index) {
            ("add_goal", _) if self.goals.len() < MAX_GOALS => self.goals.push(GoalRow::default()),
            ("add_measure", _) if self.measures.len() < MAX_MEASURES => {
                self.measures.push(MeasureRow::default());
            }
            ("remove_goal", Some(i)) if i < self.goals.len() => {
                self.goals.remove(i);
            }
            ("remove_measure", Some(i)) if i < self.measures.len() => {
                self.measures.remove(i);
            }
            ("up_goal", Some(i)) if i > 0 && i < self.goals.len() => self.goals.swap(i - 1, i),
            ("down_goal", Some(i)) if i + 1 < self.goals.len() => self.goals.swap(i, i + 1),
            ("up_measure", Some(i)) if i > 0 && i < self.measures.len() => {
                self.measures.swap(i - 1, i);
            }
            ("down_measure", Some(i)) if i + 1 < self.measures.len() => {
                self.measures.swap(i, i + 1);
            }
            _ => {}
        }
        // Any row button (even one whose row is gone) only changes the form.
        verb != "save" && !verb.is_empty()
    }

    /// What "Spara plan" sends: blank rows left out; the dates the form could not read, as
    /// errors of the sent rows; and where each sent row sits in the form.
    fn input(&self) -> (PlanInput, Vec<FieldError>, Vec<usize>, Vec<usize>) {
        let goal_rows: Vec<usize> = (0..self.goals.len())
            .filter(|&n| !self.goals[n].text.trim().is_empty())
            .collect();
        let measure_rows: Vec<usize> = (0..self.measures.len())
            .filter(|&n| !self.measures[n].is_blank())
            .collect();
        let mut typed = Vec::new();
        let measures = measure_rows
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let m = &self.measures[n];
                let mut date = |name: &str, text: &str| {
                    if text.is_empty() {
                        return None;
                    }
                    let parsed = super::words::date(text);
                    if parsed.is_none() {
                        typed.push(FieldError::new(
                            format!("measures[{i}].{name}"),
                            "not a date",
                        ));
                    }
                    parsed
                };
                MeasureInput {
                    id: Some(m.id.clone()).filter(|id| !id.is_empty()),
                    agency: m.agency.clone(),
                    responsible_name: m.responsible.clone(),
                    description: m.description.clone(),
                    starts_on: date("starts_on", &m.starts),
                    due_on: date("due_on", &m.due),
                    status: Some(m.status.clone()).filter(|s| !s.is_empty()),
                    progress_note: None,
                    updated_at: None,
                }
            })
            .collect();
        let input = PlanInput {
            goals: goal_rows
                .iter()
                .map(|&n| self.goals[n].text.clone())
                .collect(),
            measures,
        };
        (input, typed, goal_rows, measure_rows)
    }

    /// Puts the rules' errors beside the rows they concern; the error summary's lines.
    fn place(
        &mut self,
        broken: &[FieldError],
        goal_rows: &[usize],
        measure_rows: &[usize],
    ) -> Vec<(String, &'static str)> {
        let mut summary: Vec<(String, &'static str)> = Vec::new();
        for e in broken {
            let indexed = |prefix: &str| -> Option<(usize, String)> {
                let rest = e.field.strip_prefix(prefix)?;
                let (index, tail) = rest.split_once(']')?;
                Some((index.parse().ok()?, tail.trim_start_matches('.').to_owned()))
            };
            let (target, message) = if let Some((i, _)) = indexed("goals[") {
                let Some(&n) = goal_rows.get(i) else { continue };
                let message = "Skriv målet (högst 4 000 tecken).";
                self.goals[n].error = Some(message);
                (format!("f-goal-{n}"), message)
            } else if let Some((i, name)) = indexed("measures[") {
                let Some(&n) = measure_rows.get(i) else {
                    continue;
                };
                let (name, message) = measure_error(&name, &e.message);
                self.measures[n].errors.push((name, message));
                (format!("f-m{n}-{name}"), message)
            } else if e.field == "goals" {
                ("f-goals".to_owned(), "Planen kan ha högst 50 mål.")
            } else {
                ("f-measures".to_owned(), "Planen kan ha högst 100 insatser.")
            };
            if !summary.iter().any(|(t, _)| *t == target) {
                summary.push((target, message));
            }
        }
        summary
    }

    /// After a 412: the rows kept as typed, over the plan saved in between — a kept measure
    /// takes its status from there (the form does not edit it), and one removed there comes
    /// back as a new measure.
    fn over(&mut self, newer: &PlanView) {
        for row in &mut self.measures {
            match newer.measures.iter().find(|m| m.id == row.id) {
                Some(m) => row.status = m.status.clone(),
                None => {
                    row.id.clear();
                    row.status.clear();
                }
            }
        }
    }
}

/// An API rule broken in a measure, as (form field, Swedish message).
fn measure_error(name: &str, message: &str) -> (&'static str, &'static str) {
    match name {
        "agency" => ("agency", "Välj en verksamhet."),
        "responsible_name" => (
            "responsible",
            "Ange vem som är ansvarig (högst 200 tecken).",
        ),
        "description" => ("description", "Beskriv insatsen (högst 4 000 tecken)."),
        "starts_on" => ("starts", "Ange start som ett datum (ÅÅÅÅ-MM-DD)."),
        "due_on" if message == "not a date" => {
            ("due", "Ange klar senast som ett datum (ÅÅÅÅ-MM-DD).")
        }
        "due_on" => ("due", "Klar senast får inte vara före start."),
        _ => (
            "description",
            "Insatsen finns inte längre i planen. Ta bort raden och lägg till insatsen på nytt.",
        ),
    }
}

#[derive(Template)]
#[template(path = "plan_edit.html")]
struct EditPage {
    layout: Layout,
    case_id: String,
    version: i64,
    rows: Rows,
    agencies: Vec<AgencyView>,
    errors: Vec<(String, &'static str)>,
    /// The plan saved since the form was drawn (412): shown above the form.
    conflict: Option<Shown>,
    /// The element that gets the focus (after a row button).
    focus: Option<String>,
}

impl EditPage {
    /// ` autofocus` on the element `id` when it is the one to focus.
    fn autofocus(&self, id: &str) -> &'static str {
        if self.focus.as_deref() == Some(id) {
            " autofocus"
        } else {
            ""
        }
    }

    fn goal_focus(&self, n: &usize) -> &'static str {
        self.autofocus(&format!("f-goal-{n}"))
    }

    fn measure_focus(&self, n: &usize) -> &'static str {
        self.autofocus(&format!("f-m{n}-agency"))
    }
}

/// What a drawing of the form shows besides its rows.
#[derive(Default)]
struct Extras {
    errors: Vec<(String, &'static str)>,
    conflict: Option<Shown>,
    focus: Option<String>,
}

/// `GET /arenden/{id}/plan/redigera`: the form, for who may draft the plan (a `plan.read`).
pub async fn form_page(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let plan = read_case(&req, &session, Action::PlanRead, &id, plans::read_for_edit).await?;
    let mut rows = Rows::of(&plan);
    if rows.goals.is_empty() {
        rows.goals.push(GoalRow::default());
    }
    if rows.measures.is_empty() {
        rows.measures.push(MeasureRow::default());
    }
    let extras = Extras::default();
    render(
        &req,
        &session,
        (id, plan.version),
        rows,
        extras,
        StatusCode::OK,
    )
    .await
}

async fn render(
    req: &HttpRequest,
    session: &Session,
    (case_id, version): (String, i64),
    rows: Rows,
    extras: Extras,
    status: StatusCode,
) -> Page {
    let lists = super::reference_lists(req).await?;
    let page = EditPage {
        layout: Layout::of(req, Some(session))?,
        case_id,
        version,
        rows,
        agencies: lists.1.clone(),
        errors: extras.errors,
        conflict: extras.conflict,
        focus: extras.focus,
    };
    Ok(html(status, &page))
}

/// `POST /arenden/{id}/plan/redigera`: a row button gives the form back changed (nothing read,
/// nothing saved); "Spara plan" saves a new version and shows the plan, or gives the form back
/// with what to fix, or — after someone else's save — with the newer plan beside it.
pub async fn save(form: CaseForm) -> Page {
    let (req, session, id, fields, call) = form.open(Action::PlanUpdate).await?;
    let expected = expected_version(&fields);
    let version = expected.as_ref().copied().unwrap_or_default();
    let mut rows = Rows::read(&fields);
    let action = field(&fields, "action");
    if rows.apply(action) {
        let extras = Extras {
            focus: rows.focus_after(action),
            ..Extras::default()
        };
        return render(&req, &session, (id, version), rows, extras, StatusCode::OK).await;
    }
    let (input, typed, goal_rows, measure_rows) = rows.input();
    let unit_id = id.clone();
    let (saved, newer) = write_plan(call, id.clone(), move |unit| {
        let found = typed;
        plans::replace(unit, &unit_id, expected, plans::Checked { input, found })
    })
    .await;
    match saved {
        Ok(_) => Ok(see_other(&format!("/arenden/{id}/plan"))),
        Err(UseCaseError::Validation(broken)) => {
            let extras = Extras {
                errors: rows.place(&broken, &goal_rows, &measure_rows),
                ..Extras::default()
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&req, &session, (id, version), rows, extras, status).await
        }
        Err(UseCaseError::PreconditionFailed) => {
            let Some(plan) = newer else {
                return Err(UseCaseError::PreconditionFailed.into());
            };
            rows.over(&plan);
            let lists = super::reference_lists(&req).await?;
            let extras = Extras {
                conflict: Some(shown(&plan, &lists.1, &[])),
                ..Extras::default()
            };
            let status = StatusCode::PRECONDITION_FAILED;
            render(&req, &session, (id, plan.version), rows, extras, status).await
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(goals: &[&str], measures: &[&str]) -> Rows {
        Rows {
            goals: goals
                .iter()
                .map(|g| GoalRow {
                    text: (*g).to_owned(),
                    error: None,
                })
                .collect(),
            measures: measures
                .iter()
                .map(|d| MeasureRow {
                    description: (*d).to_owned(),
                    ..MeasureRow::default()
                })
                .collect(),
        }
    }

    #[test]
    fn row_buttons_add_remove_and_move_rows() {
        let mut r = rows(&["a", "b"], &["x", "y", "z"]);
        assert!(r.apply("add_goal"));
        assert_eq!(r.goals.len(), 3);
        assert_eq!(r.focus_after("add_goal").as_deref(), Some("f-goal-2"));
        assert_eq!(
            r.focus_after("up_measure:1").as_deref(),
            Some("f-m0-agency")
        );
        assert_eq!(r.focus_after("down_measure:2"), None);
        assert!(r.apply("remove_goal:0"));
        assert_eq!(r.goals[0].text, "b");
        assert!(r.apply("down_measure:0"));
        assert!(r.apply("up_measure:2"));
        let order: Vec<&str> = r.measures.iter().map(|m| m.description.as_str()).collect();
        assert_eq!(order, ["y", "z", "x"]);
        // Out of range: the form comes back unchanged; only "Spara plan" saves.
        let before = r.clone();
        assert!(r.apply("remove_measure:9"));
        assert_eq!(r, before);
        assert!(!r.apply("save"));
        assert!(!r.apply(""));
    }

    #[test]
    fn blank_rows_are_left_out_and_errors_find_their_rows() {
        let mut r = rows(&["", "Skola"], &["", "Samtal"]);
        r.measures[1].starts = "i morgon".into();
        let (input, typed, goal_rows, measure_rows) = r.input();
        assert_eq!(input.goals, ["Skola"]);
        assert_eq!(input.measures.len(), 1);
        assert_eq!((goal_rows, measure_rows.clone()), (vec![1], vec![1]));
        assert_eq!(typed[0].field, "measures[0].starts_on");
        let broken = vec![
            typed[0].clone(),
            FieldError::new("measures[0].agency", "is not a registered agency"),
        ];
        let summary = r.place(&broken, &[1], &measure_rows);
        assert_eq!(summary[0].0, "f-m1-starts");
        assert_eq!(summary[1].0, "f-m1-agency");
        assert_eq!(
            r.measures[1].error_of("agency"),
            Some("Välj en verksamhet.")
        );
    }
}
