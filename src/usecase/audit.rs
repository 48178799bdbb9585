//! The auditor's use cases (API.md §10): search, export, verification, checkpoints and the
//! anomaly review. Each is itself audited, before anything is disclosed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit::chain::{self, hash_hex};
use crate::audit::export::Format;
use crate::audit::latest::Verified;
use crate::audit::query::{self, Filter};
use crate::audit::{Action, AuditEvent};
use crate::authz::Resource;
use crate::clock::rfc3339_naive;
use crate::db::DbConn;
use crate::error::UseCaseError;
use crate::state::StateInner;
use crate::work::Unit;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

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

fn parse_time(field: &str, text: Option<&str>) -> Result<Option<NaiveDateTime>, UseCaseError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|at| at.with_timezone(&Utc).naive_utc())
                .map_err(|_| {
                    UseCaseError::BadRequest(format!(
                        "`{field}` must be an RFC 3339 time, e.g. 2026-11-23T09:15:00Z"
                    ))
                })
        })
        .transpose()
}

impl EventsQuery {
    fn filter(&self) -> Result<Filter, UseCaseError> {
        if let Some(outcome) = &self.outcome {
            if !["allowed", "denied", "error"].contains(&outcome.as_str()) {
                return Err(UseCaseError::BadRequest(
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

    fn limit(&self) -> Result<i64, UseCaseError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            Some(_) => Err(UseCaseError::BadRequest(format!(
                "`limit` must be between 1 and {MAX_LIMIT}"
            ))),
        }
    }

    fn cursor(&self) -> Result<i64, UseCaseError> {
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => Ok(0),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| {
                    UseCaseError::BadRequest("`cursor` is not one this API gave out".to_owned())
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
pub fn search(unit: &mut Unit<'_>, query: EventsQuery) -> Result<EventPage, UseCaseError> {
    unit.authorize(Action::AuditSearch, Resource::AuditLog)?;
    let (filter, limit, after) = (query.filter()?, query.limit()?, query.cursor()?);
    let mut items = query::search(unit.conn, &filter, after, limit + 1)?;
    let more = items.len() as i64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more
        .then(|| items.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(EventPage { items, next_cursor })
}

/// What an export streams: the filter, bounded by the log's head when the export starts
/// (later events are for a later export), and the format (role `auditor`).
pub fn export(unit: &mut Unit<'_>, query: EventsQuery) -> Result<(Filter, Format), UseCaseError> {
    unit.authorize(Action::AuditExport, Resource::AuditLog)?;
    let format = Format::parse(query.format.as_deref())
        .ok_or_else(|| UseCaseError::BadRequest("`format` must be ndjson or csv".to_owned()))?;
    let mut filter = query.filter()?;
    filter.up_to_seq = Some(chain::head(unit.conn)?.map_or(0, |(seq, _)| seq));
    Ok((filter, format))
}

/// The last event's place in the chain.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HeadView {
    pub seq: i64,
    /// Lowercase hex.
    pub hash: String,
}

/// The first event that does not verify, and why.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FailureView {
    pub seq: i64,
    pub reason: String,
}

/// The result of verifying the chain and its checkpoints.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub ok: bool,
    pub events_verified: i64,
    pub checkpoints_verified: i64,
    pub head: Option<HeadView>,
    pub failure: Option<FailureView>,
    /// With `incremental=true`: the log's size verified before, where this verification
    /// started (`events_verified` then counts the events after it); `null` for a full one.
    pub since: Option<i64>,
    /// With outside witnesses configured (`SIG_AUDIT_WITNESSES`): the signed tree heads (their
    /// `tree_size`) that no witness has cosigned yet, oldest first; `null` without witnesses.
    pub uncosigned: Option<Vec<i64>>,
}

/// How much to verify.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct VerifyQuery {
    /// `true`: only what is new since the last recorded verification (the events after it, a
    /// consistency proof from its tree to the head, the checkpoints since). Default: all.
    pub incremental: Option<bool>,
}

impl From<&crate::audit::verify::Verification> for VerificationView {
    fn from(report: &crate::audit::verify::Verification) -> Self {
        Self {
            ok: report.ok(),
            events_verified: report.events_verified,
            checkpoints_verified: report.checkpoints_verified,
            head: report.head.as_ref().map(|(seq, hash)| HeadView {
                seq: *seq,
                hash: hash_hex(hash),
            }),
            failure: report.failure.as_ref().map(|(seq, reason)| FailureView {
                seq: *seq,
                reason: reason.clone(),
            }),
            since: report.since,
            uncosigned: None,
        }
    }
}

/// May the caller verify the log (role `auditor`)?
pub fn may_verify(unit: &mut Unit<'_>) -> Result<(), UseCaseError> {
    unit.authorize(Action::AuditVerify, Resource::AuditLog)
        .map(|_| ())
}

/// Verifies the chain and its checkpoints in a read transaction on `conn` (a consistent
/// snapshot, writers are not held up meanwhile); a second connection, when one is free at
/// once, verifies half of the log beside it. Run after [`may_verify`]'s event is committed,
/// so the report includes it.
///
/// A verification that finds the log intact is recorded, signed, for the next incremental one
/// (on a connection of its own: this one reads a snapshot).
pub fn verify(
    conn: &mut DbConn,
    state: &StateInner,
    incremental: bool,
) -> Result<VerificationView, UseCaseError> {
    crate::db::read_tx(conn, |conn| verify_in(conn, state, incremental))
}

fn verify_in(
    conn: &mut DbConn,
    state: &StateInner,
    incremental: bool,
) -> Result<VerificationView, UseCaseError> {
    let witness = chain::read_witness(&state.config.data_dir).map_err(UseCaseError::Internal)?;
    let keys = &state.keys.audit;
    let report = if incremental {
        crate::audit::verify::verify_incremental(conn, keys, witness.as_ref())?
    } else {
        let mut helper = state.pool.try_get();
        crate::audit::verify::verify_with(conn, helper.as_deref_mut(), keys, witness.as_ref())?
    };
    let mut view = VerificationView::from(&report);
    if !state.witnesses.is_empty() {
        let cosigned = crate::audit::cosign::report(conn, &state.witnesses)?;
        if let Some((size, witness)) = cosigned.invalid {
            view.ok = false;
            view.failure.get_or_insert(FailureView {
                seq: size,
                reason: format!(
                    "the cosignature by {witness} of the tree head at {size} does not verify"
                ),
            });
        }
        view.uncosigned = Some(cosigned.uncosigned);
    }
    if view.ok {
        let at = crate::audit::to_micros(state.clock.now());
        let recorded = state
            .pool
            .get()
            .map_err(UseCaseError::from)
            .and_then(|mut w| {
                crate::db::write_tx(&mut w, |c| {
                    crate::audit::verify::record(c, keys, &report, at)
                })
                .map_err(UseCaseError::from)
            });
        if let Err(error) = recorded {
            tracing::warn!(%error, "the verification could not be recorded for the next incremental one");
        }
    }
    Ok(view)
}

/// A signed checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointView {
    pub seq: i64,
    /// Lowercase hex.
    pub hash: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// Ed25519 over `"{seq}\n{hash}\n{at}"`, base64url without padding.
    pub signature: String,
    pub key_id: String,
    /// The Merkle tree's size the checkpoint signs (its events `1..=seq`).
    pub tree_size: i64,
    /// The signed tree head as a C2SP checkpoint note (origin, tree size, base64 root, Ed25519
    /// note signature); `null` on checkpoints signed before the tree.
    pub note: Option<String>,
}

/// The signed checkpoints and the public key that verifies them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointsView {
    /// The Ed25519 public key, base64url without padding.
    pub public_key: String,
    pub key_id: String,
    pub items: Vec<CheckpointView>,
}

fn checkpoint_view(c: &chain::Checkpoint) -> CheckpointView {
    CheckpointView {
        seq: c.seq,
        hash: hash_hex(&c.hash),
        at: rfc3339_naive(&c.at),
        signature: URL_SAFE_NO_PAD.encode(&c.signature),
        key_id: c.key_id.clone(),
        tree_size: c.seq,
        note: c.note.clone(),
    }
}

/// The auditor's start page (UI.md §4 "Granskning"), beside the chain's verification: may the
/// caller verify (the page's `audit.verify`), and the newest signed checkpoint.
pub fn console(unit: &mut Unit<'_>) -> Result<Option<CheckpointView>, UseCaseError> {
    may_verify(unit)?;
    Ok(chain::latest_checkpoint(unit.conn)?
        .as_ref()
        .map(checkpoint_view))
}

/// The signed checkpoints and the public key that verifies them (role `auditor`).
pub fn checkpoints(unit: &mut Unit<'_>) -> Result<CheckpointsView, UseCaseError> {
    unit.authorize(Action::AuditCheckpoints, Resource::AuditLog)?;
    let items = chain::checkpoints(unit.conn)?
        .iter()
        .map(checkpoint_view)
        .collect();
    let (public_key, key_id) = unit.audit_public_key();
    Ok(CheckpointsView {
        public_key: URL_SAFE_NO_PAD.encode(public_key),
        key_id,
        items,
    })
}

/// The tree size a proof is asked against.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// The size of the tree (a signed checkpoint's `tree_size`); default: the newest signed
    /// tree head's.
    pub tree_size: Option<String>,
}

