-- Alerts: who gets which signal, and a durable outbox of deliveries.
--
-- The signal engine inserts signals and, in the same transaction, calls alert.Enqueue,
-- which writes one alert_outbox row per (destination chat, signal). The dispatcher
-- then delivers the rows under the platforms' rate limits. Because the outbox is
-- written in the signal's own transaction, a signal is never committed without its
-- alerts, nor alerts without their signal.

-- One row per chat we deliver to: a Telegram private chat or group, a Discord channel
-- or DM, the console. active turns false when the platform says the bot can never
-- post there again (blocked, kicked, deleted); alerts to inactive chats are dropped.
-- next_at is the chat's own pacing (Telegram: 1 message/s in a private chat, 20/min in
-- a group), kept in Postgres so that several dispatchers pace a chat together.
CREATE TABLE chats (
    platform       text        NOT NULL,
    chat_id        text        NOT NULL,
    -- private | group | channel
    kind           text        NOT NULL DEFAULT 'private',
    active         boolean     NOT NULL DEFAULT true,
    deactivated_at timestamptz,
    deactivated_reason text    NOT NULL DEFAULT '',
    next_at        timestamptz NOT NULL DEFAULT '-infinity',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, chat_id)
);

-- Where a user's personal alerts go. NULL means the user id itself, which is the
-- private chat's id on Telegram and the console's chat on the console.
ALTER TABLE users ADD COLUMN alert_chat text;

-- A user's alert settings. No row means the defaults: every size, side and coin, no
-- quiet hours, no digest, only the wallets the user follows.
CREATE TABLE user_settings (
    platform    text             NOT NULL,
    user_id     text             NOT NULL,
    min_usd     double precision NOT NULL DEFAULT 0,
    -- empty: every side
    sides       text[]           NOT NULL DEFAULT '{}',
    -- empty: every coin; upper case
    coins       text[]           NOT NULL DEFAULT '{}',
    -- signal rules received without following the wallet: alpha_move, consensus, ...
    rules       text[]           NOT NULL DEFAULT '{}',
    -- quiet hours in UTC, [quiet_from, quiet_to) wrapping midnight; both NULL: none
    quiet_from  smallint CHECK (quiet_from BETWEEN 0 AND 23),
    quiet_to    smallint CHECK (quiet_to BETWEEN 0 AND 23),
    digest      boolean          NOT NULL DEFAULT false,
    muted_until timestamptz,
    updated_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, user_id),
    FOREIGN KEY (platform, user_id) REFERENCES users (platform, user_id) ON DELETE CASCADE,
    CHECK ((quiet_from IS NULL) = (quiet_to IS NULL))
);

-- A channel that receives the signals matching its filters (Discord /alerts subscribe,
-- or a Telegram group). One subscription per channel; subscribing again replaces it.
CREATE TABLE channel_subscriptions (
    id         bigserial        PRIMARY KEY,
    platform   text             NOT NULL,
    chat_id    text             NOT NULL,
    guild_id   text             NOT NULL DEFAULT '',
    created_by text             NOT NULL DEFAULT '',
    min_usd    double precision NOT NULL DEFAULT 0,
    -- each empty array: no filter on that field
    coins      text[]           NOT NULL DEFAULT '{}',
    wallets    text[]           NOT NULL DEFAULT '{}',
    rules      text[]           NOT NULL DEFAULT '{}',
    created_at timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (platform, chat_id)
);

-- The outbox: one row per (destination chat, signal), so a chat gets a signal once
-- even when it matches several subscriptions (a follow and a channel filter, say).
--   state   pending -> delivered, or dropped (chat blocked the bot, too many failures)
--   due_at  not before this (quiet hours, digest slots, backoff after a failure)
--   lease_until / lease_owner: claimed by a dispatcher that is sending it; a lease
--           that runs out (the dispatcher died) makes the row claimable again
CREATE TABLE alert_outbox (
    id           bigserial   PRIMARY KEY,
    platform     text        NOT NULL,
    chat_id      text        NOT NULL,
    signal_id    bigint      NOT NULL REFERENCES signals (id) ON DELETE CASCADE,
    -- why this chat gets it: followed | rule | channel
    reason       text        NOT NULL,
    -- who asked for it: "user:<id>" or "sub:<subscription id>"
    subscriber   text        NOT NULL,
    digest       boolean     NOT NULL DEFAULT false,
    state        text        NOT NULL DEFAULT 'pending',
    due_at       timestamptz NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    lease_until  timestamptz,
    lease_owner  text        NOT NULL DEFAULT '',
    -- the previous lease ran out while sending: the message may have gone out already
    uncertain    boolean     NOT NULL DEFAULT false,
    last_error   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (platform, chat_id, signal_id),
    FOREIGN KEY (platform, chat_id) REFERENCES chats (platform, chat_id) ON DELETE CASCADE
);
CREATE INDEX alert_outbox_due ON alert_outbox (due_at) WHERE state = 'pending';
CREATE INDEX alert_outbox_chat ON alert_outbox (platform, chat_id, id) WHERE state = 'pending';
