//! The register's use cases, free of HTTP: each is a function of an open unit of work
//! ([`crate::work::Unit`]) and a typed input that returns a typed view (`Serialize` +
//! `ToSchema`, the bodies the OpenAPI document names) or an [`UseCaseError`]. The API's handlers
//! and the web pages call the same functions through [`crate::work::run`] / [`crate::work::read`],
//! so both answer with exactly what the policy set lets the caller see, and both leave one
//! audit event.

pub mod access;
pub mod audit;
pub mod cases;
pub mod consents;
pub mod notes;
pub mod plans;
pub mod reference;
pub mod reviews;
pub mod stats;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::retention::ERASED;
use crate::error::UseCaseError;
use crate::repo::cases::CaseRow;

/// A list without paging: `{"items": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A view that carries the version its `ETag` names.
pub trait Versioned {
    fn version(&self) -> i64;
}

/// 412 unless the client's `If-Match` version (or why it has none) is `current`.
pub fn require_version(
    expected: Result<i64, UseCaseError>,
    current: i64,
) -> Result<(), UseCaseError> {
    if expected? == current {
        Ok(())
    } else {
        Err(UseCaseError::PreconditionFailed)
    }
}

/// 409 when retention has erased or archived the case: neither takes changes any more.
pub fn refuse_changes(row: &CaseRow) -> Result<(), UseCaseError> {
    if row.erased_at.is_some() {
        return Err(UseCaseError::Conflict(ERASED.to_owned()));
    }
    if row.archived_at.is_some() {
        return Err(UseCaseError::Conflict(
            "the case is kept for the research archive and no longer changes".to_owned(),
        ));
    }
    Ok(())
}

/// A UUID given as a cursor or an id in a query; 400 when it is not one.
pub fn query_id(text: &str, message: &str) -> Result<String, UseCaseError> {
    crate::domain::uuid_text(text).ok_or_else(|| UseCaseError::BadRequest(message.to_owned()))
}

/// The young person's name as sealed in `row` ("" when erased). Only for a caller the policy
/// set lets see `identity` of the case, and who says so in the event's categories.
pub fn youth_name(unit: &crate::work::Unit<'_>, row: &CaseRow) -> Result<String, UseCaseError> {
    use crate::crypto::columns::Column;
    let open = |column, sealed: Option<&Vec<u8>>| {
        sealed
            .map(|s| unit.crypto().open_text(column, &row.id, s))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let given = open(Column::YouthGivenName, row.youth_given_name.as_ref())?;
    let family = open(Column::YouthFamilyName, row.youth_family_name.as_ref())?;
    Ok(format!("{given} {family}").trim().to_owned())
}
