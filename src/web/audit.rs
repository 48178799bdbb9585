//! The auditor's console (UI.md §4 "Granskning", §5.3): the chain's state, the log with its
//! filters and exports, the anomaly lists, the documented reviews and the family's register
//! extract. Each page calls the use case of the API operation it mirrors (`audit.verify`,
//! `audit.search`, `audit.export`, `audit.anomalies`, `audit.review.list` /
//! `audit.review.create`, `access_log.read`), so it leaves that operation's one event. No page
//! links to case content: a case id leads to "Vem kan se ärendet".

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Europe::Stockholm;
use serde::Deserialize;

use super::pages::{agency_name, case_id, field, own_form};
use super::session::Session;
use super::{call, html, read_case, words, Layout, PageError};
use crate::audit::latest::Verified;
use crate::audit::Action;
use crate::error::UseCaseError;
use crate::usecase::access;
use crate::usecase::audit::{self, AnomalyQuery, EventsQuery};
use crate::usecase::reference::AgencyView;
use crate::usecase::reviews::{self, NewReview, Proposed, ReviewsQuery};
use crate::work;

type Page = Result<HttpResponse, PageError>;

/// Rows per page of the log.
const LOG_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "audit_console.html")]
struct ConsolePage {
    layout: Layout,
    checked: Option<Verified>,
    running: bool,
    checkpoint: Option<(i64, String)>,
}

impl ConsolePage {
    fn local(&self, at: &str) -> String {
        words::local_time(at)
    }
}

/// `GET /granskning`: the chain's state and the newest signed checkpoint (`audit.verify`).
pub async fn console(req: HttpRequest, session: Session) -> Page {
    let newest = work::read(
        call(&req, &session, Action::AuditVerify)?,
        200,
        audit::console,
    )
    .await?;
    let (checked, running) = audit::newest_verification(crate::api::state(&req)?).await;
    let page = ConsolePage {
        layout: Layout::of(&req, Some(&session))?,
        checked,
        running,
        checkpoint: newest.map(|c| (c.seq, words::local_time(&c.at))),
    };
    Ok(html(StatusCode::OK, &page))
}

/// The log's filters as the page's form sends them (UI.md §4 "Logg").
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LogForm {
    #[serde(default)]
    anvandare: String,
    #[serde(default)]
    verksamhet: String,
    #[serde(default)]
    arende: String,
    #[serde(default)]
    handelse: String,
    #[serde(default)]
    utfall: String,
    #[serde(default)]
    fran: String,
    #[serde(default)]
    till: String,
    #[serde(default)]
    efter: String,
}

/// The first moment of `day` in Stockholm (or, with `end`, its last), as RFC 3339.
fn day_bound(day: NaiveDate, end: bool) -> String {
    let time = if end {
        day.and_hms_micro_opt(23, 59, 59, 999_999)
    } else {
        day.and_hms_opt(0, 0, 0)
    };
    time.and_then(|t| Stockholm.from_local_datetime(&t).earliest())
        .map(|t| crate::clock::rfc3339(&t.with_timezone(&chrono::Utc)))
        .unwrap_or_default()
}

/// A date field of a filter as the search takes it; text that is not a date is passed on as
/// it is, so the search refuses it (and its event says so).
fn bound(text: &str, end: bool) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(words::date(text).map_or_else(|| text.to_owned(), |day| day_bound(day, end)))
}

impl LogForm {
    fn query(&self, limit: Option<i64>, format: Option<&str>) -> EventsQuery {
        let given = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        EventsQuery {
            actor: given(&self.anvandare),
            agency: given(&self.verksamhet),
            case_id: given(&self.arende),
            action: given(&self.handelse),
            outcome: given(&self.utfall),
            from: bound(&self.fran, false),
            to: bound(&self.till, true),
            limit,
            cursor: given(&self.efter),
            format: format.map(str::to_owned),
        }
    }

