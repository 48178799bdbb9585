//! Key material and the cryptography built on it (ring).

pub mod fields;
pub mod keys;
