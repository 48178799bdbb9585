DROP TABLE audit_verified;
