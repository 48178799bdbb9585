-- The database's own ceiling for an audited case read (GET /api/v1/cases/{id} as a police
-- officer): the statement the service runs for it — the case with its current consent, that
-- consent's parties, agencies and categories and the case's guardians, in one row (see
-- src/repo/case_read_pg.rs) — and its audit append (chain lock, head, event row, case index
-- row), in one transaction, as pgbench runs it at the same concurrency (extended protocol:
-- variables travel as parameters). One extra primary-key lookup picks a random seeded case id.
\set n random(1, :cases)
SELECT id AS case_id FROM load_cases WHERE n = :n \gset
BEGIN;
SELECT consents.id AS consent_id, cases.*,
    ARRAY(SELECT ROW(p.consent_id, p.position, p.party, p.required, p.guardian_id, p.decision, p.method, p.decided_on)
          FROM consent_parties p WHERE p.consent_id = consents.id ORDER BY p.position) AS parties,
    ARRAY(SELECT a.agency FROM consent_agencies a WHERE a.consent_id = consents.id) AS agencies,
    ARRAY(SELECT c.category FROM consent_categories c WHERE c.consent_id = consents.id) AS categories,
    ARRAY(SELECT ROW(g.id, g.case_id, g.position, g.given_name, g.family_name, g.personal_number, g.phone, g.address, g.has_custody, g.protected_identity)
          FROM guardians g WHERE g.case_id = cases.id ORDER BY g.position) AS guardians
  FROM cases LEFT JOIN consents ON consents.case_id = cases.id AND consents.superseded_at IS NULL
  WHERE cases.id = :case_id \gset
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
