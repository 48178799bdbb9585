//! The audit log (API.md §10): one event per request, in a SHA-256 hash chain, with signed
//! checkpoints, append-only in the database itself.
//!
//! Canonical encoding (what an auditor re-computes with their own tool): the event as compact
//! JSON (no spaces) with its keys in this fixed, alphabetical order — `action`, `actor` (`agency`,
//! `name`, `roles`, `sub`), `at`, `case_ids`, `categories`, `consent_id`, `id`, `method`,
//! `outcome`, `path`, `reason`, `request_id`, `seq`, `status` — absent values as `null`, strings
//! escaped as JSON requires (non-ASCII left as UTF-8), `at` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
//! `hash = SHA-256(prev_hash ‖ canonical)` over the raw 32 bytes of `prev_hash` (32 zero bytes
//! for `seq` 1) followed by the canonical bytes. Checkpoints sign the UTF-8 text
//! `"{seq}\n{hash}\n{at}"` (hash in lowercase hex) with the audit Ed25519 key.

mod batch_pg;
pub mod chain;
pub mod cosign;
pub mod export;
pub mod extract;
pub mod latest;
pub mod leaf;
pub mod log;
pub mod merkle;
pub mod note;
pub mod query;
mod row;
pub mod scan;
pub mod tree;
pub mod verify;
pub mod witness;
pub mod writer;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use serde::Serialize;

use crate::auth::Actor;
use crate::clock::rfc3339_naive;
use crate::crypto::keys::hex;

/// Every action of API.md §10, plus `request.unmatched` for requests to no route and the
/// retention job's `case.erase` and `case.archive`, and the web sessions' `session.*` (UI.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    CaseCreate,
    CaseList,
    CaseRead,
    CaseUpdate,
    ConsentCreate,
    ConsentList,
    ConsentRevoke,
    PlanRead,
    PlanUpdate,
    PlanAgree,
    PlanMeasureUpdate,
    PlanFollowUpCreate,
    PlanVersionsRead,
    NoteCreate,
    NoteList,
    /// A policy question only (reading one note category); events say `note.list`.
    NoteRead,
    AccessRead,
    AccessLogRead,
    AuditSearch,
    AuditExport,
    AuditVerify,
    AuditAnomalies,
    AuditCheckpoints,
    AuditReviewCreate,
    AuditReviewList,
    AuditProofInclusion,
    AuditProofConsistency,
    StatsRead,
    AgencyCreate,
    AuthFailed,
    AuthThrottled,
    RequestUnmatched,
    CaseErase,
    CaseArchive,
    SessionLogin,
    SessionLogout,
    SessionExpired,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CaseCreate => "case.create",
            Action::CaseList => "case.list",
            Action::CaseRead => "case.read",
            Action::CaseUpdate => "case.update",
            Action::ConsentCreate => "consent.create",
            Action::ConsentList => "consent.list",
            Action::ConsentRevoke => "consent.revoke",
            Action::PlanRead => "plan.read",
            Action::PlanUpdate => "plan.update",
            Action::PlanAgree => "plan.agree",
            Action::PlanMeasureUpdate => "plan.measure.update",
            Action::PlanFollowUpCreate => "plan.follow_up.create",
            Action::PlanVersionsRead => "plan.versions.read",
            Action::NoteCreate => "note.create",
            Action::NoteList => "note.list",
            Action::NoteRead => "note.read",
            Action::AccessRead => "access.read",
            Action::AccessLogRead => "access_log.read",
            Action::AuditSearch => "audit.search",
            Action::AuditExport => "audit.export",
            Action::AuditVerify => "audit.verify",
            Action::AuditAnomalies => "audit.anomalies",
            Action::AuditCheckpoints => "audit.checkpoints",
            Action::AuditReviewCreate => "audit.review.create",
            Action::AuditReviewList => "audit.review.list",
            Action::AuditProofInclusion => "audit.proof.inclusion",
            Action::AuditProofConsistency => "audit.proof.consistency",
            Action::StatsRead => "stats.read",
            Action::AgencyCreate => "agency.create",
            Action::AuthFailed => "auth.failed",
            Action::AuthThrottled => "auth.throttled",
            Action::RequestUnmatched => "request.unmatched",
            Action::CaseErase => "case.erase",
            Action::CaseArchive => "case.archive",
            Action::SessionLogin => "session.login",
            Action::SessionLogout => "session.logout",
            Action::SessionExpired => "session.expired",
        }
    }
}

