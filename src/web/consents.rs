//! The consent pages (UI.md §4): "Samtycken" (the history), "Registrera samtycke" and
//! "Återkalla samtycke". The pages that show consents and parties run `consent.list` (with the
//! parties' names, category `identity`); the forms post to the same use cases as
//! `POST …/consents` and `POST …/consents/{cid}/revoke`. A form shown again after a rule was
//! broken takes the parties' names from its own hidden fields, so the failed write stays the
//! request's one audit event.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate};

use super::pages::{agency_name, case_id, field, CaseForm};
use super::session::Session;
use super::words::date;
use super::{html, read_case, see_other, words, Layout, PageError};
use crate::audit::Action;
use crate::domain::consent::{Decision, Method, CATEGORIES, MAX_VALIDITY_DAYS};
use crate::domain::FieldError;
use crate::error::UseCaseError;
use crate::usecase::consents::{
    self, ConsentPages, ConsentView, NamedGuardian, NewConsent, PartyDecision, Revocation,
};
use crate::usecase::reference::AgencyView;
use crate::work;

type Page = Result<HttpResponse, PageError>;

/// The purpose a consent is recorded for unless the form says otherwise.
const DEFAULT_PURPOSE: &str = "Samverkan i sociala insatsgrupper (SIG)";

/// Whether the young person born on `birth` is under 18 on `day`.
fn minor_on(birth: NaiveDate, day: NaiveDate) -> bool {
    let mut age = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age < 18
}

/// `from` plus one year less a day, within the longest validity.
fn default_until(from: NaiveDate) -> NaiveDate {
    let next = from
        .with_year(from.year() + 1)
        .unwrap_or(from + chrono::Duration::days(MAX_VALIDITY_DAYS));
    (next - chrono::Duration::days(1)).min(from + chrono::Duration::days(MAX_VALIDITY_DAYS))
}

// ---- "Samtycken" -------------------------------------------------------------------------

/// One party's decision in words.
struct PartyLine {
    who: String,
    decision: &'static str,
    how: &'static str,
    on: String,
}

/// One consent of the history.
struct ConsentCard {
    id: String,
    state: &'static str,
    valid: String,
    agencies: Vec<String>,
    categories: Vec<&'static str>,
    parties: Vec<PartyLine>,
    recorded: String,
    revoked: Option<String>,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "consents.html")]
struct ConsentsPage {
    layout: Layout,
    case_id: String,
    youth_name: String,
    cards: Vec<ConsentCard>,
}

fn guardian_name(guardians: &[NamedGuardian], id: Option<&String>) -> String {
    id.and_then(|id| guardians.iter().find(|g| &g.id == id))
        .map_or_else(|| "Vårdnadshavare".to_owned(), |g| g.name.clone())
}

fn card(view: &ConsentView, pages: &ConsentPages, agencies: &[AgencyView]) -> ConsentCard {
    ConsentCard {
        id: view.id.clone(),
        state: words::consent_state(view.state),
        valid: format!("{} – {}", view.valid_from, view.valid_until),
        agencies: view
            .agencies
            .iter()
            .map(|a| agency_name(agencies, a))
            .collect(),
        categories: view.categories.iter().map(|c| words::category(c)).collect(),
        parties: view
            .parties
            .iter()
            .map(|p| PartyLine {
                who: if p.party == "youth" {
                    "Den unge".to_owned()
                } else {
                    format!(
                        "Vårdnadshavare: {}",
                        guardian_name(&pages.guardians, p.guardian_id.as_ref())
                    )
                },
                decision: if p.decision == "given" {
                    "Samtycker"
                } else {
                    "Samtycker inte"
                },
                how: if p.method == "written" {
                    "skriftligt"
                } else {
                    "muntligt"
                },
                on: p.decided_on.clone(),
            })
            .collect(),
        recorded: format!(
            "{} av {}",
            words::local_time(&view.recorded_at),
            view.recorded_by.name
        ),
        revoked: view.revoked_at.as_ref().map(|at| {
            let who = match &view.revoked_by {
                Some(by) if by.party == "guardian" => {
                    guardian_name(&pages.guardians, by.guardian_id.as_ref())
                }
                _ => "den unge".to_owned(),
            };
            format!("{} av {who}", words::local_time(at))
        }),
        revocable: matches!(view.state, "active" | "scheduled"),
    }
}

