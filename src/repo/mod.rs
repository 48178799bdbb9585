//! Plain synchronous query functions over an open connection, one file per table group, so
//! several of them join one unit of work's transaction.

pub mod case_read_pg;
pub mod cases;
pub mod plans;
pub mod reference;
pub mod retention;
pub mod reviews;
pub mod rows;
pub mod sessions;
pub mod stats;
