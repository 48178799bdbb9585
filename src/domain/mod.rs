//! Pure rules with no HTTP and no SQL.

pub mod agency;
pub mod consent;
pub mod personal_number;
