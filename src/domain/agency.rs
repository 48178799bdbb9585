//! Agencies (förvaltningar and myndigheter) in the registry.

use super::FieldError;

pub const KINDS: [&str; 4] = ["social_services", "police", "school", "partner"];
const MAX_NAME_CHARS: usize = 200;

/// `^[a-z0-9][a-z0-9-]{1,62}$` (API.md §4).
pub fn is_valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    (2..=63).contains(&bytes.len())
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Every broken rule of a new agency, one entry per field.
pub fn validate_new(slug: &str, name: &str, kind: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !is_valid_slug(slug) {
        errors.push(FieldError::new(
            "slug",
            "must be 2–63 characters: lower-case a–z, digits and '-', starting with a letter or digit",
        ));
    }
    let name_chars = name.trim().chars().count();
    if name_chars == 0 || name_chars > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            "name",
            format!("must be 1–{MAX_NAME_CHARS} characters"),
        ));
    }
    if !KINDS.contains(&kind) {
        errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", KINDS.join(", ")),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rule_matches_the_contract() {
        for good in ["ab", "a-", "0x", "fritid-karlskoga", &"q".repeat(63)] {
            assert!(is_valid_slug(good), "{good} should be valid");
        }
        for bad in [
            "",
            "x",
            "-a",
            "Ab",
            "a b",
            "åäö-slug",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_slug(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn every_broken_field_is_named_once() {
        let errors = validate_new("X", "", "ministry");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["slug", "name", "kind"]);
    }
}

/// What the caller's agency is, as the registry knows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AgencyFacts {
    pub slug: String,
    pub kind: String,
}
