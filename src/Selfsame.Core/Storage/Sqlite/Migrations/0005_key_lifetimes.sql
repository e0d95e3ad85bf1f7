-- Rotation: an old key keeps working until expires_at. Last use, to the minute.
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
