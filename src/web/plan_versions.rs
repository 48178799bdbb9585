//! "Planens versioner" (UI.md §4): every saved version of the plan, and for one version what it
//! changed from the one before — goals and measures added, removed and changed, the status —
//! in words a person reads (`plan.versions.read`, as `GET /plan/versions[/{n}]`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use askama::Template;

use super::pages::{agency_name, case_id};
use super::plan::{shown, Shown};
use super::session::Session;
use super::{html, read_case, words, Layout, PageError};
use crate::audit::Action;
use crate::error::UseCaseError;
use crate::usecase::plans::{self, Measure, PlanView};
use crate::usecase::reference::AgencyView;

type Page = Result<actix_web::HttpResponse, PageError>;

struct VersionRow {
    number: i64,
    status: String,
    at: String,
    agency: String,
}

#[derive(Template)]
#[template(path = "plan_versions.html")]
struct VersionsPage {
    layout: Layout,
    case_id: String,
    versions: Vec<VersionRow>,
}

/// `GET /arenden/{id}/plan/versioner`: newest first.
pub async fn list(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let found = read_case(
        &req,
        &session,
        Action::PlanVersionsRead,
        &id,
        plans::versions,
    )
    .await?;
    let lists = super::reference_lists(&req).await?;
    let page = VersionsPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        versions: found
            .iter()
            .rev()
            .map(|v| VersionRow {
                number: v.version,
                status: words::plan_status(&v.status, None),
                at: words::local_time(&v.updated_at),
                agency: agency_name(&lists.1, &v.updated_by_agency),
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// One field of a measure that a version changed: its name, before, after.
struct FieldChange {
    name: &'static str,
    before: String,
    after: String,
}

/// A measure that a version changed.
struct MeasureChange {
    label: String,
    fields: Vec<FieldChange>,
}

/// What one version changed from the one before.
#[derive(Default)]
struct Changes {
    status: Option<(String, String)>,
    goals_added: Vec<String>,
    goals_removed: Vec<String>,
    goals_reordered: bool,
    measures_added: Vec<String>,
    measures_removed: Vec<String>,
    measures_changed: Vec<MeasureChange>,
    measures_reordered: bool,
    follow_ups_added: Vec<String>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.goals_added.is_empty()
            && self.goals_removed.is_empty()
            && !self.goals_reordered
            && self.measures_added.is_empty()
            && self.measures_removed.is_empty()
            && self.measures_changed.is_empty()
            && !self.measures_reordered
            && self.follow_ups_added.is_empty()
    }
}

fn measure_label(m: &Measure, agencies: &[AgencyView]) -> String {
    format!("{} ({})", m.description, agency_name(agencies, &m.agency))
}

fn optional_date(date: Option<chrono::NaiveDate>) -> String {
    date.map_or_else(|| "–".to_owned(), |d| d.to_string())
}

/// The fields of `after` that differ from `before`, by name.
fn measure_fields(before: &Measure, after: &Measure, agencies: &[AgencyView]) -> Vec<FieldChange> {
    let pairs: [(&'static str, String, String); 7] = [
        (
            "Verksamhet",
            agency_name(agencies, &before.agency),
            agency_name(agencies, &after.agency),
        ),
        (
            "Ansvarig",
            before.responsible_name.clone(),
            after.responsible_name.clone(),
        ),
        (
            "Insats",
            before.description.clone(),
            after.description.clone(),
        ),
        (
            "Start",
            optional_date(before.starts_on),
            optional_date(after.starts_on),
        ),
        (
            "Klar senast",
            optional_date(before.due_on),
            optional_date(after.due_on),
        ),
        (
            "Status",
            words::measure_status(&before.status).to_owned(),
            words::measure_status(&after.status).to_owned(),
        ),
        (
            "Lägesbeskrivning",
            before
                .progress_note
                .clone()
                .unwrap_or_else(|| "–".to_owned()),
            after
                .progress_note
                .clone()
                .unwrap_or_else(|| "–".to_owned()),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, b, a)| b != a)
        .map(|(name, before, after)| FieldChange {
            name,
            before,
            after,
        })
        .collect()
}

/// What `after` changed from `before`: goals by their text, measures by their id.
fn changes(before: &PlanView, after: &PlanView, agencies: &[AgencyView]) -> Changes {
    let mut changes = Changes::default();
    let status = |p: &PlanView| words::plan_status(&p.status, p.agreed_on.as_deref());
    if before.version > 0 && status(before) != status(after) {
        changes.status = Some((status(before), status(after)));
    }
    changes.goals_added = after
        .goals
        .iter()
        .filter(|g| !before.goals.contains(g))
        .cloned()
        .collect();
    changes.goals_removed = before
        .goals
        .iter()
        .filter(|g| !after.goals.contains(g))
        .cloned()
        .collect();
    let kept = |from: &[String], other: &[String]| -> Vec<String> {
        from.iter().filter(|g| other.contains(g)).cloned().collect()
    };
    changes.goals_reordered =
        kept(&before.goals, &after.goals) != kept(&after.goals, &before.goals);
    for m in &after.measures {
        match before.measures.iter().find(|b| b.id == m.id) {
            None => changes.measures_added.push(measure_label(m, agencies)),
            Some(b) => {
                let fields = measure_fields(b, m, agencies);
                if !fields.is_empty() {
                    changes.measures_changed.push(MeasureChange {
                        label: measure_label(m, agencies),
                        fields,
                    });
                }
            }
        }
    }
    changes.measures_removed = before
        .measures
        .iter()
        .filter(|b| after.measures.iter().all(|m| m.id != b.id))
        .map(|b| measure_label(b, agencies))
        .collect();
    let ids = |from: &PlanView, other: &PlanView| -> Vec<String> {
        from.measures
            .iter()
            .filter(|m| other.measures.iter().any(|o| o.id == m.id))
            .map(|m| m.id.clone())
            .collect()
    };
    changes.measures_reordered = ids(before, after) != ids(after, before);
    changes.follow_ups_added = after
        .follow_ups
        .iter()
        .filter(|f| before.follow_ups.iter().all(|b| b.id != f.id))
        .map(|f| format!("Uppföljning {}", f.held_on))
        .collect();
    changes
}

#[derive(Template)]
#[template(path = "plan_version.html")]
struct VersionPage {
    layout: Layout,
    case_id: String,
    number: i64,
    status: String,
    at: String,
    agency: String,
    changes: Changes,
    shown: Shown,
}

/// `GET /arenden/{id}/plan/versioner/{n}`: version `n` and what it changed.
pub async fn show(req: HttpRequest, session: Session, path: web::Path<(String, String)>) -> Page {
    let (id, number) = path.into_inner();
    let id = case_id(&id)?;
    let number: i64 = number
        .parse()
        .map_err(|_| PageError::from(UseCaseError::NotFound(String::new())))?;
    let (this, before, saved_by) = read_case(
        &req,
        &session,
        Action::PlanVersionsRead,
        &id,
        move |unit, id| plans::version_with_previous(unit, id, number),
    )
    .await?;
    let lists = super::reference_lists(&req).await?;
    let page = VersionPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        number,
        status: words::plan_status(&this.status, this.agreed_on.as_deref()),
        at: words::local_time(this.updated_at.as_deref().unwrap_or_default()),
        agency: agency_name(&lists.1, &saved_by),
        changes: changes(&before, &this, &lists.1),
        shown: shown(&this, &lists.1, &[]),
    };
    Ok(html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(id: &str, status: &str, description: &str) -> Measure {
        Measure {
            id: id.into(),
            agency: "polis".into(),
            responsible_name: "Anna".into(),
            description: description.into(),
            starts_on: None,
            due_on: None,
            status: status.into(),
            progress_note: None,
            updated_at: String::new(),
        }
    }

    fn plan(version: i64, goals: &[&str], measures: Vec<Measure>) -> PlanView {
        PlanView {
            case_id: String::new(),
            version,
            status: "draft".into(),
            agreed_on: None,
            goals: goals.iter().map(|g| (*g).to_owned()).collect(),
            measures,
            follow_ups: Vec::new(),
            updated_at: None,
        }
    }

    #[test]
    fn a_version_lists_what_was_added_removed_and_changed() {
        let before = plan(
            1,
            &["Skola", "Fritid"],
            vec![
                measure("a", "planned", "Samtal"),
                measure("b", "planned", "Läxhjälp"),
            ],
        );
        let mut after = plan(
            2,
            &["Fritid", "Arbete"],
            vec![
                measure("b", "ongoing", "Läxhjälp"),
                measure("c", "planned", "Praktik"),
            ],
        );
        after.status = "agreed".into();
        after.agreed_on = Some("2026-12-04".into());
        let c = changes(&before, &after, &[]);
        assert_eq!(c.goals_added, ["Arbete"]);
        assert_eq!(c.goals_removed, ["Skola"]);
        assert!(!c.goals_reordered);
        assert_eq!(c.measures_added, ["Praktik (polis)"]);
        assert_eq!(c.measures_removed, ["Samtal (polis)"]);
        assert_eq!(c.measures_changed.len(), 1);
        let field = &c.measures_changed[0].fields[0];
        assert_eq!(
            (field.name, field.before.as_str(), field.after.as_str()),
            ("Status", "Planerad", "Pågår")
        );
        assert_eq!(
            c.status,
            Some(("Utkast".into(), "Överenskommen 2026-12-04".into()))
        );
        assert!(!c.is_empty());
    }

    #[test]
    fn a_reorder_alone_is_a_change() {
        let before = plan(
            1,
            &["A", "B"],
            vec![measure("a", "planned", "x"), measure("b", "planned", "y")],
        );
        let after = plan(
            2,
            &["B", "A"],
            vec![measure("b", "planned", "y"), measure("a", "planned", "x")],
        );
        let c = changes(&before, &after, &[]);
        assert!(c.goals_reordered && c.measures_reordered);
        assert!(c.goals_added.is_empty() && c.measures_changed.is_empty());
        assert!(changes(&before, &before, &[]).is_empty());
    }
}
