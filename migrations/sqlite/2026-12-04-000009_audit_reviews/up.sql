-- Documented log reviews (logguppföljning, API.md §10): append-only like the log. The three
-- texts are sealed by the service (AEAD bound to the row's id); `sampled_subs` is the JSON list
-- of the users picked for the review (staff identifiers, as in the log's events).
CREATE TABLE audit_reviews (
    id TEXT NOT NULL PRIMARY KEY,
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    scope BLOB NOT NULL,
    findings BLOB NOT NULL,
    actions BLOB NOT NULL,
    sampled_subs TEXT NOT NULL,
    reviewed_by_sub TEXT NOT NULL,
    reviewed_by_name TEXT NOT NULL,
    reviewed_by_agency TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_reviews_by_created ON audit_reviews (created_at);

CREATE TRIGGER audit_reviews_no_update BEFORE UPDATE ON audit_reviews
BEGIN SELECT RAISE(ABORT, 'audit_reviews is append-only'); END;
CREATE TRIGGER audit_reviews_no_delete BEFORE DELETE ON audit_reviews
BEGIN SELECT RAISE(ABORT, 'audit_reviews is append-only'); END;
