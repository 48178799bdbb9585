//! Extractors whose failures look like every other error of the API (problem+json with a
//! `code`), and never echo what the client sent (it may be personal data).

use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::auth::{Actor, AuthError, Trigger};
use crate::error::{FieldError, UseCaseError};
use crate::state::AppState;

/// A UUID from the path, normalised; 400 `bad_request` naming `what` otherwise.
pub fn path_id(text: &str, what: &str) -> Result<String, UseCaseError> {
    uuid::Uuid::parse_str(text)
        .map(|id| id.to_string())
        .map_err(|_| UseCaseError::BadRequest(format!("the {what} id is not a UUID")))
}

/// The case id of a `/cases/{id}…` path, normalised; 400 `bad_request` when it is not a UUID.
#[derive(Debug)]
pub struct CaseId(pub String);

impl FromRequest for CaseId {
    type Error = UseCaseError;
    type Future = Ready<Result<CaseId, UseCaseError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.match_info().get("id").unwrap_or_default();
        ready(path_id(id, "case").map(CaseId))
    }
}

/// Request bodies above this are refused with 413 (API.md §3).
pub const BODY_LIMIT: usize = 256 * 1024;

/// Why authentication failed, kept on the request for the audit log.
#[derive(Clone, Copy, Debug)]
pub struct AuthFailure(pub AuthError);

/// A refused token past its address's limit: counted, not audited one by one
/// ([`crate::jobs::throttle`]).
#[derive(Clone, Copy, Debug)]
pub struct Throttled(pub std::net::IpAddr);

fn state_of(req: &HttpRequest) -> Result<&web::Data<AppState>, UseCaseError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| UseCaseError::Internal("application state is not registered".to_owned()))
}

impl FromRequest for Actor {
    type Error = UseCaseError;
    type Future = futures_util::future::Either<
        Ready<Result<Actor, UseCaseError>>,
        LocalBoxFuture<'static, Result<Actor, UseCaseError>>,
    >;

    /// Verifies the bearer token. With keys fetched from the identity provider, a set that is
    /// missing or past its lifetime is fetched first, and a token naming an unknown `kid` makes
    /// the set be fetched once more (at most once a minute) — on a blocking thread, so the
    /// worker goes on serving meanwhile.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        use futures_util::future::Either;
        let state = match state_of(req) {
            Ok(state) => state.clone(),
            Err(error) => return Either::Left(ready(Err(error))),
        };
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .map(|value| value.to_str().unwrap_or("").to_owned());
        let now = state.clock.now();
        let trigger = if state.auth.keys_due(now) {
            Trigger::Due
        } else {
            let result = state.auth.authenticate_header(header.as_deref(), now);
            match result {
                Err(AuthError::UnknownKey) if state.auth.may_fetch_for_unknown_kid(now) => {
                    Trigger::UnknownKid
                }
                result => return Either::Left(ready(settle(req, &state, result))),
            }
        };
        let req = req.clone();
        Either::Right(Box::pin(async move {
            let fetching = state.clone();
            if let Err(error) = web::block(move || fetching.auth.refresh_keys(now, trigger)).await {
                tracing::warn!(%error, "the identity provider's keys were not fetched");
            }
            let result = state.auth.authenticate_header(header.as_deref(), now);
            settle(&req, &state, result)
        }))
    }
}

/// The verdict on a token: the actor (under its rate limit), or 401 — 429 past the address's
/// limit of refused tokens — with the reason kept on the request for the audit log.
fn settle(
    req: &HttpRequest,
    state: &AppState,
    result: Result<Actor, AuthError>,
) -> Result<Actor, UseCaseError> {
    result
        .inspect(|actor| {
            // For the audit fallback: who sent a request that fails later (a bad body, say).
            req.extensions_mut().insert(actor.clone());
        })
        .map_err(|reason| {
            tracing::debug!(%reason, "token refused");
            req.extensions_mut().insert(AuthFailure(reason));
            let address = crate::limits::client_address(
                req.peer_addr().map(|a| a.ip()),
                req.headers()
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok()),
                &state.config.trusted_proxies,
            );
            match state.auth_failures.refuse(address) {
                Ok(()) => UseCaseError::Unauthenticated(reason.description()),
                Err(retry_after_secs) => {
                    req.extensions_mut().insert(Throttled(address));
                    UseCaseError::RateLimited { retry_after_secs }
                }
            }
        })
        .and_then(|actor| {
            state.rate_limits.check(&actor.sub)?;
            Ok(actor)
        })
}