    /// The filters as a query string (without the page's cursor).
    fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("anvandare", &self.anvandare),
            ("verksamhet", &self.verksamhet),
            ("arende", &self.arende),
            ("handelse", &self.handelse),
            ("utfall", &self.utfall),
            ("fran", &self.fran),
            ("till", &self.till),
        ] {
            if !value.trim().is_empty() {
                out.append_pair(name, value.trim());
            }
        }
        out.finish()
    }
}

/// One event as the log page shows it.
struct EventLine {
    seq: i64,
    at: String,
    user: String,
    sub: String,
    agency: String,
    action: String,
    outcome: &'static str,
    cases: Vec<String>,
}

#[derive(Template)]
#[template(path = "audit_log.html")]
struct LogPage {
    layout: Layout,
    form: LogForm,
    agencies: Vec<AgencyView>,
    actions: &'static [(&'static str, &'static str)],
    outcomes: &'static [(&'static str, &'static str)],
    error: Option<String>,
    lines: Vec<EventLine>,
    filters: String,
    next: Option<String>,
}

impl LogPage {
    fn export_link(&self, format: &str) -> String {
        let separator = if self.filters.is_empty() { "" } else { "&" };
        format!(
            "/granskning/logg/export?format={format}{separator}{}",
            self.filters
        )
    }

    fn next_link(&self) -> Option<String> {
        let cursor = self.next.as_ref()?;
        let separator = if self.filters.is_empty() { "" } else { "&" };
        Some(format!(
            "/granskning/logg?{}{separator}efter={cursor}",
            self.filters
        ))
    }

    fn user_link(&self, sub: &str) -> String {
        format!("/granskning/logg?anvandare={}", words::url_encode(sub))
    }
}

/// `GET /granskning/logg`: the filtered log, a page at a time (`audit.search`).
pub async fn log(req: HttpRequest, session: Session, form: web::Query<LogForm>) -> Page {
    let form = form.into_inner();
    let query = form.query(Some(LOG_PAGE), None);
    let found = work::read(
        call(&req, &session, Action::AuditSearch)?,
        200,
        move |unit| audit::search(unit, query),
    )
    .await;
    let lists = super::reference_lists(&req).await?;
    let (status, error, page) = match found {
        Ok(page) => (StatusCode::OK, None, Some(page)),
        Err(UseCaseError::BadRequest(_)) => (
            StatusCode::BAD_REQUEST,
            Some("Ange datum som ÅÅÅÅ-MM-DD och ett ärende-id som det står i loggen.".to_owned()),
            None,
        ),
        Err(error) => return Err(error.into()),
    };
    let (items, next) = page.map_or((Vec::new(), None), |p| (p.items, p.next_cursor));
    let lines = items
        .into_iter()
        .map(|stored| (stored.seq, stored.event))
        .map(|(seq, e)| EventLine {
            seq,
            at: words::local_time(&crate::clock::rfc3339_naive(&e.at)),
            user: e.actor.name.clone().unwrap_or_else(|| "–".to_owned()),
            sub: e.actor.sub.clone().unwrap_or_default(),
            agency: e
                .actor
                .agency
                .as_deref()
                .map_or_else(|| "–".to_owned(), |a| agency_name(&lists.1, a)),
            action: words::action(&e.action),
            outcome: words::outcome(&e.outcome),
            cases: e.case_ids,
        })
        .collect();
    let page = LogPage {
        layout: Layout::of(&req, Some(&session))?,
        filters: form.query_string(),
        form,
        agencies: lists.1.clone(),
        actions: &words::ACTIONS,
        outcomes: &words::OUTCOMES,
        error,
        lines,
        next,
    };
    Ok(html(status, &page))
}

