-- Alpha scores kept as history, so the leaderboard can be asked what it was at any time
-- (`coattail leaderboard --as-of`). A scoring run ranks every wallet with the data
-- known at as_of, over one window ('7d', '30d' or 'all'); rescoring the same (window,
-- as_of) replaces that run, so `coattail rescore` is idempotent.
CREATE TABLE score_runs (
    id         bigserial   PRIMARY KEY,
    win        text        NOT NULL,
    as_of      timestamptz NOT NULL,
    -- the method's parameters, so a board can be explained later
    params     jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (win, as_of)
);

-- One row per wallet scored in a run. rank is NULL for a wallet left out of the board
-- (too few observations, a bot or market maker: reason says which). score is the
-- shrunk skill estimate, lcb its lower confidence bound (what the board sorts by), n
-- the number of observations behind it; stats holds the conventional figures (PnL,
-- ROI, win rate, profit factor, drawdown, Sortino, trades).
CREATE TABLE wallet_scores (
    run_id   bigint           NOT NULL REFERENCES score_runs (id) ON DELETE CASCADE,
    wallet   text             NOT NULL,
    rank     integer,
    score    double precision NOT NULL,
    lcb      double precision NOT NULL,
    n        integer          NOT NULL,
    eligible boolean          NOT NULL,
    reason   text             NOT NULL DEFAULT '',
    stats    jsonb            NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, wallet)
);
CREATE INDEX wallet_scores_wallet ON wallet_scores (wallet, run_id);
