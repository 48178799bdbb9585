//! The error of a unit of work as an HTTP response: RFC 9457 problem+json with its `code`,
//! and the headers some answers need (`WWW-Authenticate`, `Retry-After`, `Allow`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::UseCaseError;

impl ResponseError for UseCaseError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(message) = self {
            tracing::error!(error = %message, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        match self {
            Self::Unauthenticated(failed) => {
                // RFC 6750 §3: no error code when no credentials were sent; otherwise
                // `invalid_token` and which check failed (a fixed phrase, never the token).
                let value = match failed {
                    None => "Bearer".to_owned(),
                    Some(check) => {
                        format!("Bearer error=\"invalid_token\", error_description=\"{check}\"")
                    }
                };
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            Self::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::MethodNotAllowed(allowed) => {
                let list = allowed.join(", ");
                if let Ok(value) = HeaderValue::from_str(&list) {
                    response.insert_header((header::ALLOW, value));
                }
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}

impl From<actix_web::error::BlockingError> for UseCaseError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        Self::Internal("a unit of work panicked or its thread pool is gone".to_owned())
    }
}
