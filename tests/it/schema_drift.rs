//! Two migration trees drift silently: this migrates a fresh SQLite file and a fresh PostgreSQL
//! database and proves that both hold exactly the tables and columns of `src/db/schema.rs`,
//! with the same types and nullability.

use std::collections::BTreeMap;

use diesel::sql_types::{Integer, Text};
use diesel::{
    Connection, ExpressionMethods, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection,
};

use sig_register::audit::{chain, EventActor, NewEvent};
use sig_register::crypto::keys::KeyStore;
use sig_register::db::{self, DatabaseUrl};

use crate::support::{pg, project_dir};

/// table → column → (diesel type, nullable)
type Columns = BTreeMap<String, BTreeMap<String, (String, bool)>>;

/// Reads the `diesel::table!` blocks of schema.rs.
fn schema_rs() -> Columns {
    let text = std::fs::read_to_string(project_dir().join("src/db/schema.rs")).expect("schema.rs");
    let mut tables = Columns::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line
            .strip_suffix('{')
            .map(str::trim)
            .filter(|l| l.contains('(') && !l.contains("table!"))
        {
            current = Some(name.split('(').next().expect("name").trim().to_owned());
            continue;
        }
        if line.starts_with('}') {
            current = None;
            continue;
        }
        if let (Some(table), Some((column, kind))) =
            (&current, line.trim_end_matches(',').split_once("->"))
        {
            let kind = kind.trim();
            let (kind, nullable) = match kind
                .strip_prefix("Nullable<")
                .and_then(|k| k.strip_suffix('>'))
            {
                Some(inner) => (inner, true),
                None => (kind, false),
            };
            tables
                .entry(table.clone())
                .or_default()
                .insert(column.trim().to_owned(), (kind.to_owned(), nullable));
        }
    }
    assert!(!tables.is_empty(), "no tables parsed from schema.rs");
    tables
}

#[derive(QueryableByName)]
struct SqliteTable {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text, column_name = "type")]
    kind: String,
    #[diesel(sql_type = Integer)]
    notnull: i32,
}

fn sqlite_type(declared: &str) -> String {
    match declared.to_ascii_uppercase().as_str() {
        "TEXT" => "Text",
        "BLOB" => "Binary",
        "BIGINT" => "BigInt",
        "INTEGER" => "Integer",
        "TIMESTAMP" => "Timestamp",
        "BOOLEAN" => "Bool",
        "DATE" => "Date",
        other => return format!("unmapped SQLite type {other}"),
    }
    .to_owned()
}

fn sqlite_columns(path: &std::path::Path) -> Columns {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).expect("open");
    let tables: Vec<SqliteTable> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .expect("tables");
    let mut columns = Columns::new();
    for table in tables {
        let rows: Vec<SqliteColumn> =
            diesel::sql_query(format!("PRAGMA table_info(\"{}\")", table.name))
                .load(&mut conn)
                .expect("columns");
        let entry = columns.entry(table.name).or_default();
        for row in rows {
            entry.insert(row.name, (sqlite_type(&row.kind), row.notnull == 0));
        }
    }
    columns
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

fn pg_type(data_type: &str) -> String {
    match data_type {
        "text" => "Text",
        "bytea" => "Binary",
        "bigint" => "BigInt",
        "integer" => "Integer",
        "timestamp without time zone" => "Timestamp",
        "boolean" => "Bool",
        "date" => "Date",
        other => return format!("unmapped PostgreSQL type {other}"),
    }
    .to_owned()
}

fn pg_columns(url: &str) -> Columns {
    let mut conn = PgConnection::establish(url).expect("connect");
    let rows: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                data_type::text AS data_type, is_nullable::text AS is_nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .expect("columns");
    let mut columns = Columns::new();
    for row in rows {
        columns.entry(row.table_name).or_default().insert(
            row.column_name,
            (pg_type(&row.data_type), row.is_nullable == "YES"),
        );
    }
    columns
}

#[test]
fn sqlite_migrations_match_schema_rs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("drift.db");
    db::migrate(&DatabaseUrl::Sqlite(path.clone())).expect("migrate");
    assert_eq!(sqlite_columns(&path), schema_rs());
}

#[test]
fn postgres_migrations_match_schema_rs() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    db::migrate(&DatabaseUrl::Postgres(url.clone())).expect("migrate");
    assert_eq!(pg_columns(&url), schema_rs());
}

