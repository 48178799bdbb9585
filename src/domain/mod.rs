//! Pure rules with no HTTP and no SQL.

pub mod agency;
pub mod case;
pub mod consent;
pub mod personal_number;
pub mod retention;

/// A UUID in its normal form, or `None` when `text` is not one.
pub fn uuid_text(text: &str) -> Option<String> {
    uuid::Uuid::parse_str(text).ok().map(|id| id.to_string())
}

/// One broken rule of a well-formed request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `youth.personal_number` or `guardians[0].has_custody`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
