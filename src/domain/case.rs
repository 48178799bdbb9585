//! Rules of a case (ärende) with no HTTP and no SQL: its status, and who it is for.

use chrono::NaiveDate;

use super::personal_number::age_on;
use super::FieldError;

/// A case's status: `open` until a consent lets it become `active`; `closed` is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Active,
    Closed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 3] = [CaseStatus::Open, CaseStatus::Active, CaseStatus::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Active => "active",
            CaseStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a stored status is this one.
    pub fn is(self, stored: &str) -> bool {
        stored == self.as_str()
    }
}

/// The youngest and oldest a young person in SIG may be, and the ages it is meant for.
pub const MIN_AGE: i32 = 12;
pub const MAX_AGE: i32 = 25;
pub const INTENDED_FROM_AGE: i32 = 15;
/// Under this age a guardian with custody is needed.
pub const ADULT_AGE: i32 = 18;

/// What the age rules say of a young person born on `birth`, `today`.
#[derive(Debug, PartialEq, Eq)]
pub struct AgeCheck {
    pub minor: bool,
    /// A case may be opened, with this said about it (12–14: SIG is meant for 15–25).
    pub warning: Option<String>,
}

/// 12–25 may have a case; 12–14 with a warning; under 18 needs a guardian with custody.
pub fn check_age(birth: NaiveDate, today: NaiveDate) -> Result<AgeCheck, String> {
    let age = age_on(birth, today);
    if !(MIN_AGE..=MAX_AGE).contains(&age) {
        return Err(format!(
            "the young person must be {MIN_AGE}–{MAX_AGE} years old (is {age})"
        ));
    }
    Ok(AgeCheck {
        minor: age < ADULT_AGE,
        warning: (age < INTENDED_FROM_AGE)
            .then(|| format!("the young person is {age}: SIG is meant for ages 15–25")),
    })
}

/// A text field's length rule: trimmed, at most `max` characters, and not empty if `required`.
pub fn text_rule(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ages_twelve_to_twenty_five_may_have_a_case() {
        let today = day(2026, 12, 4);
        assert!(check_age(day(2014, 12, 5), today).is_err());
        let twelve = check_age(day(2014, 12, 4), today).unwrap();
        assert!(twelve.minor && twelve.warning.is_some());
        let fifteen = check_age(day(2011, 12, 4), today).unwrap();
        assert!(fifteen.minor && fifteen.warning.is_none());
        let eighteen = check_age(day(2008, 12, 4), today).unwrap();
        assert!(!eighteen.minor);
        assert!(check_age(day(2000, 12, 5), today).is_ok());
        assert!(check_age(day(2000, 12, 4), today).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for status in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(CaseStatus::parse("archived"), None);
    }
}