/// The one map from an API route (method and matched pattern) to the audit action it stands
/// for: the event of every handled request and the fallback event of a refused one take their
/// action from here (a test in `openapi` holds it to the documented operations). The reference reads `GET /areas` and `GET /agencies` are not audited
/// (API.md §10) and have none.
pub const ROUTE_ACTIONS: [(&str, &str, Action); 29] = [
    ("POST", "/api/v1/agencies", Action::AgencyCreate),
    ("GET", "/api/v1/cases", Action::CaseList),
    ("POST", "/api/v1/cases", Action::CaseCreate),
    ("GET", "/api/v1/cases/{id}", Action::CaseRead),
    ("PATCH", "/api/v1/cases/{id}", Action::CaseUpdate),
    ("GET", "/api/v1/cases/{id}/consents", Action::ConsentList),
    ("POST", "/api/v1/cases/{id}/consents", Action::ConsentCreate),
    (
        "POST",
        "/api/v1/cases/{id}/consents/{consent_id}/revoke",
        Action::ConsentRevoke,
    ),
    ("GET", "/api/v1/cases/{id}/access", Action::AccessRead),
    (
        "GET",
        "/api/v1/cases/{id}/access-log",
        Action::AccessLogRead,
    ),
    ("GET", "/api/v1/cases/{id}/plan", Action::PlanRead),
    ("PUT", "/api/v1/cases/{id}/plan", Action::PlanUpdate),
    ("POST", "/api/v1/cases/{id}/plan/agree", Action::PlanAgree),
    (
        "PATCH",
        "/api/v1/cases/{id}/plan/measures/{measure_id}",
        Action::PlanMeasureUpdate,
    ),
    (
        "POST",
        "/api/v1/cases/{id}/plan/follow-ups",
        Action::PlanFollowUpCreate,
    ),
    (
        "GET",
        "/api/v1/cases/{id}/plan/versions",
        Action::PlanVersionsRead,
    ),
    (
        "GET",
        "/api/v1/cases/{id}/plan/versions/{version}",
        Action::PlanVersionsRead,
    ),
    ("GET", "/api/v1/cases/{id}/notes", Action::NoteList),
    ("POST", "/api/v1/cases/{id}/notes", Action::NoteCreate),
    ("GET", "/api/v1/audit/events", Action::AuditSearch),
    ("GET", "/api/v1/audit/events/export", Action::AuditExport),
    ("GET", "/api/v1/audit/verify", Action::AuditVerify),
    ("GET", "/api/v1/audit/checkpoints", Action::AuditCheckpoints),
    ("GET", "/api/v1/audit/anomalies", Action::AuditAnomalies),
    ("POST", "/api/v1/audit/reviews", Action::AuditReviewCreate),
    ("GET", "/api/v1/audit/reviews", Action::AuditReviewList),
    (
        "GET",
        "/api/v1/audit/events/{seq}/inclusion",
        Action::AuditProofInclusion,
    ),
    (
        "GET",
        "/api/v1/audit/consistency",
        Action::AuditProofConsistency,
    ),
    ("GET", "/api/v1/stats", Action::StatsRead),
];

impl Action {
    /// The action of a route; `request.unmatched` for a request that matched no route.
    pub fn of_route(method: &str, pattern: Option<&str>) -> Action {
        pattern
            .and_then(|pattern| {
                ROUTE_ACTIONS
                    .iter()
                    .find(|(m, p, _)| *m == method && *p == pattern)
            })
            .map_or(Action::RequestUnmatched, |(_, _, action)| *action)
    }
}

/// `allowed` below 400, `denied` for 4xx, `error` for 5xx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Denied,
    Error,
}

