package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/chatgw/chatgw/internal/chat"
)

// Group commit defaults.
const (
	DefaultBatchMax        = 64
	defaultBatchCommitters = 2
	defaultBatchTimeout    = 30 * time.Second
)

// GroupCommitConfig configures a GroupCommitter. Zero values mean the
// defaults.
type GroupCommitConfig struct {
	// MaxBatch is the most messages one transaction carries. Default 64;
	// 1 disables group commit (one transaction per send).
	MaxBatch int
	// MaxWait is how long a committer that has taken a first send waits for
	// more before it begins, when the batch is not full. Default 0: a batch
	// is whatever is queued when a committer becomes free, so a lone send
	// never waits, and sends pile up into the next batch while a commit is
	// in flight (the batch size follows the load by itself).
	MaxWait time.Duration
	// Committers is the number of batch transactions in flight at once, so
	// building one batch overlaps with another's fsync. Default 2.
	Committers int
	// Timeout bounds one batch transaction (it does not run under any
	// caller's context, since it serves many). Default 30s.
	Timeout time.Duration
}

func (c GroupCommitConfig) withDefaults() GroupCommitConfig {
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultBatchMax
	}
	if c.MaxWait < 0 {
		c.MaxWait = 0
	}
	if c.Committers <= 0 {
		c.Committers = defaultBatchCommitters
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultBatchTimeout
	}
	return c
}

// GroupCommitter is a chat.Store whose concurrent AppendMessage calls share
// one transaction (one fsync); each caller returns only after the commit
// that carries its message, with the same guarantees as Store.AppendMessage.
// Its other methods are the Store's.
//
// Between Start and Stop its committer goroutines take the sends; before
// Start, after Stop, or with a MaxBatch of 1, each send is a transaction of
// its own.
type GroupCommitter struct {
	store *Store
	cfg   GroupCommitConfig

	mu    sync.RWMutex // guards state, and sends on reqs against its close
	state committerState
	reqs  chan *appendReq
	wg    sync.WaitGroup

	counters batchCounters
}

type committerState int

const (
	committerNew committerState = iota
	committerRunning
	committerStopped
)

var _ chat.Store = (*GroupCommitter)(nil)

// NewGroupCommitter returns a stopped GroupCommitter over store, which must
// run on a pool (each batch is a transaction of its own). Call Start.
func NewGroupCommitter(store *Store, cfg GroupCommitConfig) *GroupCommitter {
	cfg = cfg.withDefaults()
	return &GroupCommitter{store: store, cfg: cfg}
}

// Start starts the committers. It fails when called twice, after Stop (a
// GroupCommitter does not restart), or when the store runs on a
// transaction. ctx is not kept: Stop ends the committers.
func (g *GroupCommitter) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("group commit: start: %w", err)
	}
	if g.store.inTx {
		return errors.New("group commit: start: the store runs on a transaction; batches need a pool")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.state {
	case committerRunning:
		return errors.New("group commit: start: already started")
	case committerStopped:
		return errors.New("group commit: start: stopped, and it does not restart")
	}
	g.state = committerRunning
	if g.cfg.MaxBatch == 1 {
		return nil // one transaction per send: nothing to run
	}
	g.reqs = make(chan *appendReq, g.cfg.MaxBatch*g.cfg.Committers*2)
	g.wg.Add(g.cfg.Committers)
	for range g.cfg.Committers {
		go g.run()
	}
	return nil
}

// Stop refuses new sends (later ones run one transaction each), lets the
// committers commit what is queued, and waits for them or ctx. It may be
// called more than once, and before Start; a call after one that ran out
// of time waits again.
func (g *GroupCommitter) Stop(ctx context.Context) error {
	g.mu.Lock()
	if g.state == committerRunning && g.reqs != nil {
		close(g.reqs)
	}
	g.state = committerStopped
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("group commit: stop: %w", ctx.Err())
	}
}

// CreateConversation is the store's.
func (g *GroupCommitter) CreateConversation(ctx context.Context, c chat.Conversation) (chat.Conversation, error) {
	return g.store.CreateConversation(ctx, c)
}

// Conversation is the store's.
func (g *GroupCommitter) Conversation(ctx context.Context, id uuid.UUID) (chat.Conversation, error) {
	return g.store.Conversation(ctx, id)
}

// MessagesAfter is the store's.
func (g *GroupCommitter) MessagesAfter(ctx context.Context, conversationID uuid.UUID, afterSeq int64, limit int) ([]chat.Message, error) {
	return g.store.MessagesAfter(ctx, conversationID, afterSeq, limit)
}

// AppendMessage is Store.AppendMessage, in a transaction shared with the
// sends queued alongside it while the committers run.
func (g *GroupCommitter) AppendMessage(ctx context.Context, m chat.NewMessage) (chat.Appended, error) {
	if res, ok := g.enqueue(ctx, m); ok {
		return res.appended(), res.err
	}
	return g.store.AppendMessage(ctx, m)
}

