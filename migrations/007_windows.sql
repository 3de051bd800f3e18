-- The windowed stages (stage.Windows, consumer group "windows"): price bars, exchange
-- flows, CEX anomalies and whale profiles, computed on event time with watermarks
-- (analytics/window, analytics/market). Every table here is derived from the event
-- streams (and, for flows, the labels) alone; a replay into a fresh database rebuilds
-- it, and the same input gives the same rows however many workers share the shards and
-- however often they crash: a worker commits its results, its keyed state and its
-- stream checkpoint in one transaction.

-- Events the windows group has applied, so an event produced twice (a file replayed
-- again, a source restarted) is folded into the windows once. Per group, so another
-- windowed stage can use it with its own name.
CREATE TABLE window_seen (
    grp text  NOT NULL,
    key bytea NOT NULL,
    PRIMARY KEY (grp, key)
);

-- Keyed state per shard: open windows, watermarks and the anomaly detectors' rolling
-- baselines, serialised. Written with the checkpoint, so a restarted worker resumes from
-- exactly the state that matches its stream position.
CREATE TABLE window_state (
    stream     text        NOT NULL,
    grp        text        NOT NULL,
    state      bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, grp)
);

-- Event-time progress per shard and source, for monitoring (watermark delay in
-- /metrics) and to explain late events: the largest event time seen, the watermark
-- (that minus the allowed lateness) and how many events came later than it.
CREATE TABLE window_sources (
    stream    text        NOT NULL,
    grp       text        NOT NULL,
    source    text        NOT NULL,
    watermark timestamptz NOT NULL,
    max_event timestamptz NOT NULL,
    late      bigint      NOT NULL,
    PRIMARY KEY (stream, grp, source)
);

-- OHLCV bars per venue and symbol at 1m, 5m and 1h, from trades (volume, VWAP, count)
-- and price events (OHLC only). Trades and prices shard by symbol, so one shard owns a
-- bar: no per-shard partials. An open window is written as it stands (final = false)
-- and overwritten until the watermark passes its end (final = true); a trade later than
-- the allowed lateness is merged in as a correction (late counts them).
CREATE TABLE price_bars (
    venue        text             NOT NULL,
    symbol       text             NOT NULL,
    res          text             NOT NULL,
    start        timestamptz      NOT NULL,
    "end"        timestamptz      NOT NULL,
    open         double precision NOT NULL,
    high         double precision NOT NULL,
    low          double precision NOT NULL,
    close        double precision NOT NULL,
    open_ts      timestamptz      NOT NULL,
    close_ts     timestamptz      NOT NULL,
    volume       double precision NOT NULL,
    quote_volume double precision NOT NULL,
    vwap         double precision,
    trades       bigint           NOT NULL,
    ticks        bigint           NOT NULL,
    late         bigint           NOT NULL,
    final        boolean          NOT NULL,
    PRIMARY KEY (venue, symbol, res, start)
);
-- The reference price reads a coin's bars of one minute across venues.
CREATE INDEX price_bars_res_start ON price_bars (res, start);

-- Exchange flows per token and exchange (label name) per 1h and 1d window, from
-- transfers one side of which is labelled an exchange. Transfers shard by sender, so a
-- window's deposits are spread over shards: each shard writes its partial row and
-- readers sum them (exchange_flows_total), which keeps the result independent of how
-- the work is shared.
CREATE TABLE exchange_flows (
    token             text             NOT NULL,
    symbol            text             NOT NULL,
    exchange          text             NOT NULL,
    res               text             NOT NULL,
    start             timestamptz      NOT NULL,
    "end"             timestamptz      NOT NULL,
    shard             integer          NOT NULL,
    inflow            double precision NOT NULL,
    outflow           double precision NOT NULL,
    inflow_usd        double precision NOT NULL,
    outflow_usd       double precision NOT NULL,
    deposits          bigint           NOT NULL,
    withdrawals       bigint           NOT NULL,
    large_deposits    bigint           NOT NULL,
    large_withdrawals bigint           NOT NULL,
    late              bigint           NOT NULL,
    final             boolean          NOT NULL,
    PRIMARY KEY (token, exchange, res, start, shard)
);

CREATE VIEW exchange_flows_total AS
SELECT token, max(symbol) AS symbol, exchange, res, start, max("end") AS "end",
       sum(inflow) AS inflow, sum(outflow) AS outflow, sum(inflow) - sum(outflow) AS net,
       sum(inflow_usd) AS inflow_usd, sum(outflow_usd) AS outflow_usd,
       sum(deposits) AS deposits, sum(withdrawals) AS withdrawals,
       sum(large_deposits) AS large_deposits, sum(large_withdrawals) AS large_withdrawals,
       bool_and(final) AS final
FROM exchange_flows GROUP BY token, exchange, res, start;

-- Anomalies with their evidence: volume spikes, large trades, sharp price moves (per
-- venue and symbol) and large single deposits and withdrawals. The id is a hash of
-- what the anomaly is about, so a redone batch inserts nothing. Rows are the outbox of
-- the <prefix>:anomalies Redis stream: published_at is set once published (publishing
-- is deduplicated by id in Redis too), and a worker that claims a shard first publishes
-- what its predecessor committed but did not get to publish.
CREATE TABLE anomalies (
    id           bytea            PRIMARY KEY,
    kind         text             NOT NULL,
    venue        text             NOT NULL,
    symbol       text             NOT NULL,
    ts           timestamptz      NOT NULL,
    value        double precision NOT NULL,
    baseline     double precision NOT NULL,
    score        double precision NOT NULL,
    evidence     jsonb            NOT NULL,
    stream       text             NOT NULL,
    published_at timestamptz
);
CREATE INDEX anomalies_ts ON anomalies (ts);
CREATE INDEX anomalies_unpublished ON anomalies (stream) WHERE published_at IS NULL;

-- Whale profiles: per wallet trading behaviour from its fills and swaps (which shard by
-- wallet, so one shard owns a profile). state is the profiler's full state (open
-- positions for holding times, recent holds); the other columns are its summary.
CREATE TABLE wallet_profiles (
    wallet                text             PRIMARY KEY,
    volume_usd            double precision NOT NULL,
    trades                bigint           NOT NULL,
    avg_size_usd          double precision NOT NULL,
    largest_usd           double precision NOT NULL,
    typical_hold_seconds  double precision,
    coins                 text[]           NOT NULL,
    first_seen            timestamptz      NOT NULL,
    last_seen             timestamptz      NOT NULL,
    style                 text             NOT NULL,
    buy_share             double precision NOT NULL,
    max_trades_per_minute integer          NOT NULL,
    bot_high_frequency    boolean          NOT NULL,
    bot_market_maker      boolean          NOT NULL,
    state                 jsonb            NOT NULL
);
CREATE INDEX wallet_profiles_bots ON wallet_profiles (wallet) WHERE bot_high_frequency OR bot_market_maker;
