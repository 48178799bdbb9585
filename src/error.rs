//! Every way a unit of work can end other than in success, with the `code`, status and
//! problem+json body a client sees (API.md §3), free of the HTTP framework: the API and the
//! pages turn it into a response (`api::problem`), the audit event records its status and
//! code. Database, pool and internal failures never show their text to a client: they are
//! logged (without personal data) and answered as `unavailable` or `internal`.

use serde::Serialize;

pub use crate::domain::FieldError;

/// How a unit of work (a use case, a job) ends when it does not succeed. The API and the
/// pages answer with it; the audit event records its status and code.
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    #[error("{0}")]
    BadRequest(String),
    /// With which check failed (`None`: no credentials were sent); never names the token.
    #[error("a valid bearer token is required")]
    Unauthenticated(Option<&'static str>),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    ConsentRequired(String),
    #[error("the token's agency is not registered")]
    UnknownAgency,
    #[error("{0}")]
    NotFound(String),
    #[error("this resource does not accept that method")]
    MethodNotAllowed(Vec<&'static str>),
    #[error("{0}")]
    Conflict(String),
    #[error("If-Match does not match the current ETag")]
    PreconditionFailed,
    #[error("the request body is larger than 256 KiB")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body did not arrive within the time limit.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("the request breaks one or more rules")]
    Validation(Vec<FieldError>),
    #[error("this write needs an If-Match header with the current ETag")]
    PreconditionRequired,
    #[error("too many requests; try again later")]
    RateLimited { retry_after_secs: u64 },
    /// The database or the audit log is unavailable; nothing was disclosed or changed.
    #[error("the service cannot reach its database right now; nothing was disclosed or changed")]
    Unavailable,
    /// A bug. The text is logged, never sent.
    #[error("an internal error occurred")]
    Internal(String),
}

/// The problem+json body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl UseCaseError {
    /// The HTTP status this answer carries (also recorded in the audit event).
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) | Self::ConsentRequired(_) | Self::UnknownAgency => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::Conflict(_) => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::RequestTimeout => 408,
            Self::Validation(_) => 422,
            Self::PreconditionRequired => 428,
            Self::RateLimited { .. } => 429,
            Self::Unavailable => 503,
            Self::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::ConsentRequired(_) => "consent_required",
            Self::UnknownAgency => "unknown_agency",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::RequestTimeout => "request_timeout",
            Self::Validation(_) => "validation_failed",
            Self::PreconditionRequired => "precondition_required",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "Bad request",
            Self::Unauthenticated(_) => "Authentication required",
            Self::Forbidden(_) => "Forbidden",
            Self::ConsentRequired(_) => "Consent required",
            Self::UnknownAgency => "Unknown agency",
            Self::NotFound(_) => "Not found",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::Conflict(_) => "Conflict",
            Self::PreconditionFailed => "Precondition failed",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType(_) => "Unsupported media type",
            Self::RequestTimeout => "Request timeout",
            Self::Validation(_) => "Validation failed",
            Self::PreconditionRequired => "Precondition required",
            Self::RateLimited { .. } => "Too many requests",
            Self::Unavailable => "Service unavailable",
            Self::Internal(_) => "Internal error",
        }
    }

    pub fn problem(&self) -> Problem {
        let code = self.code();
        Problem {
            kind: format!("urn:sig-register:problem:{code}"),
            title: self.title().to_owned(),
            status: self.status(),
            detail: self.to_string(),
            code: code.to_owned(),
            errors: match self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<crate::audit::log::NotRecorded> for UseCaseError {
    fn from(_: crate::audit::log::NotRecorded) -> Self {
        Self::Unavailable
    }
}

impl From<crate::crypto::fields::SealError> for UseCaseError {
    fn from(error: crate::crypto::fields::SealError) -> Self {
        Self::Internal(format!("a sealed field: {error}"))
    }
}

impl From<diesel::result::Error> for UseCaseError {
    fn from(error: diesel::result::Error) -> Self {
        tracing::warn!(error = %error, "database error");
        Self::Unavailable
    }
}

impl From<diesel::r2d2::PoolError> for UseCaseError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %error, "no database connection");
        Self::Unavailable
    }
}