/// The consents and the named parties of case `id`, as the consent pages show them
/// (`consent.list`).
async fn read_pages(
    req: &HttpRequest,
    session: &Session,
    id: &str,
) -> Result<ConsentPages, PageError> {
    read_case(req, session, Action::ConsentList, id, consents::pages).await
}

/// `GET /arenden/{id}/samtycken`: the case's consents, newest first (`consent.list`).
pub async fn list(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let found = read_pages(&req, &session, &id).await?;
    let lists = super::reference_lists(&req).await?;
    let agencies = &lists.1;
    let cards = found
        .consents
        .iter()
        .map(|c| card(c, &found, agencies))
        .collect();
    let page = ConsentsPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        youth_name: found.youth_name,
        cards,
    };
    Ok(html(StatusCode::OK, &page))
}

// ---- "Registrera samtycke" -----------------------------------------------------------------

/// One party's fieldset as typed.
struct PartyForm {
    legend: String,
    /// The form-field prefix: `youth`, `g0`, `g1`, …
    prefix: String,
    /// The API field path: `youth`, `guardians[0]`, …
    path: String,
    guardian_id: String,
    decision: String,
    method: String,
    decided_on: String,
}

impl PartyForm {
    /// The id of this party's field `leaf`: `f-youth-decided_on`, `f-guardians-0-decision`, …
    fn id(&self, leaf: &str) -> String {
        words::field_id(&format!("{}.{leaf}", self.path))
    }
}

