-- Companies: a project's accounts, their own properties, and which records belong to each.
CREATE TABLE companies (
    project_id  TEXT NOT NULL,
    company_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, company_id)
) WITHOUT ROWID;

CREATE TABLE company_properties (
    project_id  TEXT NOT NULL,
    company_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (project_id, company_id, key)
) WITHOUT ROWID;

CREATE TABLE company_members (
    project_id  TEXT NOT NULL,
    company_id  TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    joined_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, company_id, record_id)
) WITHOUT ROWID;
CREATE INDEX company_members_by_record ON company_members (project_id, record_id, company_id);

-- Durable jobs: written before they are acknowledged; next_line is committed with the rows it covers, so a job resumes
-- where it stopped and applies no row twice. A process runs a job only while it holds its claim (owner, lease_until).
CREATE TABLE jobs (
    project_id      TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    owner           TEXT,
    lease_until     INTEGER,
    kind            TEXT NOT NULL,
    source          TEXT NOT NULL,
    status          TEXT NOT NULL,
    filename        TEXT,
    file_size       INTEGER NOT NULL,
    total_rows      INTEGER NOT NULL,
    completed_rows  INTEGER NOT NULL DEFAULT 0,
    failed_rows     INTEGER NOT NULL DEFAULT 0,
    next_line       INTEGER NOT NULL DEFAULT 1,
    submitted_at    INTEGER NOT NULL,
    started_at      INTEGER,
    ended_at        INTEGER,
    error           TEXT,
    key_id          TEXT,
    PRIMARY KEY (project_id, job_id)
) WITHOUT ROWID;
CREATE INDEX jobs_by_status ON jobs (project_id, status, submitted_at);
CREATE INDEX jobs_by_seq ON jobs (project_id, seq);

CREATE TABLE job_payloads (
    project_id  TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    payload     BLOB NOT NULL,
    PRIMARY KEY (project_id, job_id)
);

CREATE TABLE job_errors (
    project_id  TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    line        INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (project_id, job_id, line)
) WITHOUT ROWID;
