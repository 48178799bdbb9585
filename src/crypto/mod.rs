//! Key material and the cryptography built on it (ring).

pub mod columns;
pub mod fields;
pub mod keys;
