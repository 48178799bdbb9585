//! `sig-register demo`: fills a development register with fictitious cases in the five areas —
//! consents in every state, plans, notes, and three weeks of reads, refusals and follow-ups —
//! so the web interface shows a living register on a newcomer's first start.
//!
//! Everything goes through the same use cases and units of work as the API, with a clock that
//! walks through the three weeks before today: every event is a real, chained audit event of
//! what the demo's fictitious staff did. Every case it makes is marked `demo`; it refuses a
//! database holding any other case, and it runs in development mode only (the caller checks).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::audit::Action;
use crate::auth::{Actor, Role};
use crate::clock::FixedClock;
use crate::domain::consent::ConsentState::{
    self, Active, Expired, Refused, Revoked, Scheduled, Superseded,
};
use crate::domain::consent::{Decision, Method};
use crate::error::UseCaseError;
use crate::repo::cases as repo;
use crate::state::AppState;
use crate::usecase::cases::{
    self, CasePatch, CaseView, NewCase, NewGuardian, NewReferral, NewYouth,
};
use crate::usecase::consents::{self, NewConsent, PartyDecision, Revocation};
use crate::usecase::notes::{self, NewNote};
use crate::usecase::plans::{self, FollowUpInput, MeasureInput, MeasurePatch, PlanInput};
use crate::work::{self, Call, RequestMeta, Unit};

/// What the demo did.
#[derive(Debug, Default)]
pub struct DemoReport {
    pub cases: usize,
    /// The demo cases that were there already (then nothing is added).
    pub existing: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Refused(String),
    #[error("the demo could not be written: {0}")]
    Failed(#[from] UseCaseError),
}

/// How a demo case's consent turns out: one of the consent states DOMAIN.md names, no consent
/// at all, or an agreed plan whose case is then closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Story {
    Consent(ConsentState),
    NoConsent,
    Closed,
}

/// (area, given name, family name, age, story): the names are plainly made up.
#[rustfmt::skip]
const CASES: [(&str, &str, &str, i64, Story); 10] = [
    ("vivalla", "Alva", "Påhittad", 16, Story::Consent(Active)),
    ("vivalla", "Bo", "Exempelsson", 17, Story::Consent(Revoked)),
    ("baronbackarna", "Cleo", "Fiktiv", 15, Story::Consent(Active)),
    ("baronbackarna", "Dante", "Demosson", 19, Story::Consent(Scheduled)),
    ("varberga", "Ebba", "Låtsasson", 16, Story::Consent(Refused)),
    ("varberga", "Filip", "Testsson", 18, Story::Consent(Expired)),
    ("oxhagen", "Greta", "Provsson", 14, Story::Consent(Superseded)),
    ("oxhagen", "Hugo", "Skissdotter", 17, Story::NoConsent),
    ("brickebacken", "Iris", "Utkastsson", 16, Story::Consent(Active)),
    ("brickebacken", "Jonatan", "Modellsson", 20, Story::Closed),
];

struct Staff {
    social: Actor,
    police: Actor,
    school: Actor,
    leisure: Actor,
}

fn actor(sub: &str, name: &str, agency: &str, role: Role) -> Actor {
    Actor {
        sub: sub.to_owned(),
        name: name.to_owned(),
        agency: agency.to_owned(),
        roles: [role].into_iter().collect(),
    }
}

fn staff() -> Staff {
    Staff {
        social: actor(
            "demo-anna",
            "Anna Demo-Lindqvist",
            "socialtjanst-orebro",
            Role::SocialSecretary,
        ),
        police: actor(
            "demo-per",
            "Per Demo-Polis",
            "polisen-orebro",
            Role::PoliceOfficer,
        ),
        school: actor(
            "demo-sara",
            "Sara Demo-Skola",
            "skola-orebro",
            Role::Partner,
        ),
        leisure: actor(
            "demo-fia",
            "Fia Demo-Fritid",
            "fritid-orebro",
            Role::Partner,
        ),
    }
}

/// A valid personal number for someone born on `birth` (the check digit computed; the number
/// itself is made up and shown only in a development register).
pub fn personal_number(birth: NaiveDate, serial: u32) -> String {
    let digits = format!("{}{:03}", birth.format("%y%m%d"), serial % 1000);
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let v = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            v / 10 + v % 10
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    format!(
        "{}{}-{:03}{check}",
        birth.format("%Y"),
        &digits[2..6],
        serial % 1000
    )
}

