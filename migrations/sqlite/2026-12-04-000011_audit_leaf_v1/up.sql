-- The tree's leaves become commitments to each field of an event (src/audit/leaf.rs), so a
-- family's extract can show some fields and prove them. No tree head had been signed over the
-- earlier leaves, so the tree is built again, from the events, at the next start.
DROP TABLE audit_tree;
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

-- A checkpoint now also signs the tree head: its root over events 1..=seq and the signed
-- C2SP checkpoint note. Checkpoints signed before have neither.
ALTER TABLE audit_checkpoints ADD COLUMN root BLOB;
ALTER TABLE audit_checkpoints ADD COLUMN note TEXT;
