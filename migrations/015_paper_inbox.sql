-- The paper trader's inbox. The signal stage writes into it, inside its own
-- transaction, what the paper trader must see — every price tick, and the signals that
-- may open or close paper positions — in stream order. One paper runner at a time
-- (an advisory lock) takes the rows in id order, applies them to the paper accounts
-- and deletes them, in one transaction: nothing is lost or applied twice, the signal
-- stage's shards never wait for the paper trader, and the paper trader handles every
-- shard's new rows in one transaction instead of one per shard batch.
CREATE TABLE paper_inbox (
    id        bigserial        PRIMARY KEY,
    -- a signal: its id and what the gate needs of it; NULL for a price tick
    signal_id bigint,
    -- the signals one stream entry fired share a step (the first one's id): the
    -- trader runs a step's exits before its entries
    step      bigint           NOT NULL DEFAULT 0,
    rule      text             NOT NULL DEFAULT '',
    wallet    text             NOT NULL DEFAULT '',
    side      text             NOT NULL DEFAULT '',
    action    text             NOT NULL DEFAULT '',
    edge      double precision NOT NULL DEFAULT 0,
    -- both: the coin and the event time; a tick's price
    coin      text             NOT NULL,
    px        double precision NOT NULL DEFAULT 0,
    ts        timestamptz      NOT NULL
);
