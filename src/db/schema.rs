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
        root -> Nullable<Binary>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Binary,
        sub -> Text,
        name -> Text,
        agency -> Text,
        roles -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::joinable!(audit_event_cases -> audit_events (seq));

diesel::table! {
    audit_reviews (id) {
        id -> Text,
        period_from -> Date,
        period_to -> Date,
        scope -> Binary,
        findings -> Binary,
        actions -> Binary,
        sampled_subs -> Text,
        reviewed_by_sub -> Text,
        reviewed_by_name -> Text,
        reviewed_by_agency -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_tree (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    audit_cosignatures (witness, tree_size) {
        witness -> Text,
        tree_size -> BigInt,
        line -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    audit_verified (tree_size) {
        tree_size -> BigInt,
        root -> Binary,
        chain_hash -> Binary,
        at -> Timestamp,
        full_read -> Bool,
        signature -> Binary,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        area -> Text,
        status -> Text,
        owner_agency -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        youth_pn_index -> Nullable<Binary>,
        youth_personal_number -> Nullable<Binary>,
        youth_given_name -> Nullable<Binary>,
        youth_family_name -> Nullable<Binary>,
        youth_phone -> Nullable<Binary>,
        youth_address -> Nullable<Binary>,
        youth_protected -> Bool,
        referral_source_agency -> Nullable<Text>,
        referral_reason -> Nullable<Binary>,
        closure_reason -> Nullable<Binary>,
        closed_at -> Nullable<Timestamp>,
        retention_hold -> Bool,
        retention_archive -> Bool,
        archived_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
        demo -> Bool,
    }
}

diesel::table! {
    guardians (id) {
        id -> Text,
        case_id -> Text,
        position -> Integer,
        given_name -> Binary,
        family_name -> Binary,
        personal_number -> Nullable<Binary>,
        phone -> Nullable<Binary>,
        address -> Nullable<Binary>,
        has_custody -> Bool,
        protected_identity -> Bool,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        case_id -> Text,
        purpose -> Text,
        valid_from -> Date,
        valid_until -> Date,
        evidence_ref -> Text,
        recorded_by_sub -> Text,
        recorded_by_name -> Text,
        recorded_at -> Timestamp,
        superseded_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by_party -> Nullable<Text>,
        revoked_guardian_id -> Nullable<Text>,
        revoke_reason -> Nullable<Binary>,
    }
}

diesel::table! {
    consent_parties (consent_id, position) {
        consent_id -> Text,
        position -> Integer,
        party -> Text,
        required -> Bool,
        guardian_id -> Nullable<Text>,
        decision -> Text,
        method -> Text,
        decided_on -> Date,
    }
}

diesel::table! {
    consent_agencies (consent_id, agency) {
        consent_id -> Text,
        agency -> Text,
    }
}

diesel::table! {
    consent_categories (consent_id, category) {
        consent_id -> Text,
        category -> Text,
    }
}

diesel::table! {
    notes (id) {
        id -> Text,
        case_id -> Text,
        category -> Text,
        agency -> Text,
        author_sub -> Text,
        author_name -> Text,
        created_at -> Timestamp,
        text -> Binary,
    }
}

diesel::table! {
    plan_versions (case_id, version) {
        case_id -> Text,
        version -> BigInt,
        status -> Text,
        agreed_on -> Nullable<Date>,
        content -> Nullable<Binary>,
        updated_at -> Timestamp,
        updated_by_sub -> Text,
        updated_by_agency -> Text,
    }
}

diesel::table! {
    plan_measures (case_id, version, measure_id) {
        case_id -> Text,
        version -> BigInt,
        measure_id -> Text,
        agency -> Text,
        status -> Text,
    }
}

diesel::joinable!(plan_versions -> cases (case_id));
diesel::joinable!(guardians -> cases (case_id));
diesel::joinable!(consents -> cases (case_id));
diesel::joinable!(consent_parties -> consents (consent_id));
diesel::joinable!(consent_agencies -> consents (consent_id));
diesel::joinable!(consent_categories -> consents (consent_id));
diesel::joinable!(notes -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    areas,
    agencies,
    audit_events,
    audit_event_cases,
    audit_checkpoints,
    audit_cosignatures,
    audit_reviews,
    audit_tree,
    audit_verified,
    cases,
    guardians,
    consents,
    consent_parties,
    consent_agencies,
    consent_categories,
    notes,
    plan_versions,
    plan_measures,
    sessions,
);
