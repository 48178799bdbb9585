-- Joint implementation plans (gemensam genomförandeplan), API.md §8. Every write adds an
-- immutable version; the content (goals, measures, follow-ups) is sealed. plan_measures is a
-- plain index of each version's measures — ids, responsible agency and status, nothing
-- personal — for progress reporting and the steering group's statistics.
CREATE TABLE plan_versions (
    case_id TEXT NOT NULL REFERENCES cases (id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'agreed')),
    agreed_on DATE,
    content BYTEA NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by_sub TEXT NOT NULL,
    updated_by_agency TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE TABLE plan_measures (
    case_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    measure_id TEXT NOT NULL,
    agency TEXT NOT NULL REFERENCES agencies (slug),
    status TEXT NOT NULL CHECK (status IN ('planned', 'ongoing', 'done', 'cancelled')),
    PRIMARY KEY (case_id, version, measure_id),
    FOREIGN KEY (case_id, version) REFERENCES plan_versions (case_id, version)
);
