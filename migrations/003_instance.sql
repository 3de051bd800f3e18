-- Each database gets an identity of its own. The stream keys in Redis default to a
-- prefix carrying it, so processes pointed at different databases but the same Redis
-- never share streams: entries produced for one database must never be applied to
-- another (a cancelled run against database A would otherwise leave entries that a
-- run against database B applies, out of order). Processes sharing a database share
-- its id, and so its streams, whatever spelling of the URL they use.
CREATE TABLE instance (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    id         text        NOT NULL DEFAULT substr(md5(random()::text || clock_timestamp()::text), 1, 12),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO instance DEFAULT VALUES;
