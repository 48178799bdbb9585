//! The auditor's API (API.md §10): search, streamed export, verification, checkpoints and the
//! anomaly review. Each request is itself audited, before anything is disclosed.

use actix_web::web::{self, Bytes};
use actix_web::{get, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::audit::chain::{self, hash_hex};
use crate::audit::export::Format;
use crate::audit::query::{self, Filter};
use crate::audit::{Action, AuditEvent};
use crate::auth::Actor;
use crate::authz::Resource;
use crate::clock::rfc3339_naive;
use crate::db::DbConn;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::work;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;
const EXPORT_BATCH: i64 = 1000;

/// Filters of the event search and export. Times are RFC 3339.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// The actor's `sub`.
    pub actor: Option<String>,
    /// The actor's agency slug.
    pub agency: Option<String>,
    /// Events naming this case.
    pub case_id: Option<String>,
    /// e.g. `case.read`.
    pub action: Option<String>,
    /// `allowed`, `denied` or `error`.
    pub outcome: Option<String>,
    /// Events at or after this time.
    pub from: Option<String>,
    /// Events at or before this time.
    pub to: Option<String>,
    /// Page size, 1–1000 (default 100). Search only.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page. Search only.
    pub cursor: Option<String>,
    /// `ndjson` (default) or `csv`. Export only.
    pub format: Option<String>,
}

fn parse_time(field: &str, text: Option<&str>) -> Result<Option<NaiveDateTime>, ApiError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|at| at.with_timezone(&Utc).naive_utc())
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "`{field}` must be an RFC 3339 time, e.g. 2026-11-23T09:15:00Z"
                    ))
                })
        })
        .transpose()
}

