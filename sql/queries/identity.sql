-- name: InsertFirstReplyKey :exec
-- Makes generation 1 unless some key exists; racing nodes agree.
INSERT INTO reply_keys (generation, kid, secret)
VALUES (1, @kid, @secret)
ON CONFLICT (generation) DO NOTHING;

-- name: InsertNextReplyKey :one
-- A rotation: the next generation. Two at once: one conflicts and retries.
INSERT INTO reply_keys (generation, kid, secret)
SELECT COALESCE(max(generation), 0) + 1, @kid, @secret FROM reply_keys
RETURNING generation;

-- name: ListReplyKeys :many
SELECT generation, kid, secret FROM reply_keys ORDER BY generation DESC;

-- name: TouchSession :exec
UPDATE conversations SET session_last_used_at = @used_at
WHERE id = @id AND (session_last_used_at IS NULL OR session_last_used_at < @used_at);

-- name: RotateSessionToken :execrows
-- Replaces the current token only if it is still old_hash (two rotations at
-- once: one wins); the replaced token works until prev_valid_until.
UPDATE conversations
SET prev_session_token_hash = session_token_hash,
    prev_session_valid_until = @prev_valid_until,
    session_token_hash = @new_hash,
    session_last_used_at = @used_at
WHERE id = @id AND session_token_hash = @old_hash;
