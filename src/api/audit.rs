//! The auditor's API (API.md §10): thin handlers over [`crate::usecase::audit`], and the
//! streamed export.

use actix_web::web::{self, Bytes};
use actix_web::{get, post, HttpResponse};

use super::extract::ApiJson;
use super::{created, ok, read_unit, run_unit, state, Caller, Reply};
use crate::audit::export::Format;
use crate::audit::query::{self, Filter};
use crate::error::UseCaseError;
use crate::state::AppState;
use crate::usecase::audit::{
    self, AnomaliesView, AnomalyQuery, CheckpointsView, ConsistencyQuery, ConsistencyView,
    EventPage, EventsQuery, InclusionQuery, InclusionView, VerificationView, VerifyQuery,
};
use crate::usecase::reviews::{self, NewReview, ReviewView, ReviewsQuery};
use crate::usecase::Items;
use crate::work;

const EXPORT_BATCH: i64 = 1000;

/// Searches the audit log, oldest first (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(EventsQuery),
    responses((status = 200, description = "A page of events", body = EventPage))
)]
#[get("/audit/events")]
pub async fn search(caller: Caller, query: web::Query<EventsQuery>) -> Reply {
    let query = query.into_inner();
    read_unit(caller, ok, move |unit| audit::search(unit, query)).await
}

/// Streams every matching event as NDJSON or CSV (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(EventsQuery),
    responses(
        (status = 200, description = "Every matching event, oldest first", content_type = "application/x-ndjson", body = String),
    )
)]
#[get("/audit/events/export")]
pub async fn export(caller: Caller, query: web::Query<EventsQuery>) -> Reply {
    let (query, state) = (query.into_inner(), state(caller.request())?);
    let (filter, format) =
        work::read(caller.call()?, 200, move |unit| audit::export(unit, query)).await?;
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .streaming(export_stream(state, filter, format)))
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
                        Ok::<_, UseCaseError>(query::search(
                            &mut conn,
                            &filter,
                            after,
                            EXPORT_BATCH,
                        )?)
                    })
                    .await
                    .map_err(UseCaseError::from)
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
    params(VerifyQuery),
    responses((status = 200, description = "The verification report", body = VerificationView))
)]
#[get("/audit/verify")]
pub async fn verify(caller: Caller, query: web::Query<VerifyQuery>) -> Reply {
    let incremental = query.incremental.unwrap_or(false);
    let report = work::read_then(
        caller.call()?,
        200,
        audit::may_verify,
        move |conn, state, ()| audit::verify(conn, state, incremental),
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The signed checkpoints and the public key that verifies them (role `auditor`).
#[utoipa::path(
    tag = "audit",
    responses((status = 200, description = "The checkpoints and their key", body = CheckpointsView))
)]
#[get("/audit/checkpoints")]
pub async fn checkpoints(caller: Caller) -> Reply {
    read_unit(caller, ok, audit::checkpoints).await
}

/// The inclusion proof of event `seq` in the Merkle tree of `tree_size` events (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(("seq" = i64, Path, description = "The event's seq"), InclusionQuery),
    responses((status = 200, description = "The proof", body = InclusionView))
)]
#[get("/audit/events/{seq}/inclusion")]
pub async fn inclusion(
    caller: Caller,
    seq: web::Path<String>,
    query: web::Query<InclusionQuery>,
) -> Reply {
    let (seq, query) = (seq.into_inner(), query.into_inner());
    read_unit(caller, ok, move |unit| audit::inclusion(unit, &seq, query)).await
}

/// The consistency proof between the Merkle trees of `from` and `to` events (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyView))
)]
#[get("/audit/consistency")]
pub async fn consistency(caller: Caller, query: web::Query<ConsistencyQuery>) -> Reply {
    let query = query.into_inner();
    read_unit(caller, ok, move |unit| audit::consistency(unit, query)).await
}

/// Denied attempts per actor, off-hours use and unusually many cases a day (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(AnomalyQuery),
    responses((status = 200, description = "The three anomaly lists", body = AnomaliesView))
)]
#[get("/audit/anomalies")]
pub async fn anomalies(caller: Caller, query: web::Query<AnomalyQuery>) -> Reply {
    let query = query.into_inner();
    read_unit(caller, ok, move |unit| audit::anomalies(unit, query)).await
}

/// Records a documented log review (logguppföljning; role `auditor`). Append-only.
#[utoipa::path(
    tag = "audit",
    request_body = NewReview,
    responses((status = 201, description = "The review as recorded", body = ReviewView))
)]
#[post("/audit/reviews")]
pub async fn create_review(caller: Caller, body: ApiJson<NewReview>) -> Reply {
    let input = body.into_inner();
    run_unit(caller, 201, created, move |unit| {
        reviews::create(unit, input)
    })
    .await
}

/// The documented log reviews whose period meets `from`–`to`, newest first (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(ReviewsQuery),
    responses((status = 200, description = "The reviews", body = Items<ReviewView>))
)]
#[get("/audit/reviews")]
pub async fn list_reviews(caller: Caller, query: web::Query<ReviewsQuery>) -> Reply {
    let query = query.into_inner();
    read_unit(caller, ok, move |unit| reviews::list(unit, query)).await
}