/// An event's inclusion proof (RFC 9162 §2.1.3): with the event's leaf, it recomputes the root
/// of the tree of `tree_size` events.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionView {
    pub seq: i64,
    pub tree_size: u64,
    /// `seq - 1`.
    pub leaf_index: u64,
    /// Lowercase hex, at most ⌈log₂ tree_size⌉.
    pub hashes: Vec<String>,
}

/// The two tree sizes of a consistency proof.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// The earlier tree size (≥ 1).
    pub from: Option<String>,
    /// The later tree size (≤ the log's).
    pub to: Option<String>,
}

/// A consistency proof (RFC 9162 §2.1.4): the tree of `to` events extends that of `from`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyView {
    pub from: u64,
    pub to: u64,
    /// Lowercase hex.
    pub hashes: Vec<String>,
}

fn size_param(name: &str, text: Option<&str>) -> Result<Option<u64>, UseCaseError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                UseCaseError::BadRequest(format!(
                    "`{name}` must be a whole number of events, 1 or more"
                ))
            })
        })
        .transpose()
}

/// How many events the stored tree covers, and the newest signed tree head's size.
fn tree_sizes(conn: &mut DbConn) -> Result<(u64, Option<u64>), UseCaseError> {
    let stored = crate::audit::tree::size(conn)?;
    let signed = chain::latest_signed_tree_size(conn)?;
    Ok((stored, signed))
}

