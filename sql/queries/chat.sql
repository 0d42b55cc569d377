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
-- Takes the conversation's row lock until the transaction ends.
UPDATE conversations SET last_seq = last_seq + 1 WHERE id = @id RETURNING last_seq;

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
