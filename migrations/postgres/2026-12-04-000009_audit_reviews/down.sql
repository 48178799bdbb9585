DROP TABLE audit_reviews;
