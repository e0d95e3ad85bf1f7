-- Named permissions of a key (space-separated); NULL: whatever its role allows.
ALTER TABLE api_keys ADD COLUMN permissions TEXT;
