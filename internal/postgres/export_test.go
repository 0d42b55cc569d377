package postgres

import (
	"context"

	"github.com/chatgw/chatgw/internal/chat"
)

// BatchResult is one result of AppendBatch.
type BatchResult struct {
	Msg     chat.Message
	Created bool
	Err     error
}

// AppendBatch runs msgs as one group-commit batch, exactly as the
// committer does, so tests can say what shares a transaction.
func (s *Store) AppendBatch(ctx context.Context, msgs []chat.NewMessage) []BatchResult {
	res := s.appendBatch(ctx, msgs, s.batch)
	out := make([]BatchResult, len(res))
	for i, r := range res {
		out[i] = BatchResult{Msg: r.msg, Created: r.created, Err: r.err}
	}
	return out
}
