//! Reference data (API.md §4): partnership areas and the agency registry.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::Action;
use crate::authz::Resource;
use crate::db::DbConn;
use crate::domain::agency;
use crate::error::UseCaseError;
use crate::repo::reference::{self as repo, AgencyRow};
use crate::work::Unit;

/// A partnership area (partnerskapsområde).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AreaView {
    #[schema(example = "vivalla")]
    pub slug: String,
    #[schema(example = "Vivalla")]
    pub name: String,
}

/// An agency (förvaltning, myndighet or partner) in the registry.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AgencyView {
    #[schema(example = "polisen-orebro")]
    pub slug: String,
    #[schema(example = "Polisen, lokalpolisområde Örebro")]
    pub name: String,
    /// `social_services`, `police`, `school` or `partner`.
    #[schema(example = "police")]
    pub kind: String,
}

impl From<AgencyRow> for AgencyView {
    fn from(row: AgencyRow) -> Self {
        Self {
            slug: row.slug,
            name: row.name,
            kind: row.kind,
        }
    }
}

/// A new agency. `slug` must match `^[a-z0-9][a-z0-9-]{1,62}$`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgency {
    #[schema(example = "fritid-karlskoga")]
    pub slug: String,
    #[schema(example = "Fritid Karlskoga")]
    pub name: String,
    /// `social_services`, `police`, `school` or `partner`.
    #[schema(example = "partner")]
    pub kind: String,
}

/// The partnership areas (not audited: API.md §10).
pub fn areas(conn: &mut DbConn) -> Result<Vec<AreaView>, UseCaseError> {
    Ok(repo::areas(conn)?
        .into_iter()
        .map(|a| AreaView {
            slug: a.slug,
            name: a.name,
        })
        .collect())
}

/// The agency registry (not audited: API.md §10).
pub fn agencies(conn: &mut DbConn) -> Result<Vec<AgencyView>, UseCaseError> {
    Ok(repo::agencies(conn)?
        .into_iter()
        .map(AgencyView::from)
        .collect())
}

/// Registers an agency (role `admin`).
pub fn create_agency(unit: &mut Unit<'_>, input: NewAgency) -> Result<AgencyView, UseCaseError> {
    unit.authorize(Action::AgencyCreate, Resource::Registry)?;
    let errors = agency::validate_new(&input.slug, &input.name, &input.kind);
    if !errors.is_empty() {
        return Err(UseCaseError::Validation(errors));
    }
    if repo::agency_exists(unit.conn, &input.slug)? {
        return Err(UseCaseError::Conflict(format!(
            "an agency with slug {} is already registered",
            input.slug
        )));
    }
    let row = AgencyRow {
        slug: input.slug,
        name: input.name.trim().to_owned(),
        kind: input.kind,
        created_at: unit.now.naive_utc(),
    };
    repo::insert_agency(unit.conn, &row)?;
    Ok(AgencyView::from(row))
}
