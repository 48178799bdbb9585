//! The one portable schema for SQLite and PostgreSQL. Ids are `Text`, times UTC `Timestamp`,
//! ciphertexts and hashes `Binary`. `tests/it/schema_drift.rs` proves that both migration trees
//! produce exactly these tables and columns.

diesel::table! {
    areas (slug) {
        slug -> Text,
        name -> Text,
    }
}

diesel::table! {
    agencies (slug) {
        slug -> Text,
        name -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(areas, agencies);
