-- The change feed (docs/changes.md): each identity change of a project, numbered in the order it was committed (a
-- project's writes hold its advisory lock, so its numbers are taken in commit order), written in the transaction of the
-- change itself.
CREATE SEQUENCE change_seqs;
CREATE TABLE changes (
    project_id  text COLLATE "C" NOT NULL,
    seq         bigint NOT NULL,
    at          bigint NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    surface     text COLLATE "C" NOT NULL,
    request_id  text,
    key_id      text,
    detail      text NOT NULL,
    PRIMARY KEY (project_id, seq)
);
-- Per project, the highest sequence number that retention removed: a cursor below it has missed changes.
CREATE TABLE change_horizons (
    project_id      text COLLATE "C" PRIMARY KEY,
    pruned_through  bigint NOT NULL
);
