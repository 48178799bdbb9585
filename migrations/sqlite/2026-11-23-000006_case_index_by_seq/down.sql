DROP INDEX audit_event_cases_by_seq;