impl Outcome {
    pub fn of_status(status: u16) -> Self {
        match status {
            0..=399 => Outcome::Allowed,
            400..=499 => Outcome::Denied,
            _ => Outcome::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

/// Who acted, as recorded: the token's identity, or nothing for `auth.failed`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EventActor {
    pub sub: Option<String>,
    pub name: Option<String>,
    pub agency: Option<String>,
    pub roles: Option<Vec<String>>,
}

impl From<&Actor> for EventActor {
    fn from(actor: &Actor) -> Self {
        Self {
            sub: Some(actor.sub.clone()),
            name: Some(actor.name.clone()),
            agency: Some(actor.agency.clone()),
            roles: Some(actor.roles.iter().map(|r| r.as_str().to_owned()).collect()),
        }
    }
}

/// The fields of one audit event: who did what, to which cases, with what outcome. Before it
/// joins the chain it has no `seq` or hashes; an `AuditEvent` adds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEventFields)]
pub struct NewEvent {
    pub id: String,
    #[serde(serialize_with = "crate::clock::api_time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: NaiveDateTime,
    pub actor: EventActor,
    pub action: String,
    pub outcome: String,
    pub status: i32,
    pub case_ids: Vec<String>,
    pub categories: Vec<String>,
    pub consent_id: Option<String>,
    pub reason: String,
    pub request_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
}

/// An event as stored and as the API shows it: its place in the chain, its fields, its hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub seq: i64,
    #[serde(flatten)]
    pub event: NewEvent,
    #[serde(serialize_with = "as_hex")]
    #[schema(value_type = String)]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "as_hex")]
    #[schema(value_type = String)]
    pub hash: Vec<u8>,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(bytes))
}

/// Times in the log carry microseconds, as both databases store them.
pub fn to_micros(at: DateTime<Utc>) -> NaiveDateTime {
    let naive = at.naive_utc();
    naive
        .with_nanosecond(naive.nanosecond() / 1_000 * 1_000)
        .unwrap_or(naive)
}

/// The fields of one event as the canonical encoding reads them, borrowed: the lists
/// (`roles`, `case_ids`, `categories`) as their compact JSON text, exactly as stored. Appending
/// and verifying both encode through this one writer, so they cannot drift apart.
#[derive(Clone, Copy, Debug)]
pub struct CanonicalFields<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub at: &'a NaiveDateTime,
    pub actor_sub: Option<&'a str>,
    pub actor_name: Option<&'a str>,
    pub actor_agency: Option<&'a str>,
    pub actor_roles_json: Option<&'a str>,
    pub action: &'a str,
    pub outcome: &'a str,
    pub status: i32,
    pub case_ids_json: &'a str,
    pub categories_json: &'a str,
    pub consent_id: Option<&'a str>,
    pub reason: &'a str,
    pub request_id: Option<&'a str>,
    pub method: Option<&'a str>,
    pub path: Option<&'a str>,
}

