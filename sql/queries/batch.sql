-- Group commit: a batch of sends in a handful of statements, whatever its size.
-- Parallel arrays are zipped by set-returning functions in one SELECT list
-- (sqlc does not know the many-argument unnest). Nullable text travels as ''
-- (a clientMessageId and a JWT sub are never empty), because sqlc's array
-- parameters cannot carry NULL elements.

-- name: LockConversations :many
-- Locks in id order, so two batches cannot deadlock.
SELECT id FROM conversations WHERE id = ANY(@ids::uuid[]) ORDER BY id FOR UPDATE;

-- name: MessagesByClientIDs :many
SELECT m.* FROM messages m
JOIN (SELECT unnest(@conversation_ids::uuid[]) AS conversation_id,
             unnest(@client_message_ids::text[]) AS client_message_id) k
  ON m.conversation_id = k.conversation_id AND m.client_message_id = k.client_message_id;

-- name: ReserveSeqs :many
-- Adds n to each conversation's last_seq; the batch takes last_seq-n+1 .. last_seq.
UPDATE conversations c SET last_seq = c.last_seq + k.n
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@counts::bigint[]) AS n) k
WHERE c.id = k.id
RETURNING c.id, c.last_seq;

-- name: InsertMessages :many
INSERT INTO messages (id, conversation_id, seq, sender, sender_id, content, client_message_id)
SELECT k.id, k.conversation_id, k.seq, k.sender, NULLIF(k.sender_id, ''), k.content, NULLIF(k.client_message_id, '')
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@conversation_ids::uuid[]) AS conversation_id,
             unnest(@seqs::bigint[]) AS seq,
             unnest(@senders::text[]) AS sender,
             unnest(@sender_ids::text[]) AS sender_id,
             unnest(@contents::text[]) AS content,
             unnest(@client_message_ids::text[]) AS client_message_id) k
ON CONFLICT (conversation_id, client_message_id) DO NOTHING
RETURNING *;
