-- Group commit: a batch of sends in a handful of statements, whatever its size.
-- Parallel arrays are zipped by set-returning functions in one SELECT list
-- (sqlc does not know the many-argument unnest). Nullable text travels as ''
-- (a clientMessageId and a JWT sub are never empty), because sqlc's array
-- parameters cannot carry NULL elements.

-- name: LockConversations :many
-- Locks in id order, so two batches cannot deadlock. The status is read
-- under the lock (as it is now), so the batch knows which sends reopen.
SELECT id, status FROM conversations WHERE id = ANY(@ids::uuid[]) ORDER BY id FOR UPDATE;

-- name: MessagesByClientIDs :many
-- One unique-index probe per key, whatever the statistics say. A plain join
-- of the unnest() to messages is planned, on a table not yet analyzed (a new
-- deployment, a busy first minutes), as a hash join over a sequential scan
-- of messages; pgx's cached statement then keeps that plan, and every batch
-- reads the whole table. LIMIT 1 keeps the planner from flattening the
-- lateral subquery back into that join.
SELECT m.* FROM (SELECT unnest(@conversation_ids::uuid[]) AS conversation_id,
                        unnest(@client_message_ids::text[]) AS client_message_id) k
JOIN LATERAL (SELECT * FROM messages
              WHERE messages.conversation_id = k.conversation_id
                AND messages.client_message_id = k.client_message_id
              LIMIT 1) m ON true;

-- name: ReserveSeqs :many
-- Adds counts[i] to the last_seq of conversation ids[i] (ids are distinct);
-- the batch takes last_seq-n+1 .. last_seq. = ANY is an index scan of the
-- primary key however few rows the statistics claim, where a join of the
-- unnest() to conversations can be planned as a sequential scan. The same
-- statement keeps the inbox's columns: last_message_ids[i] is the batch's
-- last message of ids[i], reopens[i] says the batch has a user's message
-- there (see NextSeq).
UPDATE conversations c
SET last_seq         = c.last_seq + (@counts::bigint[])[array_position(@ids::uuid[], c.id)],
    last_activity_at = greatest(clock_timestamp(), c.last_activity_at + interval '1 microsecond'),
    last_message_id  = (@last_message_ids::uuid[])[array_position(@ids::uuid[], c.id)],
    status           = CASE WHEN (@reopens::boolean[])[array_position(@ids::uuid[], c.id)] THEN 'open' ELSE c.status END
WHERE c.id = ANY(@ids::uuid[])
RETURNING c.*;

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
