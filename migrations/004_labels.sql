-- Address labels: who an address belongs to (an exchange's hot wallet, a DEX router, a
-- bridge, an MEV bot...), loaded from label files by `coattail labels import` and read
-- by the flow and whale detectors, so that a transfer to Binance is told apart from a
-- transfer between two private wallets.

-- Keyed by (address, source), not by address alone. The same address can be labelled
-- by several sources (the Etherscan dump in shared/data, a team's own list of funds),
-- and importing one source must replace that source's view of an address without
-- erasing another's: with the address alone as key, re-importing the big public file
-- would overwrite every hand-made label. Readers merge an address's rows
-- (store.Labels). An import leaves a row alone, updated_at included, when nothing
-- changed, so re-importing the same file writes nothing.
--
-- Addresses are stored in the lowercase form the rest of the schema uses
-- (positions.wallet, follows.wallet), so joins work; the CHECK catches a writer that
-- forgot to normalise.
CREATE TABLE labels (
    address    text        NOT NULL CHECK (address ~ '^0x[0-9a-f]{40}$'),
    source     text        NOT NULL CHECK (source <> ''),
    name       text        NOT NULL DEFAULT '',
    -- The source's own tags ("binance", "hot-wallet", "sushiswap", ...), lower-cased,
    -- de-duplicated and sorted, otherwise as given: hundreds of them, kept so nothing
    -- the source knew is lost.
    categories text[]      NOT NULL DEFAULT '{}',
    -- The normalised vocabulary the detectors use (store.Classes: exchange, dex,
    -- bridge, mev-bot, fund, mixer, sanctioned, burn), derived from categories and name
    -- when imported, so no reader has to know every source's tags. Stored rather than
    -- computed at read time so that "every exchange address" is one indexed query.
    classes    text[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (address, source)
);

-- "Every address of class X" (a detector loading its exchange set) reads this index;
-- lookups by address use the primary key, whose first column is the address.
CREATE INDEX labels_classes ON labels USING gin (classes);
