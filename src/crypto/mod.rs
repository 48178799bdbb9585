//! Key material and the cryptography built on it (ring).

pub mod keys;
