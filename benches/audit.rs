//! Audit log benchmarks on a generated log (default 1,000,000 events), on SQLite and — when
//! PostgreSQL binaries are on PATH, or `SIG_TEST_POSTGRES_URL` names a server — on PostgreSQL:
//!
//! - verification rate: `audit verify` over the whole log (events/s and MB/s of hashed bytes),
//!   beside the raw SHA-256 rate of this machine over the same bytes;
//!   and over each event's own message (`prev_hash ‖ canonical`, hashed one by one in memory);
//!   on PostgreSQL also its rate of handing the log over to the client (binary COPY, drained
//!   unread), on SQLite its rate of stepping the log's rows (every column's length summed in
//!   SQL): the floors under any verification of this storage;
//! - search latency: one actor's events of one day (p50/p99 over 500 searches);
//! - the auditor's console (`/granskning`): how long its first view waits for the background
//!   verification it starts, how long that verification takes, and a view while it is fresh;
//! - the reviews page's sampling helper: the distinct people in the log;
//! - the Merkle tree: start-up catching it up over the generated log (written without it), and
//!   inclusion proofs read from the stored nodes (p50/p99 over 200 random events).
//!
//! ```text
//! cargo bench --bench audit                 # 1,000,000 events
//! cargo bench --bench audit -- 100000       # fewer
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/support/pg.rs"]
#[allow(dead_code)]
mod pg;
#[path = "../tests/it/support/ports.rs"]
mod ports;

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use sig_register::audit::chain::{self, EventRow};
use sig_register::audit::query::{self, Filter};
use sig_register::audit::{canonical, chain_hash, EventActor, NewEvent};
use sig_register::crypto::keys::KeyStore;
use sig_register::db::schema::{audit_checkpoints, audit_event_cases, audit_events};
use sig_register::db::{self, DatabaseUrl, DbConn};

const ACTORS: u64 = 200;
const DAYS: i64 = 30;
const BATCH: usize = 1000;
const SEARCHES: usize = 500;
const SEED: u64 = 0x5EED_1234_ABCD_0001;

/// A small deterministic generator (xorshift), so every run makes the same log.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 10, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

/// Event `i` of `count`, spread evenly over [`DAYS`] days.
fn event(i: u64, count: u64, rng: &mut Rng) -> NewEvent {
    let span = u128::from(DAYS as u64 * 86_400 * 1_000_000);
    let at =
        start() + chrono::Duration::microseconds((u128::from(i) * span / u128::from(count)) as i64);
    let actor = rng.next() % ACTORS;
    let case = rng.next() % 5_000;
    NewEvent {
        id: uuid::Uuid::from_u64_pair(i, rng.next()).to_string(),
        at,
        actor: EventActor {
            sub: Some(format!("user-{actor:03}")),
            name: Some(format!("Handläggare {actor}")),
            agency: Some(
                ["socialtjanst-orebro", "polisen-orebro", "skola-orebro"][(actor % 3) as usize]
                    .to_owned(),
            ),
            roles: Some(vec!["social_secretary".to_owned()]),
        },
        action: "case.read".to_owned(),
        outcome: if rng.next().is_multiple_of(20) {
            "denied"
        } else {
            "allowed"
        }
        .to_owned(),
        status: 200,
        case_ids: vec![uuid::Uuid::from_u64_pair(case, case).to_string()],
        categories: vec!["identity".to_owned(), "plan".to_owned()],
        consent_id: Some(uuid::Uuid::from_u64_pair(case, 7).to_string()),
        reason: "owner-reads-own-cases".to_owned(),
        request_id: Some(uuid::Uuid::from_u64_pair(rng.next(), i).to_string()),
        method: Some("GET".to_owned()),
        path: Some(format!(
            "/api/v1/cases/{}",
            uuid::Uuid::from_u64_pair(case, case)
        )),
    }
}

fn row(seq: i64, e: &NewEvent, prev: &[u8], hash: &[u8]) -> EventRow {
    EventRow {
        seq,
        id: e.id.clone(),
        at: e.at,
        actor_sub: e.actor.sub.clone(),
        actor_name: e.actor.name.clone(),
        actor_agency: e.actor.agency.clone(),
        actor_roles: e
            .actor
            .roles
            .as_ref()
            .map(|r| serde_json::to_string(r).unwrap()),
        action: e.action.clone(),
        outcome: e.outcome.clone(),
        status: e.status,
        case_ids: serde_json::to_string(&e.case_ids).unwrap(),
        categories: serde_json::to_string(&e.categories).unwrap(),
        consent_id: e.consent_id.clone(),
        reason: e.reason.clone(),
        request_id: e.request_id.clone(),
        method: e.method.clone(),
        path: e.path.clone(),
        prev_hash: prev.to_vec(),
        hash: hash.to_vec(),
    }
}

