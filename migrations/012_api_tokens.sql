-- API tokens: how a chat user reaches their own data over HTTP (GET/POST/DELETE
-- /api/follows with Authorization: Bearer TOKEN). A token belongs to a chat identity
-- (platform, user_id), the same key as users and follows, so the API and the bots see
-- one set of follows and one per-user limit.
--
-- Only the SHA-256 of a token is stored: the plaintext is shown once, when the token is
-- created (`coattail token create`), and a copy of the database does not hand out
-- working tokens. Tokens are long random strings, so an unsalted hash is enough (there
-- is nothing to guess by dictionary), and it can be looked up by equality.
CREATE TABLE api_tokens (
    id         bigserial   PRIMARY KEY,
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    platform   text        NOT NULL,
    user_id    text        NOT NULL,
    -- what the operator called it when creating it ("laptop", "grafana"), for listing
    note       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- set by `coattail token revoke`; a revoked token authenticates nobody. Rows are
    -- kept, so a revocation is visible afterwards and an id is never reused.
    revoked_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (platform, user_id);
