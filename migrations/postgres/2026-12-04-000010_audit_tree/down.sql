DROP TABLE audit_tree;
