-- Outside witnesses' cosignatures of the log's signed tree heads (C2SP tlog-cosignature), as
-- they answered: one line per witness and tree size. Append-only like the log.
CREATE TABLE audit_cosignatures (
    witness TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    line TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (witness, tree_size)
);

CREATE TRIGGER audit_cosignatures_no_update BEFORE UPDATE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'audit_cosignatures is append-only'); END;
CREATE TRIGGER audit_cosignatures_no_delete BEFORE DELETE ON audit_cosignatures
BEGIN SELECT RAISE(ABORT, 'audit_cosignatures is append-only'); END;