#[derive(Template)]
#[template(path = "new_consent.html")]
struct NewConsentPage {
    layout: Layout,
    case_id: String,
    youth_name: String,
    youth_birth: String,
    /// Every guardian with custody (id, name), kept for the form shown again.
    custody: Vec<(String, String)>,
    parties: Vec<PartyForm>,
    agencies: Vec<(String, String, bool)>,
    categories: Vec<(&'static str, &'static str, bool)>,
    purpose: String,
    valid_from: String,
    valid_until: String,
    evidence_ref: String,
    errors: Vec<(String, &'static str)>,
}

impl NewConsentPage {
    /// The text fields after the parties: (id, label, name, value, whether it is a date).
    fn text_fields(&self) -> [(&'static str, &'static str, &'static str, &str, bool); 4] {
        [
            ("f-purpose", "Ändamål", "purpose", &self.purpose, false),
            (
                "f-valid_from",
                "Giltigt från",
                "valid_from",
                &self.valid_from,
                true,
            ),
            (
                "f-valid_until",
                "Giltigt till",
                "valid_until",
                &self.valid_until,
                true,
            ),
            (
                "f-evidence_ref",
                "Dokumentreferens",
                "evidence_ref",
                &self.evidence_ref,
                false,
            ),
        ]
    }

    fn error_of(&self, id: &str) -> Option<&'static str> {
        self.errors.iter().find(|(f, _)| f == id).map(|(_, m)| *m)
    }
}

/// What the form holds, read from its fields (or set up for the first showing).
struct Typed {
    youth_name: String,
    youth_birth: NaiveDate,
    custody: Vec<(String, String)>,
    parties: Vec<PartyForm>,
    agencies: Vec<String>,
    categories: Vec<String>,
    purpose: String,
    valid_from: String,
    valid_until: String,
    evidence_ref: String,
}

fn party(legend: String, prefix: String, path: String, id: String) -> PartyForm {
    PartyForm {
        legend,
        prefix,
        path,
        guardian_id: id,
        decision: String::new(),
        method: "written".to_owned(),
        decided_on: String::new(),
    }
}

/// The parties' fieldsets: the young person, and each guardian with custody while the young
/// person is under 18 on `valid_from` (DOMAIN.md).
fn parties_for(
    birth: NaiveDate,
    valid_from: Option<NaiveDate>,
    custody: &[(String, String)],
) -> Vec<PartyForm> {
    let mut parties = vec![party(
        "Den unge".to_owned(),
        "youth".to_owned(),
        "youth".to_owned(),
        String::new(),
    )];
    if valid_from.is_none_or(|from| minor_on(birth, from)) {
        for (n, (id, name)) in custody.iter().enumerate() {
            parties.push(party(
                format!("Vårdnadshavare: {name}"),
                format!("g{n}"),
                format!("guardians[{n}]"),
                id.clone(),
            ));
        }
    }
    parties
}

/// The form page as typed, with the registry's agencies (all but the user's own) to choose.
async fn form_page(
    req: &HttpRequest,
    session: &Session,
    case_id: String,
    typed: Typed,
    errors: Vec<(String, &'static str)>,
    status: StatusCode,
) -> Page {
    let lists = super::reference_lists(req).await?;
    let page = render_form(
        Layout::of(req, Some(session))?,
        case_id,
        typed,
        &lists.1,
        &session.actor.agency,
        errors,
    );
    Ok(html(status, &page))
}

fn render_form(
    layout: Layout,
    case_id: String,
    typed: Typed,
    agencies: &[AgencyView],
    own_agency: &str,
    errors: Vec<(String, &'static str)>,
) -> NewConsentPage {
    NewConsentPage {
        layout,
        case_id,
        youth_name: typed.youth_name,
        youth_birth: typed.youth_birth.to_string(),
        custody: typed.custody,
        parties: typed.parties,
        agencies: agencies
            .iter()
            .filter(|a| a.slug != own_agency)
            .map(|a| {
                (
                    a.slug.clone(),
                    a.name.clone(),
                    typed.agencies.contains(&a.slug),
                )
            })
            .collect(),
        categories: CATEGORIES
            .iter()
            .map(|c| {
                (
                    *c,
                    words::category(c),
                    typed.categories.iter().any(|t| t == c),
                )
            })
            .collect(),
        purpose: typed.purpose,
        valid_from: typed.valid_from,
        valid_until: typed.valid_until,
        evidence_ref: typed.evidence_ref,
        errors,
    }
}

/// `GET /arenden/{id}/samtycken/nytt`: the form, with today as "Giltigt från" (`consent.list`:
/// the parties are named).
pub async fn new_form(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let found = read_pages(&req, &session, &id).await?;
    let today = crate::clock::stockholm_date(&crate::api::state(&req)?.clock.now());
    let custody: Vec<(String, String)> = found
        .guardians
        .iter()
        .filter(|g| g.has_custody)
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let typed = Typed {
        parties: parties_for(found.youth_birth, Some(today), &custody),
        youth_name: found.youth_name,
        youth_birth: found.youth_birth,
        custody,
        agencies: Vec::new(),
        categories: Vec::new(),
        purpose: DEFAULT_PURPOSE.to_owned(),
        valid_from: today.to_string(),
        valid_until: default_until(today).to_string(),
        evidence_ref: String::new(),
    };
    form_page(&req, &session, id, typed, Vec::new(), StatusCode::OK).await
}

/// The Swedish words for a broken consent rule, by the API's field path.
fn consent_error(path: &str) -> &'static str {
    let last = path.rsplit('.').next().unwrap_or(path);
    match (path, last) {
        ("youth", _) => "Ange den unges beslut: samtycker eller samtycker inte.",
        ("guardians", _) => {
            "Den unge är under 18 år på Giltigt från: varje vårdnadshavare med vårdnad måste ta ställning."
        }
        (_, "decision") => "Ange beslutet: samtycker eller samtycker inte.",
        (_, "decided_on") => "Ange datum för beslutet (ÅÅÅÅ-MM-DD), inte i framtiden.",
        (_, "guardian_id") => "Vårdnadshavaren hör inte till ärendet.",
        ("valid_from", _) => "Ange Giltigt från som ett datum (ÅÅÅÅ-MM-DD).",
        ("valid_until", _) => "Giltigt till ska vara ett datum från Giltigt från och högst 365 dagar efter.",
        ("agencies", _) => "Välj minst en verksamhet som får ta del.",
        ("categories", _) => "Välj minst en uppgift som får delas.",
        ("purpose", _) => "Ange ändamålet (högst 500 tecken).",
        ("evidence_ref", _) => "Ange en dokumentreferens (högst 500 tecken).",
        _ => "Kontrollera uppgiften.",
    }
}

/// The id of the element an error points at: the party's decision group, a date field, a
/// checkbox group.
fn error_target(path: &str) -> String {
    match path {
        "youth" => "f-youth-decision".to_owned(),
        "guardians" => "f-guardians".to_owned(),
        p if p.ends_with(".guardian_id") => {
            words::field_id(&p.replace(".guardian_id", ".decision"))
        }
        p => words::field_id(p),
    }
}

/// `POST /arenden/{id}/samtycken/nytt`: records the consent (`consent.create`) and shows the
/// history, or shows the form again with what to fix.
pub async fn create(form: CaseForm) -> Page {
    let (req, session, id, fields, call) = form.open(Action::ConsentCreate).await?;
    let typed = read_typed(&fields);
    let mut page_errors = Vec::new();
    let valid_from = date(&typed.valid_from);
    let valid_until = date(&typed.valid_until);
    if valid_from.is_none() {
        page_errors.push(FieldError::new("valid_from", "not a date"));
    }
    if valid_until.is_none() {
        page_errors.push(FieldError::new("valid_until", "not a date"));
    }
    let mut decisions = Vec::new();
    let mut positions = Vec::new();
    for (n, p) in typed.parties.iter().enumerate() {
        let decision = match p.decision.as_str() {
            "given" => Some(Decision::Given),
            "refused" => Some(Decision::Refused),
            _ => None,
        };
        let method = if p.method == "oral" {
            Method::Oral
        } else {
            Method::Written
        };
        let on = date(&p.decided_on);
        if decision.is_some() && on.is_none() {
            page_errors.push(FieldError::new(
                format!("{}.decided_on", p.path),
                "not a date",
            ));
        }
        if let (Some(decision), Some(decided_on)) = (decision, on) {
            decisions.push(PartyDecision {
                guardian_id: (n > 0).then(|| p.guardian_id.clone()),
                decision,
                method,
                decided_on,
            });
            positions.push(n);
        }
        // A party without a decision is not sent; the rules say whether one was needed.
    }
    let youth = match positions.first() {
        Some(0) => {
            positions.remove(0);
            Some(decisions.remove(0))
        }
        _ => None,
    };
    let input = NewConsent {
        youth,
        guardians: decisions,
        agencies: typed.agencies.clone(),
        categories: typed.categories.clone(),
        purpose: typed.purpose.clone(),
        valid_from: valid_from.unwrap_or_default(),
        valid_until: valid_until.unwrap_or_default(),
        evidence_ref: typed.evidence_ref.clone(),
    };
    let unit_id = id.clone();
    let recorded = work::run(call, 201, move |unit| {
        if !page_errors.is_empty() {
            return Err(UseCaseError::Validation(page_errors));
        }
        consents::create(unit, &unit_id, input)
    })
    .await;
    let broken = match recorded {
        Ok(_) => return Ok(see_other(&format!("/arenden/{id}/samtycken"))),
        Err(UseCaseError::Validation(broken)) => broken,
        Err(error) => return Err(error.into()),
    };
    // The fieldsets count the young person first; `guardians[i]` counts guardians only.
    let form_guardians: Vec<usize> = positions.iter().map(|p| p - 1).collect();
    let mut errors: Vec<(String, &'static str)> = Vec::new();
    for e in &broken {
        // `guardians[i]` counts the guardians sent; the form counts its fieldsets.
        let path = words::renumber(&e.field, &form_guardians);
        let target = error_target(&path);
        if !errors.iter().any(|(t, _)| *t == target) {
            errors.push((target, consent_error(&path)));
        }
    }
    form_page(
        &req,
        &session,
        id,
        typed,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn read_typed(fields: &HashMap<String, Vec<String>>) -> Typed {
    let text = |name: &str| field(fields, name).to_owned();
    let youth_birth = date(field(fields, "youth_birth")).unwrap_or_default();
    let custody_count = field(fields, "custody_count")
        .parse::<usize>()
        .unwrap_or(0)
        .min(12);
    let custody: Vec<(String, String)> = (0..custody_count)
        .map(|n| (text(&format!("c{n}_id")), text(&format!("c{n}_name"))))
        .collect();
    let valid_from = text("valid_from");
    let mut parties = parties_for(youth_birth, date(&valid_from), &custody);
    for p in &mut parties {
        p.decision = text(&format!("{}_decision", p.prefix));
        p.method = text(&format!("{}_method", p.prefix));
        p.decided_on = text(&format!("{}_decided_on", p.prefix));
    }
    Typed {
        youth_name: text("youth_name"),
        youth_birth,
        custody,
        parties,
        agencies: fields.get("agencies").cloned().unwrap_or_default(),
        categories: fields.get("categories").cloned().unwrap_or_default(),
        purpose: text("purpose"),
        valid_from,
        valid_until: text("valid_until"),
        evidence_ref: text("evidence_ref"),
    }
}

// ---- "Återkalla samtycke" ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "revoke.html")]
struct RevokePage {
    layout: Layout,
    case_id: String,
    consent_id: String,
    /// (value, label): the young person and each guardian whose decision the consent required.
    choices: Vec<(String, String)>,
    chosen: String,
    reason: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "revoked.html")]
struct RevokedPage {
    layout: Layout,
    case_id: String,
    agencies: Vec<String>,
}

fn choices_of(view: &ConsentView, guardians: &[NamedGuardian]) -> Vec<(String, String)> {
    let mut choices = vec![("youth".to_owned(), "Den unge".to_owned())];
    for p in &view.parties {
        if p.party == "guardian" && p.required {
            if let Some(id) = &p.guardian_id {
                choices.push((
                    format!("guardian:{id}"),
                    format!("Vårdnadshavare: {}", guardian_name(guardians, Some(id))),
                ));
            }
        }
    }
    choices
}

/// `GET /arenden/{id}/samtycken/{cid}/aterkalla`: who revokes, and why (`consent.list`).
pub async fn revoke_form(
    req: HttpRequest,
    session: Session,
    path: web::Path<(String, String)>,
) -> Page {
    let (id, consent_id) = path.into_inner();
    let (id, consent_id) = (case_id(&id)?, case_id(&consent_id)?);
    let found = read_pages(&req, &session, &id).await?;
    let view = found
        .consents
        .iter()
        .find(|c| c.id == consent_id)
        .ok_or(UseCaseError::NotFound(String::new()))?;
    let page = RevokePage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        consent_id,
        choices: choices_of(view, &found.guardians),
        chosen: String::new(),
        reason: String::new(),
        error: None,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /arenden/{id}/samtycken/{cid}/aterkalla`: revokes (`consent.revoke`) and says for
/// which agencies access ended.
pub async fn revoke(form: CaseForm, path: web::Path<(String, String)>) -> Page {
    let consent_id = case_id(&path.1)?;
    let (req, session, id, fields, call) = form.open(Action::ConsentRevoke).await?;
    let chosen = field(&fields, "party").to_owned();
    let reason = field(&fields, "reason").to_owned();
    let (party, guardian_id) = match chosen.split_once(':') {
        Some(("guardian", gid)) => ("guardian".to_owned(), Some(gid.to_owned())),
        _ => (chosen.clone(), None),
    };
    let input = Revocation {
        party,
        guardian_id,
        reason: Some(reason.clone()),
    };
    let (unit_id, unit_cid) = (id.clone(), consent_id.clone());
    let revoked = work::run(call, 200, move |unit| {
        consents::revoke(unit, &unit_id, &unit_cid, input)
    })
    .await;
    let lists = super::reference_lists(&req).await?;
    let agencies = &lists.1;
    match revoked {
        Ok(view) => {
            let page = RevokedPage {
                layout: Layout::of(&req, Some(&session))?,
                case_id: id,
                agencies: view
                    .agencies
                    .iter()
                    .map(|a| agency_name(agencies, a))
                    .collect(),
            };
            Ok(html(StatusCode::OK, &page))
        }
        Err(UseCaseError::Validation(_)) => {
            let count = field(&fields, "choice_count")
                .parse::<usize>()
                .unwrap_or(0)
                .min(13);
            let choices = (0..count)
                .map(|n| {
                    (
                        field(&fields, &format!("v{n}")).to_owned(),
                        field(&fields, &format!("l{n}")).to_owned(),
                    )
                })
                .collect();
            let page = RevokePage {
                layout: Layout::of(&req, Some(&session))?,
                case_id: id,
                consent_id,
                choices,
                chosen,
                reason,
                error: Some("Välj vem som återkallar: den unge eller en vårdnadshavare vars samtycke behövdes."),
            };
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        date(text).expect("a date")
    }

    #[test]
    fn guardians_are_asked_while_the_youth_is_under_18_on_valid_from() {
        let custody = vec![("g1".to_owned(), "Maria".to_owned())];
        let birth = d("2010-06-15");
        assert_eq!(parties_for(birth, Some(d("2028-06-14")), &custody).len(), 2);
        assert_eq!(parties_for(birth, Some(d("2028-06-15")), &custody).len(), 1);
    }

    #[test]
    fn a_consent_runs_a_year_less_a_day_by_default() {
        assert_eq!(default_until(d("2026-12-04")), d("2027-12-03"));
        assert_eq!(default_until(d("2028-02-29")), d("2029-02-27"));
    }

    #[test]
    fn errors_point_at_the_forms_own_fieldsets() {
        // Only the second guardian's decision was sent: its errors point at that guardian.
        assert_eq!(
            words::renumber("guardians[0].decided_on", &[1]),
            "guardians[1].decided_on"
        );
        assert_eq!(error_target("youth"), "f-youth-decision");
        assert_eq!(
            error_target("guardians[1].guardian_id"),
            "f-guardians-1-decision"
        );
    }
}