/// `GET /granskning/logg/export?format=csv|ndjson&…`: every event the same filters find,
/// streamed as a download (`audit.export`, as `GET /api/v1/audit/events/export`).
pub async fn export(req: HttpRequest, session: Session, form: web::Query<LogForm>) -> Page {
    #[derive(Deserialize)]
    struct Format {
        format: Option<String>,
    }
    let format = web::Query::<Format>::from_query(req.query_string())
        .ok()
        .and_then(|f| f.into_inner().format);
    let query = form.into_inner().query(None, format.as_deref());
    let (filter, format) = work::read(
        call(&req, &session, Action::AuditExport)?,
        200,
        move |unit| audit::export(unit, query),
    )
    .await?;
    let name = match format {
        crate::audit::export::Format::Csv => "logg.csv",
        crate::audit::export::Format::Ndjson => "logg.ndjson",
    };
    let stream = crate::api::audit::export_stream(crate::api::state(&req)?, filter, format);
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .streaming(stream))
}

/// The period of the anomaly lists (dates; the last 30 days by default).
#[derive(Debug, Default, Deserialize)]
pub struct PeriodForm {
    #[serde(default)]
    fran: String,
    #[serde(default)]
    till: String,
}

/// One user in an anomaly list.
struct AnomalyLine {
    sub: String,
    agency: String,
    count: String,
    day: Option<String>,
    link: String,
}

#[derive(Template)]
#[template(path = "audit_anomalies.html")]
struct AnomaliesPage {
    layout: Layout,
    fran: String,
    till: String,
    error: Option<String>,
    denied: Vec<AnomalyLine>,
    off_hours: Vec<AnomalyLine>,
    high_volume: Vec<AnomalyLine>,
}

/// `GET /granskning/avvikelser`: denied attempts, use outside office hours and many cases a
/// day, for a period (`audit.anomalies`); each user links to the log search for the period.
pub async fn anomalies(req: HttpRequest, session: Session, form: web::Query<PeriodForm>) -> Page {
    let form = form.into_inner();
    let state = crate::api::state(&req)?;
    let today = crate::clock::stockholm_date(&state.clock.now());
    let till = words::date(&form.till).unwrap_or(today);
    let fran = words::date(&form.fran).unwrap_or(till - chrono::Duration::days(30));
    let invalid = (!form.fran.trim().is_empty() && words::date(&form.fran).is_none())
        || (!form.till.trim().is_empty() && words::date(&form.till).is_none());
    let query = AnomalyQuery {
        from: Some(day_bound(fran, false)),
        to: Some(day_bound(till, true)),
    };
    let found = work::read(
        call(&req, &session, Action::AuditAnomalies)?,
        200,
        move |unit| audit::anomalies(unit, query),
    )
    .await?;
    let lists = super::reference_lists(&req).await?;
    let agency = |a: &Option<String>| {
        a.as_deref()
            .map_or_else(|| "–".to_owned(), |a| agency_name(&lists.1, a))
    };
    let link = |sub: &str, from: NaiveDate, to: NaiveDate, outcome: &str| {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair("anvandare", sub);
        if !outcome.is_empty() {
            out.append_pair("utfall", outcome);
        }
        out.append_pair("fran", &from.to_string());
        out.append_pair("till", &to.to_string());
        format!("/granskning/logg?{}", out.finish())
    };
    let per_actor = |rows: &[audit::ActorCount], outcome: &str| {
        rows.iter()
            .map(|r| AnomalyLine {
                sub: r.sub.clone(),
                agency: agency(&r.agency),
                count: words::thousands(usize::try_from(r.count).unwrap_or(0)),
                day: None,
                link: link(&r.sub, fran, till, outcome),
            })
            .collect::<Vec<_>>()
    };
    let page = AnomaliesPage {
        layout: Layout::of(&req, Some(&session))?,
        fran: fran.to_string(),
        till: till.to_string(),
        error: invalid.then(|| "Ange datum som ÅÅÅÅ-MM-DD.".to_owned()),
        denied: per_actor(&found.denied_by_actor, "denied"),
        off_hours: per_actor(&found.off_hours, ""),
        high_volume: found
            .high_volume
            .iter()
            .map(|r| {
                let day = words::date(&r.day).unwrap_or(till);
                AnomalyLine {
                    sub: r.sub.clone(),
                    agency: agency(&r.agency),
                    count: words::thousands(usize::try_from(r.distinct_cases).unwrap_or(0)),
                    day: Some(r.day.clone()),
                    link: link(&r.sub, day, day, ""),
                }
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, &page))
}

/// One documented review as the list shows it.
struct ReviewLine {
    id: String,
    period: String,
    scope: String,
    findings: String,
    actions: String,
    reviewer: String,
    at: String,
    sampled: Vec<String>,
}

/// The form "Ny logguppföljning" as typed.
#[derive(Default)]
struct ReviewForm {
    period_from: String,
    period_to: String,
    scope: String,
    findings: String,
    actions: String,
}

#[derive(Template)]
#[template(path = "audit_reviews.html")]
struct ReviewsPage {
    layout: Layout,
    reviews: Vec<ReviewLine>,
    proposed: Vec<(Proposed, String, bool)>,
    form: ReviewForm,
    errors: Vec<(String, String)>,
    saved: bool,
}

/// A field of the form: its id, name, label and value as typed.
type DateField<'a> = (&'static str, &'static str, &'static str, &'a str);

impl ReviewsPage {
    fn date_fields(&self) -> [DateField<'_>; 2] {
        [
            (
                "f-period-from",
                "period_from",
                "Period från",
                &self.form.period_from,
            ),
            (
                "f-period-to",
                "period_to",
                "Period till",
                &self.form.period_to,
            ),
        ]
    }

    /// The text fields, with their heights in rows.
    fn text_fields(&self) -> [(&'static str, &'static str, &'static str, &str, u8); 3] {
        [
            ("f-scope", "scope", "Vad som granskats", &self.form.scope, 4),
            (
                "f-findings",
                "findings",
                "Iakttagelser",
                &self.form.findings,
                6,
            ),
            ("f-actions", "actions", "Åtgärder", &self.form.actions, 4),
        ]
    }

    fn error_of(&self, id: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(field, _)| field == id)
            .map(|(_, message)| message.as_str())
    }
}

/// The month's defaults of the form: the previous calendar month.
fn last_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    use chrono::Datelike;
    let first_this = today.with_day(1).unwrap_or(today);
    let last = first_this.pred_opt().unwrap_or(today);
    (last.with_day(1).unwrap_or(last), last)
}

