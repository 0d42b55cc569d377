package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chatgw/chatgw/internal/chat"
	"github.com/chatgw/chatgw/internal/postgres"
	"github.com/chatgw/chatgw/internal/postgres/pgtest"
)

// newGroupCommitter is a started GroupCommitter with deliveries to River,
// stopped when t ends.
func newGroupCommitter(t *testing.T, gc postgres.GroupCommitConfig) (*postgres.GroupCommitter, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	g := startGroupCommitter(t, postgres.NewStore(pool, postgres.StoreConfig{
		Deliveries:   riverClient(t),
		DeliveryArgs: deliveryArgs,
	}), gc)
	return g, pool
}

func startGroupCommitter(t *testing.T, s *postgres.Store, gc postgres.GroupCommitConfig) *postgres.GroupCommitter {
	t.Helper()
	g := postgres.NewGroupCommitter(s, gc)
	require.NoError(t, g.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, g.Stop(ctx))
	})
	return g
}

func deliverMsg(conv uuid.UUID, content string, clientID *string) chat.NewMessage {
	m := newMsg(conv, content, clientID)
	m.Deliver = true
	return m
}

// requireGapless checks that conv holds exactly seqs 1..n, with createdAt
// following seq, and that last_seq is n.
func requireGapless(t *testing.T, s chat.Store, pool *pgxpool.Pool, conv uuid.UUID, n int) {
	t.Helper()
	msgs, err := s.MessagesAfter(context.Background(), conv, 0, 1000)
	require.NoError(t, err)
	require.Len(t, msgs, n)
	for i, m := range msgs {
		require.Equal(t, int64(i+1), m.Seq)
		if i > 0 {
			require.False(t, m.CreatedAt.Before(msgs[i-1].CreatedAt), "createdAt follows seq")
		}
	}
	require.Equal(t, n, count(t, pool, "SELECT last_seq FROM conversations WHERE id = $1", conv))
}

// requireJobsMatch checks that the delivery jobs are exactly one per
// message that asked for one.
func requireJobsMatch(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, "SELECT args FROM river_job WHERE kind = 'test_delivery'")
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var raw []byte
		require.NoError(t, rows.Scan(&raw))
		var a testDelivery
		require.NoError(t, json.Unmarshal(raw, &a))
		got = append(got, a.MessageID.String())
	}
	require.NoError(t, rows.Err())
	rows, err = pool.Query(ctx, "SELECT id::text FROM messages WHERE sender <> 'bot'")
	require.NoError(t, err)
	var want []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		want = append(want, id)
	}
	require.NoError(t, rows.Err())
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got, "one delivery job per user message, none for bots")
}

func TestBatchSeqGaplessUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newGroupCommitter(t, postgres.GroupCommitConfig{MaxBatch: 16, MaxWait: time.Millisecond})
	const convs, perConv = 5, 40
	ids := make([]uuid.UUID, convs)
	for i := range ids {
		ids[i] = newConversation(t, s).ID
	}
	var wg sync.WaitGroup
	errs := make(chan error, convs*perConv)
	for i := range convs * perConv {
		wg.Go(func() {
			m := deliverMsg(ids[i%convs], fmt.Sprint("m", i), nil)
			if i%3 == 0 {
				m.ClientMessageID = ptr(fmt.Sprint("c", i))
			}
			if i%7 == 0 {
				m.Sender, m.Deliver = chat.SenderBot, false
			}
			_, created, err := s.AppendMessage(ctx, m)
			if err == nil && !created {
				err = errors.New("not created")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, id := range ids {
		requireGapless(t, s, pool, id, perConv)
	}
	requireJobsMatch(t, pool)
	st := s.Stats()
	require.Equal(t, uint64(convs*perConv), st.Messages)
	require.Less(t, st.Batches, st.Messages, "sends shared transactions")
	require.Zero(t, st.Fallbacks)
}

func TestBatchIdempotencyWithinBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newGroupCommitter(t, postgres.GroupCommitConfig{})
	c := newConversation(t, s)

	res := s.AppendBatch(ctx, []chat.NewMessage{
		deliverMsg(c.ID, "first", ptr("dup")),
		deliverMsg(c.ID, "plain", nil),
		deliverMsg(c.ID, "different content", ptr("dup")),
		deliverMsg(c.ID, "other", ptr("other")),
	})
	for _, r := range res {
		require.NoError(t, r.Err)
	}
	require.True(t, res[0].Created)
	require.False(t, res[2].Created)
	require.Equal(t, res[0].Msg.ID, res[2].Msg.ID)
	require.Equal(t, "first", res[2].Msg.Content)
	require.Equal(t, []int64{1, 2, 1, 3}, []int64{res[0].Msg.Seq, res[1].Msg.Seq, res[2].Msg.Seq, res[3].Msg.Seq})
	requireGapless(t, s, pool, c.ID, 3)
	requireJobsMatch(t, pool)

	// Through the committer: many concurrent sends of one clientMessageId.
	const racers = 30
	var wg sync.WaitGroup
	got := make([]chat.Message, racers)
	created := make([]bool, racers)
	for i := range racers {
		wg.Go(func() {
			var err error
			got[i], created[i], err = s.AppendMessage(ctx, deliverMsg(c.ID, fmt.Sprint("racer ", i), ptr("race")))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	n := 0
	for i := range racers {
		require.Equal(t, got[0].ID, got[i].ID)
		require.Equal(t, int64(4), got[i].Seq)
		if created[i] {
			n++
		}
	}
	require.Equal(t, 1, n)
	requireGapless(t, s, pool, c.ID, 4)
	requireJobsMatch(t, pool)
}

func TestBatchIdempotencyAcrossBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newGroupCommitter(t, postgres.GroupCommitConfig{})
	c := newConversation(t, s)

	first := s.AppendBatch(ctx, []chat.NewMessage{deliverMsg(c.ID, "one", ptr("a")), deliverMsg(c.ID, "two", ptr("b"))})
	require.NoError(t, first[0].Err)
	require.NoError(t, first[1].Err)
	again := s.AppendBatch(ctx, []chat.NewMessage{
		deliverMsg(c.ID, "one again", ptr("a")),
		deliverMsg(c.ID, "three", nil),
		deliverMsg(c.ID, "two again", ptr("b")),
	})
	for _, r := range again {
		require.NoError(t, r.Err)
	}
	require.False(t, again[0].Created)
	require.Equal(t, first[0].Msg.ID, again[0].Msg.ID)
	require.True(t, first[0].Msg.CreatedAt.Equal(again[0].Msg.CreatedAt))
	require.True(t, again[1].Created)
	require.Equal(t, int64(3), again[1].Msg.Seq, "repeats consume no seq")
	require.False(t, again[2].Created)
	require.Equal(t, first[1].Msg.ID, again[2].Msg.ID)

	// And through AppendMessage (the committer) once more.
	msg, created, err := s.AppendMessage(ctx, deliverMsg(c.ID, "x", ptr("b")))
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first[1].Msg.ID, msg.ID)
	requireGapless(t, s, pool, c.ID, 3)
	requireJobsMatch(t, pool)
}

func TestBatchBadMessageFailsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newGroupCommitter(t, postgres.GroupCommitConfig{})
	a := newConversation(t, s)
	b := newConversation(t, s)

	// A missing conversation is found by the fast path.
	res := s.AppendBatch(ctx, []chat.NewMessage{
		deliverMsg(a.ID, "a1", ptr("a1")),
		deliverMsg(uuid.New(), "nowhere", ptr("a1")),
		deliverMsg(b.ID, "b1", nil),
		deliverMsg(a.ID, "a2", nil),
	})
	require.NoError(t, res[0].Err)
	require.ErrorIs(t, res[1].Err, chat.ErrNotFound)
	require.NoError(t, res[2].Err)
	require.NoError(t, res[3].Err)
	require.Equal(t, int64(2), res[3].Msg.Seq)
	require.Zero(t, s.Stats().Fallbacks)

	// Content the database refuses (NUL is not valid in a text value) makes
	// the whole INSERT fail: the batch runs again with one savepoint per
	// message, and only that message fails.
	res = s.AppendBatch(ctx, []chat.NewMessage{
		deliverMsg(b.ID, "b2", nil),
		deliverMsg(a.ID, "bad \x00 byte", ptr("bad")),
		deliverMsg(uuid.New(), "nowhere", nil),
		deliverMsg(a.ID, "a3", ptr("a3")),
		deliverMsg(a.ID, "a3 again", ptr("a3")),
	})
	require.NoError(t, res[0].Err)
	require.Error(t, res[1].Err)
	require.Equal(t, chat.CodeInternal, chat.ErrorCode(res[1].Err))
	require.ErrorIs(t, res[2].Err, chat.ErrNotFound)
	require.NoError(t, res[3].Err)
	require.True(t, res[3].Created)
	require.Equal(t, int64(3), res[3].Msg.Seq, "the failed message consumed no seq")
	require.NoError(t, res[4].Err)
	require.False(t, res[4].Created)
	require.Equal(t, res[3].Msg.ID, res[4].Msg.ID)
	require.Equal(t, uint64(1), s.Stats().Fallbacks)

	requireGapless(t, s, pool, a.ID, 3)
	requireGapless(t, s, pool, b.ID, 2)
	requireJobsMatch(t, pool)
}

func TestBatchFailingJobInsertFailsTheBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewGroupCommitter(postgres.NewStore(pool, postgres.StoreConfig{Deliveries: failingInserter{}, DeliveryArgs: deliveryArgs}), postgres.GroupCommitConfig{})
	c := newConversation(t, s)
	bot := newMsg(c.ID, "bot", nil)
	bot.Sender = chat.SenderBot // no delivery job
	res := s.AppendBatch(ctx, []chat.NewMessage{deliverMsg(c.ID, "x", nil), bot})
	require.Error(t, res[0].Err)
	require.Equal(t, chat.CodeInternal, chat.ErrorCode(res[0].Err))
	// The message whose job cannot be queued fails alone (its savepoint is
	// rolled back, seq included); the bot's, which needs no job, commits.
	require.NoError(t, res[1].Err)
	require.True(t, res[1].Created)
	require.Equal(t, int64(1), res[1].Msg.Seq)
	require.Equal(t, 1, count(t, pool, "SELECT count(*) FROM messages"))
	require.Equal(t, 1, count(t, pool, "SELECT last_seq FROM conversations WHERE id = $1", c.ID))
}

func TestBatchCancelledWhileQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newGroupCommitter(t, postgres.GroupCommitConfig{Committers: 1})
	x := newConversation(t, s)
	y := newConversation(t, s)

	// Already cancelled: nothing is queued.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err := s.AppendMessage(cctx, deliverMsg(y.ID, "never", nil))
	require.ErrorIs(t, err, context.Canceled)

	// Hold x's row lock so the only committer is stuck on a batch.
	hold, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = hold.Exec(ctx, "SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", x.ID)
	require.NoError(t, err)
	stuck := make(chan error, 1)
	go func() {
		_, _, err := s.AppendMessage(ctx, deliverMsg(x.ID, "stuck", nil))
		stuck <- err
	}()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var waiting int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE NOT granted").Scan(&waiting)
		if assert.NoError(c, err) {
			assert.Positive(c, waiting, "the stuck send waits for the row lock")
		}
	}, 5*time.Second, 10*time.Millisecond)

	tctx, tcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer tcancel()
	_, _, err = s.AppendMessage(tctx, deliverMsg(y.ID, "gives up", nil))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NoError(t, hold.Rollback(ctx))
	require.NoError(t, <-stuck)

	msg, created, err := s.AppendMessage(ctx, deliverMsg(y.ID, "after", nil))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, int64(1), msg.Seq, "the abandoned send was never written")
	requireGapless(t, s, pool, y.ID, 1)
	requireGapless(t, s, pool, x.ID, 1)
	requireJobsMatch(t, pool)
}

func TestGroupCommitStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	g := postgres.NewGroupCommitter(postgres.NewStore(pool, postgres.StoreConfig{}), postgres.GroupCommitConfig{MaxWait: 5 * time.Millisecond})
	require.NoError(t, g.Start(ctx))
	require.Error(t, g.Start(ctx), "a second Start fails")
	c := newConversation(t, g)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, _, err := g.AppendMessage(ctx, newMsg(c.ID, fmt.Sprint(i), nil))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.Equal(t, uint64(50), g.Stats().Messages)
	require.NoError(t, g.Stop(ctx))
	require.NoError(t, g.Stop(ctx), "Stop is idempotent")
	require.Error(t, g.Start(ctx), "no Start after Stop")

	// After Stop a send is a transaction of its own.
	_, created, err := g.AppendMessage(ctx, newMsg(c.ID, "after stop", nil))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, uint64(50), g.Stats().Messages, "not through the committers")
	requireGapless(t, g, pool, c.ID, 51)

	// Stop before Start is fine too, and Start after it is refused.
	never := postgres.NewGroupCommitter(postgres.NewStore(pool, postgres.StoreConfig{}), postgres.GroupCommitConfig{})
	require.NoError(t, never.Stop(ctx))
	require.Error(t, never.Start(ctx))
}

