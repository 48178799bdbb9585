-- The database's own ceiling for an audited case read (GET /api/v1/cases/{id} as a police
-- officer): the statements the service runs for it — the caller's agency, the case, its current
-- consent with parties, agencies and categories, the guardians — and its audit append (chain
-- lock, head, event row, case index row), in one transaction, as pgbench runs it at the same
-- concurrency (extended protocol: variables travel as parameters). One extra primary-key
-- lookup picks a random seeded case id.
\set n random(1, :cases)
SELECT id AS case_id FROM load_cases WHERE n = :n \gset
BEGIN;
SELECT slug, kind FROM agencies WHERE slug = 'polisen-orebro';
SELECT * FROM cases WHERE id = :case_id;
SELECT id AS consent_id FROM consents WHERE case_id = :case_id AND superseded_at IS NULL ORDER BY recorded_at DESC, id DESC LIMIT 1 \gset
SELECT * FROM consents WHERE id = :consent_id;
SELECT * FROM consent_parties WHERE consent_id = :consent_id ORDER BY position;
SELECT agency FROM consent_agencies WHERE consent_id = :consent_id ORDER BY agency;
SELECT category FROM consent_categories WHERE consent_id = :consent_id ORDER BY category;
SELECT * FROM guardians WHERE case_id = :case_id ORDER BY position;
SELECT pg_advisory_xact_lock(6001406452891468884);
SELECT seq AS head_seq, hash AS head_hash FROM audit_events ORDER BY seq DESC LIMIT 1 \gset
INSERT INTO audit_events (seq, id, at, actor_sub, actor_name, actor_agency, actor_roles, action,
    outcome, status, case_ids, categories, consent_id, reason, request_id, method, path,
    prev_hash, hash)
VALUES (:head_seq + 1, gen_random_uuid()::text, now() AT TIME ZONE 'utc', 'load-police', 'Police',
    'polisen-orebro', '["police_officer"]', 'case.read', 'allowed', 200,
    '["' || :case_id || '"]', '["identity","plan"]', :consent_id,
    'consented-agency-reads-covered-categories', gen_random_uuid()::text, 'GET',
    '/api/v1/cases/' || :case_id, :head_hash::bytea,
    sha256(:head_hash::bytea || convert_to(:case_id, 'UTF8')));
INSERT INTO audit_event_cases (case_id, seq) VALUES (:case_id, :head_seq + 1);
COMMIT;
