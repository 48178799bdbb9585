DROP TABLE audit_checkpoints;
DROP TABLE audit_event_cases;
DROP TABLE audit_events;
DROP FUNCTION sig_refuse_change();