async fn reviews_page(
    req: &HttpRequest,
    session: &Session,
    form: ReviewForm,
    chosen: Option<Vec<String>>,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Page {
    let (items, proposed) = work::read(call(req, session, Action::AuditReviewList)?, 200, |unit| {
        reviews::list_with_sample(unit, ReviewsQuery::default())
    })
    .await?;
    let lists = super::reference_lists(req).await?;
    let reviews = items
        .items
        .into_iter()
        .map(|r| ReviewLine {
            id: r.id,
            period: format!("{} – {}", r.period_from, r.period_to),
            scope: r.scope,
            findings: r.findings,
            actions: r.actions,
            reviewer: format!(
                "{}, {}",
                r.reviewed_by.name,
                agency_name(&lists.1, &r.reviewed_by.agency)
            ),
            at: words::local_time(&r.created_at),
            sampled: r.sampled_users,
        })
        .collect();
    let proposed = proposed
        .into_iter()
        .map(|p| {
            let agency = p
                .agency
                .as_deref()
                .map_or_else(|| "–".to_owned(), |a| agency_name(&lists.1, a));
            let checked = chosen.as_ref().is_none_or(|c| c.contains(&p.sub));
            (p, agency, checked)
        })
        .collect();
    let page = ReviewsPage {
        layout: Layout::of(req, Some(session))?,
        reviews,
        proposed,
        form,
        errors,
        saved: req.query_string().contains("sparad=1"),
    };
    Ok(html(status, &page))
}

/// `GET /granskning/genomgangar`: the documented reviews, this month's proposed sample and the
/// form "Ny logguppföljning" (`audit.review.list`).
pub async fn reviews(req: HttpRequest, session: Session) -> Page {
    let today = crate::clock::stockholm_date(&crate::api::state(&req)?.clock.now());
    let (from, to) = last_month(today);
    let form = ReviewForm {
        period_from: from.to_string(),
        period_to: to.to_string(),
        ..ReviewForm::default()
    };
    reviews_page(&req, &session, form, None, Vec::new(), StatusCode::OK).await
}

/// The form's field for an API field.
fn review_field(field: &str) -> &'static str {
    match field {
        "period_from" => "f-period-from",
        "period_to" => "f-period-to",
        "scope" => "f-scope",
        "findings" => "f-findings",
        "actions" => "f-actions",
        _ => "f-sample",
    }
}

