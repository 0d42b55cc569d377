-- +goose Up
-- The technicians' inbox (contract §2 status, §3 GET /v1/conversations): what
-- the list shows is kept on the conversation's row, maintained by the
-- statement of the send transaction that already takes the next seq, so a
-- page is one index range scan and no aggregate over messages.
ALTER TABLE conversations
    ADD COLUMN status           text        NOT NULL DEFAULT 'open'
        CONSTRAINT conversations_status_check CHECK (status IN ('open', 'closed')),
    -- The last message's time, or the creation's; never moves backwards.
    ADD COLUMN last_activity_at timestamptz,
    -- The last message (by seq). No foreign key: it is set in the same
    -- statement that takes the seq, before the message row exists, and
    -- messages only go away with their conversation.
    ADD COLUMN last_message_id  uuid;

UPDATE conversations c
SET last_activity_at = coalesce(m.created_at, c.created_at),
    last_message_id  = m.id
FROM conversations c2
LEFT JOIN LATERAL (SELECT id, created_at FROM messages
                   WHERE conversation_id = c2.id ORDER BY seq DESC LIMIT 1) m ON true
WHERE c.id = c2.id;

-- now() is the inserting transaction's start, as created_at's default.
ALTER TABLE conversations
    ALTER COLUMN last_activity_at SET DEFAULT now(),
    ALTER COLUMN last_activity_at SET NOT NULL;

-- One index serves the three filters: open and closed are ranges of it, and
-- "all" merges the two ranges (see the Inbox queries), so the writes of every
-- send keep one index up to date, not two.
CREATE INDEX conversations_inbox_idx ON conversations (status, last_activity_at DESC, id DESC);

-- +goose Down
DROP INDEX conversations_inbox_idx;
ALTER TABLE conversations
    DROP COLUMN last_message_id,
    DROP COLUMN last_activity_at,
    DROP COLUMN status;
