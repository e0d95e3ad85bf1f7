-- Events stay on the record that sent them; who they belong to is resolved when they are read (records.profile_id).
CREATE TABLE events (
    event_id     INTEGER PRIMARY KEY,
    project_id   TEXT NOT NULL,
    record_id    INTEGER NOT NULL,
    name         TEXT NOT NULL,
    time         INTEGER NOT NULL,
    properties   TEXT NOT NULL,
    insert_id    TEXT,
    surface      TEXT NOT NULL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX events_by_record ON events (project_id, record_id, time, event_id);
-- Covers unique-user counts: they read (time, name, record_id) from the index alone.
CREATE INDEX events_by_time ON events (project_id, time, name, record_id);
CREATE UNIQUE INDEX events_by_insert_id ON events (project_id, insert_id) WHERE insert_id IS NOT NULL;
INSERT INTO counters (name, value) VALUES ('event_id', 0);