/// A list as the log stores it and the canonical encoding writes it: compact JSON.
pub fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Appends the canonical encoding of `f` to `out` (see the module documentation).
pub fn write_canonical(out: &mut Vec<u8>, f: &CanonicalFields<'_>) {
    fn text(out: &mut Vec<u8>, value: &str) {
        // serde_json's own escaping, written in place (no allocation).
        if serde_json::to_writer(&mut *out, value).is_err() {
            out.extend_from_slice(b"null");
        }
    }
    fn opt(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            Some(value) => text(out, value),
            None => out.extend_from_slice(b"null"),
        }
    }
    fn number(out: &mut Vec<u8>, value: i64) {
        out.extend_from_slice(value.to_string().as_bytes());
    }
    out.extend_from_slice(b"{\"action\":");
    text(out, f.action);
    out.extend_from_slice(b",\"actor\":{\"agency\":");
    opt(out, f.actor_agency);
    out.extend_from_slice(b",\"name\":");
    opt(out, f.actor_name);
    out.extend_from_slice(b",\"roles\":");
    out.extend_from_slice(f.actor_roles_json.unwrap_or("null").as_bytes());
    out.extend_from_slice(b",\"sub\":");
    opt(out, f.actor_sub);
    out.extend_from_slice(b"},\"at\":\"");
    write_time(out, f.at);
    out.extend_from_slice(b"\",\"case_ids\":");
    out.extend_from_slice(f.case_ids_json.as_bytes());
    out.extend_from_slice(b",\"categories\":");
    out.extend_from_slice(f.categories_json.as_bytes());
    out.extend_from_slice(b",\"consent_id\":");
    opt(out, f.consent_id);
    out.extend_from_slice(b",\"id\":");
    text(out, f.id);
    out.extend_from_slice(b",\"method\":");
    opt(out, f.method);
    out.extend_from_slice(b",\"outcome\":");
    text(out, f.outcome);
    out.extend_from_slice(b",\"path\":");
    opt(out, f.path);
    out.extend_from_slice(b",\"reason\":");
    text(out, f.reason);
    out.extend_from_slice(b",\"request_id\":");
    opt(out, f.request_id);
    out.extend_from_slice(b",\"seq\":");
    number(out, f.seq);
    out.extend_from_slice(b",\"status\":");
    number(out, i64::from(f.status));
    out.push(b'}');
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as [`rfc3339_naive`] writes it, without its formatter.
fn write_time(out: &mut Vec<u8>, at: &NaiveDateTime) {
    use chrono::Datelike;
    fn digits(out: &mut Vec<u8>, value: u32, width: usize) {
        let mut buf = [b'0'; 10];
        let mut v = value;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf[..width]);
    }
    let year = at.year();
    if !(0..=9999).contains(&year) {
        out.extend_from_slice(rfc3339_naive(at).as_bytes());
        return;
    }
    digits(out, year as u32, 4);
    out.push(b'-');
    digits(out, at.month(), 2);
    out.push(b'-');
    digits(out, at.day(), 2);
    out.push(b'T');
    digits(out, at.hour(), 2);
    out.push(b':');
    digits(out, at.minute(), 2);
    out.push(b':');
    digits(out, at.second(), 2);
    out.push(b'.');
    digits(out, at.nanosecond() / 1_000 % 1_000_000, 6);
    out.push(b'Z');
}

/// The canonical bytes of an event at `seq` (see the module documentation).
pub fn canonical(seq: i64, e: &NewEvent) -> Vec<u8> {
    with_fields(seq, e, |f| {
        let mut out = Vec::with_capacity(640);
        write_canonical(&mut out, f);
        out
    })
}