/// A JSON body: `application/json` (415 otherwise), at most 256 KiB (413), syntactically JSON
/// (400), and of the expected shape (422 naming the field).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = UseCaseError;
    type Future = LocalBoxFuture<'static, Result<Self, UseCaseError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|length| length > BODY_LIMIT) {
            return Box::pin(ready(Err(UseCaseError::PayloadTooLarge)));
        }
        if !is_json(req) {
            return Box::pin(ready(Err(UseCaseError::UnsupportedMediaType(
                "send the body as application/json".to_owned(),
            ))));
        }
        let mut payload = payload.take();
        let limit = match state_of(req) {
            Ok(state) => Duration::from_secs(state.config.request_timeout_secs),
            Err(error) => return Box::pin(ready(Err(error))),
        };
        Box::pin(async move {
            let read = async {
                let mut body = web::BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|_| {
                        UseCaseError::BadRequest("the request body could not be read".to_owned())
                    })?;
                    if body.len() + chunk.len() > BODY_LIMIT {
                        return Err(UseCaseError::PayloadTooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = actix_web::rt::time::timeout(limit, read)
                .await
                .map_err(|_| UseCaseError::RequestTimeout)??;
            parse_json(&body).map(ApiJson)
        })
    }
}

/// Parses a body: first as JSON at all (400 on a syntax error, an empty body or trailing
/// characters), then into `T` (422 naming the field whose shape is wrong).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, UseCaseError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
        UseCaseError::BadRequest(format!(
            "the body is not valid JSON (line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        UseCaseError::Validation(vec![shape_error(&path, error.inner())])
    })
}

/// A field error from serde's message, keeping only what the schema says (the part after
/// "expected"), never the value that was sent.
fn shape_error(path: &str, error: &serde_json::Error) -> FieldError {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or("");
    let path = if path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    if let Some(rest) = text.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or("");
        let field = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldError::new(field, "is required");
    }
    if let Some(rest) = text.strip_prefix("unknown field `") {
        return unknown_field(&path, rest.split('`').next().unwrap_or(""));
    }
    let expected = text.split_once(", expected ").map(|(_, e)| e.to_owned());
    let field = if path.is_empty() {
        "body".to_owned()
    } else {
        path
    };
    let message = match expected {
        Some(expected) => format!("has the wrong type or value; expected {expected}"),
        None => "has the wrong type or value".to_owned(),
    };
    FieldError::new(field, message)
}

/// An unknown field is named, so the client sees its typo — but only a name that looks like a
/// field name: a key that could be data (digits first, spaces, over 64 characters) is not echoed.
fn unknown_field(path: &str, name: &str) -> FieldError {
    let looks_like_a_name = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let parent = path
        .strip_suffix(name)
        .map(|p| p.trim_end_matches('.'))
        .unwrap_or(path);
    let field = match (looks_like_a_name, parent.is_empty()) {
        (true, true) => name.to_owned(),
        (true, false) => format!("{parent}.{name}"),
        (false, true) => "body".to_owned(),
        (false, false) => parent.to_owned(),
    };
    let message = if looks_like_a_name {
        "is not a field of this request; check its spelling"
    } else {
        "has a field that is not part of this request"
    };
    FieldError::new(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        personal_number: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        youth: Inner,
        count: u32,
    }

    fn fields(result: Result<Outer, UseCaseError>) -> Vec<FieldError> {
        match result {
            Err(UseCaseError::Validation(errors)) => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(
            parse_json::<Outer>(b"{\"youth\": "),
            Err(UseCaseError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Outer>(b"{text: 'x'}"),
            Err(UseCaseError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Outer>(b"{\"youth\":{\"personal_number\":\"1\"},\"count\":1} x"),
            Err(UseCaseError::BadRequest(_))
        ));
    }

    #[test]
    fn shape_errors_name_the_field_but_never_the_value() {
        let errors = fields(parse_json(
            b"{\"youth\":{\"personal_number\":200811122381},\"count\":1}",
        ));
        assert_eq!(errors[0].field, "youth.personal_number");
        assert!(
            !errors[0].message.contains("200811122381"),
            "{}",
            errors[0].message
        );
        let errors = fields(parse_json(b"{\"youth\":{}, \"count\": 1}"));
        assert_eq!(errors[0].field, "youth.personal_number");
        let errors = fields(parse_json(b"{\"youth\":{\"personal_number\":\"1\"}}"));
        assert_eq!(errors[0].field, "count");
    }

    #[test]
    fn unknown_fields_are_named_unless_they_look_like_data() {
        let errors = fields(parse_json(
            b"{\"youth\":{\"personal_number\":\"1\",\"protected_identiy\":true},\"count\":1}",
        ));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "youth.protected_identiy");
        assert!(
            errors[0].message.contains("spelling"),
            "{}",
            errors[0].message
        );
        let errors = fields(parse_json(
            b"{\"youth\":{\"personal_number\":\"1\"},\"count\":1,\"id\":\"x\"}",
        ));
        assert_eq!(errors[0].field, "id");
        let errors = fields(parse_json(
            b"{\"youth\":{\"personal_number\":\"1\",\"200811122381\":1},\"count\":1}",
        ));
        assert_eq!(errors[0].field, "youth");
        assert!(!errors[0].message.contains("200811122381"));
        let errors = fields(parse_json(
            b"{\"Anna Andersson\":1,\"youth\":{\"personal_number\":\"1\"},\"count\":1}",
        ));
        assert_eq!(errors[0].field, "body");
        assert!(!errors[0].message.contains("Anna"));
    }
}