/// What to fix, in Swedish, for an API field's error.
fn review_message(field: &str, message: &str) -> String {
    match field {
        "period_from" => "Ange första dagen som ÅÅÅÅ-MM-DD.".to_owned(),
        "period_to" if message.contains("future") => {
            "Perioden kan inte sluta efter i dag.".to_owned()
        }
        "period_to" if message.contains("on or after") => {
            "Perioden kan inte sluta före den börjar.".to_owned()
        }
        "period_to" => "Ange sista dagen som ÅÅÅÅ-MM-DD.".to_owned(),
        "scope" => "Beskriv vad som granskats (högst 20\u{a0}000 tecken).".to_owned(),
        "findings" => "Skriv iakttagelserna (högst 20\u{a0}000 tecken).".to_owned(),
        "actions" => "Åtgärderna får vara högst 20\u{a0}000 tecken.".to_owned(),
        _ => "Urvalet kunde inte sparas.".to_owned(),
    }
}

/// `POST /granskning/genomgangar`: "Spara logguppföljning" (`audit.review.create`), then the
/// list; or the form again, as typed, with what to fix.
pub async fn create_review(req: HttpRequest, session: Session, body: web::Bytes) -> Page {
    let fields = own_form(&req, &session, &body, Action::AuditReviewCreate).await?;
    let form = ReviewForm {
        period_from: field(&fields, "period_from").trim().to_owned(),
        period_to: field(&fields, "period_to").trim().to_owned(),
        scope: field(&fields, "scope").to_owned(),
        findings: field(&fields, "findings").to_owned(),
        actions: field(&fields, "actions").to_owned(),
    };
    let chosen: Vec<String> = fields.get("urval").cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let from = words::date(&form.period_from);
    let to = words::date(&form.period_to);
    if from.is_none() {
        errors.push(("period_from", "not a date".to_owned()));
    }
    if to.is_none() {
        errors.push(("period_to", "not a date".to_owned()));
    }
    let written = match (from, to) {
        (Some(period_from), Some(period_to)) => {
            let input = NewReview {
                period_from,
                period_to,
                scope: form.scope.clone(),
                findings: form.findings.clone(),
                actions: form.actions.clone(),
                sampled_users: chosen.clone(),
            };
            work::run(
                call(&req, &session, Action::AuditReviewCreate)?,
                201,
                move |unit| reviews::create(unit, input),
            )
            .await
        }
        // Not dates: the write is refused as the API would refuse it (its one event).
        _ => {
            work::run(
                call(&req, &session, Action::AuditReviewCreate)?,
                201,
                |unit| {
                    unit.authorize(Action::AuditReviewCreate, crate::authz::Resource::AuditLog)?;
                    Err(UseCaseError::BadRequest(
                        "a period date is not a date".to_owned(),
                    ))
                },
            )
            .await
        }
    };
    match written {
        Ok(review) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/granskning/genomgangar?sparad=1#r-{}", review.id),
            ))
            .finish()),
        Err(UseCaseError::Validation(found)) => {
            let found = found.into_iter().map(|e| (e.field, e.message)).collect();
            refused_review(&req, &session, form, chosen, found).await
        }
        Err(UseCaseError::BadRequest(_)) => {
            let found = errors.into_iter().map(|(f, m)| (f.to_owned(), m)).collect();
            refused_review(&req, &session, form, chosen, found).await
        }
        Err(error) => Err(error.into()),
    }
}

