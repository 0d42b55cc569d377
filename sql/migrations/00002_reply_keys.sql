-- +goose Up
-- Reply-token signing keys (contract §5), shared by every node. The newest
-- generation signs; every key verifies until the tokens it signed expire.
-- generation is the primary key so that two nodes making the first key at
-- once (generation 1), or two rotations at once, cannot both win: the loser
-- conflicts and reads the winner's key.
CREATE TABLE reply_keys (
    generation bigint      PRIMARY KEY CHECK (generation > 0),
    -- The token's "kid".
    kid        text        NOT NULL UNIQUE,
    secret     bytea       NOT NULL CHECK (octet_length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Session token expiry and rotation (contract §1 SESSION_TOKEN_TTL, §3
-- session-token route). The migration's now() (one value for every row)
-- gives tokens handed out before this version a full TTL from the upgrade.
ALTER TABLE conversations
    -- When the session token was last used (handshake or HTTP call),
    -- written at most once per a small fraction of the TTL.
    ADD COLUMN session_last_used_at timestamptz DEFAULT now(),
    -- The token replaced by the last rotation, and until when it still works.
    ADD COLUMN prev_session_token_hash bytea,
    ADD COLUMN prev_session_valid_until timestamptz;

-- +goose Down
ALTER TABLE conversations
    DROP COLUMN prev_session_valid_until,
    DROP COLUMN prev_session_token_hash,
    DROP COLUMN session_last_used_at;
DROP TABLE reply_keys;
