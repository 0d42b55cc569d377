package webhook

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

// DefaultRecentMaxBytes bounds the messages Recent holds.
const DefaultRecentMaxBytes = 2 << 20

// recentOverhead approximates what a held message costs besides its
// content (the map entry, ids, timestamps, strings' headers).
const recentOverhead = 256

// Recent hands messages committed on this instance to its delivery worker,
// which would otherwise read each one back from PostgreSQL milliseconds
// after writing it: at full send load that read was an eighth of the
// gateway's CPU, and a query per message for the database.
//
// It is a bounded first-in-first-out hand-off, not a cache: the first
// attempt to deliver a message takes it out, and everything else — a
// retry, a job enqueued by another instance, a message evicted under a
// backlog — is loaded from Next as before. Messages are never modified
// once committed, so the copy is what Next would return.
//
// As a chat.Broadcaster it is told of every new message; bot messages are
// never delivered, so it does not hold them.
type Recent struct {
	next     MessageLoader
	maxBytes int

	mu    sync.Mutex
	byID  map[uuid.UUID]chat.Message
	fifo  []uuid.UUID // arrival order, for eviction; may still list ids already taken
	bytes int
}

// NewRecent returns a Recent in front of next; maxBytes ≤ 0 means
// DefaultRecentMaxBytes.
func NewRecent(next MessageLoader, maxBytes int) *Recent {
	if maxBytes <= 0 {
		maxBytes = DefaultRecentMaxBytes
	}
	return &Recent{next: next, maxBytes: maxBytes, byID: make(map[uuid.UUID]chat.Message)}
}

func cost(msg chat.Message) int { return len(msg.Content) + recentOverhead }

// MessageCreated implements chat.Broadcaster: it holds msg for the worker,
// evicting the oldest held messages beyond the bound.
func (r *Recent) MessageCreated(msg chat.Message, _ string) {
	if msg.Sender == chat.SenderBot || cost(msg) > r.maxBytes {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[msg.ID]; ok {
		return
	}
	r.byID[msg.ID] = msg
	r.fifo = append(r.fifo, msg.ID)
	r.bytes += cost(msg)
	for r.bytes > r.maxBytes {
		r.evictOldest()
	}
	// Taken ids stay in fifo until they reach its front; compact when they
	// are most of it, so its length stays proportional to what is held.
	if len(r.fifo) > 64 && len(r.fifo) > 4*len(r.byID) {
		kept := r.fifo[:0]
		for _, id := range r.fifo {
			if _, ok := r.byID[id]; ok {
				kept = append(kept, id)
			}
		}
		clear(r.fifo[len(kept):])
		r.fifo = kept
	}
}

// evictOldest drops the oldest message still held. The caller holds r.mu
// and r.bytes > 0.
func (r *Recent) evictOldest() {
	for len(r.fifo) > 0 {
		id := r.fifo[0]
		r.fifo = r.fifo[1:]
		if msg, ok := r.byID[id]; ok {
			delete(r.byID, id)
			r.bytes -= cost(msg)
			return
		}
	}
}

// Message implements MessageLoader: the held message, taken out, or the one
// Next loads.
func (r *Recent) Message(ctx context.Context, id uuid.UUID) (chat.Message, error) {
	r.mu.Lock()
	msg, ok := r.byID[id]
	if ok {
		delete(r.byID, id)
		r.bytes -= cost(msg)
	}
	r.mu.Unlock()
	if ok {
		return msg, nil
	}
	return r.next.Message(ctx, id)
}

// held reports how many messages and bytes r holds, and fifo's length.
func (r *Recent) held() (msgs, bytes, fifo int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID), r.bytes, len(r.fifo)
}
