-- name: CreateConversation :one
INSERT INTO conversations (id, owner_id, session_token_hash, metadata, session_last_used_at)
VALUES (@id, sqlc.narg(owner_id), sqlc.narg(session_token_hash), sqlc.narg(metadata), sqlc.narg(session_last_used_at))
RETURNING *;

-- name: GetConversation :one
SELECT * FROM conversations WHERE id = @id;

-- name: GetMessageByClientID :one
SELECT * FROM messages
WHERE conversation_id = @conversation_id AND client_message_id = @client_message_id;

-- name: NextSeq :one
-- Takes the conversation's row lock until the transaction ends, and in the
-- same statement makes the message the conversation's last one for the
-- inbox: its last activity moves to now (never backwards, whatever the
-- clock does), and a user's message reopens it. prev reads the status as it
-- is under the lock (FOR UPDATE waits for a concurrent change and sees its
-- result), so the caller knows exactly whether this send reopened it.
WITH prev AS (
    SELECT p.id, p.status FROM conversations p WHERE p.id = @id FOR UPDATE
)
UPDATE conversations c
SET last_seq         = c.last_seq + 1,
    last_activity_at = greatest(clock_timestamp(), c.last_activity_at + interval '1 microsecond'),
    last_message_id  = @message_id::uuid,
    status           = CASE WHEN @reopen::boolean THEN 'open' ELSE c.status END
FROM prev
WHERE c.id = prev.id
RETURNING sqlc.embed(c), prev.status AS prev_status;

-- name: InsertMessage :one
INSERT INTO messages (id, conversation_id, seq, sender, sender_id, content, client_message_id)
VALUES (@id, @conversation_id, @seq, @sender, sqlc.narg(sender_id), @content, sqlc.narg(client_message_id))
ON CONFLICT (conversation_id, client_message_id) DO NOTHING
RETURNING *;

-- name: GetMessage :one
SELECT * FROM messages WHERE id = @id;

-- name: ListMessagesAfter :many
SELECT * FROM messages
WHERE conversation_id = @conversation_id AND seq > @after_seq
ORDER BY seq
LIMIT @max_rows;
