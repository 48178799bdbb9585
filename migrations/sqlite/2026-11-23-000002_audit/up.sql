-- The audit log (API.md §10): a hash chain of events, the events' case index for the
-- access-log extract, and signed checkpoints. All three are append-only: triggers refuse
-- UPDATE and DELETE.
CREATE TABLE audit_events (
    seq BIGINT NOT NULL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at TIMESTAMP NOT NULL,
    actor_sub TEXT,
    actor_name TEXT,
    actor_agency TEXT,
    actor_roles TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER NOT NULL,
    case_ids TEXT NOT NULL,
    categories TEXT NOT NULL,
    consent_id TEXT,
    reason TEXT NOT NULL,
    request_id TEXT,
    method TEXT,
    path TEXT,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_events_by_actor ON audit_events (actor_sub, at);
CREATE INDEX audit_events_by_agency ON audit_events (actor_agency, at);
CREATE INDEX audit_events_by_at ON audit_events (at);

CREATE TABLE audit_event_cases (
    case_id TEXT NOT NULL,
    seq BIGINT NOT NULL REFERENCES audit_events (seq),
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE audit_checkpoints (
    seq BIGINT NOT NULL PRIMARY KEY,
    hash BLOB NOT NULL,
    at TIMESTAMP NOT NULL,
    signature BLOB NOT NULL,
    key_id TEXT NOT NULL
);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_event_cases_no_update BEFORE UPDATE ON audit_event_cases
BEGIN SELECT RAISE(ABORT, 'audit_event_cases is append-only'); END;
CREATE TRIGGER audit_event_cases_no_delete BEFORE DELETE ON audit_event_cases
BEGIN SELECT RAISE(ABORT, 'audit_event_cases is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
