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

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        at -> Timestamp,
        actor_sub -> Nullable<Text>,
        actor_name -> Nullable<Text>,
        actor_agency -> Nullable<Text>,
        actor_roles -> Nullable<Text>,
        action -> Text,
        outcome -> Text,
        status -> Integer,
        case_ids -> Text,
        categories -> Text,
        consent_id -> Nullable<Text>,
        reason -> Text,
        request_id -> Nullable<Text>,
        method -> Nullable<Text>,
        path -> Nullable<Text>,
        prev_hash -> Binary,
        hash -> Binary,
    }
}

diesel::table! {
    audit_event_cases (case_id, seq) {
        case_id -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    audit_checkpoints (seq) {
        seq -> BigInt,
        hash -> Binary,
        at -> Timestamp,
        signature -> Binary,
        key_id -> Text,
    }
}

diesel::joinable!(audit_event_cases -> audit_events (seq));

diesel::allow_tables_to_appear_in_same_query!(
    areas,
    agencies,
    audit_events,
    audit_event_cases,
    audit_checkpoints,
);
