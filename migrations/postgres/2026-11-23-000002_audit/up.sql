-- The audit log (API.md §10): a hash chain of events, the events' case index for the
-- access-log extract, and signed checkpoints. All three are append-only: triggers refuse
-- UPDATE, DELETE and TRUNCATE.
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
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
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
    hash BYTEA NOT NULL,
    at TIMESTAMP NOT NULL,
    signature BYTEA NOT NULL,
    key_id TEXT NOT NULL
);

CREATE FUNCTION sig_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_event_cases_append_only BEFORE UPDATE OR DELETE ON audit_event_cases
    FOR EACH ROW EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_event_cases_no_truncate BEFORE TRUNCATE ON audit_event_cases
    FOR EACH STATEMENT EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION sig_refuse_change();
