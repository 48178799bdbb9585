//! "Nytt ärende" (UI.md §4): the social secretary opens a case. The form posts to the same use
//! case as `POST /api/v1/cases` (`case.create`); its rules' answers appear in Swedish beside the
//! fields, with a summary at the top, and the form keeps what was typed.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::pages::{case_page, field, own_form};
use super::session::Session;
use super::{call, html, words, Layout, PageError};
use crate::audit::Action;
use crate::error::UseCaseError;
use crate::usecase::cases::{self, NewCase, NewGuardian, NewReferral, NewYouth};
use crate::usecase::reference::{AgencyView, AreaView};
use crate::work;

const MAX_GUARDIANS: usize = 6;

/// One person of the form as typed (the young person or a guardian).
#[derive(Clone, Debug, Default)]
pub struct PersonForm {
    pub personal_number: String,
    pub given_name: String,
    pub family_name: String,
    pub phone: String,
    pub address: String,
    pub protected: bool,
    pub has_custody: bool,
}

impl PersonForm {
    fn read(fields: &HashMap<String, Vec<String>>, prefix: &str) -> Self {
        let text = |name: &str| field(fields, &format!("{prefix}_{name}")).to_owned();
        Self {
            personal_number: text("personal_number"),
            given_name: text("given_name"),
            family_name: text("family_name"),
            phone: text("phone"),
            address: text("address"),
            protected: fields.contains_key(&format!("{prefix}_protected")),
            has_custody: fields.contains_key(&format!("{prefix}_has_custody")),
        }
    }