/// The demo's walk through time, and the calls it makes as its staff.
struct Demo<'a> {
    state: &'a AppState,
    clock: &'a FixedClock,
    now: DateTime<Utc>,
}

impl Demo<'_> {
    fn today(&self) -> NaiveDate {
        crate::clock::stockholm_date(&self.now)
    }

    /// Moves the clock on.
    fn later(&mut self, minutes: i64) {
        self.now += Duration::minutes(minutes);
        self.clock.set(self.now);
    }

    fn call(&self, actor: &Actor, action: Action) -> Call {
        Call {
            state: self.state.clone(),
            actor: actor.clone(),
            action,
            meta: RequestMeta {
                request_id: None,
                method: "DEMO".to_owned(),
                path: "sig-register demo".to_owned(),
            },
        }
    }

    async fn write<T: Send + 'static>(
        &mut self,
        actor: &Actor,
        action: Action,
        work: impl FnOnce(&mut Unit<'_>) -> Result<T, UseCaseError> + Send + 'static,
    ) -> Result<T, UseCaseError> {
        self.later(7);
        work::run(self.call(actor, action), 200, work).await
    }

    /// A read; a refusal is part of the story (it is audited as denied), not a failure.
    async fn read<T: Send + 'static>(
        &mut self,
        actor: &Actor,
        action: Action,
        work: impl FnOnce(&mut Unit<'_>) -> Result<T, UseCaseError> + Send + 'static,
    ) -> Result<Option<T>, UseCaseError> {
        self.later(3);
        match work::read(self.call(actor, action), 200, work).await {
            Ok(found) => Ok(Some(found)),
            Err(UseCaseError::Forbidden(_) | UseCaseError::ConsentRequired(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// [`Demo::read`] of one case's resource (`cases::read`, `plans::read`).
    async fn read_case<T: Send + 'static>(
        &mut self,
        actor: &Actor,
        action: Action,
        id: &str,
        read: fn(&mut Unit<'_>, &str) -> Result<T, UseCaseError>,
    ) -> Result<Option<T>, UseCaseError> {
        let id = id.to_owned();
        self.read(actor, action, move |unit| read(unit, &id)).await
    }
}

fn consent_input(
    case: &CaseView,
    youth: Decision,
    agencies: &[&str],
    categories: &[&str],
    decided_on: NaiveDate,
    (valid_from, valid_until): (NaiveDate, NaiveDate),
) -> NewConsent {
    let decision = |d| (d, Method::Written, decided_on);
    let (d, method, on) = decision(youth);
    NewConsent {
        youth: Some(PartyDecision {
            guardian_id: None,
            decision: d,
            method,
            decided_on: on,
        }),
        guardians: case
            .guardians
            .iter()
            .flatten()
            .filter(|g| g.has_custody)
            .map(|g| PartyDecision {
                guardian_id: Some(g.id.clone()),
                decision: Decision::Given,
                method: Method::Oral,
                decided_on,
            })
            .collect(),
        agencies: agencies.iter().map(|a| (*a).to_owned()).collect(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        purpose: "Samverkan i sociala insatsgrupper (SIG)".to_owned(),
        valid_from,
        valid_until,
        evidence_ref: format!("DEMO-{}", &case.id[..8]),
    }
}

fn measure(agency: &str, who: &str, what: &str, starts: NaiveDate, days: i64) -> MeasureInput {
    MeasureInput {
        id: None,
        agency: agency.to_owned(),
        responsible_name: who.to_owned(),
        description: what.to_owned(),
        starts_on: Some(starts),
        due_on: Some(starts + Duration::days(days)),
        status: None,
        progress_note: None,
        updated_at: None,
    }
}

/// Fills the register; `today` is the real date-time the three weeks end at.
pub async fn fill(
    state: &AppState,
    clock: &Arc<FixedClock>,
    today: DateTime<Utc>,
) -> Result<DemoReport, DemoError> {
    let mut conn = state.pool.get().map_err(UseCaseError::from)?;
    let (total, demo) = repo::count_cases(&mut conn).map_err(UseCaseError::from)?;
    drop(conn);
    if total > demo {
        return Err(DemoError::Refused(format!(
            "the database holds {} case(s) the demo did not make; the demo fills only an empty \
             development register",
            total - demo
        )));
    }
    if demo > 0 {
        return Ok(DemoReport {
            cases: 0,
            existing: demo,
        });
    }
    let staff = staff();
    let start = today - Duration::days(21);
    let mut run = Demo {
        state,
        clock,
        now: start,
    };
    clock.set(start);
    let mut made = 0;
    for (n, (area, given, family, age, story)) in CASES.into_iter().enumerate() {
        // A case every other day, in office hours; each story takes less than a day.
        run.now = run
            .now
            .max(start + Duration::days(n as i64 * 2) + Duration::hours(8));
        clock.set(run.now);
        let case = open_case(&mut run, &staff, n, area, given, family, age).await?;
        made += 1;
        tell(&mut run, &staff, &case, story).await?;
    }
    Ok(DemoReport {
        cases: made,
        existing: 0,
    })
}

#[allow(clippy::too_many_arguments)]
async fn open_case(
    run: &mut Demo<'_>,
    staff: &Staff,
    n: usize,
    area: &str,
    given: &str,
    family: &str,
    age: i64,
) -> Result<CaseView, DemoError> {
    let today = run.today();
    let birth = NaiveDate::from_ymd_opt(
        today.year() - i32::try_from(age).unwrap_or(16),
        1 + (n as u32 * 5) % 12,
        1 + (n as u32 * 7) % 27,
    )
    .unwrap_or(today);
    let birth = if birth > today - Duration::days(365 * age) {
        birth - Duration::days(365)
    } else {
        birth
    };
    let guardian = |given: &str| NewGuardian {
        given_name: given.to_owned(),
        family_name: family.to_owned(),
        personal_number: None,
        phone: Some("070-000 00 00".to_owned()),
        address: None,
        has_custody: true,
        protected_identity: false,
    };
    let guardians = if age < 18 {
        vec![guardian("Maja"), guardian("Olof")]
    } else {
        Vec::new()
    };
    let input = NewCase {
        area: area.to_owned(),
        youth: NewYouth {
            personal_number: personal_number(birth, 980 + n as u32),
            given_name: given.to_owned(),
            family_name: family.to_owned(),
            phone: Some("070-000 00 01".to_owned()),
            address: Some("Demogatan 1, Örebro".to_owned()),
            protected_identity: false,
        },
        guardians,
        referral: Some(NewReferral {
            source_agency: "polisen-orebro".to_owned(),
            reason: Some("Demoärende – alla uppgifter är påhittade.".to_owned()),
        }),
    };
    let case = run
        .write(&staff.social, Action::CaseCreate, move |unit| {
            let case = cases::create(unit, input)?;
            repo::mark_demo(unit.conn, &case.id)?;
            Ok(case)
        })
        .await?;
    let id = case.id.clone();
    run.write(&staff.social, Action::NoteCreate, move |unit| {
        notes::create(
            unit,
            &id,
            NewNote {
                text: "Demoärende: alla uppgifter är påhittade. Första samtal med den unge och \
                       vårdnadshavarna om SIG."
                    .to_owned(),
            },
        )
    })
    .await?;
    Ok(case)
}

async fn tell(
    run: &mut Demo<'_>,
    staff: &Staff,
    case: &CaseView,
    story: Story,
) -> Result<(), DemoError> {
    let today = run.today();
    let year = (today, today + Duration::days(364));
    let shared = ["polisen-orebro", "skola-orebro", "fritid-orebro"];
    let categories = ["identity", "plan", "police_notes", "school_notes"];
    let record =
        |youth, from_until| consent_input(case, youth, &shared, &categories, today, from_until);
    let id = case.id.clone();
    match story {
        Story::NoConsent => {
            // The police ask anyway: refused, and audited.
            run.read_case(&staff.police, Action::CaseRead, &id, cases::read)
                .await?;
            return Ok(());
        }
        Story::Consent(Refused) => {
            let input = record(Decision::Refused, year);
            record_consent(run, staff, &id, input).await?;
            return Ok(());
        }
        Story::Consent(Scheduled) => {
            let starts = today + Duration::days(28);
            let input = record(Decision::Given, (starts, starts + Duration::days(300)));
            record_consent(run, staff, &id, input).await?;
            return Ok(());
        }
        Story::Consent(Expired) => {
            let input = record(Decision::Given, (today, today + Duration::days(6)));
            record_consent(run, staff, &id, input).await?;
            police_reads(run, staff, &id).await?;
            return Ok(());
        }
        Story::Consent(Superseded) => {
            let narrow = consent_input(
                case,
                Decision::Given,
                &["skola-orebro"],
                &["identity"],
                today,
                year,
            );
            record_consent(run, staff, &id, narrow).await?;
            run.later(60 * 2);
        }
        _ => {}
    }
    let input = record(
        Decision::Given,
        (run.today(), run.today() + Duration::days(364)),
    );
    let consent = record_consent(run, staff, &id, input).await?;
    activate(run, staff, case).await?;
    plan(run, staff, &id).await?;
    police_reads(run, staff, &id).await?;
    match story {
        Story::Consent(Revoked) => {
            run.later(60 * 5);
            let guardian = consent
                .parties
                .iter()
                .find(|p| p.party == "guardian" && p.required)
                .and_then(|p| p.guardian_id.clone());
            let (unit_id, consent_id) = (id.clone(), consent.id.clone());
            run.write(&staff.social, Action::ConsentRevoke, move |unit| {
                consents::revoke(
                    unit,
                    &unit_id,
                    &consent_id,
                    Revocation {
                        party: if guardian.is_some() {
                            "guardian"
                        } else {
                            "youth"
                        }
                        .to_owned(),
                        guardian_id: guardian,
                        reason: Some("Familjen vill avvakta.".to_owned()),
                    },
                )
            })
            .await?;
            // The police's next look is refused.
            police_reads(run, staff, &id).await?;
        }
        Story::Closed => {
            run.later(60 * 6);
            let current = case_version(run, staff, &id).await?;
            let unit_id = id.clone();
            run.write(&staff.social, Action::CaseUpdate, move |unit| {
                cases::update(
                    unit,
                    &unit_id,
                    Ok(current),
                    CasePatch {
                        status: Some("closed".to_owned()),
                        closure_reason: Some("Målen är nådda; den unge har arbete.".to_owned()),
                        area: None,
                        retention: None,
                    },
                )
            })
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// The social secretary records a consent.
async fn record_consent(
    run: &mut Demo<'_>,
    staff: &Staff,
    id: &str,
    input: NewConsent,
) -> Result<consents::ConsentView, DemoError> {
    let id = id.to_owned();
    Ok(run
        .write(&staff.social, Action::ConsentCreate, move |unit| {
            consents::create(unit, &id, input)
        })
        .await?)
}

async fn case_version(run: &mut Demo<'_>, staff: &Staff, id: &str) -> Result<i64, DemoError> {
    let id = id.to_owned();
    let case = run
        .read(&staff.social, Action::CaseRead, move |unit| {
            cases::read(unit, &id)
        })
        .await?
        .ok_or_else(|| UseCaseError::Internal("the owner could not read a demo case".into()))?;
    Ok(case.version)
}

async fn activate(run: &mut Demo<'_>, staff: &Staff, case: &CaseView) -> Result<(), DemoError> {
    let current = case_version(run, staff, &case.id).await?;
    let id = case.id.clone();
    run.write(&staff.social, Action::CaseUpdate, move |unit| {
        cases::update(
            unit,
            &id,
            Ok(current),
            CasePatch {
                status: Some("active".to_owned()),
                closure_reason: None,
                area: None,
                retention: None,
            },
        )
    })
    .await?;
    Ok(())
}

/// Goals and measures, agreed, a police progress report, and a follow-up later that day.
async fn plan(run: &mut Demo<'_>, staff: &Staff, id: &str) -> Result<(), DemoError> {
    let starts = run.today() + Duration::days(1);
    let input = PlanInput {
        goals: vec![
            "Gå i skolan varje dag och klara kärnämnena.".to_owned(),
            "En meningsfull fritid två kvällar i veckan.".to_owned(),
        ],
        measures: vec![
            measure(
                "socialtjanst-orebro",
                "Anna Demo-Lindqvist",
                "Stödsamtal varannan vecka",
                starts,
                120,
            ),
            measure(
                "polisen-orebro",
                "Per Demo-Polis",
                "Kontaktsamtal med områdespolis",
                starts,
                90,
            ),
            measure(
                "skola-orebro",
                "Sara Demo-Skola",
                "Studiestöd och närvaroplan",
                starts,
                150,
            ),
            measure(
                "fritid-orebro",
                "Fia Demo-Fritid",
                "Plats i fritidsgårdens musikgrupp",
                starts,
                180,
            ),
        ],
    };
    let unit_id = id.to_owned();
    let plan = run
        .write(&staff.social, Action::PlanUpdate, move |unit| {
            plans::replace(unit, &unit_id, Ok(0), input)
        })
        .await?;
    let unit_id = id.to_owned();
    let agreed = run
        .write(&staff.social, Action::PlanAgree, move |unit| {
            plans::agree(unit, &unit_id, Ok(plan.version))
        })
        .await?;
    run.later(60 * 3);
    if let Some(police_measure) = agreed
        .measures
        .iter()
        .find(|m| m.agency == "polisen-orebro")
    {
        let (unit_id, measure_id) = (id.to_owned(), police_measure.id.clone());
        let version = agreed.version;
        run.write(&staff.police, Action::PlanMeasureUpdate, move |unit| {
            plans::update_measure(
                unit,
                &unit_id,
                &measure_id,
                Ok(version),
                MeasurePatch {
                    status: Some("ongoing".to_owned()),
                    progress_note: Some("Första samtalet hållet; bra kontakt.".to_owned()),
                },
            )
        })
        .await?;
    }
    run.later(60 * 6);
    let unit_id = id.to_owned();
    let current = run
        .read(&staff.social, Action::PlanRead, move |unit| {
            plans::read(unit, &unit_id)
        })
        .await?
        .map_or(0, |p| p.version);
    let held_on = run.today();
    let unit_id = id.to_owned();
    run.write(&staff.social, Action::PlanFollowUpCreate, move |unit| {
        plans::follow_up(
            unit,
            &unit_id,
            Ok(current),
            FollowUpInput {
                held_on,
                summary: "Närvaron har ökat; fortsätt som planerat.".to_owned(),
                next_follow_up_on: Some(held_on + Duration::days(35)),
            },
        )
    })
    .await?;
    Ok(())
}

/// The police and the school look at the case and its plan, and the police write a note.
async fn police_reads(run: &mut Demo<'_>, staff: &Staff, id: &str) -> Result<(), DemoError> {
    let seen = run
        .read_case(&staff.police, Action::CaseRead, id, cases::read)
        .await?;
    if seen.is_none() {
        return Ok(());
    }
    run.read_case(&staff.police, Action::PlanRead, id, plans::read)
        .await?;
    let unit_id = id.to_owned();
    run.write(&staff.police, Action::NoteCreate, move |unit| {
        notes::create(
            unit,
            &unit_id,
            NewNote {
                text: "Träffade den unge vid fritidsgården (demo).".to_owned(),
            },
        )
    })
    .await?;
    run.read_case(&staff.school, Action::CaseRead, id, cases::read)
        .await?;
    run.read_case(&staff.leisure, Action::PlanRead, id, plans::read)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo register shows every consent state DOMAIN.md names, and no consent at all.
    #[test]
    fn the_demo_tells_every_consent_state() {
        let states = [Active, Scheduled, Refused, Expired, Revoked, Superseded];
        for story in states
            .map(Story::Consent)
            .into_iter()
            .chain([Story::NoConsent])
        {
            assert!(CASES.iter().any(|case| case.4 == story), "{story:?}");
        }
    }

    #[test]
    fn demo_personal_numbers_are_valid() {
        let birth = NaiveDate::from_ymd_opt(2010, 6, 15).expect("a date");
        for serial in 980..990 {
            let number = personal_number(birth, serial);
            let today = NaiveDate::from_ymd_opt(2026, 12, 4).expect("a date");
            assert!(
                crate::domain::personal_number::parse(&number, today).is_ok(),
                "{number}"
            );
        }
    }
}
