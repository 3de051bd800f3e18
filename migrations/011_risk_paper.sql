-- The signal stage's own state, the risk gate and the paper trader.

-- The signal stage keeps its own book per (wallet, coin), apart from the book stage's
-- positions table, because it must know what each event did (open, add, reduce,
-- close, flip) at the moment it reads it, and both stages run independently. Written
-- only by the owner of the wallet's shard, committed with the stage's checkpoint.
CREATE TABLE signal_positions (
    wallet         text        NOT NULL,
    coin           text        NOT NULL,
    size           numeric     NOT NULL,
    entry_px       numeric     NOT NULL,
    unknown_basis  boolean     NOT NULL,
    n              bigint      NOT NULL,
    updated_at     timestamptz NOT NULL,
    last_ts        timestamptz,
    last_delta     numeric,
    last_px        numeric,
    PRIMARY KEY (wallet, coin)
);

-- Per wallet, the log notional of its actions (count, sum, sum of squares), so a
-- signal's confidence can say how large a move is for this wallet.
CREATE TABLE signal_wallet_sizes (
    wallet  text             PRIMARY KEY,
    n       bigint           NOT NULL,
    sum_log double precision NOT NULL,
    sum_sq  double precision NOT NULL
);

-- Every action the stage derived, keyed by the event that caused it. The key makes the
-- stage idempotent (an event replayed into the stream is recognised and skipped); the
-- rows are what consensus is counted from (inside the commit, under a per-coin lock,
-- so shards committing at once see each other) and what liquidity is measured by.
CREATE TABLE signal_actions (
    event_key  bytea            PRIMARY KEY,
    wallet     text             NOT NULL,
    coin       text             NOT NULL,
    kind       text             NOT NULL,
    side       text             NOT NULL,
    usd        double precision NOT NULL,
    ts         timestamptz      NOT NULL,
    high_alpha boolean          NOT NULL
);
CREATE INDEX signal_actions_coin ON signal_actions (coin, ts);

-- Risk settings: name -> value; a missing row means the default in code (risk.Defaults).
CREATE TABLE risk_settings (
    name       text             PRIMARY KEY,
    value      double precision NOT NULL,
    updated_at timestamptz      NOT NULL DEFAULT now()
);

-- The global kill switch: one row. Halted stops every new entry until resumed.
CREATE TABLE risk_state (
    id         integer     PRIMARY KEY CHECK (id = 1),
    halted     boolean     NOT NULL DEFAULT false,
    reason     text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO risk_state (id) VALUES (1);

-- Circuit breakers per paper scope: tripped by the daily loss limit or the drawdown
-- limit; stays tripped until an admin resumes it or breaker_reset_hours pass.
CREATE TABLE risk_breakers (
    scope      text        PRIMARY KEY,
    tripped    boolean     NOT NULL DEFAULT false,
    reason     text        NOT NULL DEFAULT '',
    tripped_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every decision of the gate: one per (signal, scope), with every check passed or
-- failed and why. Rejections are kept: they are the answer to "why did it not trade?".
CREATE TABLE risk_decisions (
    id         bigserial        PRIMARY KEY,
    signal_id  bigint           NOT NULL REFERENCES signals (id) ON DELETE CASCADE,
    scope      text             NOT NULL,
    approved   boolean          NOT NULL,
    size_usd   double precision NOT NULL,
    -- [{"name","passed","reason","value","limit"}]
    checks     jsonb            NOT NULL,
    -- the first failed check's name, '' when approved
    reject     text             NOT NULL DEFAULT '',
    decided_at timestamptz      NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (signal_id, scope)
);
CREATE INDEX risk_decisions_rejected ON risk_decisions (approved, id);

-- The admin toggle: paper trading per scope ('global', 'telegram:<chat>',
-- 'discord:<guild>'). A scope with enabled = true has an account.
CREATE TABLE paper_scopes (
    scope      text        PRIMARY KEY,
    enabled    boolean     NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One simulated account per scope. equity = start_equity + realized + unrealized;
-- realized is net of fees.
CREATE TABLE paper_accounts (
    scope            text             PRIMARY KEY,
    start_equity     double precision NOT NULL,
    equity           double precision NOT NULL,
    realized         double precision NOT NULL DEFAULT 0,
    fees             double precision NOT NULL DEFAULT 0,
    peak_equity      double precision NOT NULL,
    max_drawdown     double precision NOT NULL DEFAULT 0,
    day              date,
    day_start_equity double precision NOT NULL,
    updated_at       timestamptz      NOT NULL DEFAULT now()
);

-- Simulated positions. status: pending (waits for the next observed price), open,
-- closed. dir is +1 long, -1 short.
CREATE TABLE paper_positions (
    id          bigserial        PRIMARY KEY,
    scope       text             NOT NULL,
    signal_id   bigint           NOT NULL,
    wallet      text             NOT NULL,
    coin        text             NOT NULL,
    dir         integer          NOT NULL,
    status      text             NOT NULL,
    size_usd    double precision NOT NULL,
    qty         double precision NOT NULL DEFAULT 0,
    entry_px    double precision NOT NULL DEFAULT 0,
    signal_ts   timestamptz      NOT NULL,
    opened_at   timestamptz,
    stop_px     double precision NOT NULL DEFAULT 0,
    take_px     double precision NOT NULL DEFAULT 0,
    trail_pct   double precision NOT NULL DEFAULT 0,
    best_px     double precision NOT NULL DEFAULT 0,
    mark_px     double precision NOT NULL DEFAULT 0,
    mark_ts     timestamptz,
    exit_asked  boolean          NOT NULL DEFAULT false,
    closed_at   timestamptz,
    exit_px     double precision NOT NULL DEFAULT 0,
    exit_reason text             NOT NULL DEFAULT '',
    fees        double precision NOT NULL DEFAULT 0,
    pnl         double precision NOT NULL DEFAULT 0,
    UNIQUE (scope, signal_id)
);
CREATE INDEX paper_positions_live ON paper_positions (coin, status) WHERE status <> 'closed';
CREATE INDEX paper_positions_scope ON paper_positions (scope, id);

-- Every simulated execution, with the observed price and the price after slippage.
CREATE TABLE paper_fills (
    id          bigserial        PRIMARY KEY,
    position_id bigint           NOT NULL REFERENCES paper_positions (id) ON DELETE CASCADE,
    scope       text             NOT NULL,
    ts          timestamptz      NOT NULL,
    side        text             NOT NULL,
    qty         double precision NOT NULL,
    observed_px double precision NOT NULL,
    px          double precision NOT NULL,
    fee         double precision NOT NULL,
    reason      text             NOT NULL
);
CREATE INDEX paper_fills_scope ON paper_fills (scope, id);

-- The equity curve: one point per scope per price time at which it changed.
CREATE TABLE paper_equity (
    scope  text             NOT NULL,
    ts     timestamptz      NOT NULL,
    equity double precision NOT NULL,
    PRIMARY KEY (scope, ts)
);

-- The paper trader's view of each coin's price: the last price seen by the signal
-- stage, and an EWMA of squared log returns per second (volatility for sizing).
CREATE TABLE paper_marks (
    coin    text             PRIMARY KEY,
    px      double precision NOT NULL,
    ts      timestamptz      NOT NULL,
    var_sec double precision NOT NULL DEFAULT 0,
    n       bigint           NOT NULL DEFAULT 0
);
