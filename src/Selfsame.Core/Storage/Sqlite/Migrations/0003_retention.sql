-- Retention finds the records of a project not seen since a cutoff.
CREATE INDEX records_by_last_seen ON records (project_id, last_seen_at);
