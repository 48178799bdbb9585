-- Cases made by `sig-register demo` (fictitious, development only): the demo refuses a database
-- holding any other case, so it never mixes with real data.
ALTER TABLE cases ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
