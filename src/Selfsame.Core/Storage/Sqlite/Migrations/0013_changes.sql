-- The change feed (docs/changes.md): each identity change of a project, numbered in the order it was committed, written
-- in the transaction of the change itself. The changes one write makes in a row (the same origin and time, numbers in
-- sequence) share a row, oldest first in a JSON array of {"kind","detail"}: first_seq to last_seq. One B-tree in the
-- order it is read (a project's rows by last_seq), each new row at the end of its project's run.
CREATE TABLE changes (
    project_id  TEXT NOT NULL,
    last_seq    INTEGER NOT NULL,
    first_seq   INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    surface     TEXT NOT NULL,
    request_id  TEXT,
    key_id      TEXT,
    changes     TEXT NOT NULL,
    PRIMARY KEY (project_id, last_seq)
) WITHOUT ROWID;
-- Per project, the highest sequence number that retention removed: a cursor below it has missed changes.
CREATE TABLE change_horizons (
    project_id      TEXT PRIMARY KEY,
    pruned_through  INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('change_seq', 0);