/// Runs `run` over the fields of an event at `seq`, as the canonical encoding and the tree's
/// leaf read them.
pub fn with_fields<R>(seq: i64, e: &NewEvent, run: impl FnOnce(&CanonicalFields<'_>) -> R) -> R {
    let roles = e.actor.roles.as_deref().map(json_list);
    let case_ids = json_list(&e.case_ids);
    let categories = json_list(&e.categories);
    run(&CanonicalFields {
        seq,
        id: &e.id,
        at: &e.at,
        actor_sub: e.actor.sub.as_deref(),
        actor_name: e.actor.name.as_deref(),
        actor_agency: e.actor.agency.as_deref(),
        actor_roles_json: roles.as_deref(),
        action: &e.action,
        outcome: &e.outcome,
        status: e.status,
        case_ids_json: &case_ids,
        categories_json: &categories,
        consent_id: e.consent_id.as_deref(),
        reason: &e.reason,
        request_id: e.request_id.as_deref(),
        method: e.method.as_deref(),
        path: e.path.as_deref(),
    })
}

/// The tree leaf hash of an event: made without its `seq` (the leaf does not hold it), so the
/// request's own thread can make it before the event joins the chain.
pub fn leaf_of(e: &NewEvent, key: &crate::crypto::keys::LeafKey) -> merkle::Hash {
    with_fields(0, e, |f| leaf::leaf_hash(key, f))
}

/// The case ids an event is indexed under in `audit_event_cases`: each once, in order. The
/// writer builds the index from it and `audit verify` checks the index against it.
pub fn case_set<T: Ord>(case_ids: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut set: Vec<T> = case_ids.into_iter().collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// `SHA-256(prev_hash ‖ canonical)`.
pub fn chain_hash(prev_hash: &[u8], canonical: &[u8]) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(prev_hash);
    context.update(canonical);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// The message a checkpoint signs.
pub fn checkpoint_message(seq: i64, hash: &[u8], at: &NaiveDateTime) -> String {
    format!("{seq}\n{}\n{}", hex(hash), rfc3339_naive(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> NewEvent {
        NewEvent {
            id: "0192f0c4-0000-7000-8000-000000000001".to_owned(),
            at: NaiveDateTime::parse_from_str("2026-11-23 09:15:00.123456", "%Y-%m-%d %H:%M:%S%.f")
                .unwrap(),
            actor: EventActor {
                sub: Some("po-1".to_owned()),
                name: Some("Per \"P\" Nilsson".to_owned()),
                agency: Some("polisen-orebro".to_owned()),
                roles: Some(vec!["police_officer".to_owned()]),
            },
            action: "case.read".to_owned(),
            outcome: "allowed".to_owned(),
            status: 200,
            case_ids: vec!["c1".to_owned()],
            categories: vec!["identity".to_owned(), "plan".to_owned()],
            consent_id: None,
            reason: "owner-reads-everything".to_owned(),
            request_id: Some("r1".to_owned()),
            method: Some("GET".to_owned()),
            path: Some("/api/v1/cases/c1".to_owned()),
        }
    }

    #[test]
    fn times_are_written_as_the_api_writes_them() {
        use chrono::NaiveDate;
        for (y, mo, d, h, mi, sec, micro) in [
            (2026, 11, 23, 9, 15, 0, 123_456),
            (1999, 1, 2, 23, 59, 59, 0),
            (2030, 12, 31, 0, 0, 7, 999_999),
            (5, 3, 4, 1, 2, 3, 4),
        ] {
            let at = NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_micro_opt(h, mi, sec, micro)
                .unwrap();
            let mut out = Vec::new();
            write_time(&mut out, &at);
            assert_eq!(String::from_utf8(out).unwrap(), rfc3339_naive(&at));
        }
    }

    #[test]
    fn canonical_encoding_is_the_documented_one() {
        let text = String::from_utf8(canonical(7, &event())).unwrap();
        assert_eq!(
            text,
            "{\"action\":\"case.read\",\"actor\":{\"agency\":\"polisen-orebro\",\"name\":\"Per \\\"P\\\" Nilsson\",\
             \"roles\":[\"police_officer\"],\"sub\":\"po-1\"},\"at\":\"2026-11-23T09:15:00.123456Z\",\
             \"case_ids\":[\"c1\"],\"categories\":[\"identity\",\"plan\"],\"consent_id\":null,\
             \"id\":\"0192f0c4-0000-7000-8000-000000000001\",\"method\":\"GET\",\"outcome\":\"allowed\",\
             \"path\":\"/api/v1/cases/c1\",\"reason\":\"owner-reads-everything\",\"request_id\":\"r1\",\
             \"seq\":7,\"status\":200}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["actor"]["name"], "Per \"P\" Nilsson");
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = event();
        let reference = chain_hash(&[0; 32], &canonical(1, &base));
        let mut variants = Vec::new();
        let mut e = base.clone();
        e.status = 403;
        variants.push(e);
        let mut e = base.clone();
        e.case_ids.push("c2".to_owned());
        variants.push(e);
        let mut e = base.clone();
        e.actor.sub = Some("po-2".to_owned());
        variants.push(e);
        let mut e = base.clone();
        e.at += chrono::Duration::microseconds(1);
        variants.push(e);
        for variant in variants {
            assert_ne!(chain_hash(&[0; 32], &canonical(1, &variant)), reference);
        }
        assert_ne!(
            chain_hash(&[0; 32], &canonical(2, &base)),
            reference,
            "seq is covered"
        );
        assert_ne!(
            chain_hash(&[1; 32], &canonical(1, &base)),
            reference,
            "prev_hash is covered"
        );
    }

    #[test]
    fn outcome_follows_the_status() {
        assert_eq!(Outcome::of_status(200), Outcome::Allowed);
        assert_eq!(Outcome::of_status(201), Outcome::Allowed);
        assert_eq!(Outcome::of_status(401), Outcome::Denied);
        assert_eq!(Outcome::of_status(422), Outcome::Denied);
        assert_eq!(Outcome::of_status(503), Outcome::Error);
    }
}
