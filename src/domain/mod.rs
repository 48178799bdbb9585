//! Pure rules with no HTTP and no SQL.

pub mod agency;
