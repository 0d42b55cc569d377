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

// AppendBatch runs msgs as one group-commit batch, exactly as a committer
// does, so tests can say what shares a transaction.
func (g *GroupCommitter) AppendBatch(ctx context.Context, msgs []chat.NewMessage) []BatchResult {
	res := g.store.appendBatch(ctx, msgs, &g.counters)
	out := make([]BatchResult, len(res))
	for i, r := range res {
		out[i] = BatchResult{Msg: r.msg, Created: r.created, Err: r.err}
	}
	return out
}

// BatchStats is what the group committer counted.
type BatchStats struct {
	Batches   uint64 // transactions committed or attempted by the committers
	Messages  uint64 // requests handled (including repeats and failures)
	Fallbacks uint64 // batches that fell back to one savepoint per message
	Retries   uint64 // fast-path attempts retried after a clientMessageId race
}

func (g *GroupCommitter) Stats() BatchStats {
	return BatchStats{
		Batches:   g.counters.batches.Load(),
		Messages:  g.counters.messages.Load(),
		Fallbacks: g.counters.fallbacks.Load(),
		Retries:   g.counters.retries.Load(),
	}
}

// Queued is the number of sends waiting for a committer.
func (g *GroupCommitter) Queued() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.reqs)
}
