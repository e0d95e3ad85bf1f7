-- Every event moves its record's last_seen_at, and with it the record's entry in records_by_last_seen: a delete and an
-- insert in a B-tree as large as the records table, for each sender of each group of events. Its only reader was the
-- retention sweep, which runs rarely and now walks the records by id instead.
DROP INDEX records_by_last_seen;
