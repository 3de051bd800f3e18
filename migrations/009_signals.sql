-- Signals: what the signal engine concluded from the action stream. One row per
-- (rule, wallet, coin, window): dedup_key is that tuple, so a replay or a restart that
-- sees the same actions again inserts nothing (INSERT ... ON CONFLICT DO NOTHING) and
-- no alert fires twice. Alerts to subscribers are fanned out from here, in the same
-- transaction, into the alert outbox.
CREATE TABLE signals (
    id         bigserial        PRIMARY KEY,
    dedup_key  text             NOT NULL UNIQUE,
    -- followed_move | alpha_move | consensus | exchange_flow | anomaly
    rule       text             NOT NULL,
    -- the wallet that moved; for consensus the wallet whose action completed it
    -- (all of them are in evidence); '' for market-wide context signals
    wallet     text             NOT NULL DEFAULT '',
    coin       text             NOT NULL,
    -- long | short for position moves, buy | sell for swaps and trades, in | out for flows
    side       text             NOT NULL DEFAULT '',
    -- open | add | reduce | close | flip | ''
    action     text             NOT NULL DEFAULT '',
    usd        double precision NOT NULL DEFAULT 0,
    price      double precision NOT NULL DEFAULT 0,
    confidence double precision NOT NULL,
    -- event time of the action that fired it
    ts         timestamptz      NOT NULL,
    created_at timestamptz      NOT NULL DEFAULT now(),
    evidence   jsonb            NOT NULL DEFAULT '{}'
);
CREATE INDEX signals_ts ON signals (ts);
CREATE INDEX signals_wallet ON signals (wallet, ts);
