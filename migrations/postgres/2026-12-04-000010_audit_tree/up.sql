-- A Merkle tree over the audit events (RFC 9162 hashing; src/audit/merkle.rs): every perfect
-- subtree, node (level, idx) covering events idx·2^level + 1 ..= (idx+1)·2^level. Written in the
-- same statement or transaction as the events it covers; append-only like the log.
CREATE TABLE audit_tree (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TRIGGER audit_tree_append_only BEFORE UPDATE OR DELETE ON audit_tree
    FOR EACH ROW EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_tree_no_truncate BEFORE TRUNCATE ON audit_tree
    FOR EACH STATEMENT EXECUTE FUNCTION sig_refuse_change();
