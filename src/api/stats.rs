//! Steering-group statistics (API.md §11): per area, cases by status, consents by state and
//! measures by agency and status. Every count from 1 to 4 is withheld (`null`, and the area says
//! `suppressed: true`), and no total or margin is given from which a withheld count could be
//! computed back.

use actix_web::{get, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::audit::Action;
use crate::auth::Actor;
use crate::authz::Resource;
use crate::clock::rfc3339;
use crate::error::{ApiError, Problem};
use crate::repo::{reference, stats};
use crate::work;

/// Counts from 1 to this are too small to publish.
pub const SUPPRESS_UP_TO: i64 = 4;
const CASE_STATUSES: [&str; 3] = ["open", "active", "closed"];
const CONSENT_STATES: [&str; 6] = [
    "active",
    "scheduled",
    "refused",
    "expired",
    "revoked",
    "superseded",
];

/// A count as published, noting in `suppressed` when it is withheld.
fn publish(count: i64, suppressed: &mut bool) -> Value {
    if (1..=SUPPRESS_UP_TO).contains(&count) {
        *suppressed = true;
        Value::Null
    } else {
        json!(count)
    }
}

/// Per area statistics (any authenticated role).
#[utoipa::path(
    tag = "statistics",
    responses(
        (status = 200, description = "`{generated_at, areas: [{area, suppressed, cases, consents, measures}]}`", body = Object),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token's agency is not registered", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/stats")]
pub async fn read(req: HttpRequest, actor: Actor) -> Result<HttpResponse, ApiError> {
    let body = work::read(super::call(&req, actor)?, 200, |unit| {
        unit.authorize(Action::StatsRead, Resource::Cases)?;
        let today = unit.today();
        let mut counts = stats::counts(unit.conn, today)?;
        let mut areas = Vec::new();
        for area in reference::areas(unit.conn)? {
            let found = counts.remove(&area.slug).unwrap_or_default();
            let mut suppressed = false;
            let mut cases = Map::new();
            for status in CASE_STATUSES {
                let count = found.cases.get(status).copied().unwrap_or(0);
                cases.insert(status.to_owned(), publish(count, &mut suppressed));
            }
            let mut consents = Map::new();
            for state in CONSENT_STATES {
                let count = found.consents.get(state).copied().unwrap_or(0);
                consents.insert(state.to_owned(), publish(count, &mut suppressed));
            }
            let measures: Vec<Value> = found
                .measures
                .iter()
                .map(|((agency, status), count)| {
                    json!({"agency": agency, "status": status, "count": publish(*count, &mut suppressed)})
                })
                .collect();
            areas.push(json!({
                "area": area.slug,
                "suppressed": suppressed,
                "cases": cases,
                "consents": consents,
                "measures": measures,
            }));
        }
        Ok(json!({"generated_at": rfc3339(&unit.now), "areas": areas}))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_one_to_four_are_withheld() {
        let mut suppressed = false;
        assert_eq!(publish(0, &mut suppressed), json!(0));
        assert!(!suppressed, "zero is published");
        assert_eq!(publish(5, &mut suppressed), json!(5));
        assert!(!suppressed);
        for small in 1..=4 {
            let mut suppressed = false;
            assert_eq!(publish(small, &mut suppressed), Value::Null);
            assert!(suppressed);
        }
    }
}
