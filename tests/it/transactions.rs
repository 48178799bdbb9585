//! The read and write transactions every request runs in, on a real database of each backend.

use diesel::prelude::*;
use diesel::result::Error;

use sig_register::db::{self, schema::areas};

use crate::audit::conn as conn_of;
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

fn area_count(conn: &mut db::DbConn) -> i64 {
    areas::table.count().get_result(conn).expect("count")
}

fn add_area(conn: &mut db::DbConn, slug: &str) -> QueryResult<usize> {
    diesel::insert_into(areas::table)
        .values((areas::slug.eq(slug), areas::name.eq("Prov")))
        .execute(conn)
}

/// As the service runs them: on a connection of its pool.
async fn a_read_transaction_reads_and_rolls_back_on_error(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut pooled = app.state().pool.get().expect("a pool connection");
    let conn: &mut db::DbConn = &mut pooled;
    let seeded = area_count(conn);
    assert!(seeded > 0);
    let read = db::read_tx(conn, |conn| Ok::<_, Error>(area_count(conn)));
    assert_eq!(read, Ok(seeded));
    // On PostgreSQL the pool's connections are read-only outside a write transaction: a write
    // in a read fails, and nothing is kept; so does one outside any unit of work.
    let written = db::read_tx(conn, |conn| add_area(conn, "prov-1"));
    match backend {
        Backend::Postgres => {
            let error = written.expect_err("a write in a read transaction");
            assert!(error.to_string().contains("read-only"), "{error}");
            let error = add_area(conn, "prov-1").expect_err("a write outside a transaction");
            assert!(error.to_string().contains("read-only"), "{error}");
            // A connection of its own (the CLI's, the audit writer's) is not limited.
            let mut own = conn_of(&app);
            assert_eq!(add_area(&mut own, "prov-0"), Ok(1));
            diesel::delete(areas::table.filter(areas::slug.eq("prov-0")))
                .execute(&mut own)
                .expect("delete");
        }
        Backend::Sqlite => assert_eq!(written, Ok(1)),
    }
    // An error rolls the work back, and the connection serves the next transaction.
    let failed = db::read_tx(conn, |conn| {
        if backend == Backend::Sqlite {
            add_area(conn, "prov-2")?;
        }
        Err::<(), _>(Error::RollbackTransaction)
    });
    assert_eq!(failed, Err(Error::RollbackTransaction));
    let expected = seeded + i64::from(backend == Backend::Sqlite);
    assert_eq!(area_count(conn), expected);
    // A write transaction commits, and rolls back on error too.
    db::write_tx(conn, |conn| add_area(conn, "prov-3")).expect("write");
    let failed = db::write_tx(conn, |conn| {
        add_area(conn, "prov-4")?;
        Err::<(), _>(Error::RollbackTransaction)
    });
    assert_eq!(failed, Err(Error::RollbackTransaction));
    assert_eq!(area_count(conn), expected + 1);
}

on_both_backends!(a_read_transaction_reads_and_rolls_back_on_error);
