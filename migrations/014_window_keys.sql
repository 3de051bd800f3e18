-- The windows stage's record of the events it applied (so an event produced twice is
-- folded into the windows once) moves from window_seen (grp text, key bytea) to one
-- uuid column: the event's key hash XOR the first 16 bytes of sha256(group name)
-- (store.KeyMask), so groups still keep separate sets. A btree of fixed 16-byte keys
-- compared with memcmp is the cheapest unique index there is. New keys are inserted
-- with a batch's other writes by a plain INSERT that a key recorded before makes fail
-- (store.Writes.NewKeys), and only then with INSERT ... ON CONFLICT ... RETURNING
-- (store.RecordNewKeys), which for every batch cost as much in Postgres as the book's
-- COPY of the events themselves.
CREATE TABLE window_keys (
    key uuid PRIMARY KEY
);

-- Carry the keys over, masked: the XOR is done on the two 64-bit halves.
INSERT INTO window_keys (key)
SELECT DISTINCT (lpad(to_hex(substring(x FROM 1 FOR 64)::bigint), 16, '0') ||
                 lpad(to_hex(substring(x FROM 65 FOR 64)::bigint), 16, '0'))::uuid
FROM (SELECT ('x' || encode(key, 'hex'))::bit(128) #
             ('x' || encode(substring(sha256(convert_to(grp, 'UTF8')) FROM 1 FOR 16), 'hex'))::bit(128) AS x
      FROM window_seen WHERE length(key) = 16) AS masked;

DROP TABLE window_seen;

-- The windows stage commits a batch in one round trip: its writes are sent as one
-- pipeline, which Postgres runs as one implicit transaction, beginning with this
-- checkpoint advance. It is store.AdvanceCheckpoint's statement, made to fail when the
-- epoch is no longer current (another owner claimed the shard), so the rest of the
-- pipeline is not committed; the error's SQLSTATE, CTF01, reads as store.ErrFenced.
CREATE FUNCTION advance_checkpoint_fenced(p_stream text, p_grp text, p_epoch bigint, p_last_id text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stream_checkpoints SET last_id = p_last_id, updated_at = now()
    WHERE stream = p_stream AND grp = p_grp AND epoch = p_epoch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'checkpoint %/% fenced: epoch % is no longer current', p_stream, p_grp, p_epoch
            USING ERRCODE = 'CTF01';
    END IF;
END
$$;

-- The shard state (about 10 kB) is rewritten with every batch; pglz compressed it by a
-- third, at a CPU cost on every write. Stored out of line, uncompressed.
ALTER TABLE window_state ALTER COLUMN state SET STORAGE EXTERNAL;

-- A profile's state is only ever read back whole by the windows stage: text, not jsonb,
-- so it is not parsed into jsonb with every write.
ALTER TABLE wallet_profiles ALTER COLUMN state TYPE text USING state::text;
