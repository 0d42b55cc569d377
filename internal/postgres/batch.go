package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres/dbsqlc"
)

// Group commit defaults.
const (
	DefaultBatchMax        = 64
	DefaultBatchCommitters = 2
	DefaultBatchTimeout    = 30 * time.Second
)

// BatchConfig configures group commit: concurrent AppendMessage calls share
// one transaction (one fsync), and each caller returns only after the
// commit that contains its message.
type BatchConfig struct {
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

func (c BatchConfig) withDefaults() BatchConfig {
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultBatchMax
	}
	if c.MaxWait < 0 {
		c.MaxWait = 0
	}
	if c.Committers <= 0 {
		c.Committers = DefaultBatchCommitters
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultBatchTimeout
	}
	return c
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

type appendRes struct {
	msg     chat.Message
	created bool
	err     error
}

// BatchStats counts the work of the group committer.
type BatchStats struct {
	Batches   uint64 // transactions committed or attempted by the committer
	Messages  uint64 // requests handled (including repeats and failures)
	Fallbacks uint64 // batches that fell back to one savepoint per message
	Retries   uint64 // fast-path attempts retried after a clientMessageId race
}

type batcher struct {
	s    *Store
	cfg  BatchConfig
	reqs chan *appendReq

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	wg     sync.WaitGroup

	batches, messages, fallbacks, retries atomic.Uint64
}

func newBatcher(s *Store, cfg BatchConfig) *batcher {
	b := &batcher{s: s, cfg: cfg, reqs: make(chan *appendReq, cfg.MaxBatch*cfg.Committers*2)}
	b.wg.Add(cfg.Committers)
	for range cfg.Committers {
		go b.run()
	}
	return b
}

// append queues m and waits for the commit of the batch that carries it.
// ok is false when the batcher is stopped (the caller then appends alone).
func (b *batcher) append(ctx context.Context, m chat.NewMessage) (res appendRes, ok bool) {
	if err := ctx.Err(); err != nil {
		return appendRes{err: mapErr("append message", err)}, true
	}
	r := &appendReq{m: m, done: make(chan appendRes, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return appendRes{}, false
	}
	select {
	case b.reqs <- r:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
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

// stop refuses new requests, lets the committers finish what is queued and
// waits for them (or ctx).
func (b *batcher) stop(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("group commit: stop: %w", ctx.Err())
	}
}

func (b *batcher) stats() BatchStats {
	return BatchStats{
		Batches:   b.batches.Load(),
		Messages:  b.messages.Load(),
		Fallbacks: b.fallbacks.Load(),
		Retries:   b.retries.Load(),
	}
}

func (b *batcher) run() {
	defer b.wg.Done()
	batch := make([]*appendReq, 0, b.cfg.MaxBatch)
	// take adds r to the batch unless its sender withdrew it while queued.
	take := func(r *appendReq) {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			batch = append(batch, r)
		}
	}
	var timer *time.Timer
	for {
		r, ok := <-b.reqs
		if !ok {
			return
		}
		batch = batch[:0]
		take(r)
		// Take what is already queued.
	drain:
		for len(batch) < b.cfg.MaxBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break drain
				}
				take(r)
			default:
				break drain
			}
		}
		// Optionally wait a little for more.
		if b.cfg.MaxWait > 0 && len(batch) > 0 && len(batch) < b.cfg.MaxBatch {
			if timer == nil {
				timer = time.NewTimer(b.cfg.MaxWait)
			} else {
				timer.Reset(b.cfg.MaxWait)
			}
		wait:
			for len(batch) < b.cfg.MaxBatch {
				select {
				case r, ok := <-b.reqs:
					if !ok {
						break wait
					}
					take(r)
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		if len(batch) == 0 {
			continue
		}
		b.commit(batch)
	}
}

func (b *batcher) commit(batch []*appendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.Timeout)
	defer cancel()
	msgs := make([]chat.NewMessage, len(batch))
	for i, r := range batch {
		msgs[i] = r.m
	}
	results := b.s.appendBatch(ctx, msgs, b)
	for i, r := range batch {
		r.done <- results[i]
	}
	b.batches.Add(1)
	b.messages.Add(uint64(len(batch)))
}

// errRetryBatch says the fast path met a clientMessageId committed by a
// transaction that did not go through the conversation's lock; the batch is
// run again from the start.
var errRetryBatch = errors.New("group commit: client message id race, retry")

type clientKey struct {
	conv uuid.UUID
	id   string
}

// appendBatch stores msgs in one transaction and returns one result per
// message. Sends of one conversation get consecutive seqs in the order of
// msgs. A repeated clientMessageId (earlier in the database, or earlier in
// msgs) returns the first message with created=false and consumes no seq.
// A message that fails (missing conversation, a value the database
// refuses) fails alone: the batch then runs again with one savepoint per
// message. b may be nil (no counters).
func (s *Store) appendBatch(ctx context.Context, msgs []chat.NewMessage, b *batcher) []appendRes {
	results := make([]appendRes, len(msgs))
	// Repeats inside the batch follow their leader.
	leaderOf := make([]int, len(msgs))
	seen := map[clientKey]int{}
	var leaders []int
	for i, m := range msgs {
		leaderOf[i] = i
		if m.ClientMessageID != nil {
			k := clientKey{m.ConversationID, *m.ClientMessageID}
			if j, ok := seen[k]; ok {
				leaderOf[i] = j
				continue
			}
			seen[k] = i
		}
		leaders = append(leaders, i)
	}

	err := errRetryBatch
	for attempt := 0; attempt < 3 && errors.Is(err, errRetryBatch); attempt++ {
		if attempt > 0 && b != nil {
			b.retries.Add(1)
		}
		err = s.appendBatchFast(ctx, msgs, leaders, results)
	}
	var commitErr *commitError
	switch {
	case err == nil:
	case errors.As(err, &commitErr) || ctx.Err() != nil:
		for _, i := range leaders {
			results[i] = appendRes{err: mapErr("append message", err)}
		}
	default:
		if b != nil {
			b.fallbacks.Add(1)
		}
		s.appendBatchSavepoints(ctx, msgs, leaders, results)
	}

	for _, i := range leaders {
		if results[i].created && results[i].err == nil {
			s.committed(msgs[i], results[i].msg)
		}
	}
	for i, l := range leaderOf {
		if l != i {
			results[i] = results[l]
			results[i].created = false
		}
	}
	return results
}

// commitError is a failed COMMIT: nothing of the batch was written, and
// running it again message by message would not help.
type commitError struct{ err error }

func (e *commitError) Error() string { return "append message: commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// appendBatchFast is the set-based path: a handful of statements whatever
// the batch size. It locks the batch's conversations in id order (so
// concurrent batches cannot deadlock), reads the clientMessageIds already
// stored, takes every conversation's seqs in one UPDATE, inserts every
// message in one INSERT and every job in one InsertManyTx, and commits.
// It fills results[i] for every leader i, or returns an error and fills
// nothing (the transaction is rolled back).
func (s *Store) appendBatchFast(ctx context.Context, msgs []chat.NewMessage, leaders []int, results []appendRes) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	convs := make([]uuid.UUID, 0, len(leaders))
	for _, i := range leaders {
		convs = append(convs, msgs[i].ConversationID)
	}
	slices.SortFunc(convs, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	convs = slices.Compact(convs)

	q := s.q.WithTx(tx)
	found, err := q.LockConversations(ctx, convs)
	if err != nil {
		return fmt.Errorf("lock conversations: %w", err)
	}
	exists := make(map[uuid.UUID]bool, len(found))
	for _, id := range found {
		exists[id] = true
	}

	// clientMessageIds already stored (read under the conversations' locks,
	// so every earlier send through a lock is visible).
	var byClient dbsqlc.MessagesByClientIDsParams
	for _, i := range leaders {
		m := msgs[i]
		if m.ClientMessageID != nil && exists[m.ConversationID] {
			byClient.ConversationIds = append(byClient.ConversationIds, m.ConversationID)
			byClient.ClientMessageIds = append(byClient.ClientMessageIds, *m.ClientMessageID)
		}
	}
	stored := map[clientKey]chat.Message{}
	if len(byClient.ConversationIds) > 0 {
		rows, err := q.MessagesByClientIDs(ctx, byClient)
		if err != nil {
			return fmt.Errorf("find client message ids: %w", err)
		}
		for _, r := range rows {
			msg := toMessage(r)
			stored[clientKey{msg.ConversationID, *msg.ClientMessageID}] = msg
		}
	}

	out := make(map[int]appendRes, len(leaders))
	var ins []int
	count := map[uuid.UUID]int64{}
	limited := map[uuid.UUID]int64{}
	for _, i := range leaders {
		m := msgs[i]
		switch {
		case !exists[m.ConversationID]:
			out[i] = appendRes{err: fmt.Errorf("append message: next seq: %w", chat.ErrNotFound)}
		case m.ClientMessageID != nil:
			if msg, ok := stored[clientKey{m.ConversationID, *m.ClientMessageID}]; ok {
				out[i] = appendRes{msg: msg}
				continue
			}
			fallthrough
		default:
			ins = append(ins, i)
			count[m.ConversationID]++
			if m.Limited {
				limited[m.ConversationID]++
			}
		}
	}

	if len(ins) > 0 {
		reserve := dbsqlc.ReserveSeqsParams{
			IntervalSecs: s.cfg.SendLimit.interval(),
			Burst:        s.cfg.SendLimit.burst(),
		}
		for c, n := range count {
			reserve.Ids = append(reserve.Ids, c)
			reserve.Counts = append(reserve.Counts, n)
			reserve.Limited = append(reserve.Limited, limited[c])
		}
		reserved, err := q.ReserveSeqs(ctx, reserve)
		if err != nil {
			return fmt.Errorf("next seqs: %w", err)
		}
		if len(reserved) != len(count) {
			return fmt.Errorf("next seqs: %d of %d conversations updated", len(reserved), len(count))
		}
		next := make(map[uuid.UUID]int64, len(count))
		type verdict struct {
			allowed int64
			wait    float64
		}
		limits := make(map[uuid.UUID]verdict, len(count))
		for _, r := range reserved {
			next[r.ID] = r.LastSeq - r.Reserved + 1
			limits[r.ID] = verdict{r.Allowed, r.RetryAfterSecs}
		}
		// The first allowed limited messages of each conversation pass,
		// in arrival order; the others are refused and take no seq.
		passed := ins[:0:0]
		for _, i := range ins {
			m := msgs[i]
			if m.Limited {
				v := limits[m.ConversationID]
				if v.allowed == 0 {
					out[i] = appendRes{err: errRateLimited(v.wait)}
					continue
				}
				v.allowed--
				limits[m.ConversationID] = v
			}
			passed = append(passed, i)
		}
		ins = passed

		n := len(ins)
		insert := dbsqlc.InsertMessagesParams{
			Ids:              make([]uuid.UUID, n),
			ConversationIds:  make([]uuid.UUID, n),
			Seqs:             make([]int64, n),
			Senders:          make([]string, n),
			SenderIds:        make([]string, n),
			Contents:         make([]string, n),
			ClientMessageIds: make([]string, n),
		}
		for j, i := range ins {
			m := msgs[i]
			insert.Ids[j] = m.ID
			insert.ConversationIds[j] = m.ConversationID
			insert.Seqs[j] = next[m.ConversationID]
			next[m.ConversationID]++
			insert.Senders[j] = string(m.Sender)
			insert.SenderIds[j] = deref(m.SenderID) // '' is NULL (see batch.sql)
			insert.Contents[j] = m.Content
			insert.ClientMessageIds[j] = deref(m.ClientMessageID)
		}
		inserted := make(map[uuid.UUID]chat.Message, n)
		if n > 0 {
			rows, err := q.InsertMessages(ctx, insert)
			if err != nil {
				return fmt.Errorf("insert messages: %w", err)
			}
			for _, r := range rows {
				msg := toMessage(r)
				inserted[msg.ID] = msg
			}
		}
		if len(inserted) != n {
			// A clientMessageId appeared between our read and our insert
			// (a writer that does not take the conversation's lock): the
			// seqs taken would leave a gap. Roll back and start again.
			return errRetryBatch
		}

		var jobs []river.InsertManyParams
		for _, i := range ins {
			msg := inserted[msgs[i].ID]
			out[i] = appendRes{msg: msg, created: true}
			if args := s.deliveryArgs(msgs[i], msg); args != nil {
				jobs = append(jobs, river.InsertManyParams{Args: args})
			}
		}
		if len(jobs) > 0 {
			if _, err := s.cfg.Deliveries.InsertManyTx(ctx, tx, jobs); err != nil {
				return fmt.Errorf("insert delivery jobs: %w", err)
			}
		}
	}

	if err := tx.Commit(ctx); err != nil {
		return &commitError{err}
	}
	for i, r := range out {
		results[i] = r
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// deliveryArgs returns the delivery job of a new message, or nil.
func (s *Store) deliveryArgs(m chat.NewMessage, msg chat.Message) river.JobArgs {
	if !s.delivers(m) {
		return nil
	}
	return s.cfg.DeliveryArgs(msg, m.SocketID)
}

// delivers reports whether m gets a webhook delivery job.
func (s *Store) delivers(m chat.NewMessage) bool {
	return m.Deliver && s.cfg.Deliveries != nil && s.cfg.DeliveryArgs != nil
}

// appendBatchSavepoints is the slow path, taken when the fast one failed:
// one transaction, one savepoint per message (AppendMessageTx), so a
// message the database refuses fails alone. Messages are handled by
// conversation id (arrival order within a conversation), the order the fast
// path locks in, so the two cannot deadlock.
func (s *Store) appendBatchSavepoints(ctx context.Context, msgs []chat.NewMessage, leaders []int, results []appendRes) {
	order := slices.Clone(leaders)
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := msgs[a].ConversationID, msgs[b].ConversationID
		return bytes.Compare(ca[:], cb[:])
	})
	fail := func(err error) {
		for _, i := range leaders {
			results[i] = appendRes{err: mapErr("append message", err)}
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer func() { _ = tx.Rollback(ctx) }()
	out := make([]appendRes, len(msgs))
	for _, i := range order {
		msg, created, err := s.AppendMessageTx(ctx, tx, msgs[i])
		out[i] = appendRes{msg: msg, created: created, err: err}
	}
	if err := tx.Commit(ctx); err != nil {
		fail(err)
		return
	}
	for _, i := range leaders {
		results[i] = out[i]
	}
}
