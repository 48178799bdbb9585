-- Only possible while no case has been erased (NOT NULL returns).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE cases_old (
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
INSERT INTO cases_old SELECT id, area, status, owner_agency, created_by, created_at, updated_at,
    version, youth_pn_index, youth_personal_number, youth_given_name, youth_family_name,
    youth_phone, youth_address, youth_protected, referral_source_agency, referral_reason,
    closure_reason, closed_at
FROM cases;
DROP TABLE cases;
ALTER TABLE cases_old RENAME TO cases;
CREATE INDEX cases_by_pn_index ON cases (youth_pn_index);
CREATE INDEX cases_by_owner ON cases (owner_agency, id);

CREATE TABLE plan_versions_old (
    case_id TEXT NOT NULL REFERENCES cases (id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'agreed')),
    agreed_on DATE,
    content BLOB NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by_sub TEXT NOT NULL,
    updated_by_agency TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);
INSERT INTO plan_versions_old SELECT * FROM plan_versions;
DROP TABLE plan_versions;
ALTER TABLE plan_versions_old RENAME TO plan_versions;

COMMIT;
PRAGMA foreign_keys = ON;
