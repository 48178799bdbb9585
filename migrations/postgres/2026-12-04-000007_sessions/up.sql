-- Web sessions (UI.md §2), in the database so that several instances share them. The session
-- id is never stored: only its SHA-256. The form token guards every POST of the session.
CREATE TABLE sessions (
    id_hash BYTEA PRIMARY KEY NOT NULL,
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    agency TEXT NOT NULL,
    roles TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
