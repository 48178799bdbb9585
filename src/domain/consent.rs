//! Consent (*samtycke*): who must decide, when a consent is in force, and what it covers
//! (DOMAIN.md "Consent — the rules", API.md §6).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::personal_number::age_on;
use super::FieldError;

/// The categories of case data a consent can cover.
pub const CATEGORIES: [&str; 6] = [
    "identity",
    "plan",
    "social_notes",
    "police_notes",
    "school_notes",
    "partner_notes",
];

/// A consent lasts at most this long (DOMAIN.md rule 7).
pub const MAX_VALIDITY_DAYS: i64 = 365;
const MAX_TEXT: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Active,
    Scheduled,
    Refused,
    Expired,
    Revoked,
    Superseded,
}

impl ConsentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Active => "active",
            ConsentState::Scheduled => "scheduled",
            ConsentState::Refused => "refused",
            ConsentState::Expired => "expired",
            ConsentState::Revoked => "revoked",
            ConsentState::Superseded => "superseded",
        }
    }
}

/// What decides a consent's state.
#[derive(Clone, Copy, Debug)]
pub struct StateFacts {
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub revoked: bool,
    pub superseded: bool,
    /// Some required party refused.
    pub refused: bool,
}

/// The state on `today` (Europe/Stockholm). A revocation stays visible in the history; a newer
/// consent supersedes everything older; a refusal by any required party blocks sharing.
pub fn state(facts: &StateFacts, today: NaiveDate) -> ConsentState {
    if facts.revoked {
        ConsentState::Revoked
    } else if facts.superseded {
        ConsentState::Superseded
    } else if facts.refused {
        ConsentState::Refused
    } else if today < facts.valid_from {
        ConsentState::Scheduled
    } else if today > facts.valid_until {
        ConsentState::Expired
    } else {
        ConsentState::Active
    }
}

/// The notes category an agency of `kind` writes in.
pub fn note_category(agency_kind: &str) -> &'static str {
    match agency_kind {
        "social_services" => "social_notes",
        "police" => "police_notes",
        "school" => "school_notes",
        _ => "partner_notes",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Given,
    Refused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Written,
    Oral,
}

/// A guardian of the case as consent rules see them.
#[derive(Clone, Debug)]
pub struct GuardianFacts {
    pub id: String,
    pub has_custody: bool,
}

/// One party's decision as sent.
#[derive(Clone, Debug)]
pub struct PartyInput {
    pub guardian_id: Option<String>,
    pub decision: Decision,
    pub decided_on: NaiveDate,
}

/// A consent as sent, reduced to what the rules check.
#[derive(Clone, Debug)]
pub struct ConsentInput<'a> {
    pub youth: Option<&'a PartyInput>,
    pub guardians: Vec<&'a PartyInput>,
    pub agencies: &'a [String],
    pub categories: &'a [String],
    pub purpose: &'a str,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub evidence_ref: &'a str,
}

/// Which parties must decide: the youth always; every guardian with custody while the youth is
/// under 18 on `valid_from` (from the 18th birthday guardians are no longer parties).
pub fn required_guardians(
    guardians: &[GuardianFacts],
    youth_birth: NaiveDate,
    valid_from: NaiveDate,
) -> Vec<String> {
    if age_on(youth_birth, valid_from) >= 18 {
        return Vec::new();
    }
    guardians
        .iter()
        .filter(|g| g.has_custody)
        .map(|g| g.id.clone())
        .collect()
}