// SetStatus is the store's.
func (g *GroupCommitter) SetStatus(ctx context.Context, id uuid.UUID, status chat.Status) (chat.InboxItem, bool, error) {
	return g.store.SetStatus(ctx, id, status)
}

// Inbox is the store's.
func (g *GroupCommitter) Inbox(ctx context.Context, q chat.InboxQuery) ([]chat.InboxItem, error) {
	return g.store.Inbox(ctx, q)
}

// InboxItem is the store's.
func (g *GroupCommitter) InboxItem(ctx context.Context, id uuid.UUID) (chat.InboxItem, error) {
	return g.store.InboxItem(ctx, id)
}

// Request states: a queued request may be abandoned by its caller (context
// cancelled) until a committer takes it; a taken request is in a batch.
const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

type appendReq struct {
	m     chat.NewMessage
	state atomic.Int32
	done  chan appendRes // buffered: a committer never blocks on a caller
}

// enqueue queues m and waits for the commit of the batch that carries it.
// ok is false when the committers do not run (the caller then appends
// alone).
func (g *GroupCommitter) enqueue(ctx context.Context, m chat.NewMessage) (res appendRes, ok bool) {
	if err := ctx.Err(); err != nil {
		return appendRes{err: mapErr("append message", err)}, true
	}
	r := &appendReq{m: m, done: make(chan appendRes, 1)}
	g.mu.RLock()
	if g.state != committerRunning || g.reqs == nil {
		g.mu.RUnlock()
		return appendRes{}, false
	}
	select {
	case g.reqs <- r:
		g.mu.RUnlock()
	case <-ctx.Done():
		g.mu.RUnlock()
		return appendRes{err: mapErr("append message", ctx.Err())}, true
	}
	select {
	case res := <-r.done:
		return res, true
	case <-ctx.Done():
		// Still queued: it is withdrawn and will never be written. Already
		// in a batch: it may still commit, as with any transaction whose
		// caller gives up during COMMIT; a retry with the same
		// clientMessageId returns it.
		r.state.CompareAndSwap(reqQueued, reqAbandoned)
		return appendRes{err: mapErr("append message", ctx.Err())}, true
	}
}

// run is one committer: it collects a batch, commits it, answers its
// senders, until Stop closes the queue and it is drained.
func (g *GroupCommitter) run() {
	defer g.wg.Done()
	batch := make([]*appendReq, 0, g.cfg.MaxBatch)
	var timer *time.Timer
	for {
		var open bool
		batch, open = g.collect(batch[:0], &timer)
		if len(batch) > 0 {
			g.commit(batch)
		}
		if !open {
			return
		}
	}
}

// collect fills batch: it blocks for a first send, takes what is already
// queued, and waits up to MaxWait for more when the batch is not full.
// open is false once the queue is closed and drained.
func (g *GroupCommitter) collect(batch []*appendReq, timer **time.Timer) (_ []*appendReq, open bool) {
	// take adds r to the batch unless its sender withdrew it while queued.
	take := func(r *appendReq) {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			batch = append(batch, r)
		}
	}
	r, ok := <-g.reqs
	if !ok {
		return batch, false
	}
	take(r)
drain:
	for len(batch) < g.cfg.MaxBatch {
		select {
		case r, ok := <-g.reqs:
			if !ok {
				return batch, false
			}
			take(r)
		default:
			break drain
		}
	}
	if g.cfg.MaxWait <= 0 || len(batch) == 0 || len(batch) >= g.cfg.MaxBatch {
		return batch, true
	}
	if *timer == nil {
		*timer = time.NewTimer(g.cfg.MaxWait)
	} else {
		(*timer).Reset(g.cfg.MaxWait)
	}
	defer (*timer).Stop()
	for len(batch) < g.cfg.MaxBatch {
		select {
		case r, ok := <-g.reqs:
			if !ok {
				return batch, false
			}
			take(r)
		case <-(*timer).C:
			return batch, true
		}
	}
	return batch, true
}

// commit writes batch in one transaction and answers every sender.
func (g *GroupCommitter) commit(batch []*appendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Timeout)
	defer cancel()
	msgs := make([]chat.NewMessage, len(batch))
	for i, r := range batch {
		msgs[i] = r.m
	}
	results := g.store.appendBatch(ctx, msgs, &g.counters)
	// Counted before the senders are answered, so a caller that got its
	// answer finds its send in Stats.
	g.counters.batches.Add(1)
	g.counters.messages.Add(uint64(len(batch)))
	for i, r := range batch {
		r.done <- results[i]
	}
}

// batchCounters count the group committer's work (tests read them).
type batchCounters struct {
	batches   atomic.Uint64 // transactions committed or attempted
	messages  atomic.Uint64 // requests handled (including repeats and failures)
	fallbacks atomic.Uint64 // batches that fell back to one savepoint per message
	retries   atomic.Uint64 // fast-path attempts retried after a clientMessageId race
}
