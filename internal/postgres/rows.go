package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres/internal/dbsqlc"
)

// The edge between the database and the domain: rows become chat types,
// chat values become query parameters, database errors become the domain's.

// mapErr is the one place where database errors become the domain's:
// context errors pass through, no row and a foreign-key violation (the
// conversation was deleted meanwhile) are chat.ErrNotFound, anything else is
// wrapped with op.
func mapErr(op string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", op, chat.ErrNotFound)
	case errors.As(err, &pgErr) && pgErr.Code == "23503": // foreign_key_violation
		return fmt.Errorf("%s: %w", op, chat.ErrNotFound)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func toConversation(r dbsqlc.Conversation) chat.Conversation {
	c := chat.Conversation{
		ID:                   r.ID,
		SessionTokenHash:     r.SessionTokenHash,
		PrevSessionTokenHash: r.PrevSessionTokenHash,
		CreatedAt:            r.CreatedAt,
	}
	if r.SessionLastUsedAt != nil {
		c.SessionLastUsedAt = *r.SessionLastUsedAt
	}
	if r.PrevSessionValidUntil != nil {
		c.PrevSessionValidUntil = *r.PrevSessionValidUntil
	}
	if r.OwnerID != nil {
		c.OwnerID = *r.OwnerID
	}
	if r.Metadata != nil {
		c.Metadata = json.RawMessage(r.Metadata)
	}
	return c
}

func toMessage(r dbsqlc.Message) chat.Message {
	return chat.Message{
		ID:              r.ID,
		ConversationID:  r.ConversationID,
		Seq:             r.Seq,
		Sender:          chat.Sender(r.Sender),
		SenderID:        r.SenderID,
		Content:         r.Content,
		ClientMessageID: r.ClientMessageID,
		CreatedAt:       r.CreatedAt,
	}
}

func toMessages(rows []dbsqlc.Message) []chat.Message {
	out := make([]chat.Message, len(rows))
	for i, r := range rows {
		out[i] = toMessage(r)
	}
	return out
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullJSON(j json.RawMessage) []byte {
	if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return j
}

// emptyIfNull is a nullable text as batch.sql's array parameters carry it:
// the empty string stands for NULL there.
func emptyIfNull(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
