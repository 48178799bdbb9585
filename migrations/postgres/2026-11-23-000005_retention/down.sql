-- Only possible while no case has been erased (NOT NULL returns).
ALTER TABLE plan_versions ALTER COLUMN content SET NOT NULL;
DROP INDEX cases_by_closure;
ALTER TABLE cases
    DROP CONSTRAINT cases_erased_or_whole,
    DROP COLUMN erased_at,
    DROP COLUMN archived_at,
    DROP COLUMN retention_archive,
    DROP COLUMN retention_hold,
    ALTER COLUMN youth_family_name SET NOT NULL,
    ALTER COLUMN youth_given_name SET NOT NULL,
    ALTER COLUMN youth_personal_number SET NOT NULL,
    ALTER COLUMN youth_pn_index SET NOT NULL;