// Stop commits the sends still queued, and answers their senders, before
// it returns; one that runs out of time says so, and a later Stop waits
// again.
func TestGroupCommitStopCommitsWhatIsQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	g := postgres.NewGroupCommitter(postgres.NewStore(pool, postgres.StoreConfig{}), postgres.GroupCommitConfig{Committers: 1})
	require.NoError(t, g.Start(ctx))
	x := newConversation(t, g)
	y := newConversation(t, g)

	// Hold x's row lock so the only committer is stuck on a batch.
	hold, err := pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = hold.Rollback(context.Background()) }) // before the pool closes
	_, err = hold.Exec(ctx, "SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", x.ID)
	require.NoError(t, err)
	const queued = 10
	sent := make(chan error, queued+1)
	send := func(conv uuid.UUID, content string) {
		_, created, err := g.AppendMessage(ctx, newMsg(conv, content, nil))
		if err == nil && !created {
			err = errors.New("not created")
		}
		sent <- err
	}
	go send(x.ID, "stuck")
	require.Eventually(t, func() bool {
		return count(t, pool, "SELECT count(*) FROM pg_locks WHERE NOT granted") > 0
	}, 5*time.Second, 10*time.Millisecond)
	for i := range queued {
		go send(y.ID, fmt.Sprint("queued ", i))
	}
	require.Eventually(t, func() bool { return g.Queued() == queued }, 5*time.Second, time.Millisecond)

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, g.Stop(short), context.DeadlineExceeded, "the committer is still stuck")

	stopped := make(chan error, 1)
	go func() { stopped <- g.Stop(ctx) }()
	require.NoError(t, hold.Rollback(ctx))
	require.NoError(t, <-stopped)
	for range queued + 1 {
		select {
		case err := <-sent:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("a queued send was never answered")
		}
	}
	require.Equal(t, uint64(queued+1), g.Stats().Messages, "all went through the committer")
	requireGapless(t, g, pool, y.ID, queued)
	requireGapless(t, g, pool, x.ID, 1)
}

func TestGroupCommitOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)

	// MaxBatch 1: one transaction per send, nothing runs.
	g := startGroupCommitter(t, postgres.NewStore(pool, postgres.StoreConfig{}), postgres.GroupCommitConfig{MaxBatch: 1})
	c := newConversation(t, g)
	_, created, err := g.AppendMessage(ctx, newMsg(c.ID, "alone", nil))
	require.NoError(t, err)
	require.True(t, created)
	require.Zero(t, g.Stats().Messages)

	// A store on a transaction cannot batch: each batch is a transaction.
	onTx := postgres.NewGroupCommitter(postgres.NewStore(pgtest.NewTx(t), postgres.StoreConfig{}), postgres.GroupCommitConfig{})
	require.ErrorContains(t, onTx.Start(ctx), "transaction")
}

// The message a send returns is exactly what a later read returns: the
// webhook worker delivers the returned one (webhook.Recent) instead of
// reading it back, and a retry delivers the read one.
func TestSentMessageIsTheStoredOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	single, _ := newStore(t, postgres.StoreConfig{})
	batched, batchedPool := newGroupCommitter(t, postgres.GroupCommitConfig{MaxBatch: 16, MaxWait: time.Millisecond})
	for name, st := range map[string]struct {
		send chat.Store
		read *postgres.Store
	}{
		"one per transaction": {single, single},
		"group commit":        {batched, postgres.NewStore(batchedPool, postgres.StoreConfig{})},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := deliverMsg(newConversation(t, st.send).ID, "hola <b>&</b> ✓", ptr("c-1"))
			in.SenderID = ptr("user-1")
			sent, created, err := st.send.AppendMessage(ctx, in)
			require.NoError(t, err)
			require.True(t, created)
			stored, err := st.read.Message(ctx, sent.ID)
			require.NoError(t, err)
			require.True(t, sent.CreatedAt.Equal(stored.CreatedAt), "%v vs %v", sent.CreatedAt, stored.CreatedAt)
			sent.CreatedAt, stored.CreatedAt = time.Time{}, time.Time{}
			require.Equal(t, stored, sent)
		})
	}
}
