-- Documented log reviews (logguppföljning, API.md §10): append-only like the log. The three
-- texts are sealed by the service (AEAD bound to the row's id); `sampled_subs` is the JSON list
-- of the users picked for the review (staff identifiers, as in the log's events).
CREATE TABLE audit_reviews (
    id TEXT NOT NULL PRIMARY KEY,
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    scope BYTEA NOT NULL,
    findings BYTEA NOT NULL,
    actions BYTEA NOT NULL,
    sampled_subs TEXT NOT NULL,
    reviewed_by_sub TEXT NOT NULL,
    reviewed_by_name TEXT NOT NULL,
    reviewed_by_agency TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_reviews_by_created ON audit_reviews (created_at);

CREATE TRIGGER audit_reviews_append_only BEFORE UPDATE OR DELETE ON audit_reviews
    FOR EACH ROW EXECUTE FUNCTION sig_refuse_change();
CREATE TRIGGER audit_reviews_no_truncate BEFORE TRUNCATE ON audit_reviews
    FOR EACH STATEMENT EXECUTE FUNCTION sig_refuse_change();
