//! The read and write transactions every request runs in, on a real database of each backend.

use diesel::prelude::*;
use diesel::result::Error;

use sig_register::db::{self, schema::areas};

use crate::audit::conn;
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

async fn a_read_transaction_reads_and_rolls_back_on_error(backend: Backend) {
    let Some(app) = TestApp::new(backend) else {
        return;
    };
    let mut conn = conn(&app);
    let seeded = area_count(&mut conn);
    assert!(seeded > 0);
    let read = db::read_tx(&mut conn, |conn| Ok::<_, Error>(area_count(conn)));
    assert_eq!(read, Ok(seeded));
    // On PostgreSQL the transaction is READ ONLY: a write in it fails, and nothing is kept.
    let written = db::read_tx(&mut conn, |conn| add_area(conn, "prov-1"));
    match backend {
        Backend::Postgres => {
            let error = written.expect_err("a write in a read transaction");
            assert!(error.to_string().contains("read-only"), "{error}");
        }
        Backend::Sqlite => assert_eq!(written, Ok(1)),
    }
    // An error rolls the work back, and the connection serves the next transaction.
    let failed = db::read_tx(&mut conn, |conn| {
        if backend == Backend::Sqlite {
            add_area(conn, "prov-2")?;
        }
        Err::<(), _>(Error::RollbackTransaction)
    });
    assert_eq!(failed, Err(Error::RollbackTransaction));
    let expected = seeded + i64::from(backend == Backend::Sqlite);
    assert_eq!(area_count(&mut conn), expected);
    // A write transaction commits, and rolls back on error too.
    db::write_tx(&mut conn, |conn| add_area(conn, "prov-3")).expect("write");
    let failed = db::write_tx(&mut conn, |conn| {
        add_area(conn, "prov-4")?;
        Err::<(), _>(Error::RollbackTransaction)
    });
    assert_eq!(failed, Err(Error::RollbackTransaction));
    assert_eq!(area_count(&mut conn), expected + 1);
}

on_both_backends!(a_read_transaction_reads_and_rolls_back_on_error);
