-- Transfers to and from exchange addresses, read as deposits and withdrawals: money a
-- wallet sends to an exchange is usually about to be sold, money it takes out was
-- usually just bought. The book stage (pipeline.BookSink) writes a row for each new
-- transfer event one of whose sides carries the exchange class in labels (004), in the
-- same transaction that stores the raw event, so the table is derived from events and
-- labels alone and a replay rebuilds it.
--
-- Labels are read when the transfer is ingested: labelling an address later does not
-- reclassify transfers already stored (a replay of the raw events into a fresh
-- database does). That keeps the hot path to one label lookup per batch and the
-- derived rows stable under redelivery.
--
-- Keyed by the transfer's event key (events.key), so a redelivered or replayed event
-- inserts nothing (ON CONFLICT DO NOTHING), and a reorg retraction (`removed: true`,
-- whose own key differs) deletes the row of the event it retracts by computing that
-- event's key.
CREATE TABLE exchange_transfers (
    event_key        bytea       PRIMARY KEY,
    ts               timestamptz NOT NULL,
    -- The side that is not the exchange: the depositor or the withdrawer. For an
    -- 'internal' move (both sides exchanges) the sender.
    wallet           text        NOT NULL,
    -- The exchange's label name ("Binance 14"; '' when no source names it) and address.
    -- For 'internal', the receiving side.
    exchange         text        NOT NULL,
    exchange_address text        NOT NULL,
    -- 'deposit': wallet → exchange; 'withdrawal': exchange → wallet; 'internal':
    -- exchange → exchange (hot/cold shuffles: neither a sale nor a purchase, kept so the
    -- exchange's own flows can be told apart from customers').
    direction        text        NOT NULL CHECK (direction IN ('deposit', 'withdrawal', 'internal')),
    -- The token contract ('' for the chain's native coin) and its symbol when known.
    token            text        NOT NULL,
    symbol           text        NOT NULL,
    amount           numeric     NOT NULL,
    -- USD value at the time, when the producer gave one.
    usd              numeric,
    tx               text        NOT NULL,
    block            bigint      NOT NULL
);

-- "This wallet's deposits and withdrawals" (store.ExchangeFlows, `coattail wallet`).
CREATE INDEX exchange_transfers_wallet ON exchange_transfers (wallet, direction);
-- "Flows into and out of this exchange, latest first" for the flow detectors.
CREATE INDEX exchange_transfers_exchange ON exchange_transfers (exchange_address, ts);
