-- The tree's leaves become commitments to each field of an event (src/audit/leaf.rs), so a
-- family's extract can show some fields and prove them. No tree head had been signed over the
-- earlier leaves, so the tree is built again, from the events, at the next start.
DROP TABLE audit_tree;
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

-- A checkpoint now also signs the tree head: its root over events 1..=seq and the signed
-- C2SP checkpoint note. Checkpoints signed before have neither.
ALTER TABLE audit_checkpoints ADD COLUMN root BYTEA;
ALTER TABLE audit_checkpoints ADD COLUMN note TEXT;
