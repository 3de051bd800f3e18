-- The spine: raw events, the wallet book, prices, stream checkpoints and dead letters.

-- Raw events are the source of truth: every accepted event, in its canonical interchange
-- form, replayable. The primary key is the first 16 bytes of sha256(event key) (see
-- docs/EVENTS.md "Identity"), so replaying the same input twice inserts nothing: the
-- workers insert with ON CONFLICT DO NOTHING and apply only what was new.
-- A short binary key keeps the index small; that is what bounds ingest speed.
CREATE TABLE events (
    key         bytea       PRIMARY KEY,
    kind        text        NOT NULL,
    src         text        NOT NULL,
    ts          timestamptz NOT NULL,
    body        text        NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now()
);

-- The wallet book: one row per (wallet, coin), average-cost accounting (analytics/book).
-- Written only by the owner of the wallet's stream shard, so rows are never contended.
CREATE TABLE positions (
    wallet         text        NOT NULL,
    coin           text        NOT NULL,
    size           numeric     NOT NULL,
    entry_px       numeric     NOT NULL,
    realized_pnl   numeric     NOT NULL,
    fees           numeric     NOT NULL,
    n              bigint      NOT NULL,
    unknown_basis  boolean     NOT NULL,
    unknown_closes bigint      NOT NULL,
    -- the wallet's own last observed mark (position events); prices wins when newer
    mark_px        numeric,
    -- the last fill applied, so the second half of a self-trade (same time, price and
    -- size, opposite side, same start_position) is not mistaken for a gap in history
    last_ts        timestamptz,
    last_delta     numeric,
    last_px        numeric,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (wallet, coin)
);
CREATE INDEX positions_coin ON positions (coin);

-- Latest price per symbol. The newest event time wins, ties broken by event key, so the
-- final row does not depend on the order in which shards commit.
CREATE TABLE prices (
    symbol    text        PRIMARY KEY,
    price     numeric     NOT NULL,
    ts        timestamptz NOT NULL,
    src       text        NOT NULL,
    event_key bytea       NOT NULL
);

-- One row per (stream, consumer group): the last stream entry whose effects are
-- committed, and the ownership epoch. A worker commits its state and this row in one
-- transaction, fenced by the epoch, so a worker that lost its shard cannot commit.
CREATE TABLE stream_checkpoints (
    stream     text        NOT NULL,
    grp        text        NOT NULL,
    last_id    text        NOT NULL DEFAULT '0-0',
    epoch      bigint      NOT NULL DEFAULT 0,
    owner      text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, grp)
);

-- Everything rejected, with the reason. Keyed by a hash of (reason, input) so that
-- replaying the same bad file twice does not grow the table.
CREATE TABLE dead_letters (
    key        bytea       PRIMARY KEY,
    reason     text        NOT NULL,
    detail     text        NOT NULL,
    source     text        NOT NULL,
    raw        text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_reason ON dead_letters (reason);
