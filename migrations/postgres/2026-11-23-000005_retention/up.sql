-- Retention (gallring), DOMAIN.md: personal fields become NULL when a case is erased, and a
-- case carries its retention flags and the dates the retention job acted on it.
ALTER TABLE cases
    ALTER COLUMN youth_pn_index DROP NOT NULL,
    ALTER COLUMN youth_personal_number DROP NOT NULL,
    ALTER COLUMN youth_given_name DROP NOT NULL,
    ALTER COLUMN youth_family_name DROP NOT NULL,
    ADD COLUMN retention_hold BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN retention_archive BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN archived_at TIMESTAMP,
    ADD COLUMN erased_at TIMESTAMP,
    -- An erased case keeps no personal field; a live one has all its required ones.
    ADD CONSTRAINT cases_erased_or_whole CHECK ((erased_at IS NULL) = (youth_pn_index IS NOT NULL
        AND youth_personal_number IS NOT NULL AND youth_given_name IS NOT NULL
        AND youth_family_name IS NOT NULL));
CREATE INDEX cases_by_closure ON cases (closed_at) WHERE status = 'closed' AND erased_at IS NULL;

-- NULL once the case is erased; the version's metadata and measure index stay.
ALTER TABLE plan_versions ALTER COLUMN content DROP NOT NULL;
