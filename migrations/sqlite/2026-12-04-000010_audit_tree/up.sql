-- A Merkle tree over the audit events (RFC 9162 hashing; src/audit/merkle.rs): every perfect
-- subtree, node (level, idx) covering events idx·2^level + 1 ..= (idx+1)·2^level. Written in the
-- same transaction as the events it covers; append-only like the log.
CREATE TABLE audit_tree (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TRIGGER audit_tree_no_update BEFORE UPDATE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END;
CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END;
