-- Refusals of merge protection and identifiers dropped by the deny-list, each with both sides, counted when they come
-- again; the queue people decide from. A side's identifier is cleared when its record is deleted.
CREATE SEQUENCE review_ids;
CREATE TABLE review_entries (
    project_id       text COLLATE "C" NOT NULL,
    review_id        bigint NOT NULL,
    entry_key        text COLLATE "C" NOT NULL,
    rule             text COLLATE "C" NOT NULL,
    status           text COLLATE "C" NOT NULL,
    reason           text NOT NULL,
    field            text NOT NULL,
    a_type           text COLLATE "C",
    a_value          text COLLATE "C",
    a_display        text,
    a_record         bigint,
    a_profile        bigint,
    b_type           text COLLATE "C",
    b_value          text COLLATE "C",
    b_display        text,
    b_record         bigint,
    b_profile        bigint,
    surface          text COLLATE "C" NOT NULL,
    key_id           text,
    request_id       text,
    first_at         bigint NOT NULL,
    last_at          bigint NOT NULL,
    count            bigint NOT NULL,
    decided_at       bigint,
    decided_by_key   text,
    decision_request text,
    link_id          bigint,
    PRIMARY KEY (project_id, review_id)
);
-- One open entry (refused, held or rejected) per rule and pair of sides: a repeat counts there.
CREATE UNIQUE INDEX review_open_by_key ON review_entries (project_id, entry_key) WHERE status <> 'approved';
CREATE INDEX review_by_a_record ON review_entries (project_id, a_record) WHERE a_record IS NOT NULL;
CREATE INDEX review_by_b_record ON review_entries (project_id, b_record) WHERE b_record IS NOT NULL;
CREATE INDEX review_by_link ON review_entries (project_id, link_id) WHERE link_id IS NOT NULL;

-- Values that must never be attached again (a detach or a delete with suppress=true): a SHA-256 of the normalized
-- value, so that the list keeps no value itself.
CREATE TABLE suppressed_identifiers (
    project_id  text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    value_hash  bytea NOT NULL,
    at          bigint NOT NULL,
    PRIMARY KEY (project_id, type, value_hash)
);
