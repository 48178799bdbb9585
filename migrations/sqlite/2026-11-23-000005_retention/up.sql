-- Retention (gallring), DOMAIN.md: personal fields become NULL when a case is erased, and a
-- case carries its retention flags and the dates the retention job acted on it.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE cases_new (
    id TEXT NOT NULL PRIMARY KEY,
    area TEXT NOT NULL REFERENCES areas (slug),
    status TEXT NOT NULL CHECK (status IN ('open', 'active', 'closed')),
    owner_agency TEXT NOT NULL REFERENCES agencies (slug),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    youth_pn_index BLOB,
    youth_personal_number BLOB,
    youth_given_name BLOB,
    youth_family_name BLOB,
    youth_phone BLOB,
    youth_address BLOB,
    youth_protected BOOLEAN NOT NULL,
    referral_source_agency TEXT REFERENCES agencies (slug),
    referral_reason BLOB,
    closure_reason BLOB,
    closed_at TIMESTAMP,
    retention_hold BOOLEAN NOT NULL DEFAULT FALSE,
    retention_archive BOOLEAN NOT NULL DEFAULT FALSE,
    archived_at TIMESTAMP,
    erased_at TIMESTAMP,
    -- An erased case keeps no personal field; a live one has all its required ones.
    CHECK ((erased_at IS NULL) = (youth_pn_index IS NOT NULL AND youth_personal_number IS NOT NULL
        AND youth_given_name IS NOT NULL AND youth_family_name IS NOT NULL))
);
INSERT INTO cases_new (id, area, status, owner_agency, created_by, created_at, updated_at, version,
    youth_pn_index, youth_personal_number, youth_given_name, youth_family_name, youth_phone,
    youth_address, youth_protected, referral_source_agency, referral_reason, closure_reason,
    closed_at)
SELECT id, area, status, owner_agency, created_by, created_at, updated_at, version,
    youth_pn_index, youth_personal_number, youth_given_name, youth_family_name, youth_phone,
    youth_address, youth_protected, referral_source_agency, referral_reason, closure_reason,
    closed_at
FROM cases;
DROP TABLE cases;
ALTER TABLE cases_new RENAME TO cases;
CREATE INDEX cases_by_pn_index ON cases (youth_pn_index);
CREATE INDEX cases_by_owner ON cases (owner_agency, id);
CREATE INDEX cases_by_closure ON cases (closed_at) WHERE status = 'closed' AND erased_at IS NULL;

CREATE TABLE plan_versions_new (
    case_id TEXT NOT NULL REFERENCES cases (id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'agreed')),
    agreed_on DATE,
    -- NULL once the case is erased; the version's metadata and measure index stay.
    content BLOB,
    updated_at TIMESTAMP NOT NULL,
    updated_by_sub TEXT NOT NULL,
    updated_by_agency TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);
INSERT INTO plan_versions_new (case_id, version, status, agreed_on, content, updated_at,
    updated_by_sub, updated_by_agency)
SELECT case_id, version, status, agreed_on, content, updated_at, updated_by_sub, updated_by_agency
FROM plan_versions;
DROP TABLE plan_versions;
ALTER TABLE plan_versions_new RENAME TO plan_versions;

COMMIT;
PRAGMA foreign_keys = ON;
