-- The address of the client behind a proxy (X-Forwarded-For) where a surface reads it.
ALTER TABLE audit ADD COLUMN client_address TEXT;
