-- +goose Up
CREATE TABLE conversations (
    id                 uuid        PRIMARY KEY,
    -- JWT sub of the owner; NULL for an anonymous conversation.
    owner_id           text,
    -- SHA-256 of the anonymous session token; the token itself is never stored.
    session_token_hash bytea,
    metadata           jsonb,
    -- Highest seq handed out; the row lock on it serialises sends per conversation
    -- and keeps seq gapless (a rolled-back send rolls this back too).
    last_seq           bigint      NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_owner_xor_session CHECK ((owner_id IS NULL) <> (session_token_hash IS NULL))
);

CREATE INDEX conversations_owner_id_idx ON conversations (owner_id) WHERE owner_id IS NOT NULL;

CREATE TABLE messages (
    id                uuid        PRIMARY KEY,
    conversation_id   uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq               bigint      NOT NULL CHECK (seq > 0),
    sender            text        NOT NULL CHECK (sender IN ('user', 'tecnico', 'bot')),
    sender_id         text,
    content           text        NOT NULL,
    client_message_id text,
    -- clock_timestamp(): taken under the conversation's row lock, so createdAt
    -- follows seq (now() would be the start of a transaction that may have waited).
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT messages_conversation_seq_key UNIQUE (conversation_id, seq),
    -- NULLs are distinct, so only messages that carry a clientMessageId are deduplicated.
    CONSTRAINT messages_conversation_client_message_id_key UNIQUE (conversation_id, client_message_id)
);

-- +goose Down
DROP TABLE messages;
DROP TABLE conversations;
