-- Outside witnesses' cosignatures of the log's signed tree heads (C2SP tlog-cosignature), as
-- they answered: one line per witness and tree size. Append-only like the log.
CREATE TABLE audit_cosignatures (
    witness TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    line TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (witness, tree_size)
);

CREATE TRIGGER audit_cosignatures_append_only BEFORE UPDATE OR DELETE ON audit_cosignatures
    FOR EACH ROW EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_cosignatures_no_truncate BEFORE TRUNCATE ON audit_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION sig_refuse_change();
