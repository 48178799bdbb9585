-- Each successful verification of the audit log, signed with the audit key: where the next
-- incremental verification starts (it re-reads only the events after `tree_size`).
CREATE TABLE audit_verified (
    tree_size BIGINT PRIMARY KEY NOT NULL,
    root BLOB NOT NULL,
    chain_hash BLOB NOT NULL,
    at TIMESTAMP NOT NULL,
    full_read BOOLEAN NOT NULL,
    signature BLOB NOT NULL
);

CREATE TRIGGER audit_verified_no_update BEFORE UPDATE ON audit_verified
BEGIN SELECT RAISE(ABORT, 'audit_verified is append-only'); END;
CREATE TRIGGER audit_verified_no_delete BEFORE DELETE ON audit_verified
BEGIN SELECT RAISE(ABORT, 'audit_verified is append-only'); END;
