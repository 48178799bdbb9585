-- Cases (ärenden), guardians, consents (samtycken) and notes (anteckningar), API.md §5, §6, §9.
-- Every personal field is sealed (AEAD, see src/crypto/fields.rs) and stored as BLOB; the
-- personal number is found only through its keyed blind index.
CREATE TABLE cases (
    id TEXT NOT NULL PRIMARY KEY,
    area TEXT NOT NULL REFERENCES areas (slug),
    status TEXT NOT NULL CHECK (status IN ('open', 'active', 'closed')),
    owner_agency TEXT NOT NULL REFERENCES agencies (slug),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    youth_pn_index BLOB NOT NULL,
    youth_personal_number BLOB NOT NULL,
    youth_given_name BLOB NOT NULL,
    youth_family_name BLOB NOT NULL,
    youth_phone BLOB,
    youth_address BLOB,
    youth_protected BOOLEAN NOT NULL,
    referral_source_agency TEXT REFERENCES agencies (slug),
    referral_reason BLOB,
    closure_reason BLOB,
    closed_at TIMESTAMP
);
CREATE INDEX cases_by_pn_index ON cases (youth_pn_index);
CREATE INDEX cases_by_owner ON cases (owner_agency, id);

CREATE TABLE guardians (
    id TEXT NOT NULL PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    position INTEGER NOT NULL,
    given_name BLOB NOT NULL,
    family_name BLOB NOT NULL,
    personal_number BLOB,
    phone BLOB,
    address BLOB,
    has_custody BOOLEAN NOT NULL,
    protected_identity BOOLEAN NOT NULL
);
CREATE INDEX guardians_by_case ON guardians (case_id, position);

CREATE TABLE consents (
    id TEXT NOT NULL PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    purpose TEXT NOT NULL,
    valid_from DATE NOT NULL,
    valid_until DATE NOT NULL,
    evidence_ref TEXT NOT NULL,
    recorded_by_sub TEXT NOT NULL,
    recorded_by_name TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    superseded_at TIMESTAMP,
    revoked_at TIMESTAMP,
    revoked_by_party TEXT,
    revoked_guardian_id TEXT,
    revoke_reason BLOB
);
CREATE INDEX consents_by_case ON consents (case_id, recorded_at);

CREATE TABLE consent_parties (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    position INTEGER NOT NULL,
    party TEXT NOT NULL CHECK (party IN ('youth', 'guardian')),
    required BOOLEAN NOT NULL,
    guardian_id TEXT REFERENCES guardians (id),
    decision TEXT NOT NULL CHECK (decision IN ('given', 'refused')),
    method TEXT NOT NULL CHECK (method IN ('written', 'oral')),
    decided_on DATE NOT NULL,
    PRIMARY KEY (consent_id, position)
);

CREATE TABLE consent_agencies (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    agency TEXT NOT NULL REFERENCES agencies (slug),
    PRIMARY KEY (consent_id, agency)
);
CREATE INDEX consent_agencies_by_agency ON consent_agencies (agency, consent_id);

CREATE TABLE consent_categories (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    category TEXT NOT NULL,
    PRIMARY KEY (consent_id, category)
);

CREATE TABLE notes (
    id TEXT NOT NULL PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    category TEXT NOT NULL,
    agency TEXT NOT NULL REFERENCES agencies (slug),
    author_sub TEXT NOT NULL,
    author_name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    text BLOB NOT NULL
);
CREATE INDEX notes_by_case ON notes (case_id, created_at);