/// The form again, as typed, with what to fix beside each (API) field in `found`.
async fn refused_review(
    req: &HttpRequest,
    session: &Session,
    form: ReviewForm,
    chosen: Vec<String>,
    found: Vec<(String, String)>,
) -> Page {
    let errors = found
        .iter()
        .map(|(f, m)| (review_field(f).to_owned(), review_message(f, m)))
        .collect();
    reviews_page(
        req,
        session,
        form,
        Some(chosen),
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// One line of the register extract.
struct ExtractLine {
    at: String,
    agency: String,
    role: String,
    action: String,
    outcome: &'static str,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct ExtractPage {
    layout: Layout,
    case_id: String,
    youth_name: Option<String>,
    lines: Vec<ExtractLine>,
    /// The log's verifier key, printed with the extract for whoever checks the verifiable one.
    verifier_key: String,
}

/// `GET /arenden/{id}/loggutdrag`: the family's register extract, printable — who saw or
/// changed the case's data, when and from which agency (`access_log.read`). The owner's
/// extract names the young person; the auditor's does not.
pub async fn extract(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let (extract, youth_name) = read_case(
        &req,
        &session,
        Action::AccessLogRead,
        &id,
        access::log_for_family,
    )
    .await?;
    let lists = super::reference_lists(&req).await?;
    let lines = extract
        .items
        .iter()
        .map(|e| ExtractLine {
            at: words::local_time(&e.at),
            agency: e
                .agency
                .as_deref()
                .map_or_else(|| "–".to_owned(), |a| agency_name(&lists.1, a)),
            role: e.role.as_deref().map_or_else(
                || "–".to_owned(),
                |roles| {
                    roles
                        .split(',')
                        .map(words::role)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            ),
            action: words::action(&e.action),
            outcome: words::outcome(&e.outcome),
        })
        .collect();
    let keys = &crate::api::state(&req)?.keys.audit;
    let page = ExtractPage {
        layout: Layout::of(&req, Some(&session))?,
        case_id: id,
        youth_name,
        lines,
        verifier_key: crate::audit::note::verifier_key(&keys.origin, keys.public_key()),
    };
    Ok(html(StatusCode::OK, &page))
}

/// `GET /arenden/{id}/loggutdrag/verifierbart`: the same extract as a file anyone can check
/// offline with `sig-register audit verify-extract` and the log's public key — each event with
/// its proof that it is in the signed log (`access_log.read`, as the API's
/// `?format=verifiable`).
pub async fn extract_verifiable(req: HttpRequest, session: Session, id: web::Path<String>) -> Page {
    let id = case_id(&id)?;
    let unit_id = id.clone();
    let extract = work::read_then(
        call(&req, &session, Action::AccessLogRead)?,
        200,
        move |unit| access::may_read_log(unit, &unit_id),
        access::verifiable_log,
    )
    .await?;
    let body = serde_json::to_vec_pretty(&extract)
        .map_err(|e| PageError::from(crate::error::UseCaseError::Internal(e.to_string())))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"loggutdrag-{id}.json\""),
        ))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_bounded_in_stockholm_time() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(day_bound(day, false), "2026-12-03T23:00:00.000000Z");
        assert!(day_bound(day, true).starts_with("2026-12-04T22:59:59.999999"));
        let summer = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(day_bound(summer, false), "2026-06-30T22:00:00.000000Z");
        assert_eq!(bound("igår", false).as_deref(), Some("igår"));
        assert_eq!(bound(" ", false), None);
    }

    #[test]
    fn the_form_defaults_to_last_month() {
        let (from, to) = last_month(NaiveDate::from_ymd_opt(2026, 1, 15).unwrap());
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2025-12-01".into(), "2025-12-31".into())
        );
    }
}
