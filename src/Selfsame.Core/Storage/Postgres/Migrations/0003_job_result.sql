-- What a job found, for a job whose answer is a result rather than rows (a dry run of settings): JSON.
ALTER TABLE jobs ADD COLUMN result text;
