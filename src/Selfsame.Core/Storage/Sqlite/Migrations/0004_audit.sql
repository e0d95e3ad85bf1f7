-- What happened to a project's graph and settings, by whom: merges, splits, deletes, admin actions.
CREATE TABLE audit (
    audit_id    INTEGER PRIMARY KEY,
    project_id  TEXT NOT NULL,
    at          INTEGER NOT NULL,
    action      TEXT NOT NULL,
    surface     TEXT NOT NULL,
    request_id  TEXT,
    key_id      TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_by_project ON audit (project_id, audit_id);
