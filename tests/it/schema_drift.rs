//! Two migration trees drift silently: this migrates a fresh SQLite file and a fresh PostgreSQL
//! database and proves that both hold exactly the tables and columns of `src/db/schema.rs`,
//! with the same types and nullability.

use std::collections::BTreeMap;

use diesel::sql_types::{Integer, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

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
