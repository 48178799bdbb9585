-- The case index in event order, so that `audit verify` reads, beside each batch of events,
-- the index rows of those events and checks they name exactly the events' case ids: the
-- access-log extract and the search's case filter read this index, not the chained events.
CREATE INDEX audit_event_cases_by_seq ON audit_event_cases (seq, case_id);
