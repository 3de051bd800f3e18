-- Where each live source stands (ingest.Checkpointer), so that a restarted process
-- resumes there: Binance backfills the gap from its REST API, Coinbase and
-- Hyperliquid skip the recent trades a new subscription replays, an EVM chain
-- continues from the block after the last one processed.
--
-- One row per source, keyed by the source's name (ingest.Source.Name: "binance",
-- "ethereum", ...), overwritten in place: only the latest position matters, and the
-- table stays as small as the number of sources. The position is the source's own
-- opaque JSON (each adapter documents its shape); jsonb rather than text so that an
-- operator can read and, in an emergency, edit it with SQL
-- (position->'last_ids'->>'ETH-USDT').
--
-- A row is written only after every event the position covers has been flushed into
-- the streams (pipeline.RunSourceWith), so a saved position never skips an event that
-- did not make it.
CREATE TABLE source_checkpoints (
    source     text        PRIMARY KEY CHECK (source <> ''),
    position   jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