#[test]
fn migrations_are_idempotent_on_both_backends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = DatabaseUrl::Sqlite(dir.path().join("twice.db"));
    assert!(db::migrate(&sqlite).expect("first") > 0);
    assert_eq!(db::migrate(&sqlite).expect("second"), 0);
    if let Some(url) = pg::fresh_database() {
        let postgres = DatabaseUrl::Postgres(url);
        assert!(db::migrate(&postgres).expect("first") > 0);
        assert_eq!(db::migrate(&postgres).expect("second"), 0);
    }
}

/// Rows and audit events written under the first four migrations, then the rest: migration 5
/// (retention), whose SQLite half rebuilds `cases` and `plan_versions` with foreign keys off,
/// migration 6 (the case index in event order), 7 (web sessions) and 8 (the `demo` mark, false
/// for every existing case).
/// Every row and reference survives, the new flags start false, the audit chain still verifies
/// and grows, and the foreign keys and append-only triggers still hold.
fn upgrade_keeps_rows<C>(
    conn: &mut C,
    migrations_dir: &str,
    blob: &str,
    url: &DatabaseUrl,
    later_migrations: usize,
) where
    C: diesel::connection::SimpleConnection
        + diesel_migrations::MigrationHarness<C::Backend>
        + Connection,
{
    let migrations =
        diesel_migrations::FileBasedMigrations::from_path(project_dir().join(migrations_dir))
            .expect("migrations");
    for _ in 0..4 {
        conn.run_next_migration(migrations.clone())
            .expect("an earlier migration");
    }
    conn.batch_execute(&format!(
        "INSERT INTO cases (id, area, status, owner_agency, created_by, created_at, updated_at, \
           version, youth_pn_index, youth_personal_number, youth_given_name, youth_family_name, \
           youth_protected, closed_at) \
         VALUES ('c1', 'vivalla', 'closed', 'socialtjanst-orebro', 'u', '2020-01-01 10:00:00', \
           '2020-01-01 10:00:00', 3, {blob}, {blob}, {blob}, {blob}, FALSE, '2020-02-01 10:00:00');
         INSERT INTO guardians (id, case_id, position, given_name, family_name, has_custody, \
           protected_identity) VALUES ('g1', 'c1', 0, {blob}, {blob}, TRUE, FALSE);
         INSERT INTO notes (id, case_id, category, agency, author_sub, author_name, created_at, text) \
           VALUES ('n1', 'c1', 'social_notes', 'socialtjanst-orebro', 'u', 'U', '2020-01-02 10:00:00', {blob});
         INSERT INTO plan_versions (case_id, version, status, content, updated_at, updated_by_sub, \
           updated_by_agency) VALUES ('c1', 1, 'draft', {blob}, '2020-01-03 10:00:00', 'u', 'socialtjanst-orebro');
         INSERT INTO plan_measures (case_id, version, measure_id, agency, status) \
           VALUES ('c1', 1, 'm1', 'polisen-orebro', 'ongoing');"
    ))
    .expect("rows under the old schema");
    let key_dir = tempfile::tempdir().expect("tempdir");
    let keys = KeyStore::load_or_create(key_dir.path()).expect("keys");
    let event = |n: usize| NewEvent {
        id: format!("e{n}"),
        at: chrono::NaiveDate::from_ymd_opt(2020, 1, 4)
            .and_then(|d| d.and_hms_opt(10, 0, n as u32))
            .expect("time"),
        actor: EventActor::default(),
        action: "case.read".to_owned(),
        outcome: "allowed".to_owned(),
        status: 200,
        case_ids: vec!["c1".to_owned()],
        categories: vec![],
        consent_id: None,
        reason: "owner".to_owned(),
        request_id: None,
        method: Some("GET".to_owned()),
        path: Some("/api/v1/cases/c1".to_owned()),
    };
    // Events as the old schema's writer stored them: the chain's rows alone.
    let mut before = url.connect().expect("connect");
    let mut prev = chain::GENESIS.to_vec();
    for n in 0..3 {
        let seq = n as i64 + 1;
        let e = event(n);
        let hash = sig_register::audit::chain_hash(&prev, &sig_register::audit::canonical(seq, &e));
        let row = chain::EventRow {
            seq,
            id: e.id.clone(),
            at: e.at,
            actor_sub: None,
            actor_name: None,
            actor_agency: None,
            actor_roles: None,
            action: e.action.clone(),
            outcome: e.outcome.clone(),
            status: e.status,
            case_ids: sig_register::audit::json_list(&e.case_ids),
            categories: sig_register::audit::json_list(&e.categories),
            consent_id: None,
            reason: e.reason.clone(),
            request_id: None,
            method: e.method.clone(),
            path: e.path.clone(),
            prev_hash: prev.clone(),
            hash: hash.to_vec(),
        };
        diesel::insert_into(sig_register::db::schema::audit_events::table)
            .values(&row)
            .execute(&mut before)
            .expect("an event under the old schema");
        diesel::insert_into(sig_register::db::schema::audit_event_cases::table)
            .values((
                sig_register::db::schema::audit_event_cases::case_id.eq("c1"),
                sig_register::db::schema::audit_event_cases::seq.eq(seq),
            ))
            .execute(&mut before)
            .expect("its case index");
        prev = hash.to_vec();
    }
    drop(before);
    assert_eq!(
        db::migrate(url).expect("the later migrations"),
        later_migrations
    );
    let mut after = url.connect().expect("connect");
    db::write_tx(&mut after, |c| chain::append(c, &event(3), &keys.audit))
        .expect("an event after the upgrade");
    let report =
        sig_register::audit::verify::verify(&mut after, &keys.audit, None).expect("verify");
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events_verified, 4);
    // The tree was caught up with the three old events when the fourth went in.
    assert_eq!(
        sig_register::audit::tree::size(&mut after).expect("tree"),
        4
    );
    // A checkpoint signed now is a signed tree head over all four.
    let head = db::write_tx(&mut after, |c| {
        chain::checkpoint_head(c, &keys.audit, event(4).at)
    })
    .expect("a checkpoint")
    .expect("a head");
    let note = head.note.expect("a tree head note");
    let opened = sig_register::audit::note::open_checkpoint(
        &note,
        &keys.audit.origin,
        keys.audit.public_key(),
    )
    .expect("it verifies");
    assert_eq!(opened.size, 4);
    assert!(
        diesel::sql_query("UPDATE audit_events SET reason = 'x' WHERE seq = 1")
            .execute(&mut after)
            .is_err(),
        "audit_events stays append-only"
    );
    assert!(
        diesel::sql_query("INSERT INTO audit_event_cases (case_id, seq) VALUES ('c1', 99)")
            .execute(&mut after)
            .is_err(),
        "the case index still refers to events"
    );
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Counted {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |conn: &mut db::DbConn, sql: &str| -> i64 {
        diesel::sql_query(sql)
            .get_result::<Counted>(conn)
            .expect(sql)
            .n
    };
    for (sql, expected) in [
        (
            "SELECT COUNT(*) AS n FROM cases WHERE id = 'c1' AND version = 3 \
          AND youth_given_name IS NOT NULL AND NOT retention_hold AND NOT retention_archive \
          AND erased_at IS NULL AND archived_at IS NULL AND closed_at IS NOT NULL",
            1,
        ),
        (
            "SELECT COUNT(*) AS n FROM guardians g JOIN cases c ON c.id = g.case_id",
            1,
        ),
        (
            "SELECT COUNT(*) AS n FROM notes n JOIN cases c ON c.id = n.case_id",
            1,
        ),
        (
            "SELECT COUNT(*) AS n FROM plan_versions p JOIN cases c ON c.id = p.case_id \
          WHERE p.content IS NOT NULL",
            1,
        ),
        (
            "SELECT COUNT(*) AS n FROM plan_measures m JOIN plan_versions p \
          ON p.case_id = m.case_id AND p.version = m.version",
            1,
        ),
    ] {
        assert_eq!(count(&mut after, sql), expected, "{sql}");
    }
    // The rebuilt tables still enforce their references and the erased-or-whole rule.
    assert!(diesel::sql_query(
        "INSERT INTO notes (id, case_id, category, agency, author_sub, author_name, created_at, text) \
         SELECT 'n2', 'no-such-case', category, agency, author_sub, author_name, created_at, text FROM notes"
    )
    .execute(&mut after)
    .is_err(), "a note of no case");
    assert!(
        diesel::sql_query("UPDATE cases SET youth_given_name = NULL WHERE id = 'c1'")
            .execute(&mut after)
            .is_err(),
        "a live case without its name"
    );
}

#[test]
fn sqlite_upgrades_keep_every_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("upgrade.db");
    let url = DatabaseUrl::Sqlite(path.clone());
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).expect("open");
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "PRAGMA foreign_keys = ON")
        .expect("pragma");
    upgrade_keeps_rows(&mut conn, "migrations/sqlite", "X'0102'", &url, 9);
}

#[test]
fn postgres_upgrades_keep_every_row() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    let mut conn = PgConnection::establish(&url).expect("connect");
    upgrade_keeps_rows(
        &mut conn,
        "migrations/postgres",
        "'\\x0102'::bytea",
        &DatabaseUrl::Postgres(url.clone()),
        9,
    );
}