impl EventsQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        if let Some(outcome) = &self.outcome {
            if !["allowed", "denied", "error"].contains(&outcome.as_str()) {
                return Err(ApiError::BadRequest(
                    "`outcome` must be allowed, denied or error".to_owned(),
                ));
            }
        }
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Ok(Filter {
            actor: nonempty(&self.actor),
            agency: nonempty(&self.agency),
            case_id: nonempty(&self.case_id),
            action: nonempty(&self.action),
            outcome: nonempty(&self.outcome),
            from: parse_time("from", self.from.as_deref())?,
            to: parse_time("to", self.to.as_deref())?,
            up_to_seq: None,
        })
    }

    fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            Some(_) => Err(ApiError::BadRequest(format!(
                "`limit` must be between 1 and {MAX_LIMIT}"
            ))),
        }
    }

    fn cursor(&self) -> Result<i64, ApiError> {
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => Ok(0),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| {
                    ApiError::BadRequest("`cursor` is not one this API gave out".to_owned())
                }),
        }
    }
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Searches the audit log, oldest first (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "A malformed filter, cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/audit/events")]
pub async fn search(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = work::read(super::call(&req, actor)?, 200, move |unit| {
        unit.authorize(Action::AuditSearch, Resource::AuditLog)?;
        let (filter, limit, after) = (query.filter()?, query.limit()?, query.cursor()?);
        let mut items = query::search(unit.conn, &filter, after, limit + 1)?;
        let more = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = more
            .then(|| items.last().map(|e| e.seq.to_string()))
            .flatten();
        Ok(EventPage { items, next_cursor })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Streams every matching event as NDJSON or CSV (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(EventsQuery),
    responses(
        (status = 200, description = "Every matching event, oldest first", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "A malformed filter or format", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/audit/events/export")]
pub async fn export(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (filter, format) = work::read(super::call(&req, actor)?, 200, move |unit| {
        unit.authorize(Action::AuditExport, Resource::AuditLog)?;
        let format = Format::parse(query.format.as_deref())
            .ok_or_else(|| ApiError::BadRequest("`format` must be ndjson or csv".to_owned()))?;
        let mut filter = query.filter()?;
        // The log as it stands when the export starts; later events are for a later export.
        filter.up_to_seq = Some(chain::head(unit.conn)?.map_or(0, |(seq, _)| seq));
        Ok((filter, format))
    })
    .await?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or(ApiError::Unavailable)?;
    let stream = export_stream(state, filter, format);
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .streaming(stream))
}

enum Step {
    Header,
    After(i64),
    Done,
}

/// The export body, read batch by batch: never the whole log in memory.
pub fn export_stream(
    state: AppState,
    filter: Filter,
    format: Format,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Step::Header, move |step| {
        let state = state.clone();
        let filter = filter.clone();
        async move {
            match step {
                Step::Header => Some((Ok(Bytes::from(format.header())), Step::After(0))),
                Step::After(after) => {
                    let batch = web::block(move || {
                        let mut conn = state.pool.get()?;
                        Ok::<_, ApiError>(query::search(&mut conn, &filter, after, EXPORT_BATCH)?)
                    })
                    .await
                    .map_err(ApiError::from)
                    .and_then(|r| r);
                    match batch {
                        Ok(events) if events.is_empty() => None,
                        Ok(events) => {
                            let last = events.last().map_or(after, |e| e.seq);
                            let bytes: Vec<u8> =
                                events.iter().flat_map(|e| format.event(e)).collect();
                            Some((Ok(Bytes::from(bytes)), Step::After(last)))
                        }
                        Err(error) => Some((Err(error.into()), Step::Done)),
                    }
                }
                Step::Done => None,
            }
        }
    })
}

/// Verifies the chain and its checkpoints (role `auditor`).
#[utoipa::path(
    tag = "audit",
    responses(
        (status = 200, description = "The verification report", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/audit/verify")]
pub async fn verify(req: HttpRequest, actor: Actor) -> Result<HttpResponse, ApiError> {
    work::read(super::call(&req, actor)?, 200, |unit| {
        unit.authorize(Action::AuditVerify, Resource::AuditLog)
            .map(|_| ())
    })
    .await?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or(ApiError::Unavailable)?;
    // Verification reads the whole log: outside the unit's write transaction, in one read
    // transaction of its own (a consistent snapshot), so writers are not held up meanwhile.
    let report = web::block(move || {
        let mut conn = state.pool.get()?;
        // A second connection, when one is free at once, verifies half of the log beside it.
        let mut helper = state.pool.try_get();
        let witness = chain::read_witness(&state.config.data_dir).map_err(ApiError::Internal)?;
        let public_key = state.keys.audit.public_key().to_vec();
        Ok::<_, ApiError>(diesel::Connection::transaction(
            &mut *conn,
            |conn: &mut DbConn| {
                chain::verify_with(conn, helper.as_deref_mut(), &public_key, witness.as_ref())
            },
        )?)
    })
    .await??;
    Ok(HttpResponse::Ok().json(verification_json(&report)))
}

pub fn verification_json(report: &chain::Verification) -> serde_json::Value {
    json!({
        "ok": report.ok(),
        "events_verified": report.events_verified,
        "checkpoints_verified": report.checkpoints_verified,
        "head": report.head.as_ref().map(|(seq, hash)| json!({"seq": seq, "hash": hash_hex(hash)})),
        "failure": report.failure.as_ref().map(|(seq, reason)| json!({"seq": seq, "reason": reason})),
    })
}

/// The signed checkpoints and the public key that verifies them (role `auditor`).
#[utoipa::path(
    tag = "audit",
    responses(
        (status = 200, description = "`{public_key, items: [{seq, hash, at, signature}]}`", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/audit/checkpoints")]
pub async fn checkpoints(req: HttpRequest, actor: Actor) -> Result<HttpResponse, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or(ApiError::Unavailable)?;
    let items = work::read(super::call(&req, actor)?, 200, |unit| {
        unit.authorize(Action::AuditCheckpoints, Resource::AuditLog)?;
        Ok(chain::checkpoints(unit.conn)?)
    })
    .await?;
    let items: Vec<_> = items
        .iter()
        .map(|c| {
            json!({
                "seq": c.seq,
                "hash": hash_hex(&c.hash),
                "at": rfc3339_naive(&c.at),
                "signature": URL_SAFE_NO_PAD.encode(&c.signature),
                "key_id": c.key_id,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "public_key": URL_SAFE_NO_PAD.encode(state.keys.audit.public_key()),
        "key_id": state.keys.audit.key_id,
        "items": items,
    })))
}

/// Period of the anomaly review (default: the last 30 days).
#[derive(Debug, Deserialize, IntoParams)]
pub struct AnomalyQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Denied attempts per actor, off-hours use and unusually many cases a day (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(AnomalyQuery),
    responses(
        (status = 200, description = "`{denied_by_actor, off_hours, high_volume}`", body = Object),
        (status = 400, description = "A malformed time", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditor", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/audit/anomalies")]
pub async fn anomalies(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<AnomalyQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let threshold = req
        .app_data::<web::Data<AppState>>()
        .map_or(30, |s| s.config.anomaly_distinct_cases);
    let found = work::read(super::call(&req, actor)?, 200, move |unit| {
        unit.authorize(Action::AuditAnomalies, Resource::AuditLog)?;
        let to = parse_time("to", query.to.as_deref())?.unwrap_or_else(|| unit.now.naive_utc());
        let from =
            parse_time("from", query.from.as_deref())?.unwrap_or(to - chrono::Duration::days(30));
        Ok(query::anomalies(unit.conn, from, to, threshold)?)
    })
    .await?;
    let per_actor = |rows: &[(String, Option<String>, i64)]| {
        rows.iter()
            .map(|(sub, agency, count)| json!({"sub": sub, "agency": agency, "count": count}))
            .collect::<Vec<_>>()
    };
    Ok(HttpResponse::Ok().json(json!({
        "denied_by_actor": per_actor(&found.denied_by_actor),
        "off_hours": per_actor(&found.off_hours),
        "high_volume": found.high_volume.iter().map(|(sub, agency, day, cases)| {
            json!({"sub": sub, "agency": agency, "day": day.to_string(), "distinct_cases": cases})
        }).collect::<Vec<_>>(),
    })))
}
