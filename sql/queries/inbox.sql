-- name: SetStatus :one
-- prev locks the row and reads its status as it is now (FOR UPDATE waits
-- for a concurrent change and sees its result), so changed is exact.
WITH prev AS (
    SELECT p.id, p.status FROM conversations p WHERE p.id = @id FOR UPDATE
), updated AS (
    UPDATE conversations c SET status = @status
    FROM prev WHERE c.id = prev.id
    RETURNING c.*
)
SELECT u.id, u.owner_id, u.session_token_hash, u.metadata, u.created_at, u.status, u.last_activity_at,
       (prev.status <> u.status)::boolean AS changed,
       m.id AS m_id, m.conversation_id AS m_conversation_id, m.seq AS m_seq, m.sender AS m_sender,
       m.sender_id AS m_sender_id, m.content AS m_content, m.client_message_id AS m_client_message_id,
       m.created_at AS m_created_at
FROM updated u
JOIN prev ON prev.id = u.id
LEFT JOIN messages m ON m.id = u.last_message_id;

-- name: InboxPage :many
-- One status: a backward range scan of conversations_inbox_idx from the
-- cursor, stopping after max_rows.
SELECT sqlc.embed(c),
       m.id AS m_id, m.conversation_id AS m_conversation_id, m.seq AS m_seq, m.sender AS m_sender,
       m.sender_id AS m_sender_id, m.content AS m_content, m.client_message_id AS m_client_message_id,
       m.created_at AS m_created_at
FROM conversations c
LEFT JOIN messages m ON m.id = c.last_message_id
WHERE c.status = @status
  AND (c.last_activity_at, c.id) < (@before_at::timestamptz, @before_id::uuid)
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT @max_rows;

-- name: InboxPageAll :many
-- Every status: the open and the closed ranges of conversations_inbox_idx,
-- each already in order, merged (Merge Append) and cut at max_rows.
SELECT c.id, c.owner_id, c.session_token_hash, c.metadata, c.created_at, c.status, c.last_activity_at,
       m.id AS m_id, m.conversation_id AS m_conversation_id, m.seq AS m_seq, m.sender AS m_sender,
       m.sender_id AS m_sender_id, m.content AS m_content, m.client_message_id AS m_client_message_id,
       m.created_at AS m_created_at
FROM (
    (SELECT * FROM conversations o
     WHERE o.status = 'open' AND (o.last_activity_at, o.id) < (@before_at::timestamptz, @before_id::uuid)
     ORDER BY o.last_activity_at DESC, o.id DESC LIMIT @max_rows)
    UNION ALL
    (SELECT * FROM conversations x
     WHERE x.status = 'closed' AND (x.last_activity_at, x.id) < (@before_at::timestamptz, @before_id::uuid)
     ORDER BY x.last_activity_at DESC, x.id DESC LIMIT @max_rows)
) c
LEFT JOIN messages m ON m.id = c.last_message_id
ORDER BY c.last_activity_at DESC, c.id DESC
LIMIT @max_rows;

-- name: InboxItem :one
-- One conversation's inbox item (a conversation-activity too large for the
-- cluster bus is read back by the other nodes).
SELECT sqlc.embed(c),
       m.id AS m_id, m.conversation_id AS m_conversation_id, m.seq AS m_seq, m.sender AS m_sender,
       m.sender_id AS m_sender_id, m.content AS m_content, m.client_message_id AS m_client_message_id,
       m.created_at AS m_created_at
FROM conversations c
LEFT JOIN messages m ON m.id = c.last_message_id
WHERE c.id = @id;