/// The inclusion proof of event `seq` in the tree of `tree_size` events (role `auditor`).
pub fn inclusion(
    unit: &mut Unit<'_>,
    seq: &str,
    query: InclusionQuery,
) -> Result<InclusionView, UseCaseError> {
    unit.authorize(Action::AuditProofInclusion, Resource::AuditLog)?;
    let seq = seq.parse::<u64>().ok().filter(|s| *s >= 1).ok_or_else(|| {
        UseCaseError::BadRequest("`seq` must be an event's number, 1 or more".to_owned())
    })?;
    let (stored, signed) = tree_sizes(unit.conn)?;
    let size = match size_param("tree_size", query.tree_size.as_deref())? {
        Some(size) => size,
        None => signed.ok_or_else(|| {
            UseCaseError::BadRequest("no tree head is signed yet: give `tree_size`".to_owned())
        })?,
    };
    if size > stored {
        return Err(UseCaseError::BadRequest(format!(
            "`tree_size` {size} is larger than the log ({stored} events)"
        )));
    }
    if seq > size {
        return Err(UseCaseError::BadRequest(format!(
            "event {seq} is not in the tree of {size} events"
        )));
    }
    let hashes = crate::audit::tree::inclusion(unit.conn, seq, size)?.ok_or_else(|| {
        UseCaseError::Internal("the audit tree lacks a node of the proof".to_owned())
    })?;
    Ok(InclusionView {
        seq: seq as i64,
        tree_size: size,
        leaf_index: seq - 1,
        hashes: hashes.iter().map(|h| hash_hex(h)).collect(),
    })
}

/// The consistency proof between the trees of `from` and `to` events (role `auditor`).
pub fn consistency(
    unit: &mut Unit<'_>,
    query: ConsistencyQuery,
) -> Result<ConsistencyView, UseCaseError> {
    unit.authorize(Action::AuditProofConsistency, Resource::AuditLog)?;
    let from = size_param("from", query.from.as_deref())?
        .ok_or_else(|| UseCaseError::BadRequest("`from` is required".to_owned()))?;
    let (stored, signed) = tree_sizes(unit.conn)?;
    let to = match size_param("to", query.to.as_deref())? {
        Some(to) => to,
        None => signed.unwrap_or(stored),
    };
    if to > stored {
        return Err(UseCaseError::BadRequest(format!(
            "`to` {to} is larger than the log ({stored} events)"
        )));
    }
    if from > to {
        return Err(UseCaseError::BadRequest(
            "`from` must not be larger than `to`".to_owned(),
        ));
    }
    let hashes = crate::audit::tree::consistency(unit.conn, from, to)?.ok_or_else(|| {
        UseCaseError::Internal("the audit tree lacks a node of the proof".to_owned())
    })?;
    Ok(ConsistencyView {
        from,
        to,
        hashes: hashes.iter().map(|h| hash_hex(h)).collect(),
    })
}

