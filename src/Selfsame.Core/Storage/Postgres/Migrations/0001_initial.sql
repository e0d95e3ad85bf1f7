-- Selfsame on PostgreSQL, version 1: the schema the SQLite store reached by its migration 0008, in one step.
-- Every table of a project's data leads with project_id, in its primary key and in every index, so that the tables can
-- be distributed by project_id (Citus: create_distributed_table(..., 'project_id')); projects and api_keys are small
-- and looked up by key id, so they are reference tables there. Times are UTC milliseconds since 1970. Text compares by
-- bytes (COLLATE "C"), as in SQLite, whatever the database's locale: orders and key comparisons are the same on both stores.
CREATE TABLE projects (
    project_id  text COLLATE "C" PRIMARY KEY,
    name        text COLLATE "C" NOT NULL,
    created_at  bigint NOT NULL,
    settings    text COLLATE "C" NOT NULL
);

CREATE TABLE api_keys (
    key_id        text COLLATE "C" PRIMARY KEY,
    project_id    text COLLATE "C" NOT NULL,
    role          text COLLATE "C" NOT NULL,
    secret_hash   bytea NOT NULL,
    name          text,
    created_at    bigint NOT NULL,
    revoked_at    bigint,
    expires_at    bigint,
    last_used_at  bigint,
    permissions   text COLLATE "C"
);
CREATE INDEX api_keys_by_project ON api_keys (project_id, key_id);

-- Ids are never reused: records, links, events and property writes take them from sequences.
CREATE SEQUENCE record_ids;
CREATE SEQUENCE link_ids;
CREATE SEQUENCE event_ids;
CREATE SEQUENCE property_seq;
CREATE SEQUENCE audit_ids;

CREATE TABLE records (
    project_id    text COLLATE "C" NOT NULL,
    record_id     bigint NOT NULL,
    profile_id    bigint NOT NULL,
    created_at    bigint NOT NULL,
    last_seen_at  bigint NOT NULL,
    PRIMARY KEY (project_id, record_id)
);
CREATE INDEX records_by_profile ON records (project_id, profile_id);
CREATE INDEX records_by_last_seen ON records (project_id, last_seen_at);

CREATE TABLE identifiers (
    project_id  text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    value       text COLLATE "C" NOT NULL,
    display     text COLLATE "C" NOT NULL,
    record_id   bigint NOT NULL,
    created_at  bigint NOT NULL,
    PRIMARY KEY (project_id, type, value)
);
CREATE INDEX identifiers_by_record ON identifiers (project_id, record_id);

CREATE TABLE properties (
    project_id  text COLLATE "C" NOT NULL,
    record_id   bigint NOT NULL,
    key         text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    value       text COLLATE "C" NOT NULL,
    updated_at  bigint NOT NULL,
    seq         bigint NOT NULL,
    PRIMARY KEY (project_id, record_id, key)
);

CREATE TABLE links (
    project_id   text COLLATE "C" NOT NULL,
    link_id      bigint NOT NULL,
    from_record  bigint NOT NULL,
    into_record  bigint NOT NULL,
    kind         text COLLATE "C" NOT NULL,
    surface      text COLLATE "C" NOT NULL,
    created_at   bigint NOT NULL,
    request_id   text,
    PRIMARY KEY (project_id, link_id)
);
CREATE INDEX links_by_from ON links (project_id, from_record);
CREATE INDEX links_by_into ON links (project_id, into_record);

CREATE TABLE events (
    project_id   text COLLATE "C" NOT NULL,
    event_id     bigint NOT NULL,
    record_id    bigint NOT NULL,
    name         text COLLATE "C" NOT NULL,
    time         bigint NOT NULL,
    properties   text COLLATE "C" NOT NULL,
    insert_id    text,
    surface      text COLLATE "C" NOT NULL,
    received_at  bigint NOT NULL,
    PRIMARY KEY (project_id, event_id)
);
CREATE INDEX events_by_record ON events (project_id, record_id, time, event_id);
CREATE INDEX events_by_time ON events (project_id, time, name, record_id);
CREATE UNIQUE INDEX events_by_insert_id ON events (project_id, insert_id) WHERE insert_id IS NOT NULL;

CREATE TABLE audit (
    project_id      text COLLATE "C" NOT NULL,
    audit_id        bigint NOT NULL,
    at              bigint NOT NULL,
    action          text COLLATE "C" NOT NULL,
    surface         text COLLATE "C" NOT NULL,
    request_id      text,
    key_id          text,
    detail          text COLLATE "C" NOT NULL,
    client_address  text,
    PRIMARY KEY (project_id, audit_id)
);

CREATE TABLE companies (
    project_id  text COLLATE "C" NOT NULL,
    company_id  text COLLATE "C" NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (project_id, company_id)
);

CREATE TABLE company_properties (
    project_id  text COLLATE "C" NOT NULL,
    company_id  text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    value       text COLLATE "C" NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (project_id, company_id, key)
);

CREATE TABLE company_members (
    project_id  text COLLATE "C" NOT NULL,
    company_id  text COLLATE "C" NOT NULL,
    record_id   bigint NOT NULL,
    joined_at   bigint NOT NULL,
    PRIMARY KEY (project_id, company_id, record_id)
);
CREATE INDEX company_members_by_record ON company_members (project_id, record_id, company_id);

CREATE TABLE jobs (
    project_id      text COLLATE "C" NOT NULL,
    job_id          text COLLATE "C" NOT NULL,
    seq             bigint NOT NULL,
    owner           text,
    lease_until     bigint,
    kind            text COLLATE "C" NOT NULL,
    source          text COLLATE "C" NOT NULL,
    status          text COLLATE "C" NOT NULL,
    filename        text,
    file_size       bigint NOT NULL,
    total_rows      bigint NOT NULL,
    completed_rows  bigint NOT NULL DEFAULT 0,
    failed_rows     bigint NOT NULL DEFAULT 0,
    next_line       bigint NOT NULL DEFAULT 1,
    submitted_at    bigint NOT NULL,
    started_at      bigint,
    ended_at        bigint,
    error           text,
    key_id          text,
    PRIMARY KEY (project_id, job_id)
);
CREATE INDEX jobs_by_status ON jobs (project_id, status, submitted_at);
CREATE INDEX jobs_by_seq ON jobs (project_id, seq);

CREATE TABLE job_payloads (
    project_id  text COLLATE "C" NOT NULL,
    job_id      text COLLATE "C" NOT NULL,
    payload     bytea NOT NULL,
    PRIMARY KEY (project_id, job_id)
);

CREATE TABLE job_errors (
    project_id  text COLLATE "C" NOT NULL,
    job_id      text COLLATE "C" NOT NULL,
    line        bigint NOT NULL,
    reason      text COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, job_id, line)
);
