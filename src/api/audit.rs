//! The auditor's API (API.md §10): thin handlers over [`crate::usecase::audit`], and the
//! streamed export.

use actix_web::web::{self, Bytes};
use actix_web::{get, post, HttpRequest, HttpResponse};

use super::extract::ApiJson;
use super::{call, state};
use crate::audit::export::Format;
use crate::audit::query::{self, Filter};
use crate::auth::Actor;
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
pub async fn search(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let query = query.into_inner();
    let page = work::read(call(&req, actor)?, 200, move |unit| {
        audit::search(unit, query)
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
    )
)]
#[get("/audit/events/export")]
pub async fn export(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let query = query.into_inner();
    let (filter, format) = work::read(call(&req, actor)?, 200, move |unit| {
        audit::export(unit, query)
    })
    .await?;
    let stream = export_stream(state(&req)?, filter, format);
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
pub async fn verify(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let call = call(&req, actor)?;
    let incremental = query.incremental.unwrap_or(false);
    let report = work::read_then(call, 200, audit::may_verify, move |conn, state, ()| {
        audit::verify(conn, state, incremental)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The signed checkpoints and the public key that verifies them (role `auditor`).
#[utoipa::path(
    tag = "audit",
    responses((status = 200, description = "The checkpoints and their key", body = CheckpointsView))
)]
#[get("/audit/checkpoints")]
pub async fn checkpoints(req: HttpRequest, actor: Actor) -> Result<HttpResponse, UseCaseError> {
    let view = work::read(call(&req, actor)?, 200, audit::checkpoints).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The inclusion proof of event `seq` in the Merkle tree of `tree_size` events (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(("seq" = i64, Path, description = "The event's seq"), InclusionQuery),
    responses((status = 200, description = "The proof", body = InclusionView))
)]
#[get("/audit/events/{seq}/inclusion")]
pub async fn inclusion(
    req: HttpRequest,
    actor: Actor,
    seq: web::Path<String>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let (seq, query) = (seq.into_inner(), query.into_inner());
    let view = work::read(call(&req, actor)?, 200, move |unit| {
        audit::inclusion(unit, &seq, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The consistency proof between the Merkle trees of `from` and `to` events (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyView))
)]
#[get("/audit/consistency")]
pub async fn consistency(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let query = query.into_inner();
    let view = work::read(call(&req, actor)?, 200, move |unit| {
        audit::consistency(unit, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Denied attempts per actor, off-hours use and unusually many cases a day (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(AnomalyQuery),
    responses((status = 200, description = "The three anomaly lists", body = AnomaliesView))
)]
#[get("/audit/anomalies")]
pub async fn anomalies(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<AnomalyQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let query = query.into_inner();
    let found = work::read(call(&req, actor)?, 200, move |unit| {
        audit::anomalies(unit, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Records a documented log review (logguppföljning; role `auditor`). Append-only.
#[utoipa::path(
    tag = "audit",
    request_body = NewReview,
    responses((status = 201, description = "The review as recorded", body = ReviewView))
)]
#[post("/audit/reviews")]
pub async fn create_review(
    req: HttpRequest,
    actor: Actor,
    body: ApiJson<NewReview>,
) -> Result<HttpResponse, UseCaseError> {
    let input = body.into_inner();
    let view = work::run(call(&req, actor)?, 201, move |unit| {
        reviews::create(unit, input)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The documented log reviews whose period meets `from`–`to`, newest first (role `auditor`).
#[utoipa::path(
    tag = "audit",
    params(ReviewsQuery),
    responses((status = 200, description = "The reviews", body = Items<ReviewView>))
)]
#[get("/audit/reviews")]
pub async fn list_reviews(
    req: HttpRequest,
    actor: Actor,
    query: web::Query<ReviewsQuery>,
) -> Result<HttpResponse, UseCaseError> {
    let query = query.into_inner();
    let items = work::read(call(&req, actor)?, 200, move |unit| {
        reviews::list(unit, query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(items))
}