/// Period of the anomaly review (default: the last 30 days).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AnomalyQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// How many events of one actor in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorCount {
    pub sub: String,
    pub agency: Option<String>,
    pub count: i64,
}

/// An actor who touched unusually many cases in one day (Europe/Stockholm).
#[derive(Debug, Serialize, ToSchema)]
pub struct HighVolume {
    pub sub: String,
    pub agency: Option<String>,
    #[schema(format = Date)]
    pub day: String,
    pub distinct_cases: i64,
}

/// The anomaly review of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnomaliesView {
    pub denied_by_actor: Vec<ActorCount>,
    pub off_hours: Vec<ActorCount>,
    pub high_volume: Vec<HighVolume>,
}

/// Denied attempts per actor, off-hours use and unusually many cases a day (role `auditor`).
pub fn anomalies(unit: &mut Unit<'_>, query: AnomalyQuery) -> Result<AnomaliesView, UseCaseError> {
    unit.authorize(Action::AuditAnomalies, Resource::AuditLog)?;
    let to = parse_time("to", query.to.as_deref())?.unwrap_or_else(|| unit.now.naive_utc());
    let from =
        parse_time("from", query.from.as_deref())?.unwrap_or(to - chrono::Duration::days(30));
    let threshold = unit.anomaly_distinct_cases();
    let found = query::anomalies(unit.conn, from, to, threshold)?;
    let per_actor = |rows: Vec<(String, Option<String>, i64)>| {
        rows.into_iter()
            .map(|(sub, agency, count)| ActorCount { sub, agency, count })
            .collect()
    };
    Ok(AnomaliesView {
        denied_by_actor: per_actor(found.denied_by_actor),
        off_hours: per_actor(found.off_hours),
        high_volume: found
            .high_volume
            .into_iter()
            .map(|(sub, agency, day, cases)| HighVolume {
                sub,
                agency,
                day: day.to_string(),
                distinct_cases: cases,
            })
            .collect(),
    })
}

/// A verification at most this old is shown as it is; an older one is shown while a new one
/// runs in the background.
const FRESH: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a page waits for a verification it started before it shows the previous one.
const WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The newest verification, starting a new one when it is not fresh; and whether one is still
/// running. Call after the caller's `audit.verify` event is committed ([`console`]).
///
/// Verifying reads the whole log (about three seconds for a million events: too slow for every
/// view of a page), so the console shows the newest result and starts a new verification in
/// the background when that is older than a minute, waiting up to two seconds for it — enough
/// for a log of a few hundred thousand events. `GET /api/v1/audit/verify` and
/// `sig-register audit verify` verify on the spot.
pub async fn newest_verification(state: crate::state::AppState) -> (Option<Verified>, bool) {
    let own = &state.verifications;
    if let Some(fresh) = own.get().filter(|c| c.finished.elapsed() < FRESH) {
        return (Some(fresh), false);
    }
    if own.start() {
        let runner = state.clone();
        actix_web::rt::task::spawn_blocking(move || {
            let report = runner
                .pool
                .get()
                .map_err(UseCaseError::from)
                .and_then(|mut conn| verify(&mut conn, &runner, false));
            match report {
                Ok(report) => runner.verifications.set(Verified {
                    finished: std::time::Instant::now(),
                    at: crate::clock::rfc3339(&runner.clock.now()),
                    ok: report.ok,
                    events_verified: report.events_verified,
                    checkpoints_verified: report.checkpoints_verified,
                    failure: report.failure.map(|f| (f.seq, f.reason)),
                }),
                Err(error) => tracing::warn!(%error, "the console's verification did not run"),
            }
            runner.verifications.finish();
        });
    }
    let deadline = std::time::Instant::now() + WAIT;
    while own.is_running() && std::time::Instant::now() < deadline {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (own.get(), own.is_running())
}
