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
-- Takes the conversation's row lock until the transaction ends, and the
-- next seq unless the message limit refuses it. The limit is GCRA on the
-- database's clock: a message counts (limited) is allowed while the
-- conversation's theoretical arrival time is at most (burst-1) intervals
-- ahead of now, and moves it one interval on. A refused message takes no
-- seq; retry_after_secs says when one would pass. interval_secs is 0 when
-- the limit is off.
-- The same statement keeps the inbox's columns when the message passes: it
-- becomes the conversation's last one, its last activity moves to now
-- (never backwards, whatever the clock does), and a user's message
-- (reopen) opens a closed conversation; prev_status, read under the lock,
-- says whether this send reopened it.
WITH y AS (
    SELECT x.id, x.status AS prev_status,
           CASE WHEN NOT sqlc.arg(limited)::boolean OR sqlc.arg(interval_secs)::float8 = 0 THEN x.send_tat
                WHEN extract(epoch FROM t.tat - n.now) <= (sqlc.arg(burst)::bigint - 1) * sqlc.arg(interval_secs)::float8
                    THEN t.tat + make_interval(0, 0, 0, 0, 0, 0, sqlc.arg(interval_secs)::float8)
           END AS new_tat,
           extract(epoch FROM t.tat - n.now)::float8 - (sqlc.arg(burst)::bigint - 1) * sqlc.arg(interval_secs)::float8 AS wait,
           NOT sqlc.arg(limited)::boolean OR sqlc.arg(interval_secs)::float8 = 0 AS unlimited
    FROM conversations x
    CROSS JOIN (SELECT clock_timestamp() AS now) n
    CROSS JOIN LATERAL (SELECT greatest(coalesce(x.send_tat, n.now), n.now) AS tat) t
    WHERE x.id = sqlc.arg(id)
    -- Locks the row here, and reads its latest version (a plain read would
    -- see the statement's snapshot, from before a concurrent send's commit).
    FOR UPDATE OF x
)
UPDATE conversations c
SET last_seq = c.last_seq + CASE WHEN y.unlimited OR y.new_tat IS NOT NULL THEN 1 ELSE 0 END,
    send_tat = CASE WHEN y.unlimited OR y.new_tat IS NULL THEN c.send_tat ELSE y.new_tat END,
    last_activity_at = CASE WHEN y.unlimited OR y.new_tat IS NOT NULL
                            THEN greatest(clock_timestamp(), c.last_activity_at + interval '1 microsecond')
                            ELSE c.last_activity_at END,
    last_message_id = CASE WHEN y.unlimited OR y.new_tat IS NOT NULL THEN sqlc.arg(message_id)::uuid ELSE c.last_message_id END,
    status = CASE WHEN (y.unlimited OR y.new_tat IS NOT NULL) AND sqlc.arg(reopen)::boolean THEN 'open' ELSE c.status END
FROM y
WHERE c.id = sqlc.arg(id) AND c.id = y.id
RETURNING sqlc.embed(c), (y.unlimited OR y.new_tat IS NOT NULL)::boolean AS allowed, y.wait::float8 AS retry_after_secs,
          y.prev_status;

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
