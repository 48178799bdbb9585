-- Each successful verification of the audit log, signed with the audit key: where the next
-- incremental verification starts (it re-reads only the events after `tree_size`).
CREATE TABLE audit_verified (
    tree_size BIGINT PRIMARY KEY NOT NULL,
    root BYTEA NOT NULL,
    chain_hash BYTEA NOT NULL,
    at TIMESTAMP NOT NULL,
    full_read BOOLEAN NOT NULL,
    signature BYTEA NOT NULL
);

CREATE TRIGGER audit_verified_append_only BEFORE UPDATE OR DELETE ON audit_verified
    FOR EACH ROW EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_verified_no_truncate BEFORE TRUNCATE ON audit_verified
    FOR EACH STATEMENT EXECUTE FUNCTION sig_refuse_change();
