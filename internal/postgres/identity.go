package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres/internal/dbsqlc"
)

var _ chat.SessionStore = (*Store)(nil)

// TouchSession records a use of the conversation's session token.
func (s *Store) TouchSession(ctx context.Context, conversationID uuid.UUID, usedAt time.Time) error {
	err := s.q.TouchSession(ctx, dbsqlc.TouchSessionParams{ID: conversationID, UsedAt: &usedAt})
	return mapErr("touch session", err)
}

// RotateSessionToken swaps the session token if it is still oldHash.
func (s *Store) RotateSessionToken(ctx context.Context, conversationID uuid.UUID, oldHash, newHash []byte, prevValidUntil, usedAt time.Time) error {
	n, err := s.q.RotateSessionToken(ctx, dbsqlc.RotateSessionTokenParams{
		ID:             conversationID,
		OldHash:        oldHash,
		NewHash:        newHash,
		PrevValidUntil: &prevValidUntil,
		UsedAt:         &usedAt,
	})
	if err != nil {
		return mapErr("rotate session token", err)
	}
	if n == 0 {
		return chat.ErrSessionInvalid
	}
	return nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ReplyKey is a stored reply-token signing key.
type ReplyKey struct {
	Generation int64
	KID        string
	Secret     []byte
}

// ReplyKeys keeps the reply-token signing keys of a cluster in the
// reply_keys table.
type ReplyKeys struct {
	q *dbsqlc.Queries
}

// NewReplyKeys returns the key table on pool.
func NewReplyKeys(pool *pgxpool.Pool) *ReplyKeys { return &ReplyKeys{q: dbsqlc.New(pool)} }

// EnsureFirst stores kid/secret as generation 1 unless a key exists. Nodes
// starting together race on the primary key: one row wins, all read it.
func (r *ReplyKeys) EnsureFirst(ctx context.Context, kid string, secret []byte) error {
	return mapErr("ensure reply key", r.q.InsertFirstReplyKey(ctx, dbsqlc.InsertFirstReplyKeyParams{Kid: kid, Secret: secret}))
}

// Add stores a new newest key (a rotation) and returns its generation. A
// concurrent rotation that took the same generation makes it try again.
func (r *ReplyKeys) Add(ctx context.Context, kid string, secret []byte) (int64, error) {
	for attempt := 0; ; attempt++ {
		gen, err := r.q.InsertNextReplyKey(ctx, dbsqlc.InsertNextReplyKeyParams{Kid: kid, Secret: secret})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "reply_keys_pkey" && attempt < 5 {
			continue
		}
		if err != nil {
			return 0, mapErr("add reply key", err)
		}
		return gen, nil
	}
}

// All returns every key, newest first.
func (r *ReplyKeys) All(ctx context.Context) ([]ReplyKey, error) {
	rows, err := r.q.ListReplyKeys(ctx)
	if err != nil {
		return nil, mapErr("list reply keys", err)
	}
	out := make([]ReplyKey, len(rows))
	for i, row := range rows {
		out[i] = ReplyKey{Generation: row.Generation, KID: row.Kid, Secret: row.Secret}
	}
	return out, nil
}
