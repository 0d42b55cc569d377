package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres/internal/dbsqlc"
)

// The batch write behind GroupCommitter: many sends in one transaction.

type appendRes struct {
	msg     chat.Message
	created bool
	// conv is the conversation as the batch left it; reopened says this
	// message reopened it (see chat.Appended).
	conv     chat.Conversation
	reopened bool
	err      error
}

func (r appendRes) appended() chat.Appended {
	return chat.Appended{Message: r.msg, Created: r.created, Conversation: r.conv, Reopened: r.reopened}
}

// errRetryBatch says the fast path met a clientMessageId committed by a
// transaction that did not go through the conversation's lock; the batch is
// run again from the start.
var errRetryBatch = errors.New("group commit: client message id race, retry")

// fastAttempts bounds the fast path's runs of one batch (errRetryBatch).
const fastAttempts = 3

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
// message. counters may be nil.
func (s *Store) appendBatch(ctx context.Context, msgs []chat.NewMessage, counters *batchCounters) []appendRes {
	results := make([]appendRes, len(msgs))
	leaders, leaderOf := leadersOf(msgs)

	err := errRetryBatch
	for attempt := 0; attempt < fastAttempts && errors.Is(err, errRetryBatch); attempt++ {
		if attempt > 0 && counters != nil {
			counters.retries.Add(1)
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
		if counters != nil {
			counters.fallbacks.Add(1)
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
			// A repeat: the first message, nothing created.
			results[i] = appendRes{msg: results[l].msg, err: results[l].err}
		}
	}
	return results
}

// leadersOf finds the repeats of a clientMessageId inside msgs: leaders
// are the indexes of the first sends (in order), and leaderOf[i] is the
// index of the send that i repeats (i itself for a leader).
func leadersOf(msgs []chat.NewMessage) (leaders, leaderOf []int) {
	leaderOf = make([]int, len(msgs))
	seen := map[clientKey]int{}
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
	return leaders, leaderOf
}

// commitError is a failed COMMIT: nothing of the batch was written, and
// running it again message by message would not help.
type commitError struct{ err error }

func (e *commitError) Error() string { return "append message: commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// appendBatchFast is the set-based path: a handful of statements whatever
// the batch size. It fills results[i] for every leader i, or returns an
// error and fills nothing (the transaction is rolled back).
func (s *Store) appendBatchFast(ctx context.Context, msgs []chat.NewMessage, leaders []int, results []appendRes) error {
	tx, err := s.exec.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	q := s.q.WithTx(tx)

	exists, wasClosed, err := lockConversations(ctx, q, conversationsOf(msgs, leaders))
	if err != nil {
		return err
	}
	stored, err := findStoredClientIDs(ctx, q, msgs, leaders, exists)
	if err != nil {
		return err
	}
	answered, inserts := answerOrInsert(msgs, leaders, exists, stored)
	var firstSeqs map[uuid.UUID]int64
	if len(inserts) > 0 {
		var refused map[int]appendRes
		firstSeqs, inserts, refused, err = s.reserveSeqs(ctx, q, msgs, inserts)
		if err != nil {
			return err
		}
		for i, r := range refused {
			answered[i] = r
		}
	}
	if len(inserts) > 0 {
		inserted, after, err := insertMessages(ctx, q, msgs, inserts, firstSeqs)
		if err != nil {
			return err
		}
		if err := s.insertDeliveryJobs(ctx, tx, msgs, inserts, inserted); err != nil {
			return err
		}
		for j, i := range inserts {
			msg := inserted[j]
			c := msg.ConversationID
			// The first user's message of a closed conversation reopened it.
			reopened := wasClosed[c] && msg.Sender == chat.SenderUser
			if reopened {
				wasClosed[c] = false
			}
			answered[i] = appendRes{msg: msg, created: true, conv: after[c], reopened: reopened}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return &commitError{err}
	}
	for i, r := range answered {
		results[i] = r
	}
	return nil
}

// conversationsOf returns the distinct conversations of the leaders, in id
// order: the order every batch locks them in, so two cannot deadlock.
func conversationsOf(msgs []chat.NewMessage, leaders []int) []uuid.UUID {
	convs := make([]uuid.UUID, 0, len(leaders))
	for _, i := range leaders {
		convs = append(convs, msgs[i].ConversationID)
	}
	slices.SortFunc(convs, compareUUID)
	return slices.Compact(convs)
}

func compareUUID(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

// lockConversations takes the row locks of convs (held until the
// transaction ends) and reports which exist and which were closed (read
// under the lock, so exact).
func lockConversations(ctx context.Context, q *dbsqlc.Queries, convs []uuid.UUID) (exists, closed map[uuid.UUID]bool, err error) {
	found, err := q.LockConversations(ctx, convs)
	if err != nil {
		return nil, nil, fmt.Errorf("lock conversations: %w", err)
	}
	exists = make(map[uuid.UUID]bool, len(found))
	closed = make(map[uuid.UUID]bool, len(found))
	for _, r := range found {
		exists[r.ID] = true
		closed[r.ID] = r.Status == string(chat.StatusClosed)
	}
	return exists, closed, nil
}

// findStoredClientIDs reads the messages already stored under the leaders'
// clientMessageIds. It runs under the conversations' locks, so every
// earlier send through a lock is visible.
func findStoredClientIDs(ctx context.Context, q *dbsqlc.Queries, msgs []chat.NewMessage, leaders []int, exists map[uuid.UUID]bool) (map[clientKey]chat.Message, error) {
	var keys dbsqlc.MessagesByClientIDsParams
	for _, i := range leaders {
		m := msgs[i]
		if m.ClientMessageID != nil && exists[m.ConversationID] {
			keys.ConversationIds = append(keys.ConversationIds, m.ConversationID)
			keys.ClientMessageIds = append(keys.ClientMessageIds, *m.ClientMessageID)
		}
	}
	stored := map[clientKey]chat.Message{}
	if len(keys.ConversationIds) == 0 {
		return stored, nil
	}
	rows, err := q.MessagesByClientIDs(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("find client message ids: %w", err)
	}
	for _, r := range rows {
		msg := toMessage(r)
		stored[clientKey{msg.ConversationID, *msg.ClientMessageID}] = msg
	}
	return stored, nil
}

// answerOrInsert sorts the leaders: a missing conversation or a stored
// clientMessageId is answered now; the others are to insert, in order.
func answerOrInsert(msgs []chat.NewMessage, leaders []int, exists map[uuid.UUID]bool, stored map[clientKey]chat.Message) (answered map[int]appendRes, inserts []int) {
	answered = make(map[int]appendRes, len(leaders))
	for _, i := range leaders {
		m := msgs[i]
		if !exists[m.ConversationID] {
			answered[i] = appendRes{err: mapErr("append message: next seq", pgx.ErrNoRows)}
			continue
		}
		if m.ClientMessageID != nil {
			if msg, ok := stored[clientKey{m.ConversationID, *m.ClientMessageID}]; ok {
				answered[i] = appendRes{msg: msg}
				continue
			}
		}
		inserts = append(inserts, i)
	}
	return answered, inserts
}

// reserveSeqs applies the conversations' message limit to the limited
// messages among inserts (GCRA, in the UPDATE that takes the seqs, under
// the rows' locks) and takes one seq per message that passes. It returns
// each conversation's first seq, the inserts that pass (in order: a
// conversation's first limited messages pass, the later ones do not) and
// the answers of the refused ones, which take no seq.
func (s *Store) reserveSeqs(ctx context.Context, q *dbsqlc.Queries, msgs []chat.NewMessage, inserts []int) (first map[uuid.UUID]int64, passed []int, refused map[int]appendRes, err error) {
	counts, limited := map[uuid.UUID]int64{}, map[uuid.UUID]int64{}
	for _, i := range inserts {
		c := msgs[i].ConversationID
		counts[c]++
		if msgs[i].Limited {
			limited[c]++
		}
	}
	reserve := dbsqlc.ReserveSeqsParams{IntervalSecs: s.cfg.SendLimit.interval(), Burst: s.cfg.SendLimit.burst()}
	for c, n := range counts {
		reserve.Ids = append(reserve.Ids, c)
		reserve.Counts = append(reserve.Counts, n)
		reserve.Limited = append(reserve.Limited, limited[c])
	}
	reserved, err := q.ReserveSeqs(ctx, reserve)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("next seqs: %w", err)
	}
	if len(reserved) != len(counts) {
		return nil, nil, nil, fmt.Errorf("next seqs: %d of %d conversations updated", len(reserved), len(counts))
	}
	first = make(map[uuid.UUID]int64, len(counts))
	allowed := make(map[uuid.UUID]int64, len(counts))
	wait := make(map[uuid.UUID]float64, len(counts))
	for _, r := range reserved {
		first[r.ID] = r.LastSeq - r.Reserved + 1
		allowed[r.ID], wait[r.ID] = r.Allowed, r.RetryAfterSecs
	}
	refused = map[int]appendRes{}
	for _, i := range inserts {
		c := msgs[i].ConversationID
		if msgs[i].Limited {
			if allowed[c] == 0 {
				refused[i] = appendRes{err: errRateLimited(wait[c])}
				continue
			}
			allowed[c]--
		}
		passed = append(passed, i)
	}
	return first, passed, refused, nil
}

// insertMessages inserts msgs[i] for every i of inserts in one INSERT,
// numbering each conversation's from firstSeqs on, and returns them as
// stored, in the order of inserts. It returns errRetryBatch when a
// clientMessageId appeared between findStoredClientIDs and the insert (a
// writer that does not take the conversation's lock): the seqs taken would
// leave a gap, so the batch must be rolled back and run again.
//
// The same statement keeps the inbox's columns of the conversations (their
// last message, last activity, reopen); after holds each conversation as
// it left them.
func insertMessages(ctx context.Context, q *dbsqlc.Queries, msgs []chat.NewMessage, inserts []int, firstSeqs map[uuid.UUID]int64) (_ []chat.Message, after map[uuid.UUID]chat.Conversation, _ error) {
	n := len(inserts)
	next := maps.Clone(firstSeqs)
	params := dbsqlc.InsertMessagesParams{
		Ids:              make([]uuid.UUID, n),
		ConversationIds:  make([]uuid.UUID, n),
		Seqs:             make([]int64, n),
		Senders:          make([]string, n),
		SenderIds:        make([]string, n),
		Contents:         make([]string, n),
		ClientMessageIds: make([]string, n),
	}
	for j, i := range inserts {
		m := msgs[i]
		params.Ids[j] = m.ID
		params.ConversationIds[j] = m.ConversationID
		params.Seqs[j] = next[m.ConversationID]
		next[m.ConversationID]++
		params.Senders[j] = string(m.Sender)
		params.SenderIds[j] = emptyIfNull(m.SenderID)
		params.Contents[j] = m.Content
		params.ClientMessageIds[j] = emptyIfNull(m.ClientMessageID)
	}
	// Per conversation: its last message of the batch, and whether a
	// user's message is among them.
	last := map[uuid.UUID]uuid.UUID{}
	reopen := map[uuid.UUID]bool{}
	for _, i := range inserts {
		c := msgs[i].ConversationID
		last[c] = msgs[i].ID
		reopen[c] = reopen[c] || msgs[i].Sender == chat.SenderUser
	}
	for c, id := range last {
		params.InboxIds = append(params.InboxIds, c)
		params.LastMessageIds = append(params.LastMessageIds, id)
		params.Reopens = append(params.Reopens, reopen[c])
	}
	rows, err := q.InsertMessages(ctx, params)
	if err != nil {
		return nil, nil, fmt.Errorf("insert messages: %w", err)
	}
	if len(rows) != n {
		return nil, nil, errRetryBatch
	}
	byID := make(map[uuid.UUID]chat.Message, n)
	after = make(map[uuid.UUID]chat.Conversation, len(last))
	for _, r := range rows {
		byID[r.ID] = toMessage(dbsqlc.Message{ID: r.ID, ConversationID: r.ConversationID, Seq: r.Seq, Sender: r.Sender,
			SenderID: r.SenderID, Content: r.Content, ClientMessageID: r.ClientMessageID, CreatedAt: r.CreatedAt})
		after[r.ConversationID] = toConversation(dbsqlc.Conversation{ID: r.ConversationID, OwnerID: r.ConvOwnerID,
			Metadata: r.ConvMetadata, CreatedAt: r.ConvCreatedAt, Status: r.ConvStatus, LastActivityAt: r.ConvLastActivityAt})
	}
	out := make([]chat.Message, n)
	for j, i := range inserts {
		msg, ok := byID[msgs[i].ID]
		if !ok {
			return nil, nil, errRetryBatch
		}
		out[j] = msg
	}
	return out, after, nil
}

// insertDeliveryJobs queues, in tx, the delivery jobs of the inserted
// messages that ask for one, in one InsertManyTx.
func (s *Store) insertDeliveryJobs(ctx context.Context, tx pgx.Tx, msgs []chat.NewMessage, inserts []int, inserted []chat.Message) error {
	var jobs []river.InsertManyParams
	for j, i := range inserts {
		if args := s.deliveryArgs(msgs[i], inserted[j]); args != nil {
			jobs = append(jobs, river.InsertManyParams{Args: args})
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	if _, err := s.cfg.Deliveries.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("insert delivery jobs: %w", err)
	}
	return nil
}

// appendBatchSavepoints is the slow path, taken when the fast one failed:
// one transaction, one savepoint per message (AppendMessage of a Store on
// that transaction), so a message the database refuses fails alone.
// Messages are handled by conversation id (arrival order within a
// conversation), the order the fast path locks in, so the two cannot
// deadlock.
func (s *Store) appendBatchSavepoints(ctx context.Context, msgs []chat.NewMessage, leaders []int, results []appendRes) {
	order := slices.Clone(leaders)
	slices.SortStableFunc(order, func(a, b int) int {
		return compareUUID(msgs[a].ConversationID, msgs[b].ConversationID)
	})
	fail := func(err error) {
		for _, i := range leaders {
			results[i] = appendRes{err: mapErr("append message", err)}
		}
	}
	tx, err := s.exec.Begin(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer func() { _ = tx.Rollback(ctx) }()
	inTx := s.onTx(tx)
	out := make([]appendRes, len(msgs))
	for _, i := range order {
		res, err := inTx.AppendMessage(ctx, msgs[i])
		out[i] = appendRes{msg: res.Message, created: res.Created, conv: res.Conversation, reopened: res.Reopened, err: err}
	}
	if err := tx.Commit(ctx); err != nil {
		fail(err)
		return
	}
	for _, i := range leaders {
		results[i] = out[i]
	}
}
