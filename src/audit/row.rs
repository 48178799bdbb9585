//! An event as the `audit_events` table stores it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{json_list, AuditEvent, EventActor, NewEvent};
use crate::db::schema::audit_events;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub at: NaiveDateTime,
    pub actor_sub: Option<String>,
    pub actor_name: Option<String>,
    pub actor_agency: Option<String>,
    pub actor_roles: Option<String>,
    pub action: String,
    pub outcome: String,
    pub status: i32,
    pub case_ids: String,
    pub categories: String,
    pub consent_id: Option<String>,
    pub reason: String,
    pub request_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl EventRow {
    pub(super) fn new(seq: i64, e: &NewEvent, prev_hash: Vec<u8>, hash: Vec<u8>) -> Self {
        Self {
            seq,
            id: e.id.clone(),
            at: e.at,
            actor_sub: e.actor.sub.clone(),
            actor_name: e.actor.name.clone(),
            actor_agency: e.actor.agency.clone(),
            actor_roles: e.actor.roles.as_deref().map(json_list),
            action: e.action.clone(),
            outcome: e.outcome.clone(),
            status: e.status,
            case_ids: json_list(&e.case_ids),
            categories: json_list(&e.categories),
            consent_id: e.consent_id.clone(),
            reason: e.reason.clone(),
            request_id: e.request_id.clone(),
            method: e.method.clone(),
            path: e.path.clone(),
            prev_hash,
            hash,
        }
    }

    /// The event's canonical encoding, from the stored fields as they are.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(640);
        super::write_canonical(&mut out, &self.fields());
        out
    }

    /// The stored fields as the canonical encoding and the tree's leaf read them.
    pub fn fields(&self) -> super::CanonicalFields<'_> {
        super::CanonicalFields {
            seq: self.seq,
            id: &self.id,
            at: &self.at,
            actor_sub: self.actor_sub.as_deref(),
            actor_name: self.actor_name.as_deref(),
            actor_agency: self.actor_agency.as_deref(),
            actor_roles_json: self.actor_roles.as_deref(),
            action: &self.action,
            outcome: &self.outcome,
            status: self.status,
            case_ids_json: &self.case_ids,
            categories_json: &self.categories,
            consent_id: self.consent_id.as_deref(),
            reason: &self.reason,
            request_id: self.request_id.as_deref(),
            method: self.method.as_deref(),
            path: self.path.as_deref(),
        }
    }

    /// The event; `None` when a stored list is not readable JSON (only tampering does that).
    pub fn into_event(self) -> Option<AuditEvent> {
        let list = |text: &str| serde_json::from_str::<Vec<String>>(text).ok();
        let roles = match self.actor_roles.as_deref() {
            Some(text) => Some(list(text)?),
            None => None,
        };
        Some(AuditEvent {
            seq: self.seq,
            event: NewEvent {
                id: self.id,
                at: self.at,
                actor: EventActor {
                    sub: self.actor_sub,
                    name: self.actor_name,
                    agency: self.actor_agency,
                    roles,
                },
                action: self.action,
                outcome: self.outcome,
                status: self.status,
                case_ids: list(&self.case_ids)?,
                categories: list(&self.categories)?,
                consent_id: self.consent_id,
                reason: self.reason,
                request_id: self.request_id,
                method: self.method,
                path: self.path,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}
