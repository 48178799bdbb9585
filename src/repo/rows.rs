//! The rows of cases, guardians, consents and notes as stored (personal fields sealed), shared
//! by the portable queries and PostgreSQL's one-statement case read.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{cases, consent_parties, consents, guardians, notes};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: String,
    pub area: String,
    pub status: String,
    pub owner_agency: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub youth_pn_index: Option<Vec<u8>>,
    pub youth_personal_number: Option<Vec<u8>>,
    pub youth_given_name: Option<Vec<u8>>,
    pub youth_family_name: Option<Vec<u8>>,
    pub youth_phone: Option<Vec<u8>>,
    pub youth_address: Option<Vec<u8>>,
    pub youth_protected: bool,
    pub referral_source_agency: Option<String>,
    pub referral_reason: Option<Vec<u8>>,
    pub closure_reason: Option<Vec<u8>>,
    pub closed_at: Option<NaiveDateTime>,
    /// Keep the case past its retention time until the hold is lifted.
    pub retention_hold: bool,
    /// Keep the case for the research archive instead of erasing it (a decision; the birth-day
    /// rule of DOMAIN.md applies on top of it).
    pub retention_archive: bool,
    pub archived_at: Option<NaiveDateTime>,
    pub erased_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = guardians)]
pub struct GuardianRow {
    pub id: String,
    pub case_id: String,
    pub position: i32,
    pub given_name: Vec<u8>,
    pub family_name: Vec<u8>,
    pub personal_number: Option<Vec<u8>>,
    pub phone: Option<Vec<u8>>,
    pub address: Option<Vec<u8>>,
    pub has_custody: bool,
    pub protected_identity: bool,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    pub id: String,
    pub case_id: String,
    pub purpose: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub evidence_ref: String,
    pub recorded_by_sub: String,
    pub recorded_by_name: String,
    pub recorded_at: NaiveDateTime,
    pub superseded_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by_party: Option<String>,
    pub revoked_guardian_id: Option<String>,
    pub revoke_reason: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = consent_parties)]
pub struct PartyRow {
    pub consent_id: String,
    pub position: i32,
    pub party: String,
    pub required: bool,
    pub guardian_id: Option<String>,
    pub decision: String,
    pub method: String,
    pub decided_on: NaiveDate,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = notes)]
pub struct NoteRow {
    pub id: String,
    pub case_id: String,
    pub category: String,
    pub agency: String,
    pub author_sub: String,
    pub author_name: String,
    pub created_at: NaiveDateTime,
    pub text: Vec<u8>,
}

/// A consent with everything recorded about it.
#[derive(Clone, Debug)]
pub struct Consent {
    pub row: ConsentRow,
    pub parties: Vec<PartyRow>,
    pub agencies: Vec<String>,
    pub categories: Vec<String>,
}

impl Consent {
    /// Some party whose decision was required said no.
    pub fn refused(&self) -> bool {
        self.parties
            .iter()
            .any(|p| p.required && p.decision == "refused")
    }
}
