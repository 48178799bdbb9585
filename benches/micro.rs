//! Criterion micro-benchmarks of what every audited request pays:
//!
//! - `policy/evaluated`: one Cedar decision (a police officer reading one consented category),
//!   entity store and request built and evaluated; `policy/memoised`: the same decision asked
//!   again, as every later request with the same facts asks it;
//! - `audit_event/hash`: one event's canonical encoding and its SHA-256 link, beside
//!   `audit_event/raw_sha256` over the same bytes;
//! - `verify/sqlite_20000` (one connection) and `verify/sqlite_20000_two_connections` (as
//!   `audit verify` runs): verification of 20,000 events in a SQLite file, in bytes hashed
//!   per second (compare with `openssl speed -evp sha256` or `audit_event/raw_sha256`).
//!
//! ```text
//! cargo bench --bench micro
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use diesel::Connection;

use sig_register::audit::{canonical, chain, chain_hash, EventActor, NewEvent};
use sig_register::auth::{Actor, Role};
use sig_register::authz::{AgencyFacts, CaseFacts, Context, PolicyEngine, Question, Resource};
use sig_register::crypto::keys::KeyStore;
use sig_register::db::{self, DatabaseUrl};

const VERIFY_EVENTS: u64 = 20_000;

fn event(i: u64) -> NewEvent {
    let case = uuid::Uuid::from_u64_pair(i % 500, 1).to_string();
    NewEvent {
        id: uuid::Uuid::from_u64_pair(i, 2).to_string(),
        at: NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_micro_opt(9, 15, 0, (i % 1_000_000) as u32)
            .unwrap(),
        actor: EventActor {
            sub: Some(format!("user-{:03}", i % 200)),
            name: Some("Per Polis".to_owned()),
            agency: Some("polisen-orebro".to_owned()),
            roles: Some(vec!["police_officer".to_owned()]),
        },
        action: "case.read".to_owned(),
        outcome: "allowed".to_owned(),
        status: 200,
        case_ids: vec![case.clone()],
        categories: vec!["identity".to_owned(), "plan".to_owned()],
        consent_id: Some(uuid::Uuid::from_u64_pair(i % 500, 3).to_string()),
        reason: "consented-agency-reads-covered-categories".to_owned(),
        request_id: Some(uuid::Uuid::from_u64_pair(i, 4).to_string()),
        method: Some("GET".to_owned()),
        path: Some(format!("/api/v1/cases/{case}")),
    }
}

fn policy(c: &mut Criterion) {
    let engine =
        PolicyEngine::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap();
    let actor = Actor {
        sub: "po-1".to_owned(),
        name: "Per".to_owned(),
        agency: "polisen-orebro".to_owned(),
        roles: [Role::PoliceOfficer].into_iter().collect::<BTreeSet<_>>(),
    };
    let agency = AgencyFacts {
        slug: "polisen-orebro".to_owned(),
        kind: "police".to_owned(),
    };
    let case = Resource::Case(CaseFacts {
        id: "0192f0c4-0000-7000-8000-000000000001".to_owned(),
        owner_agency: "socialtjanst-orebro".to_owned(),
        status: "active".to_owned(),
        consent_active: true,
        consent_agencies: vec!["polisen-orebro".to_owned(), "skola-orebro".to_owned()],
        consent_categories: vec!["identity".to_owned(), "plan".to_owned()],
    });
    let context = Context::category("identity");
    let question = Question {
        actor: &actor,
        agency: &agency,
        action: "case.read",
        resource: &case,
        context: &context,
    };
    assert!(engine.evaluate(question).allowed);
    let mut group = c.benchmark_group("policy");
    group.bench_function("evaluated", |b| b.iter(|| engine.evaluate(question)));
    group.bench_function("memoised", |b| b.iter(|| engine.decide_in(question)));
    group.finish();
}

fn audit_event(c: &mut Criterion) {
    let e = event(7);
    let prev = [0x11u8; 32];
    let bytes = canonical(1042, &e).len() as u64 + 32;
    let mut joined = prev.to_vec();
    joined.extend_from_slice(&canonical(1042, &e));
    let mut group = c.benchmark_group("audit_event");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("hash", |b| {
        b.iter(|| chain_hash(&prev, &canonical(1042, &e)))
    });
    group.bench_function("raw_sha256", |b| {
        b.iter(|| ring::digest::digest(&ring::digest::SHA256, &joined))
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("verify.db"));
    db::migrate(&url).unwrap();
    let keys = KeyStore::load_or_create(&dir.path().join("data")).unwrap();
    let mut conn = url.connect().unwrap();
    let events: Vec<NewEvent> = (0..VERIFY_EVENTS).map(event).collect();
    let bytes: u64 = events
        .iter()
        .enumerate()
        .map(|(i, e)| canonical(i as i64 + 1, e).len() as u64 + 32)
        .sum();
    for batch in events.chunks(1000) {
        db::write_tx(&mut conn, |c| chain::append_all(c, batch, &keys.audit)).unwrap();
    }
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("sqlite_20000", |b| {
        b.iter(|| {
            let report = conn
                .transaction(|c| sig_register::audit::verify::verify(c, &keys.audit, None))
                .unwrap();
            assert!(report.ok());
            report
        })
    });
    // As `audit verify` runs it: the upper half on a second connection.
    let mut helper = url.connect().unwrap();
    group.bench_function("sqlite_20000_two_connections", |b| {
        b.iter(|| {
            let report = conn
                .transaction(|c| {
                    sig_register::audit::verify::verify_with(
                        c,
                        Some(&mut helper),
                        &keys.audit,
                        None,
                    )
                })
                .unwrap();
            assert!(report.ok());
            report
        })
    });
    group.finish();
}

criterion_group!(benches, policy, audit_event, verify);
criterion_main!(benches);
