-- Chat users and the wallets they follow: /follow, /unfollow and /following, and the
-- fan-out of alerts when a followed wallet moves.

-- One row per chat user we hold anything for. A user id means something only within its
-- platform (Telegram and Discord ids are separate number spaces), hence the composite
-- key; ids are text because platforms disagree on their shape. Besides recording when
-- we first saw someone, the row is what Follow locks (SELECT … FOR UPDATE) so that two
-- concurrent /follow commands from one user cannot both slip under the per-user limit.
CREATE TABLE users (
    platform   text        NOT NULL,
    user_id    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, user_id)
);

-- One row per (user, wallet). The primary key is what makes /follow idempotent: a
-- repeated follow hits ON CONFLICT instead of adding a row. Wallets are stored in the
-- lowercase form the rest of the schema uses (positions.wallet), so the alert fan-out
-- can join on them; the CHECK catches a caller that forgot to normalise, which would
-- otherwise create a follow that never matches anything. The label is the user's own
-- name for the wallet, '' when none was given.
CREATE TABLE follows (
    platform   text        NOT NULL,
    user_id    text        NOT NULL,
    wallet     text        NOT NULL CHECK (wallet ~ '^0x[0-9a-f]{40}$'),
    label      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, user_id, wallet),
    FOREIGN KEY (platform, user_id) REFERENCES users (platform, user_id) ON DELETE CASCADE
);

-- The alert fan-out asks "who follows this wallet?" for every move of a watched wallet;
-- the primary key cannot answer that, as wallet is its last column.
CREATE INDEX follows_wallet ON follows (wallet);