/// Every broken rule of a new consent, one entry per field. `agency_exists` answers for the
/// registry.
pub fn validate(
    input: &ConsentInput<'_>,
    guardians: &[GuardianFacts],
    youth_birth: NaiveDate,
    today: NaiveDate,
    agency_exists: &dyn Fn(&str) -> bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match input.youth {
        None => errors.push(FieldError::new(
            "youth",
            "the young person's own decision is required",
        )),
        Some(youth) if youth.decided_on > today => {
            errors.push(FieldError::new(
                "youth.decided_on",
                "must not be in the future",
            ));
        }
        Some(_) => {}
    }
    let mut seen = std::collections::HashSet::new();
    for (index, party) in input.guardians.iter().enumerate() {
        let field = format!("guardians[{index}]");
        match &party.guardian_id {
            Some(id) if guardians.iter().any(|g| &g.id == id) => {
                if !seen.insert(id.clone()) {
                    errors.push(FieldError::new(
                        format!("{field}.guardian_id"),
                        "this guardian's decision is given twice",
                    ));
                }
            }
            _ => errors.push(FieldError::new(
                format!("{field}.guardian_id"),
                "is not a guardian of this case",
            )),
        }
        if party.decided_on > today {
            errors.push(FieldError::new(
                format!("{field}.decided_on"),
                "must not be in the future",
            ));
        }
    }
    let missing: Vec<String> = required_guardians(guardians, youth_birth, input.valid_from)
        .into_iter()
        .filter(|id| !seen.contains(id))
        .collect();
    if !missing.is_empty() {
        errors.push(FieldError::new(
            "guardians",
            format!(
                "the young person is under 18 on valid_from: a decision of every guardian with custody is required (missing: guardian {})",
                missing.join(", guardian ")
            ),
        ));
    }
    if input.valid_until < input.valid_from {
        errors.push(FieldError::new(
            "valid_until",
            "must not be before valid_from",
        ));
    } else if (input.valid_until - input.valid_from).num_days() > MAX_VALIDITY_DAYS {
        errors.push(FieldError::new(
            "valid_until",
            format!("must be at most {MAX_VALIDITY_DAYS} days after valid_from"),
        ));
    }
    if input.agencies.is_empty() {
        errors.push(FieldError::new(
            "agencies",
            "name at least one agency that may receive the data",
        ));
    } else if let Some(unknown) = input.agencies.iter().find(|a| !agency_exists(a)) {
        errors.push(FieldError::new(
            "agencies",
            format!("{unknown} is not a registered agency"),
        ));
    }
    if input.categories.is_empty() {
        errors.push(FieldError::new("categories", "name at least one category"));
    } else if input
        .categories
        .iter()
        .any(|c| !CATEGORIES.contains(&c.as_str()))
    {
        errors.push(FieldError::new(
            "categories",
            format!("each must be one of {}", CATEGORIES.join(", ")),
        ));
    }
    for (field, value) in [
        ("purpose", input.purpose),
        ("evidence_ref", input.evidence_ref),
    ] {
        let length = value.trim().chars().count();
        if length == 0 || length > MAX_TEXT {
            errors.push(FieldError::new(
                field,
                format!("is required (at most {MAX_TEXT} characters)"),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn facts(from: &str, until: &str) -> StateFacts {
        StateFacts {
            valid_from: d(from),
            valid_until: d(until),
            revoked: false,
            superseded: false,
            refused: false,
        }
    }

    #[test]
    fn every_state_follows_its_rule() {
        let today = d("2026-11-23");
        assert_eq!(
            state(&facts("2026-11-22", "2027-05-21"), today),
            ConsentState::Active
        );
        assert_eq!(
            state(&facts("2026-11-23", "2026-11-23"), today),
            ConsentState::Active,
            "both ends count"
        );
        assert_eq!(
            state(&facts("2026-11-24", "2027-05-21"), today),
            ConsentState::Scheduled
        );
        assert_eq!(
            state(&facts("2025-11-24", "2026-11-22"), today),
            ConsentState::Expired
        );
        let refused = StateFacts {
            refused: true,
            ..facts("2026-11-22", "2027-05-21")
        };
        assert_eq!(state(&refused, today), ConsentState::Refused);
        let superseded = StateFacts {
            superseded: true,
            ..refused
        };
        assert_eq!(state(&superseded, today), ConsentState::Superseded);
        let revoked = StateFacts {
            revoked: true,
            ..superseded
        };
        assert_eq!(
            state(&revoked, today),
            ConsentState::Revoked,
            "a revocation stays visible"
        );
    }

    #[test]
    fn guardians_with_custody_decide_until_the_eighteenth_birthday() {
        let guardians = vec![
            GuardianFacts {
                id: "g1".into(),
                has_custody: true,
            },
            GuardianFacts {
                id: "g2".into(),
                has_custody: true,
            },
            GuardianFacts {
                id: "g3".into(),
                has_custody: false,
            },
        ];
        let birth = d("2008-11-24");
        assert_eq!(
            required_guardians(&guardians, birth, d("2026-11-23")),
            ["g1", "g2"],
            "joint custody: both"
        );
        assert!(
            required_guardians(&guardians, birth, d("2026-11-24")).is_empty(),
            "18 on valid_from"
        );
    }

    #[test]
    fn a_missing_required_decision_names_the_party() {
        let guardians = vec![GuardianFacts {
            id: "g1".into(),
            has_custody: true,
        }];
        let youth = PartyInput {
            guardian_id: None,
            decision: Decision::Given,
            decided_on: d("2026-11-20"),
        };
        let agencies = vec!["polisen-orebro".to_owned()];
        let categories = vec!["identity".to_owned()];
        let input = ConsentInput {
            youth: Some(&youth),
            guardians: vec![],
            agencies: &agencies,
            categories: &categories,
            purpose: "sig_joint_plan",
            valid_from: d("2026-11-22"),
            valid_until: d("2027-11-23"),
            evidence_ref: "form-1",
        };
        let errors = validate(
            &input,
            &guardians,
            d("2010-01-01"),
            d("2026-11-23"),
            &|_| true,
        );
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["guardians", "valid_until"], "{errors:?}");
        assert!(errors[0].message.contains("g1"));
        let no_youth = ConsentInput {
            youth: None,
            ..input.clone()
        };
        let errors = validate(
            &no_youth,
            &guardians,
            d("2000-01-01"),
            d("2026-11-23"),
            &|_| true,
        );
        assert_eq!(errors[0].field, "youth");
    }
}