    fn is_empty(&self) -> bool {
        [
            &self.personal_number,
            &self.given_name,
            &self.family_name,
            &self.phone,
            &self.address,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
            && !self.has_custody
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// One text field or checkbox as the template draws it.
struct FieldView {
    label: &'static str,
    name: String,
    id: String,
    value: String,
    checked: bool,
    error: Option<&'static str>,
}

/// A fieldset of one person.
struct PersonView {
    legend: String,
    texts: Vec<FieldView>,
    checks: Vec<FieldView>,
}

fn person_view(
    legend: String,
    person: &PersonForm,
    name_prefix: &str,
    field_prefix: &str,
    guardian: bool,
    errors: &[(String, &'static str)],
) -> PersonView {
    let view = |label, key: &str, value: &str, checked| {
        let id = words::field_id(&format!("{field_prefix}.{key}"));
        FieldView {
            label,
            name: format!("{name_prefix}_{key}"),
            error: errors.iter().find(|(f, _)| *f == id).map(|(_, m)| *m),
            id,
            value: value.to_owned(),
            checked,
        }
    };
    let mut checks = vec![view(
        "Skyddade personuppgifter",
        "protected",
        "",
        person.protected,
    )];
    if guardian {
        checks.insert(
            0,
            view("Har vårdnad", "has_custody", "", person.has_custody),
        );
    }
    PersonView {
        legend,
        texts: vec![
            view(
                "Personnummer",
                "personal_number",
                &person.personal_number,
                false,
            ),
            view("Förnamn", "given_name", &person.given_name, false),
            view("Efternamn", "family_name", &person.family_name, false),
            view("Telefon", "phone", &person.phone, false),
            view("Adress", "address", &person.address, false),
        ],
        checks,
    }
}

#[derive(Template)]
#[template(path = "new_case.html")]
struct NewCasePage {
    layout: Layout,
    people: Vec<PersonView>,
    guardian_count: usize,
    area: String,
    source_agency: String,
    reason: String,
    areas: Vec<AreaView>,
    agencies: Vec<AgencyView>,
    /// (field id, Swedish message), in the order of the form.
    errors: Vec<(String, &'static str)>,
}

impl NewCasePage {
    #[allow(clippy::too_many_arguments)]
    fn new(
        layout: Layout,
        youth: &PersonForm,
        guardians: &[PersonForm],
        (area, source_agency, reason): (String, String, String),
        areas: Vec<AreaView>,
        agencies: Vec<AgencyView>,
        errors: Vec<(String, &'static str)>,
    ) -> Self {
        let mut people = vec![person_view(
            "Den unge".to_owned(),
            youth,
            "youth",
            "youth",
            false,
            &errors,
        )];
        for (n, g) in guardians.iter().enumerate() {
            people.push(person_view(
                format!("Vårdnadshavare {}", n + 1),
                g,
                &format!("g{n}"),
                &format!("guardians[{n}]"),
                true,
                &errors,
            ));
        }
        Self {
            layout,
            people,
            guardian_count: guardians.len(),
            area,
            source_agency,
            reason,
            areas,
            agencies,
            errors,
        }
    }

    fn error_of(&self, id: &str) -> Option<&'static str> {
        self.errors.iter().find(|(f, _)| f == id).map(|(_, m)| *m)
    }
}

/// `GET /arenden/nytt`: the empty form, with one guardian.
pub async fn form_page(req: HttpRequest, session: Session) -> Result<HttpResponse, PageError> {
    let lists = super::reference_lists(&req).await?;
    let (areas, agencies) = (lists.0.clone(), lists.1.clone());
    let page = NewCasePage::new(
        Layout::of(&req, Some(&session))?,
        &PersonForm::default(),
        &[PersonForm::default()],
        Default::default(),
        areas,
        agencies,
        Vec::new(),
    );
    Ok(html(StatusCode::OK, &page))
}

/// `POST /arenden/nytt`: "Lägg till vårdnadshavare" shows one more guardian; "Skapa ärende"
/// opens the case (`case.create`) and shows it, or shows the form again with what to fix.
pub async fn create(
    req: HttpRequest,
    session: Session,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let fields = own_form(&req, &session, &body, Action::CaseCreate).await?;
    let count = field(&fields, "guardian_count")
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(0, MAX_GUARDIANS);
    let youth = PersonForm::read(&fields, "youth");
    let mut guardians: Vec<PersonForm> = (0..count)
        .map(|n| PersonForm::read(&fields, &format!("g{n}")))
        .collect();
    let (area, source_agency, reason) = (
        field(&fields, "area").to_owned(),
        field(&fields, "source_agency").to_owned(),
        field(&fields, "reason").to_owned(),
    );
    let adding = field(&fields, "action") == "add_guardian";
    let mut errors = Vec::new();
    if !adding {
        // Guardians left empty are not sent; the rest keep their numbers in the messages.
        let sent: Vec<&PersonForm> = guardians.iter().filter(|g| !g.is_empty()).collect();
        let input = NewCase {
            area: area.clone(),
            youth: NewYouth {
                personal_number: youth.personal_number.trim().to_owned(),
                given_name: youth.given_name.clone(),
                family_name: youth.family_name.clone(),
                phone: some(&youth.phone),
                address: some(&youth.address),
                protected_identity: youth.protected,
            },
            guardians: sent
                .iter()
                .map(|g| NewGuardian {
                    given_name: g.given_name.clone(),
                    family_name: g.family_name.clone(),
                    personal_number: some(&g.personal_number),
                    phone: some(&g.phone),
                    address: some(&g.address),
                    has_custody: g.has_custody,
                    protected_identity: g.protected,
                })
                .collect(),
            referral: some(&source_agency).map(|agency| NewReferral {
                source_agency: agency,
                reason: some(&reason),
            }),
        };
        let positions: Vec<usize> = guardians
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.is_empty())
            .map(|(n, _)| n)
            .collect();
        let created = work::run(
            call(&req, &session, Action::CaseCreate)?,
            201,
            move |unit| cases::create(unit, input),
        )
        .await;
        match created {
            Ok(view) => return case_page(&req, &session, view, StatusCode::CREATED).await,
            Err(UseCaseError::Validation(broken)) => {
                errors = broken
                    .iter()
                    .map(|e| {
                        let field = words::renumber(&e.field, &positions);
                        (
                            words::field_id(&field),
                            words::field_error(&field, &e.message),
                        )
                    })
                    .collect();
            }
            Err(error) => return Err(error.into()),
        }
    } else if guardians.len() < MAX_GUARDIANS {
        guardians.push(PersonForm::default());
    }
    let lists = super::reference_lists(&req).await?;
    let (areas, agencies) = (lists.0.clone(), lists.1.clone());
    let page = NewCasePage::new(
        Layout::of(&req, Some(&session))?,
        &youth,
        &guardians,
        (area, source_agency, reason),
        areas,
        agencies,
        errors,
    );
    let status = if adding {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(status, &page))
}
