-- Selfsame schema, version 1. Every table and query is scoped by project_id.
CREATE TABLE projects (
    project_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    settings    TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_keys (
    key_id       TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects (project_id),
    role         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    name         TEXT,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX api_keys_by_project ON api_keys (project_id, key_id);

-- A user record. profile_id is the id of the root record of the record's connected component.
CREATE TABLE records (
    record_id     INTEGER PRIMARY KEY,
    project_id    TEXT NOT NULL,
    profile_id    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX records_by_profile ON records (project_id, profile_id);

CREATE TABLE identifiers (
    project_id  TEXT NOT NULL,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    display     TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, type, value)
) WITHOUT ROWID;
CREATE INDEX identifiers_by_record ON identifiers (project_id, record_id);

CREATE TABLE properties (
    project_id  TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    key         TEXT NOT NULL,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (project_id, record_id, key)
) WITHOUT ROWID;

CREATE TABLE links (
    link_id      INTEGER PRIMARY KEY,
    project_id   TEXT NOT NULL,
    from_record  INTEGER NOT NULL,
    into_record  INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    surface      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    request_id   TEXT
);
CREATE INDEX links_by_from ON links (project_id, from_record);
CREATE INDEX links_by_into ON links (project_id, into_record);

CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('property_seq', 0), ('record_id', 0), ('link_id', 0);
