-- A record's properties as one document in one row (record_properties), in place of one row per property: a new user's
-- properties cost one B-tree insert instead of one per property. The document is a JSON object of
-- key -> [type, value as JSON text, updated_at, seq], exactly the columns of the properties table it replaces.
CREATE TABLE record_properties (
    record_id   INTEGER PRIMARY KEY,
    project_id  TEXT NOT NULL,
    document    TEXT NOT NULL
);
INSERT INTO record_properties (record_id, project_id, document)
SELECT record_id, project_id, json_group_object(key, json_array(type, value, updated_at, seq))
FROM properties GROUP BY project_id, record_id;
DROP TABLE properties;
