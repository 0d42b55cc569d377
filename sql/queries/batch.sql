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
-- For conversation ids[i] (ids are distinct; their rows are locked), counts[i]
-- messages of which limited[i] count against the message limit, in
-- arrival order: applies the limit (GCRA on the database's clock, as in
-- NextSeq) and takes one seq per allowed message; the batch takes
-- last_seq-reserved+1 .. last_seq. allowed is how many of the limited
-- messages pass (the first ones); retry_after_secs says when the next
-- would. = ANY is an index scan of the primary key however few rows the
-- statistics claim, where a join of the unnest() to conversations can be
-- planned as a sequential scan. interval_secs is 0 when the limit is off.
WITH y AS (
    SELECT x.id, x.send_tat, t.tat,
           (sqlc.arg(counts)::bigint[])[array_position(sqlc.arg(ids)::uuid[], x.id)] AS n,
           (sqlc.arg(limited)::bigint[])[array_position(sqlc.arg(ids)::uuid[], x.id)] AS l,
           CASE WHEN (sqlc.arg(limited)::bigint[])[array_position(sqlc.arg(ids)::uuid[], x.id)] = 0 OR sqlc.arg(interval_secs)::float8 = 0
                    THEN (sqlc.arg(limited)::bigint[])[array_position(sqlc.arg(ids)::uuid[], x.id)]
                ELSE least((sqlc.arg(limited)::bigint[])[array_position(sqlc.arg(ids)::uuid[], x.id)],
                           greatest(0, floor((sqlc.arg(burst)::bigint * sqlc.arg(interval_secs)::float8 - extract(epoch FROM t.tat - n.now)) / sqlc.arg(interval_secs)::float8)))::bigint
           END AS allowed,
           sqlc.arg(interval_secs)::float8 AS step,
           extract(epoch FROM t.tat - n.now)::float8 - (sqlc.arg(burst)::bigint - 1) * sqlc.arg(interval_secs)::float8 AS wait0
    FROM conversations x
    CROSS JOIN (SELECT clock_timestamp() AS now) n
    CROSS JOIN LATERAL (SELECT greatest(coalesce(x.send_tat, n.now), n.now) AS tat) t
    WHERE x.id = ANY(sqlc.arg(ids)::uuid[])
)
UPDATE conversations c
SET last_seq = c.last_seq + y.n - y.l + y.allowed,
    send_tat = CASE WHEN y.allowed > 0 AND y.step > 0 THEN y.tat + y.allowed * y.step * interval '1 second' ELSE c.send_tat END
FROM y
WHERE c.id = ANY(sqlc.arg(ids)::uuid[]) AND c.id = y.id
RETURNING c.id, c.last_seq, (y.n - y.l + y.allowed)::bigint AS reserved, y.allowed::bigint AS allowed,
          (y.wait0 + y.allowed * y.step)::float8 AS retry_after_secs;

-- name: InsertMessages :many
-- The batch's messages that passed, and, in the same statement, the inbox's
-- columns of their conversations: last_message_ids[i] is the batch's last
-- message of inbox_ids[i], reopens[i] says one of them is a user's (see
-- NextSeq). Each message row carries its conversation as the update left
-- it. (The update runs whatever the insert meets: when a clientMessageId
-- conflicts, the caller rolls the batch back.)
WITH upd AS (
    UPDATE conversations c
    SET last_activity_at = greatest(clock_timestamp(), c.last_activity_at + interval '1 microsecond'),
        last_message_id  = (@last_message_ids::uuid[])[array_position(@inbox_ids::uuid[], c.id)],
        status           = CASE WHEN (@reopens::boolean[])[array_position(@inbox_ids::uuid[], c.id)] THEN 'open' ELSE c.status END
    WHERE c.id = ANY(@inbox_ids::uuid[])
    RETURNING c.id, c.owner_id, c.metadata, c.created_at, c.status, c.last_activity_at
), ins AS (
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
    RETURNING *
)
SELECT ins.id, ins.conversation_id, ins.seq, ins.sender, ins.sender_id, ins.content, ins.client_message_id, ins.created_at,
       upd.owner_id AS conv_owner_id, upd.metadata AS conv_metadata, upd.created_at AS conv_created_at,
       upd.status AS conv_status, upd.last_activity_at AS conv_last_activity_at
FROM ins JOIN upd ON upd.id = ins.conversation_id;