macro_rules! insert_batch {
    ($conn:expr, $rows:expr, $cases:expr, $checkpoints:expr) => {{
        $conn
            .transaction(|conn| {
                diesel::insert_into(audit_events::table)
                    .values(&$rows)
                    .execute(conn)?;
                diesel::insert_into(audit_event_cases::table)
                    .values(&$cases)
                    .execute(conn)?;
                if !$checkpoints.is_empty() {
                    diesel::insert_into(audit_checkpoints::table)
                        .values(&$checkpoints)
                        .execute(conn)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap()
    }};
}

/// Writes `count` chained events (with their case index and a checkpoint every 1,000), in
/// batches; returns the number of canonical bytes hashed.
fn generate(url: &DatabaseUrl, keys: &KeyStore, count: u64) -> u64 {
    let mut conn = url.connect().unwrap();
    let mut rng = Rng(SEED);
    let mut prev = chain::GENESIS.to_vec();
    let mut bytes = 0u64;
    let mut rows = Vec::with_capacity(BATCH);
    let mut cases = Vec::with_capacity(BATCH);
    let mut checkpoints = Vec::new();
    for i in 0..count {
        let seq = i as i64 + 1;
        let e = event(i, count, &mut rng);
        let body = canonical(seq, &e);
        bytes += body.len() as u64 + 32;
        let hash = chain_hash(&prev, &body);
        rows.push(row(seq, &e, &prev, &hash));
        cases.push((
            audit_event_cases::case_id.eq(e.case_ids[0].clone()),
            audit_event_cases::seq.eq(seq),
        ));
        if seq % chain::CHECKPOINT_EVERY == 0 {
            checkpoints.push(chain::sign_head(&keys.audit, seq, &hash, e.at, None));
        }
        prev = hash.to_vec();
        if rows.len() == BATCH || i + 1 == count {
            match &mut conn {
                DbConn::Sqlite(c) => insert_batch!(c, rows, cases, checkpoints),
                DbConn::Postgresql(c) => insert_batch!(c, rows, cases, checkpoints),
            }
            rows.clear();
            cases.clear();
            checkpoints.clear();
        }
    }
    if let DbConn::Postgresql(c) = &mut conn {
        diesel::sql_query("ANALYZE").execute(c).unwrap();
    }
    bytes
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn raw_sha256_rate(bytes: u64) -> f64 {
    let block = vec![0x5Au8; 512];
    let started = Instant::now();
    let mut done = 0u64;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    while done < bytes {
        context.update(&block);
        done += block.len() as u64;
    }
    std::hint::black_box(context.finish());
    done as f64 / started.elapsed().as_secs_f64()
}

/// SHA-256 over the events' own messages (`prev_hash ‖ canonical`, each hashed on its own, as
/// verification must), in memory: the per-event padding and finalisation included. Up to 100,000
/// of the generated events, made again from the same seed.
fn raw_per_event_rate(count: u64) -> f64 {
    let mut rng = Rng(SEED);
    let messages: Vec<Vec<u8>> = (0..count.min(100_000))
        .map(|i| canonical(i as i64 + 1, &event(i, count, &mut rng)))
        .collect();
    let prev = [0x5Au8; 32];
    let started = Instant::now();
    let mut done = 0u64;
    for message in &messages {
        std::hint::black_box(chain_hash(&prev, message));
        done += message.len() as u64 + 32;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// The log's `bytes` per second at which PostgreSQL hands `columns` of every event to this
/// client (binary COPY), read and thrown away. On a connection of its own: diesel leaves a
/// connection that ran a raw COPY busy.
fn drained_rate<T: diesel::pg::CopyTarget>(url: &str, columns: T, bytes: u64) -> f64 {
    let mut conn = diesel::PgConnection::establish(url).unwrap();
    let started = Instant::now();
    let mut rows = diesel::copy_to(columns)
        .with_format(diesel::pg::CopyFormat::Binary)
        .load_raw(&mut conn)
        .unwrap();
    let sent = std::io::copy(&mut rows, &mut std::io::sink()).unwrap();
    assert!(sent > 0);
    bytes as f64 / started.elapsed().as_secs_f64() / 1e6
}

fn bench(label: &str, url: DatabaseUrl, count: u64) {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyStore::load_or_create(&dir.path().join("data")).unwrap();
    db::migrate(&url).unwrap();
    let started = Instant::now();
    let bytes = generate(&url, &keys, count);
    let generated = started.elapsed();

    // Start-up (which catches the tree up: the log was generated without it) and the console.
    let (first, whole, fresh) = console(&url, &dir.path().join("data"), count);
    println!(
        "{label}: /granskning's verification of {count} events: the first view waits {:.2} s \
         (then shows the previous result, or \"kontrolleras just nu\"), the background \
         verification finishes after {:.2} s, a view while it is fresh takes {:.3} ms",
        first.as_secs_f64(),
        whole.as_secs_f64(),
        fresh.as_secs_f64() * 1e3
    );

    let mut conn = url.connect().unwrap();
    let mut helper = url.connect().unwrap();
    // As `audit verify` runs: the upper half on a second connection. One connection alone too.
    let mut verify = |helper: Option<&mut db::DbConn>| {
        let started = Instant::now();
        let report = conn
            .transaction(|c| sig_register::audit::verify::verify_with(c, helper, &keys.audit, None))
            .unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.events_verified as u64, count);
        started.elapsed()
    };
    let alone = verify(None);
    let verified = verify(Some(&mut helper));
    incremental(label, &mut conn, &mut helper, &keys, count, verified);
    let rate = count as f64 / verified.as_secs_f64();
    let mb_s = bytes as f64 / verified.as_secs_f64() / 1e6;
    let mb_s_alone = bytes as f64 / alone.as_secs_f64() / 1e6;
    let raw = raw_sha256_rate(bytes) / 1e6;
    let per_event = raw_per_event_rate(count) / 1e6;

    // Each database's own floor over the same log: no verification through this storage can go
    // faster than the database hands over its rows.
    let floor = match &url {
        DatabaseUrl::Postgres(pg_url) => {
            let all = drained_rate(pg_url, audit_events::table, bytes);
            let links = drained_rate(
                pg_url,
                (
                    audit_events::seq,
                    audit_events::prev_hash,
                    audit_events::hash,
                ),
                bytes,
            );
            format!(
                " | PostgreSQL alone (binary COPY to this client, drained unread): every column \
                 {all:.0} MB/s ({:.2} of raw), seq + prev_hash + hash only {links:.0} MB/s ({:.2})",
                all / raw,
                links / raw
            )
        }
        DatabaseUrl::Sqlite(_) => {
            // SQLite's own floor: every row stepped and every column's bytes touched, in SQL.
            #[derive(QueryableByName)]
            struct Total {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                total: i64,
            }
            let started = Instant::now();
            let total: Total = diesel::sql_query(
                "SELECT sum(seq + octet_length(id) + octet_length(at) + octet_length(actor_sub) \
                 + octet_length(actor_name) + octet_length(actor_agency) + octet_length(actor_roles) \
                 + octet_length(action) + octet_length(outcome) + status + octet_length(case_ids) \
                 + octet_length(categories) + octet_length(consent_id) + octet_length(reason) \
                 + octet_length(request_id) + octet_length(method) + octet_length(path) \
                 + length(prev_hash) + length(hash)) AS total FROM audit_events",
            )
            .get_result(&mut conn)
            .unwrap();
            assert!(total.total > 0);
            let all = bytes as f64 / started.elapsed().as_secs_f64() / 1e6;
            format!(
                " | SQLite alone (every row stepped, every column's length summed in SQL): {all:.0} MB/s ({:.2} of raw)",
                all / raw
            )
        }
    };

    // The reviews page's sampling helper: the distinct people of the last year.
    let started = Instant::now();
    let users = sig_register::repo::reviews::active_users(&mut conn, start()).unwrap();
    println!(
        "{label}: the reviews page's active users ({} of them) over {count} events: {:.1} ms",
        users.len(),
        started.elapsed().as_secs_f64() * 1e3
    );

    let mut rng = Rng(42);
    let mut latencies = Vec::with_capacity(SEARCHES);
    let mut found = 0;
    for _ in 0..SEARCHES {
        let day = start() + chrono::Duration::days((rng.next() % DAYS as u64) as i64);
        let filter = Filter {
            actor: Some(format!("user-{:03}", rng.next() % ACTORS)),
            from: Some(day),
            to: Some(day + chrono::Duration::days(1)),
            ..Filter::default()
        };
        let started = Instant::now();
        let page = query::search(&mut conn, &filter, 0, 100).unwrap();
        latencies.push(started.elapsed());
        found += page.len();
    }
    latencies.sort();
    println!(
        "{label:<10} {count:>9} events | generate {:>6.1} s | verify {:>6.2} s = {:>9.0} events/s, {:>6.1} MB/s \
         (raw SHA-256 here: {:>6.0} MB/s, ratio {:.2}; one connection {:>6.1} MB/s, ratio {:.2}; \
         raw over each event's message on its own: {:>6.0} MB/s, ratio {:.2}) \
         | search actor+day p50 {:>6.2} ms p99 {:>6.2} ms ({} hits/search){floor}",
        generated.as_secs_f64(),
        verified.as_secs_f64(),
        rate,
        mb_s,
        raw,
        mb_s / raw,
        mb_s_alone,
        mb_s_alone / raw,
        per_event,
        mb_s / per_event,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        found / SEARCHES,
    );
}

/// `audit verify --incremental` after 10,000 new events on the generated log, beside the full
/// verification's time (`full`) on the same log.
fn incremental(
    label: &str,
    conn: &mut db::DbConn,
    helper: &mut db::DbConn,
    keys: &KeyStore,
    count: u64,
    full: Duration,
) {
    let report = conn
        .transaction(|c| {
            sig_register::audit::verify::verify_with(c, Some(helper), &keys.audit, None)
        })
        .unwrap();
    db::write_tx(conn, |c| {
        sig_register::audit::verify::record(c, &keys.audit, &report, start())
    })
    .unwrap();
    let mut rng = Rng(99);
    for chunk in 0..20u64 {
        let events: Vec<NewEvent> = (0..500u64)
            .map(|i| event(count + chunk * 500 + i, count, &mut rng))
            .collect();
        db::write_tx(conn, |c| chain::append_all(c, &events, &keys.audit)).unwrap();
    }
    let started = Instant::now();
    let report = conn
        .transaction(|c| sig_register::audit::verify::verify_incremental(c, &keys.audit, None))
        .unwrap();
    let took = started.elapsed();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events_verified, 10_000);
    println!(
        "{label}: incremental verification of 10,000 new events on a {count}-event log: {:.3} s = \
         {:.1} % of the full verification ({:.2} s)",
        took.as_secs_f64(),
        took.as_secs_f64() / full.as_secs_f64() * 100.0,
        full.as_secs_f64()
    );
}

/// The console's verification (`usecase::audit::newest_verification`) on the generated log,
/// through a real `AppState` (its pool, keys and policies): (first view's wait, whole
/// verification, a view with a fresh result).
fn console(
    url: &DatabaseUrl,
    data_dir: &std::path::Path,
    count: u64,
) -> (Duration, Duration, Duration) {
    let mut config = sig_register::config::Config::defaults();
    config.database_url = match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(text) => text.clone(),
    };
    config.data_dir = data_dir.to_path_buf();
    config.policies_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    // The log was generated without its Merkle tree: start-up adds the tree's nodes first, as
    // it does for a log written before the tree existed.
    let started = Instant::now();
    let state = sig_register::state::AppState::build(
        config,
        std::sync::Arc::new(sig_register::clock::SystemClock),
    )
    .unwrap();
    println!(
        "start-up with the audit tree caught up over {count} events: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    {
        let mut conn = state.pool.get().unwrap();
        let mut latencies = Vec::with_capacity(200);
        let mut rng = Rng(7);
        for _ in 0..200 {
            let seq = 1 + rng.next() % count;
            let started = Instant::now();
            let proof = sig_register::audit::tree::inclusion(&mut conn, seq, count)
                .unwrap()
                .unwrap();
            latencies.push(started.elapsed());
            assert!(proof.len() <= 64 - (count - 1).leading_zeros() as usize);
        }
        latencies.sort();
        println!(
            "inclusion proof from the stored tree, {count} events: p50 {:.2} ms, p99 {:.2} ms",
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3
        );
    }
    actix_web::rt::System::new().block_on(async move {
        use sig_register::usecase::audit::newest_verification;
        let started = Instant::now();
        let (shown, running) = newest_verification(state.clone()).await;
        let first = started.elapsed();
        assert!(shown.is_some() || running);
        let mut done = newest_verification(state.clone()).await;
        while done.1 {
            done = newest_verification(state.clone()).await;
        }
        let whole = started.elapsed();
        let report = done.0.expect("a verification");
        assert!(report.ok, "{report:?}");
        assert_eq!(report.events_verified as u64, count);
        let again = Instant::now();
        let (cached, running) = newest_verification(state.clone()).await;
        assert!(cached.is_some() && !running);
        (first, whole, again.elapsed())
    })
}

fn main() {
    let count: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    bench(
        "SQLite",
        DatabaseUrl::Sqlite(dir.path().join("bench.db")),
        count,
    );
    match pg::fresh_database() {
        Some(url) => bench("PostgreSQL", DatabaseUrl::Postgres(url), count),
        None => {
            println!("PostgreSQL: skipped (no initdb/pg_ctl on PATH, no SIG_TEST_POSTGRES_URL)")
        }
    }
}
