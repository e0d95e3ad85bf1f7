-- Refusals of merge protection and identifiers dropped by the deny-list, each with both sides, counted when they come
-- again; the queue people decide from. A side's identifier is cleared when its record is deleted.
CREATE TABLE review_entries (
    review_id        INTEGER PRIMARY KEY,
    project_id       TEXT NOT NULL,
    entry_key        TEXT NOT NULL,
    rule             TEXT NOT NULL,
    status           TEXT NOT NULL,
    reason           TEXT NOT NULL,
    field            TEXT NOT NULL,
    a_type           TEXT,
    a_value          TEXT,
    a_display        TEXT,
    a_record         INTEGER,
    a_profile        INTEGER,
    b_type           TEXT,
    b_value          TEXT,
    b_display        TEXT,
    b_record         INTEGER,
    b_profile        INTEGER,
    surface          TEXT NOT NULL,
    key_id           TEXT,
    request_id       TEXT,
    first_at         INTEGER NOT NULL,
    last_at          INTEGER NOT NULL,
    count            INTEGER NOT NULL,
    decided_at       INTEGER,
    decided_by_key   TEXT,
    decision_request TEXT,
    link_id          INTEGER
);
CREATE INDEX review_by_project ON review_entries (project_id, review_id);
-- One open entry (refused, held or rejected) per rule and pair of sides: a repeat counts there.
CREATE UNIQUE INDEX review_open_by_key ON review_entries (project_id, entry_key) WHERE status <> 'approved';
CREATE INDEX review_by_a_record ON review_entries (project_id, a_record) WHERE a_record IS NOT NULL;
CREATE INDEX review_by_b_record ON review_entries (project_id, b_record) WHERE b_record IS NOT NULL;
CREATE INDEX review_by_link ON review_entries (project_id, link_id) WHERE link_id IS NOT NULL;

-- Values that must never be attached again (a detach or a delete with suppress=true): a SHA-256 of the normalized
-- value, so that the list keeps no value itself.
CREATE TABLE suppressed_identifiers (
    project_id  TEXT NOT NULL,
    type        TEXT NOT NULL,
    value_hash  BLOB NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (project_id, type, value_hash)
) WITHOUT ROWID;
