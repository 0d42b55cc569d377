package webhook

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatgw/chatgw/internal/chat"
)

// Recent defaults.
const (
	// DefaultRecentMaxBytes bounds the messages Recent holds: about 12,000
	// short messages, seconds of deliveries at full load. Under a receiver
	// that never answers it stays full, so it is part of what such an
	// outage costs in memory.
	DefaultRecentMaxBytes = 4 << 20
	// DefaultRecentMaxAge is how long a message nobody has asked for is
	// kept (its job may have run on another instance, or been cancelled).
	DefaultRecentMaxAge = time.Minute
)

// recentOverhead approximates what a held message costs besides its
// content (the map entry, ids, timestamps, strings' headers).
const recentOverhead = 256

// RecentConfig configures a Recent.
type RecentConfig struct {
	// Next loads what Recent does not hold. Required.
	Next MessageLoader
	// MaxBytes bounds what is held; default DefaultRecentMaxBytes.
	MaxBytes int
	// MaxAge is how long a message is held at most; default
	// DefaultRecentMaxAge.
	MaxAge time.Duration
	// Loads (chatgw_webhook_message_loads_total), if set, counts where each
	// message the worker asked for came from: "handoff" or "database".
	Loads *prometheus.CounterVec
	// Now is the clock of MaxAge; default time.Now.
	Now func() time.Time
}

// Recent hands messages committed on this instance to its delivery worker,
// which would otherwise read each one back from PostgreSQL milliseconds
// after writing it: at full send load that read was an eighth of the
// gateway's CPU, and a query per message for the database.
//
// It is a bounded hand-off, not a cache: the first attempt to deliver a
// message takes it out, and everything else — a retry, a job enqueued by
// another instance, a message that found Recent full or waited longer than
// MaxAge — is loaded from Next as before. Messages are never modified once
// committed, so the copy is what Next would return.
//
// When full it turns new messages away rather than dropping old ones: the
// worker takes jobs oldest first, so under a backlog the oldest held
// messages are exactly the next ones it needs. (Dropping the oldest made a
// backlog feed itself: each message evicted just before its turn cost the
// worker a read, which slowed it, which deepened the backlog.)
//
// The store gives it every message it commits with a delivery
// (postgres.StoreConfig's Committed), right after COMMIT: ahead of River's
// notified fetch of the job in all but a rare race, where the worker reads
// the message back. Bot messages are never delivered, so it never holds
// them.
type Recent struct {
	cfg RecentConfig

	mu    sync.Mutex
	byID  map[uuid.UUID]chat.Message
	fifo  []heldID // arrival order, for expiry; may still list ids already taken
	bytes int
}

type heldID struct {
	id uuid.UUID
	at time.Time
}

// NewRecent returns a Recent in front of cfg.Next.
func NewRecent(cfg RecentConfig) (*Recent, error) {
	if cfg.Next == nil {
		return nil, errors.New("webhook: RecentConfig.Next is required")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultRecentMaxBytes
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultRecentMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Recent{cfg: cfg, byID: make(map[uuid.UUID]chat.Message)}, nil
}

func cost(msg chat.Message) int { return len(msg.Content) + recentOverhead }

// Hold keeps msg for the worker's first attempt, unless that would exceed
// MaxBytes once messages older than MaxAge are dropped.
func (r *Recent) Hold(msg chat.Message) {
	c := cost(msg)
	if msg.Sender == chat.SenderBot || c > r.cfg.MaxBytes {
		return
	}
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	if _, ok := r.byID[msg.ID]; ok || r.bytes+c > r.cfg.MaxBytes {
		return
	}
	r.byID[msg.ID] = msg
	r.fifo = append(r.fifo, heldID{msg.ID, now})
	r.bytes += c
	// Taken ids stay in fifo until they reach its front; compact when they
	// are most of it, so its length stays proportional to what is held.
	if len(r.fifo) > 64 && len(r.fifo) > 4*len(r.byID) {
		kept := r.fifo[:0]
		for _, h := range r.fifo {
			if _, ok := r.byID[h.id]; ok {
				kept = append(kept, h)
			}
		}
		clear(r.fifo[len(kept):])
		r.fifo = kept
	}
}

// expire drops, from the front of fifo, ids already taken and messages
// held longer than MaxAge. The caller holds r.mu.
func (r *Recent) expire(now time.Time) {
	for len(r.fifo) > 0 {
		h := r.fifo[0]
		msg, held := r.byID[h.id]
		if held && now.Sub(h.at) < r.cfg.MaxAge {
			return
		}
		r.fifo[0] = heldID{}
		r.fifo = r.fifo[1:]
		if held {
			delete(r.byID, h.id)
			r.bytes -= cost(msg)
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
		r.count("handoff")
		return msg, nil
	}
	r.count("database")
	return r.cfg.Next.Message(ctx, id)
}

func (r *Recent) count(source string) {
	if r.cfg.Loads != nil {
		r.cfg.Loads.WithLabelValues(source).Inc()
	}
}

// held reports how many messages and bytes r holds, and fifo's length.
func (r *Recent) held() (msgs, bytes, fifo int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID), r.bytes, len(r.fifo)
}
